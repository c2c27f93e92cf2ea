//! A namespaced LAN for daemon-level tests (shared by `netns_vrrp`, `netns_notify` and
//! `netns_reload`, and others): a
//! switch namespace with a bridge, routers `A` and `B` and a client `C`, each with a veth `vd0`
//! on the bridge and `PREFIX.1`, `.2`, `.10`/24. Routers are whole processes (ours or Debian's
//! keepalived 2.2.7) started with `-n -l -D -G` and their own pid files; helper processes (an
//! SMTP server, a FIFO reader, `ip monitor`, ping) can be started in any namespace. Drop kills
//! every process the lab started (by process group, each was started with `setsid`), deletes
//! the namespaces and the temp dir (`WIRE_KEEP=1` keeps the dir).
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keepalived_rs::sys::clock;

pub const KA: &str = "/usr/sbin/keepalived";
pub const OURS: &str = env!("CARGO_BIN_EXE_keepalived");

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Root, iproute2 and keepalived present (else prints why and returns false).
pub fn can_run(extra_tools: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: network namespace tests need root");
        return false;
    }
    for t in ["ip"].iter().chain(extra_tools) {
        if !have(t) {
            eprintln!("skipping: {t} is not installed");
            return false;
        }
    }
    if !Path::new(KA).exists() {
        eprintln!("skipping: {KA} is not installed");
        return false;
    }
    true
}

pub fn sh(args: &[&str]) -> String {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = clock::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if clock::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_group(c: &mut Child, sig: i32) {
    if let Ok(None) = c.try_wait() {
        // SAFETY: kill(2) on the process group of a child we started with setsid.
        unsafe { libc::kill(-(c.id() as i32), sig) };
        if sig == libc::SIGKILL {
            let _ = c.wait();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Impl {
    Ours,
    Keepalived,
}

pub struct Lab {
    tag: String,
    pub prefix: String,
    pub dir: PathBuf,
    routers: Vec<(String, Child)>,
    helpers: Vec<Child>,
    /// Start ours without `-P` (the checker side runs too).
    pub with_checkers: bool,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, c) in &mut self.routers {
            kill_group(c, libc::SIGKILL);
        }
        for c in &mut self.helpers {
            kill_group(c, libc::SIGKILL);
        }
        for r in ["A", "B", "C", "S"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(r)])
                .stderr(Stdio::null())
                .status();
        }
        if std::env::var_os("WIRE_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("kept {}", self.dir.display());
        }
    }
}

impl Lab {
    /// Namespace of role `r` ("A", "B", "C" or "S").
    pub fn ns(&self, r: &str) -> String {
        format!("wr{}{r}", self.tag)
    }

    /// `PREFIX.last`
    pub fn ip(&self, last: u8) -> String {
        format!("{}.{last}", self.prefix)
    }

    pub fn new(tag: &str, prefix: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!("wire-netns-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let lab = Lab {
            tag: tag.to_string(),
            prefix: prefix.to_string(),
            dir,
            routers: Vec::new(),
            helpers: Vec::new(),
            with_checkers: false,
        };
        for r in ["A", "B", "C", "S"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &lab.ns(r)])
                .stderr(Stdio::null())
                .status();
        }
        let s = lab.ns("S");
        for r in ["S", "A", "B", "C"] {
            let n = lab.ns(r);
            sh(&["ip", "netns", "add", &n]);
            sh(&["ip", "-n", &n, "link", "set", "lo", "up"]);
            // No duplicate address detection: link-locals usable at once (IPv6 adverts).
            sh(&[
                "ip",
                "netns",
                "exec",
                &n,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ]);
        }
        sh(&["ip", "-n", &s, "link", "add", "vdbr", "type", "bridge"]);
        sh(&[
            "ip",
            "-n",
            &s,
            "link",
            "set",
            "vdbr",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
        ]);
        for (r, last) in [("A", 1u8), ("B", 2), ("C", 10)] {
            let n = lab.ns(r);
            let port = format!("vdp{r}");
            sh(&[
                "ip", "-n", &n, "link", "add", "vd0", "type", "veth", "peer", "name", &port,
                "netns", &s,
            ]);
            sh(&["ip", "-n", &s, "link", "set", &port, "master", "vdbr", "up"]);
            sh(&[
                "ip",
                "-n",
                &n,
                "addr",
                "add",
                &format!("{}/24", lab.ip(last)),
                "dev",
                "vd0",
            ]);
            sh(&["ip", "-n", &n, "link", "set", "vd0", "up"]);
        }
        sh(&["ip", "-n", &s, "link", "set", "vdbr", "up"]);
        lab
    }

    /// Path of a file in the lab's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The config file of router `r`.
    pub fn conf_path(&self, r: &str) -> PathBuf {
        self.path(&format!("{r}.conf"))
    }

    /// Starts router `r` with `conf` (written to `r.conf`), logging to `r.log`.
    pub fn start(&mut self, r: &str, imp: Impl, conf: &str) {
        self.start_with_env(r, imp, conf, &[]);
    }

    /// [`Lab::start`] with extra environment variables. A router of that name that is still
    /// running is killed first (a restart).
    pub fn start_with_env(&mut self, r: &str, imp: Impl, conf: &str, env: &[(&str, &str)]) {
        if let Some(i) = self.routers.iter().position(|(n, _)| n == r) {
            let (_, mut c) = self.routers.remove(i);
            kill_group(&mut c, libc::SIGKILL);
        }
        let cf = self.conf_path(r);
        std::fs::write(&cf, conf).expect("conf");
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("{r}.log")))
            .expect("log");
        let bin = match imp {
            Impl::Ours => OURS,
            Impl::Keepalived => KA,
        };
        let p = |s: &str| self.path(&format!("{r}.{s}")).display().to_string();
        for f in ["pid", "vrrp.pid", "check.pid", "bfd.pid"] {
            let _ = std::fs::remove_file(p(f));
        }
        // `-P` (VRRP only) unless the checker side is wanted; `-D` again is harmless.
        let p_flag = if self.with_checkers { "-D" } else { "-P" };
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.ns(r),
            bin,
            "-n",
            "-l",
            "-D",
            "-G",
            p_flag,
            "-f",
        ])
        .arg(&cf)
        .args([
            "-p",
            &p("pid"),
            "-r",
            &p("vrrp.pid"),
            "-c",
            &p("check.pid"),
            "-b",
            &p("bfd.pid"),
        ])
        .env("TMPDIR", &self.dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(logf.try_clone().expect("dup"))
        .stderr(logf);
        // SAFETY: setsid in the child before exec; async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start router");
        self.routers.push((r.to_string(), child));
    }

    /// The router's daemon pid (`ip netns exec` execs it, so it is our child's pid).
    pub fn pid(&self, r: &str) -> i32 {
        self.routers
            .iter()
            .find(|(n, _)| n == r)
            .map(|(_, c)| c.id() as i32)
            .expect("router running")
    }

    pub fn signal(&self, r: &str, sig: i32) {
        // SAFETY: kill(2) on a daemon this lab started.
        unsafe { libc::kill(self.pid(r), sig) };
    }

    pub fn running(&mut self, r: &str) -> bool {
        self.routers
            .iter_mut()
            .find(|(n, _)| n == r)
            .is_some_and(|(_, c)| matches!(c.try_wait(), Ok(None)))
    }

    /// kill -9 of the router's whole process group (a crash).
    pub fn crash(&mut self, r: &str) {
        if let Some((_, c)) = self.routers.iter_mut().find(|(n, _)| n == r) {
            kill_group(c, libc::SIGKILL);
        }
    }

    /// SIGTERM and wait (10 s) for the exit status.
    pub fn terminate(&mut self, r: &str) -> Option<i32> {
        let i = self.routers.iter().position(|(n, _)| n == r)?;
        let c = &mut self.routers[i].1;
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let end = clock::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st.code();
            }
            if clock::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self, r: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{r}.log"))).unwrap_or_default()
    }

    pub fn has_addr(&self, r: &str, addr: &str) -> bool {
        Command::new("ip")
            .args(["-n", &self.ns(r), "-o", "addr", "show", "dev", "vd0"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {addr}/")))
    }

    /// A command run inside namespace `r`, in its own process group.
    pub fn command_in(&self, r: &str, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(r)]).args(argv);
        // SAFETY: setsid in the child before exec; async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        cmd
    }

    /// Starts a helper process the lab kills at drop; returns its index.
    pub fn spawn_helper(&mut self, mut cmd: Command) -> usize {
        let c = cmd.spawn().expect("helper");
        self.helpers.push(c);
        self.helpers.len() - 1
    }

    pub fn helper(&mut self, i: usize) -> &mut Child {
        &mut self.helpers[i]
    }

    /// Stops helper `i` with `sig` to its group and reaps it.
    pub fn stop_helper(&mut self, i: usize, sig: i32) {
        let c = &mut self.helpers[i];
        if let Ok(None) = c.try_wait() {
            // SAFETY: kill(2) on a helper group this lab started.
            unsafe { libc::kill(-(c.id() as i32), sig) };
            let end = clock::now() + Duration::from_secs(5);
            while matches!(c.try_wait(), Ok(None)) && clock::now() < end {
                std::thread::sleep(Duration::from_millis(20));
            }
            kill_group(c, libc::SIGKILL);
        }
    }
}
