//! The supervisor as a process: daemonising without `-n`, pid files, refusing a second
//! instance ("daemon is already running", exit 0), SIGTERM releasing the VIP and removing
//! the pid files, `-V/--dont-release-vrrp` keeping them.
//!
//! Needs root and iproute2; skips otherwise. Each test uses its own namespace (`vddm*`) with
//! a veth pair, removed by a Drop guard together with the daemon it started (by pid).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "support/netns_lab.rs"]
mod netns_lab;
use netns_lab::{sh, wait_until};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived");
const VIP: &str = "10.97.0.100";

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let ok = unsafe { libc::geteuid() } == 0
        && Command::new("ip")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok();
    if !ok {
        eprintln!("skipping: needs root and iproute2");
    }
    ok
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

struct Env {
    ns: String,
    dir: PathBuf,
    pids: Vec<i32>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for &p in &self.pids {
            if alive(p) {
                // SAFETY: kill(2) on the daemon this test started.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Env {
    fn new(tag: &str) -> Env {
        let ns = format!("vddm{tag}");
        let dir = std::env::temp_dir().join(format!("vrrpd-daemon-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", &ns]);
        sh(&[
            "ip", "-n", &ns, "link", "add", "vd0", "type", "veth", "peer", "name", "vd1",
        ]);
        sh(&["ip", "-n", &ns, "addr", "add", "10.97.0.1/24", "dev", "vd0"]);
        sh(&["ip", "-n", &ns, "link", "set", "vd0", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "vd1", "up"]);
        std::fs::write(
            dir.join("k.conf"),
            format!(
                "vrrp_instance VI_1 {{\n state MASTER\n interface vd0\n virtual_router_id 9\n priority 150\n advert_int 1\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
            ),
        )
        .expect("conf");
        Env {
            ns,
            dir,
            pids: Vec::new(),
        }
    }

    fn path(&self, f: &str) -> String {
        self.dir.join(f).display().to_string()
    }

    fn cmd(&self, extra: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, OURS, "-l", "-G", "-f"])
            .arg(self.path("k.conf"))
            .args(["-p", &self.path("k.pid"), "-r", &self.path("v.pid")])
            .args(extra)
            .stdin(Stdio::null());
        c
    }

    fn vip(&self) -> bool {
        Command::new("ip")
            .args(["-n", &self.ns, "-4", "-o", "addr", "show", "dev", "vd0"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{VIP}/")))
    }

    fn pid(&self, f: &str) -> Option<i32> {
        std::fs::read_to_string(self.path(f))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

#[test]
fn daemonises_refuses_a_second_instance_and_stops_on_sigterm() {
    if !root() {
        return;
    }
    let mut env = Env::new("d");
    let out = env.cmd(&[]).output().expect("start");
    assert!(out.status.success(), "parent exit status {:?}", out.status);
    assert!(
        wait_until(Duration::from_secs(3), || env.pid("k.pid").is_some()),
        "no pid file"
    );
    let pid = env.pid("k.pid").expect("pid");
    env.pids.push(pid);
    assert!(alive(pid), "daemon not running");
    assert_eq!(env.pid("v.pid"), Some(pid), "VRRP pid file");
    assert!(
        wait_until(Duration::from_secs(6), || env.vip()),
        "daemon never became MASTER"
    );

    // A second instance with the same pid files says so and exits 0, touching nothing.
    let second = env.cmd(&["-n"]).output().expect("second");
    assert_eq!(second.status.code(), Some(0));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("daemon is already running"), "{err}");
    assert_eq!(env.pid("k.pid"), Some(pid));
    assert!(env.vip());

    // SAFETY: kill(2) on the daemon we started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(
        wait_until(Duration::from_secs(5), || !alive(pid)),
        "daemon did not stop"
    );
    assert!(!env.vip(), "VIP left behind");
    assert!(
        !Path::new(&env.path("k.pid")).exists(),
        "main pid file left behind"
    );
    assert!(
        !Path::new(&env.path("v.pid")).exists(),
        "VRRP pid file left behind"
    );
}

#[test]
fn dont_release_vrrp_keeps_the_vip() {
    if !root() {
        return;
    }
    let env = Env::new("v");
    let log = std::fs::File::create(env.dir.join("log")).expect("log");
    let mut child = env
        .cmd(&["-n", "-V"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start");
    let ok = wait_until(Duration::from_secs(6), || env.vip());
    let pid = child.id() as i32;
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let st = child.wait().expect("wait");
    assert!(ok, "never MASTER");
    assert_eq!(st.code(), Some(0));
    assert!(env.vip(), "-V: the VIP must stay");
    // -l: keepalived's console lines; without -D its detail lines are not printed.
    let log = std::fs::read_to_string(env.dir.join("log")).expect("log");
    assert!(log.contains(": (VI_1) Entering MASTER STATE\n"), "{log}");
    assert!(
        log.contains(": Stopped Keepalived v2.2.7 (01/16,2022)\n"),
        "{log}"
    );
    assert!(
        !log.contains("setting VIPs."),
        "detail line without -D:\n{log}"
    );
    assert!(
        !log.contains("Sending gratuitous ARP"),
        "detail line without -D:\n{log}"
    );
}

#[test]
fn no_address_is_fault_until_one_appears() {
    if !root() {
        return;
    }
    let env = Env::new("a");
    sh(&["ip", "-n", &env.ns, "addr", "flush", "dev", "vd0"]);
    let log = std::fs::File::create(env.dir.join("log")).expect("log");
    let mut child = env
        .cmd(&["-n"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start");
    let read = || std::fs::read_to_string(env.dir.join("log")).unwrap_or_default();
    let faulted = wait_until(Duration::from_secs(3), || {
        read().contains("(VI_1) entering FAULT state (no IPv4 address for interface)")
    });
    std::thread::sleep(Duration::from_secs(4));
    let vip_without_address = env.vip();
    sh(&[
        "ip",
        "-n",
        &env.ns,
        "addr",
        "add",
        "10.97.0.1/24",
        "dev",
        "vd0",
    ]);
    let master = wait_until(Duration::from_secs(6), || env.vip());
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let log = read();
    assert!(faulted, "{log}");
    assert!(!vip_without_address, "MASTER without an address:\n{log}");
    assert!(log.contains("(VI_1) Entering FAULT STATE (init)"), "{log}");
    assert!(
        master,
        "did not leave FAULT once the address appeared:\n{log}"
    );
}

#[test]
fn tells_systemd_ready_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    if !root() {
        return;
    }
    let env = Env::new("s");
    let sock_path = env.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut child = env
        .cmd(&["-n"])
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let mut buf = [0u8; 256];
    let first = sock
        .recv(&mut buf)
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let second = sock
        .recv(&mut buf)
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
    let _ = child.wait();
    assert_eq!(first.ok().as_deref(), Some("READY=1\n"));
    assert_eq!(second.ok().as_deref(), Some("STOPPING=1\n"));
}

#[test]
fn track_interface_down_is_fault() {
    if !root() {
        return;
    }
    let env = Env::new("t");
    sh(&[
        "ip", "-n", &env.ns, "link", "add", "vd2", "type", "veth", "peer", "name", "vd3",
    ]);
    sh(&["ip", "-n", &env.ns, "link", "set", "vd2", "up"]);
    sh(&["ip", "-n", &env.ns, "link", "set", "vd3", "up"]);
    std::fs::write(
        env.dir.join("k.conf"),
        format!(
            "vrrp_instance VI_1 {{\n state MASTER\n interface vd0\n virtual_router_id 9\n priority 150\n advert_int 1\n virtual_ipaddress {{\n  {VIP}/24\n }}\n track_interface {{\n  vd2\n }}\n}}\n"
        ),
    )
    .expect("conf");
    let log = std::fs::File::create(env.dir.join("log")).expect("log");
    let mut child = env
        .cmd(&["-n"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start");
    let read = || std::fs::read_to_string(env.dir.join("log")).unwrap_or_default();
    let master = wait_until(Duration::from_secs(6), || env.vip());
    sh(&["ip", "-n", &env.ns, "link", "set", "vd2", "down"]);
    let fault = wait_until(Duration::from_secs(3), || {
        read().contains("(VI_1) Entering FAULT STATE") && !env.vip()
    });
    sh(&["ip", "-n", &env.ns, "link", "set", "vd2", "up"]);
    let back = wait_until(Duration::from_secs(6), || env.vip());
    // SAFETY: kill(2) on our child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let log = read();
    assert!(master, "{log}");
    assert!(fault, "tracked interface down did not give FAULT:\n{log}");
    assert!(log.contains("Netlink reports vd2 down"), "{log}");
    assert!(back, "did not recover:\n{log}");
}
