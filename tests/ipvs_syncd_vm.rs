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
        // run-ipvs-tests.sh sets this on the host: a test binary that did not reach the VM
        // must fail there, not skip
        assert!(
            std::env::var_os("IPVS_VM_EXPECTED").is_none(),
            "the IPVS VM runner was not used: this test ran on the host"
        );
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

/// One daemon under test, with its configuration file and its log.
struct Session {
    child: Child,
    tag: String,
    conf: PathBuf,
    log: PathBuf,
    /// (step, `ipvsadm -L --daemon` then)
    steps: Vec<(String, Vec<String>)>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Only when a step panicked: the process we started must not outlive the test.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Session {
    fn start(bin: &Path, dir: &Path, tag: &str, conf: &str) -> Session {
        let conf_file = dir.join(format!("{tag}.conf"));
        std::fs::write(&conf_file, conf).expect("conf");
        let log_file = dir.join(format!("{tag}.log"));
        let log = std::fs::File::create(&log_file).expect("log");
        let run = |s: &str| PathBuf::from(format!("/run/syncd-{tag}{s}.pid"));
        let child = Command::new(bin)
            .args(["-n", "-l", "-D", "-f"])
            .arg(&conf_file)
            .arg("-p")
            .arg(run(""))
            .arg("-r")
            .arg(run("-vrrp"))
            .arg("-c")
            .arg(run("-chk"))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start keepalived");
        Session {
            child,
            tag: tag.to_string(),
            conf: conf_file,
            log: log_file,
            steps: Vec::new(),
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the daemons satisfy `f`; records them as step `step`.
    fn wait(&mut self, step: &str, secs: u64, f: impl FnMut(&[String]) -> bool) {
        let t = keepalived_rs::sys::clock::now();
        let v = wait_for(&format!("{}: {step}", self.tag), secs, f);
        eprintln!("{}: {step}: {v:?} ({:?})", self.tag, t.elapsed());
        self.steps.push((step.to_string(), v));
    }

    /// Two seconds on, the daemons must be what the last step recorded.
    fn settled(&self) {
        std::thread::sleep(Duration::from_secs(2));
        let last = self.steps.last().map(|s| s.1.clone()).unwrap_or_default();
        assert_eq!(daemons(), last, "{}: daemons changed", self.tag);
    }

    /// SIGHUP with `conf` (if any) as the new file; waits for "Reload complete".
    fn reload(&mut self, conf: Option<&str>) {
        if let Some(c) = conf {
            std::fs::write(&self.conf, c).expect("conf");
        }
        let before = self.log_text().matches("Reload complete").count();
        signal(&self.child, nix::sys::signal::Signal::SIGHUP);
        for _ in 0..300 {
            if self.log_text().matches("Reload complete").count() > before {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{}: no reload:\n{}", self.tag, self.log_text());
    }

    /// SIGTERM; waits for the exit, records what is left.
    fn stop(mut self) -> (Vec<(String, Vec<String>)>, String) {
        signal(&self.child, nix::sys::signal::Signal::SIGTERM);
        let mut ended = false;
        for _ in 0..300 {
            if self.child.try_wait().ok().flatten().is_some() {
                ended = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ended, "{}: did not stop within 30 s", self.tag);
        self.steps.push(("after SIGTERM".into(), daemons()));
        (std::mem::take(&mut self.steps), self.log_text())
    }
}

fn signal(c: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(c.id() as i32);
    nix::sys::signal::kill(pid, sig).expect("signal");
}

fn link(name: &str, state: &str) {
    sh("ip", &["link", "set", name, state]);
}

/// The VRRP side: the instance goes BACKUP, MASTER, FAULT (link down), MASTER again, then
/// two reloads.
fn vrrp_scenario(bin: &Path, dir: &Path, tag: &str) -> (Vec<(String, Vec<String>)>, String) {
    let mut s = Session::start(bin, dir, tag, &conf(FIRST));
    let master = |v: &[String]| v.iter().any(|l| l.starts_with("master"));
    s.wait("while BACKUP", 60, |v| !v.is_empty());
    s.wait("once MASTER", 60, master);
    s.settled();
    link(IFACE, "down");
    s.wait("in FAULT", 30, |v| !v.is_empty() && !master(v));
    s.settled();
    link(IFACE, "up");
    s.wait("MASTER again", 60, master);
    s.reload(None);
    std::thread::sleep(Duration::from_secs(2));
    s.steps
        .push(("after an unchanged reload".into(), daemons()));
    s.reload(Some(&conf(SECOND)));
    s.wait("after a reload to another interface", 30, |v| {
        v.iter().any(|l| l.contains(IFACE2))
    });
    s.settled();
    s.stop()
}

/// The checker side: no instance named, a virtual server: both daemons.
fn checker_scenario(bin: &Path, dir: &Path, tag: &str) -> (Vec<(String, Vec<String>)>, String) {
    let conf = |sync: &str| {
        format!(
            "global_defs {{\n    {sync}\n}}\n\
virtual_server 10.77.1.1 80 {{\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 127.0.0.2 8080 {{\n    }}\n}}\n"
        )
    };
    let mut s = Session::start(bin, dir, tag, &conf("lvs_sync_daemon syncd0 id 5 ttl 2"));
    s.wait("at start", 60, |v| v.len() == 2);
    s.settled();
    s.reload(None);
    std::thread::sleep(Duration::from_secs(2));
    s.steps
        .push(("after an unchanged reload".into(), daemons()));
    s.reload(Some(&conf("lvs_sync_daemon syncd1")));
    s.wait("after a reload to another interface", 30, |v| {
        v.len() == 2 && v.iter().all(|l| l.contains(IFACE2))
    });
    s.settled();
    s.stop()
}

/// keepalived's lines about IPVS (the sync daemon's errors, "Initializing ipvs", ...) without
/// the console timestamp.
fn ipvs_lines(log: &str, only_errors: bool) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("IPVS") || l.contains("ipvs") || l.contains("lvs_sync"))
        .map(|l| match l.find(": ") {
            Some(i) if l[..i].chars().filter(|c| *c == ':').count() == 2 => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .filter(|l| !only_errors || l.starts_with("IPVS cmd"))
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

/// Both tests start and stop the kernel's (single) sync daemons: one at a time.
static KERNEL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn stop_kernel_daemons() {
    for role in ["master", "backup"] {
        let _ = Command::new("ipvsadm")
            .args(["--stop-daemon", role])
            .stderr(Stdio::null())
            .status();
    }
    assert!(daemons().is_empty());
}

fn setup() -> PathBuf {
    cleanup_links();
    for (a, b) in [(IFACE, "syncd0p"), (IFACE2, "syncd1p")] {
        sh("ip", &["link", "add", a, "type", "veth", "peer", "name", b]);
        sh("ip", &["link", "set", a, "up"]);
        sh("ip", &["link", "set", b, "up"]);
    }
    sh("ip", &["addr", "add", "10.77.0.1/24", "dev", IFACE]);
    stop_kernel_daemons();
    let dir = std::env::temp_dir().join(format!("syncd-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

type Scenario = fn(&Path, &Path, &str) -> (Vec<(String, Vec<String>)>, String);

/// Runs a scenario under Debian's keepalived (if installed) and ours; returns ours, after
/// checking each step (and the IPVS log lines) against keepalived's.
fn both(name: &str, scenario: Scenario, only_errors: bool) -> (Vec<(String, Vec<String>)>, String) {
    let dir = setup();
    let oracle_bin = Path::new("/usr/sbin/keepalived");
    let oracle = if oracle_bin.exists() {
        Some(scenario(oracle_bin, &dir, &format!("{name}-oracle")))
    } else {
        eprintln!("keepalived not installed: oracle comparison skipped");
        None
    };
    stop_kernel_daemons();
    let ours = scenario(
        Path::new(env!("CARGO_BIN_EXE_keepalived")),
        &dir,
        &format!("{name}-ours"),
    );
    if let Some((steps, log)) = &oracle {
        assert_eq!(
            &ours.0, steps,
            "{name}: ipvsadm -L --daemon, ours vs keepalived's"
        );
        assert_eq!(
            ipvs_lines(&ours.1, only_errors),
            ipvs_lines(log, only_errors),
            "{name}: IPVS log lines, ours vs keepalived's"
        );
    }
    cleanup_links();
    let _ = std::fs::remove_dir_all(&dir);
    ours
}

fn step<'a>(steps: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
    &steps
        .iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no step {name}"))
        .1
}

#[test]
fn vrrp_instance_controls_the_sync_daemon_like_keepalived() {
    if !enabled() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, log) = both("vrrp", vrrp_scenario, false);
    assert_eq!(
        ipvs_lines(&log, true),
        ["IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: Daemon has already run(17)"],
        "the unchanged reload's start of the running daemon fails, and keepalived says so"
    );
    // What keepalived 2.2.7 does, spelled out (so the test means something without it too).
    let opts = "maxlen=1400, group=239.1.2.3, port=8850, ttl=3";
    let backup = [format!(
        "backup sync daemon (mcast=syncd0, syncid=51, {opts})"
    )];
    let master = [format!(
        "master sync daemon (mcast=syncd0, syncid=51, {opts})"
    )];
    assert_eq!(step(&s, "while BACKUP"), backup);
    assert_eq!(step(&s, "once MASTER"), master);
    assert_eq!(step(&s, "in FAULT"), backup);
    assert_eq!(step(&s, "MASTER again"), master);
    assert_eq!(step(&s, "after an unchanged reload"), master);
    assert_eq!(
        step(&s, "after a reload to another interface"),
        ["master sync daemon (mcast=syncd1, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"]
    );
    assert!(step(&s, "after SIGTERM").is_empty());
}

#[test]
fn checker_side_runs_both_daemons_like_keepalived() {
    if !enabled() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, log) = both("checker", checker_scenario, true);
    assert_eq!(
        ipvs_lines(&log, true),
        ["IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: Daemon has already run(17)"; 2],
        "the unchanged reload (with an id) starts both running daemons again"
    );
    let d = |role: &str, rest: &str| format!("{role} sync daemon (mcast={rest}");
    let first = "syncd0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=2)";
    let moved = "syncd1, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)";
    assert_eq!(
        step(&s, "at start"),
        [d("backup", first), d("master", first)]
    );
    assert_eq!(
        step(&s, "after an unchanged reload"),
        [d("backup", first), d("master", first)]
    );
    assert_eq!(
        step(&s, "after a reload to another interface"),
        [d("backup", moved), d("master", moved)]
    );
    assert!(step(&s, "after SIGTERM").is_empty());
}
