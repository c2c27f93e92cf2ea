//! `lvs_sync_daemon` end to end, in a real kernel (the VM of tests/vm/run-ipvs-tests.sh): our
//! `keepalived` binary and Debian's keepalived 2.2.7 run one after the other on the same
//! configuration (one VRRP instance on a veth pair made here, which becomes MASTER on its own),
//! and `ipvsadm -L --daemon` must be the same under both at each step: while the instance is
//! BACKUP (the backup daemon, syncid = the VRID, the configured maxlen/port/ttl/group), once
//! it is MASTER (only the master daemon), after a reload with the same configuration (nothing
//! changes; both log keepalived's "Daemon has already run" line), after a reload that moves
//! the daemon to another interface and syncid (restarted with the new settings), and after
//! SIGTERM (nothing left).
//!
//! Runs only inside the VM (IPVSVM/KA_VM set); skips elsewhere. Without Debian's keepalived the
//! oracle comparison is skipped, the expected lines are still checked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn enabled() -> bool {
    let vm = std::env::var_os("IPVSVM").is_some() || std::env::var_os("KA_VM").is_some();
    if !vm {
        eprintln!("ipvs_syncd_vm: skipped: starts IPVS sync daemons in the kernel; runs inside the VM (tests/vm/run-ipvs-tests.sh) or with KA_VM=1");
    }
    vm
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ipvsadm -L --daemon`, one daemon a line.
fn daemons() -> Vec<String> {
    let mut v: Vec<String> = sh("ipvsadm", &["-L", "--daemon"])
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut(&[String]) -> bool) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..secs * 10 {
        last = daemons();
        if f(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}; ipvsadm -L --daemon: {last:?}");
}

const IFACE: &str = "syncd0";
const IFACE2: &str = "syncd1";

fn conf(global: &str) -> String {
    format!(
        "global_defs {{\n    router_id syncd_vm\n    {global}\n}}\n\
vrrp_instance VI_SD {{\n    state BACKUP\n    interface {IFACE}\n    virtual_router_id 51\n    priority 100\n    advert_int 2\n    virtual_ipaddress {{\n        10.77.0.100/24\n    }}\n}}\n"
    )
}

const FIRST: &str = "lvs_sync_daemon syncd0 VI_SD maxlen 1400 port 8850 ttl 3 group 239.1.2.3";
const SECOND: &str = "lvs_sync_daemon syncd1 inst VI_SD id 9";

/// What one daemon left in the kernel at each step, and its log.
#[derive(Debug)]
struct Run {
    backup: Vec<String>,
    master: Vec<String>,
    reload_same: Vec<String>,
    reload_moved: Vec<String>,
    stopped: Vec<String>,
    log: String,
}

struct Daemon {
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only when a step panicked: the process we started must not outlive the test.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn signal(d: &Daemon, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(d.child.id() as i32);
    nix::sys::signal::kill(pid, sig).expect("signal");
}

fn run(bin: &Path, dir: &Path, tag: &str) -> Run {
    let conf_file = dir.join(format!("{tag}.conf"));
    std::fs::write(&conf_file, conf(FIRST)).expect("conf");
    let log_file = dir.join(format!("{tag}.log"));
    let log = std::fs::File::create(&log_file).expect("log");
    let run_dir = PathBuf::from("/run");
    let child = Command::new(bin)
        .args(["-n", "-l", "-D", "-f"])
        .arg(&conf_file)
        .arg("-p")
        .arg(run_dir.join(format!("syncd-{tag}.pid")))
        .arg("-r")
        .arg(run_dir.join(format!("syncd-{tag}-vrrp.pid")))
        .arg("-c")
        .arg(run_dir.join(format!("syncd-{tag}-chk.pid")))
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start keepalived");
    let mut d = Daemon { child };
    let t = keepalived_rs::sys::clock::now();

    let backup = wait_for(&format!("{tag}: a sync daemon"), 60, |v| !v.is_empty());
    eprintln!("{tag}: {backup:?} after {:?}", t.elapsed());
    let master = wait_for(&format!("{tag}: the master daemon"), 60, |v| {
        v.iter().any(|l| l.starts_with("master"))
    });
    eprintln!("{tag}: {master:?} after {:?}", t.elapsed());
    // Settled: nothing else starts or stops while it stays MASTER.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(daemons(), master, "{tag}: daemons changed while MASTER");

    // A reload with the same configuration changes nothing.
    signal(&d, nix::sys::signal::Signal::SIGHUP);
    let logged = |what: &str| {
        std::fs::read_to_string(&log_file)
            .unwrap_or_default()
            .matches(what)
            .count()
    };
    for _ in 0..200 {
        if logged("Reload complete") > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(logged("Reload complete") > 0, "{tag}: no reload");
    std::thread::sleep(Duration::from_secs(2));
    let reload_same = daemons();

    // A reload that moves the daemon: restarted on the new interface with the new syncid.
    std::fs::write(&conf_file, conf(SECOND)).expect("conf");
    signal(&d, nix::sys::signal::Signal::SIGHUP);
    let reload_moved = wait_for(&format!("{tag}: the daemon on {IFACE2}"), 30, |v| {
        v.iter().any(|l| l.contains(IFACE2))
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        daemons(),
        reload_moved,
        "{tag}: daemons changed after reload"
    );

    signal(&d, nix::sys::signal::Signal::SIGTERM);
    let mut ended = false;
    for _ in 0..300 {
        if d.child.try_wait().ok().flatten().is_some() {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ended, "{tag}: did not stop within 30 s");
    let stopped = daemons();
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    drop(d);
    Run {
        backup,
        master,
        reload_same,
        reload_moved,
        stopped,
        log,
    }
}

/// keepalived's lines about IPVS (the sync daemon's errors, "Initializing ipvs", ...).
fn ipvs_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("IPVS") || l.contains("ipvs") || l.contains("lvs_sync"))
        // strip keepalived's "Sun Nov 22 09:22:15 2026: " console timestamp
        .map(|l| match l.find(": ") {
            Some(i) if l[..i].chars().filter(|c| *c == ':').count() == 2 => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

fn cleanup_links() {
    for l in [IFACE, IFACE2] {
        let _ = Command::new("ip")
            .args(["link", "del", l])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn sync_daemons_follow_the_instance_like_keepalived() {
    if !enabled() {
        return;
    }
    cleanup_links();
    for (a, b) in [(IFACE, "syncd0p"), (IFACE2, "syncd1p")] {
        sh("ip", &["link", "add", a, "type", "veth", "peer", "name", b]);
        sh("ip", &["link", "set", a, "up"]);
        sh("ip", &["link", "set", b, "up"]);
    }
    sh("ip", &["addr", "add", "10.77.0.1/24", "dev", IFACE]);
    let _ = Command::new("ipvsadm")
        .args(["--stop-daemon", "master"])
        .stderr(Stdio::null())
        .status();
    let _ = Command::new("ipvsadm")
        .args(["--stop-daemon", "backup"])
        .stderr(Stdio::null())
        .status();
    assert!(daemons().is_empty());
    let dir = std::env::temp_dir().join(format!("syncd-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");

    let oracle_bin = Path::new("/usr/sbin/keepalived");
    let oracle = if oracle_bin.exists() {
        Some(run(oracle_bin, &dir, "oracle"))
    } else {
        eprintln!("keepalived not installed: oracle comparison skipped");
        None
    };
    let ours = run(Path::new(env!("CARGO_BIN_EXE_keepalived")), &dir, "ours");
    eprintln!("ours: {ours:#?}");

    // What keepalived 2.2.7 does, spelled out (so the test means something without it too).
    let opts = "maxlen=1400, group=239.1.2.3, port=8850, ttl=3";
    assert_eq!(
        ours.backup,
        [format!(
            "backup sync daemon (mcast=syncd0, syncid=51, {opts})"
        )]
    );
    assert_eq!(
        ours.master,
        [format!(
            "master sync daemon (mcast=syncd0, syncid=51, {opts})"
        )]
    );
    assert_eq!(ours.reload_same, ours.master);
    assert_eq!(
        ours.reload_moved,
        ["master sync daemon (mcast=syncd1, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"]
    );
    assert!(ours.stopped.is_empty(), "left running: {:?}", ours.stopped);
    let ours_ipvs = ipvs_lines(&ours.log);
    assert!(
        ours_ipvs.contains(
            &"IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: Daemon has already run(17)".into()
        ),
        "{ours_ipvs:?}"
    );

    if let Some(o) = &oracle {
        eprintln!("oracle: {o:#?}");
        assert_eq!(ours.backup, o.backup, "while BACKUP");
        assert_eq!(ours.master, o.master, "once MASTER");
        assert_eq!(ours.reload_same, o.reload_same, "after an unchanged reload");
        assert_eq!(ours.reload_moved, o.reload_moved, "after a changed reload");
        assert_eq!(ours.stopped, o.stopped, "after SIGTERM");
        assert_eq!(ours_ipvs, ipvs_lines(&o.log), "IPVS log lines");
    }
    cleanup_links();
    let _ = std::fs::remove_dir_all(&dir);
}
