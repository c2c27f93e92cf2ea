//! SIGHUP with one real server changed touches only that entry, in a real kernel (the VM of
//! tests/vm/run-ipvs-tests.sh), for our `keepalived` binary and, as the oracle, Debian's
//! keepalived 2.2.7 in turn, with the same configurations:
//!
//! - config 1: one NAT service, real servers A and B listening, C not (C is checked down
//!   and removed), connections counted on A and B (a client in its own network namespace);
//! - config 2: only B's weight changed; SIGHUP.
//!
//! While the reload happens, `ipvsadm -Sn` is sampled every few milliseconds: the only table
//! the kernel ever shows besides the one before is the one with B's new weight (A is never
//! removed or re-added, C never comes back for a moment, nothing flaps). A's and B's
//! connection counters are the same before and after (an entry deleted and re-added would
//! restart them). Both daemons end with the same table and log the same weight change.
//!
//! Runs only inside the VM (IPVSVM/KA_VM set); skips elsewhere.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "support/ipvs_vm.rs"]
mod ipvs_vm;
use ipvs_vm::{client_netns, in_vm, ipvsadm, save, wait_for};

const VIP: &str = "10.10.0.1";
const A: &str = "127.0.0.2:8081";
const B: &str = "127.0.0.2:8082";
const C: &str = "127.0.0.2:8083";

fn conf(b_weight: u32) -> String {
    let rs = |addr: &str, w: u32| {
        let (ip, port) = addr.split_once(':').unwrap();
        format!(
            "    real_server {ip} {port} {{\n        weight {w}\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n"
        )
    };
    format!(
        "global_defs {{\n    router_id sighup_vm\n}}\nvirtual_server {VIP} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{}{}{}}}\n",
        rs(A, 1),
        rs(B, b_weight),
        rs(C, 1)
    )
}

/// Per-dest `Conns` of our service (`ipvsadm -Ln --stats`).
fn dest_conns() -> Vec<(String, u64)> {
    ipvsadm(&["-L", "-n", "--stats", "-t", &format!("{VIP}:80")])
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix("->")?;
            let mut f = rest.split_whitespace();
            let addr = f.next()?.to_string();
            let conns = f.next()?.parse().ok()?;
            Some((addr, conns))
        })
        .collect()
}

/// A real server: accepts and drops connections until dropped.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    fn start(addr: &str) -> Listener {
        let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        l.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                if l.accept().is_err() {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Listener {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Four connections to the service from a client in its own network namespace (IPVS
/// schedules packets arriving for a local address; rr spreads them over A and B).
fn connect_from_outside() {
    let mut client = client_netns();
    let pid = client.id().to_string();
    let run = |args: &[&str]| {
        let ok = Command::new(args[0])
            .args(&args[1..])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "{args:?}");
    };
    let _ = Command::new("ip")
        .args(["link", "del", "shv0"])
        .stderr(Stdio::null())
        .status();
    run(&[
        "ip", "link", "add", "shv0", "type", "veth", "peer", "name", "shv1", "netns", &pid,
    ]);
    run(&["ip", "addr", "add", "10.10.6.1/24", "dev", "shv0"]);
    run(&["ip", "link", "set", "shv0", "up"]);
    let ns = |args: &[&str]| {
        let mut v = vec!["nsenter", "-t", &pid, "-n"];
        v.extend_from_slice(args);
        run(&v);
    };
    ns(&["ip", "addr", "add", "10.10.6.2/24", "dev", "shv1"]);
    ns(&["ip", "link", "set", "shv1", "up"]);
    ns(&["ip", "route", "add", "default", "via", "10.10.6.1"]);
    // Connect from a thread that joined the client's namespace: each connect sends its SYN
    // at once (NAT to a loopback address goes nowhere, so it then times out; the SYN is
    // scheduled and counted all the same).
    let netns = std::fs::File::open(format!("/proc/{pid}/ns/net")).expect("client netns");
    std::thread::spawn(move || {
        nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let vip: std::net::SocketAddr = format!("{VIP}:80").parse().expect("vip");
        for _ in 0..4 {
            let _ = std::net::TcpStream::connect_timeout(&vip, Duration::from_millis(300));
        }
    })
    .join()
    .expect("client thread");
    let _ = client.kill();
    let _ = client.wait();
}

/// A keepalived (ours or Debian's) running the checker side only, logging to a file.
struct Daemon {
    who: String,
    child: Child,
    log_path: std::path::PathBuf,
}

impl Daemon {
    fn start(who: &str, bin: &Path, conf: &Path, dir: &Path) -> Daemon {
        let log_path = dir.join(format!("{who}.log"));
        let log = std::fs::File::create(&log_path).expect("log");
        let child = Command::new(bin)
            .args(["-n", "-l", "-D", "-C", "-f"])
            .arg(conf)
            .args(["-p", &format!("/run/ipvs-daemon-{who}.pid")])
            .args(["-c", &format!("/run/ipvs-daemon-{who}-chk.pid")])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        Daemon {
            who: who.to_string(),
            child,
            log_path,
        }
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig);
    }

    /// Voluntary context switches of the main thread so far (each sleep that ends is one).
    fn main_thread_wakeups(&self) -> u64 {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/status"))
            .expect("main thread status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("voluntary_ctxt_switches")
    }

    fn log(&self) -> String {
        let mut log = String::new();
        let _ = std::fs::File::open(&self.log_path).and_then(|mut f| f.read_to_string(&mut log));
        log
    }

    /// SIGTERM, wait for it to end and release its services; returns its log.
    fn stop(mut self) -> String {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
        let who = self.who.clone();
        wait_for(&format!("{who}: services released"), 20, || {
            save().is_empty()
        });
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // a failed assertion: do not leave the daemon running in the VM
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one daemon did.
struct Run {
    before: Vec<String>,
    after: Vec<String>,
    log: String,
}

/// The whole scenario for one daemon binary.
fn scenario(who: &str, bin: &Path, dir: &Path) -> Run {
    let _ = ipvsadm(&["-C"]);
    let conf_path = dir.join(format!("{who}.conf"));
    std::fs::write(&conf_path, conf(1)).expect("conf");
    let daemon = Daemon::start(who, bin, &conf_path, dir);

    let has = |t: &[String], rs: &str| t.iter().any(|l| l.contains(&format!("-r {rs} ")));
    wait_for(&format!("{who}: A and B in, C checked out"), 30, || {
        let t = save();
        has(&t, A) && has(&t, B) && !has(&t, C)
    });
    connect_from_outside();
    // The kernel's estimator folds the per-CPU counters into what ipvsadm reads about every
    // 2 s: wait until the counts show and stay put for one more period.
    for _ in 0..100 {
        if dest_conns().iter().filter(|(_, n)| *n > 0).count() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        dest_conns().iter().filter(|(_, n)| *n > 0).count(),
        2,
        "{who}: connections not counted on both A and B:\n{}\n{}",
        ipvsadm(&["-L", "-n", "-c"]),
        ipvsadm(&["-L", "-n", "--stats"])
    );
    let mut conns_before = dest_conns();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(2200));
        let now = dest_conns();
        if now == conns_before {
            break;
        }
        conns_before = now;
    }
    assert!(
        conns_before.iter().all(|(_, n)| *n > 0) && conns_before.len() == 2,
        "{who}: connections were not spread over A and B: {conns_before:?}"
    );
    let before = save();

    // Sample the table while the reload happens.
    let seen = Arc::new(Mutex::new(BTreeSet::from([before.clone()])));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (seen, stop) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = save();
                seen.lock().unwrap().insert(t);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::fs::write(&conf_path, conf(3)).expect("conf 2");
    let switches_before = daemon.main_thread_wakeups();
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    wait_for(&format!("{who}: B's new weight"), 30, || {
        save()
            .iter()
            .any(|l| l.contains(&format!("-r {B} -m -w 3")))
    });
    // a few more check rounds (C keeps failing and must stay out), and time for the
    // counters to be folded again
    std::thread::sleep(Duration::from_millis(3500));
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");
    // The supervisor (keepalived's parent process) sleeps until the next signal once the
    // reload is done: it must not be left polling (ours once polled every millisecond for a
    // second after each reload, waiting for the replaced checker thread it had already joined).
    let wakeups = daemon.main_thread_wakeups() - switches_before;
    assert!(
        wakeups < 50,
        "{who}: the supervisor woke {wakeups} times over the reload and the 3.5 s after it"
    );
    let after = save();
    let conns_after = dest_conns();

    let log = daemon.stop();

    let seen = seen.lock().unwrap().clone();
    let expected: BTreeSet<Vec<String>> = [before.clone(), after.clone()].into();
    assert_eq!(
        seen, expected,
        "{who}: the kernel showed a table other than before/after during the reload\nlog:\n{log}"
    );
    let changed: Vec<(&String, &String)> =
        before.iter().zip(&after).filter(|(x, y)| x != y).collect();
    assert_eq!(changed.len(), 1, "{who}: {before:?} -> {after:?}");
    assert!(
        changed[0].1.contains(&format!("-r {B} -m -w 3")),
        "{changed:?}"
    );
    assert_eq!(
        conns_after, conns_before,
        "{who}: a connection counter restarted: an entry was deleted and re-added"
    );
    eprintln!("--- {who}'s log:\n{log}---");
    eprintln!(
        "{who}: per-dest connections {conns_before:?} kept across the reload; {} tables sampled",
        seen.len()
    );
    Run { before, after, log }
}

/// The log lines containing `what`, from the start of the word where it begins (time stamps
/// dropped).
fn lines_with(log: &str, what: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let i = l.find(what)?;
            let start = l[..i].rfind(' ').map_or(0, |j| j + 1);
            Some(l[start..].trim().to_string())
        })
        .collect()
}

fn weight_lines(log: &str) -> Vec<String> {
    lines_with(log, "Changing weight")
}

#[test]
fn sighup_with_one_real_server_changed_touches_only_that_entry() {
    if !in_vm("sighup_with_one_real_server_changed_touches_only_that_entry") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sighup-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let _ = Command::new("ip")
        .args(["addr", "add", &format!("{VIP}/32"), "dev", "lo"])
        .status();
    let _ = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    let _a = Listener::start(A);
    let _b = Listener::start(B);

    let ka = Path::new("/usr/sbin/keepalived");
    let oracle = if ka.exists() {
        Some(scenario("keepalived", ka, &dir))
    } else {
        eprintln!("keepalived not installed: oracle comparison skipped");
        None
    };
    let ours = scenario("ours", Path::new(env!("CARGO_BIN_EXE_keepalived")), &dir);

    let ours_weight = weight_lines(&ours.log);
    assert_eq!(
        ours_weight,
        vec!["Changing weight from 1 to 3 for active service [127.0.0.2]:tcp:8082 of VS [10.10.0.1]:tcp:80".to_string()],
        "log:\n{}",
        ours.log
    );
    if let Some(o) = oracle {
        assert_eq!(
            ours.before, o.before,
            "table before the reload: ours vs keepalived"
        );
        assert_eq!(
            ours.after, o.after,
            "table after the reload: ours vs keepalived"
        );
        assert_eq!(
            ours_weight,
            weight_lines(&o.log),
            "keepalived's log:\n{}",
            o.log
        );
        // the checker side says it opens IPVS at start and again at the reload
        assert_eq!(
            lines_with(&ours.log, "nitializing ipvs"),
            lines_with(&o.log, "nitializing ipvs"),
            "keepalived's log:\n{}",
            o.log
        );
    }
    assert_eq!(
        lines_with(&ours.log, "nitializing ipvs"),
        vec!["Initializing ipvs", "Reinitializing ipvs"]
    );
    let _ = Command::new("ip")
        .args(["addr", "del", &format!("{VIP}/32"), "dev", "lo"])
        .status();
    let _ = std::fs::remove_dir_all(&dir);
}

const QVIP: &str = "10.10.0.2";
const QA: &str = "127.0.0.3:8081";
const QB: &str = "127.0.0.3:8082";
const SORRY: &str = "127.0.0.9:80";

fn quorum_conf() -> String {
    let rs = |addr: &str| {
        let (ip, port) = addr.split_once(':').unwrap();
        format!(
            "    real_server {ip} {port} {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n"
        )
    };
    let (sip, sport) = SORRY.split_once(':').unwrap();
    format!(
        "global_defs {{\n    router_id quorum_vm\n}}\nvirtual_server {QVIP} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    quorum 2\n    sorry_server {sip} {sport}\n{}{}}}\n",
        rs(QA),
        rs(QB)
    )
}

/// The tables in each phase and the quorum / sorry-server lines of the log (time stamps
/// dropped).
fn quorum_scenario(who: &str, bin: &Path, dir: &Path) -> (Vec<Vec<String>>, Vec<String>) {
    let _ = ipvsadm(&["-C"]);
    let conf_path = dir.join(format!("{who}-q.conf"));
    std::fs::write(&conf_path, quorum_conf()).expect("conf");
    let mut a = Some(Listener::start(QA));
    let _b = Listener::start(QB);
    let daemon = Daemon::start(&format!("{who}-q"), bin, &conf_path, dir);
    let has = |t: &[String], rs: &str| t.iter().any(|l| l.contains(&format!("-r {rs} ")));

    wait_for(&format!("{who}: both real servers checked up"), 30, || {
        let t = save();
        has(&t, QA) && has(&t, QB) && !has(&t, SORRY)
    });
    // one more check round so that both have been checked
    std::thread::sleep(Duration::from_millis(2500));
    let up = save();

    // A fails: 1 < quorum 2 -> the pool is swapped for the sorry server
    a.take();
    let t = keepalived_rs::sys::clock::now();
    wait_for(&format!("{who}: the sorry server alone"), 30, || {
        let t = save();
        has(&t, SORRY) && !has(&t, QA) && !has(&t, QB)
    });
    eprintln!("{who}: quorum lost -> sorry server after {:?}", t.elapsed());
    std::thread::sleep(Duration::from_millis(1500));
    let down = save();

    // A is back: quorum regained, the sorry server leaves
    a = Some(Listener::start(QA));
    wait_for(&format!("{who}: the pool back"), 30, || {
        let t = save();
        has(&t, QA) && has(&t, QB) && !has(&t, SORRY)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let back = save();
    drop(a);
    let log = daemon.stop();
    let lines = log
        .lines()
        .filter(|l| {
            l.contains("quorum") || l.contains("sorry server") || l.contains("alive servers")
        })
        .map(|l| {
            // "Sun Nov 22 09:26:11 2026: text" -> "text"
            match l.split_once(": ") {
                Some((_, rest)) => rest.to_string(),
                None => l.to_string(),
            }
        })
        .collect();
    (vec![up, down, back], lines)
}

#[test]
fn losing_quorum_brings_in_the_sorry_server_as_keepalived_does() {
    if !in_vm("losing_quorum_brings_in_the_sorry_server_as_keepalived_does") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("qvm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let _ = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    let ka = Path::new("/usr/sbin/keepalived");
    let oracle = ka.exists().then(|| quorum_scenario("keepalived", ka, &dir));
    let (tables, lines) =
        quorum_scenario("ours", Path::new(env!("CARGO_BIN_EXE_keepalived")), &dir);
    eprintln!("ours: {lines:#?}");
    assert_eq!(
        tables[1],
        vec![
            format!("-A -t {QVIP}:80 -s rr"),
            format!("-a -t {QVIP}:80 -r {SORRY} -m -w 1"),
        ]
    );
    for want in [
        "Lost quorum 2-0=2 > 1 for VS [10.10.0.2]:tcp:80",
        "Adding sorry server [127.0.0.9]:tcp:80 to VS [10.10.0.2]:tcp:80",
        "Gained quorum 2+0=2 <= 2 for VS [10.10.0.2]:tcp:80",
        "Removing sorry server [127.0.0.9]:tcp:80 from VS [10.10.0.2]:tcp:80",
    ] {
        assert!(lines.iter().any(|l| l == want), "no {want:?} in {lines:#?}");
    }
    match oracle {
        Some((ka_tables, ka_lines)) => {
            eprintln!("keepalived: {ka_lines:#?}");
            assert_eq!(
                tables, ka_tables,
                "tables (up, quorum lost, back): ours vs keepalived"
            );
            assert_eq!(lines, ka_lines, "quorum log lines: ours vs keepalived");
        }
        None => eprintln!("keepalived not installed: oracle comparison skipped"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
