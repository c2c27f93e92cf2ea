//! The daemon gives back its start-up pages once VRRP runs (`daemon::memory`): the resident
//! part of our executable's mapping shrinks after the release point (12 s after start) and the
//! daemon keeps working (still MASTER, still answering a dump signal).
//!
//! The footprint benchmark itself (ours vs keepalived, 1/10/100 instances, 60 s idle) is
//! `benches/vrrp_footprint.py`; see BENCHMARKS.md. Needs root and iproute2; skips otherwise.

use std::process::{Command, Stdio};
use std::time::Duration;

use keepalived_rs::sys::clock;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived");

fn sh(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("run");
    assert!(st.success(), "{args:?}");
}

fn exe_rss_kb(pid: u32) -> u64 {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe");
    let exe = exe.to_string_lossy().into_owned();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
    let mut ours = false;
    let mut total = 0;
    for l in smaps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.first()
            .is_some_and(|a| a.contains('-') && !a.ends_with(':'))
        {
            ours = f.get(5) == Some(&exe.as_str());
        } else if ours && f.first() == Some(&"Rss:") {
            total += f.get(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total
}

#[test]
fn startup_pages_are_given_back() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || Command::new("ip").arg("-V").output().is_err() {
        eprintln!("skipping: needs root and iproute2");
        return;
    }
    let ns = "dumpsF";
    let dir = std::env::temp_dir().join(format!("dumps-footprint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let _ = Command::new("ip")
        .args(["netns", "del", ns])
        .stderr(Stdio::null())
        .status();
    sh(&["ip", "netns", "add", ns]);
    sh(&[
        "ip", "-n", ns, "link", "add", "dv0", "type", "veth", "peer", "name", "dv1",
    ]);
    sh(&["ip", "-n", ns, "addr", "add", "10.93.0.1/24", "dev", "dv0"]);
    sh(&["ip", "-n", ns, "link", "set", "dv0", "up"]);
    sh(&["ip", "-n", ns, "link", "set", "dv1", "up"]);
    std::fs::write(
        dir.join("k.conf"),
        "vrrp_instance VI_1 {\n state MASTER\n interface dv0\n virtual_router_id 5\n priority 150\n virtual_ipaddress {\n  10.93.0.100/24\n }\n}\n",
    )
    .expect("conf");
    let p = |f: &str| dir.join(f).display().to_string();
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, OURS, "-n", "-G", "-f", &p("k.conf")])
        .args(["-p", &p("pid"), "-r", &p("vrrp.pid")])
        .env("TMPDIR", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let pid = child.id();
    // Before the release point (12 s after start): start-up code is resident.
    std::thread::sleep(Duration::from_secs(8));
    let before = exe_rss_kb(pid);
    std::thread::sleep(Duration::from_secs(6));
    let after = exe_rss_kb(pid);
    let master = Command::new("ip")
        .args(["-n", ns, "-4", "-o", "addr", "show", "dev", "dv0"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("10.93.0.100/"));
    // SAFETY: kill(2) on the daemon this test started.
    unsafe { libc::kill(pid as i32, libc::SIGUSR2) };
    let end = clock::now() + Duration::from_secs(3);
    while clock::now() < end && !dir.join("keepalived.stats").exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = std::fs::read_to_string(dir.join("keepalived.stats")).unwrap_or_default();
    // SAFETY: as above.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = child.wait();
    let _ = Command::new("ip").args(["netns", "del", ns]).status();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("executable resident: {before} KiB before, {after} KiB after the release");
    assert!(master, "not MASTER");
    assert!(stats.contains("VRRP Instance: VI_1"), "{stats}");
    assert!(
        after * 4 < before * 3,
        "start-up pages not released: {before} KiB -> {after} KiB"
    );
}
