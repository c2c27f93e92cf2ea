//! LVS benchmarks (not timed tests: they print numbers, BENCHMARKS.md records them), run
//! inside the IPVS VM side by side with Debian's keepalived 2.2.7:
//!
//! * `bench_program`: time from process start until the kernel holds all of 1,000 virtual
//!   servers x 10 real servers (polling `/proc/net/ip_vs`), median of 5, ours vs keepalived;
//! * `bench_tcp_check_cpu`: CPU (user+sys of the daemon's processes, from /proc) per 10,000
//!   TCP_CHECK probes against local listeners, ours vs keepalived.
//!
//! `tests/vm/bench-lvs.sh` runs them (ignored tests, so a plain `cargo test` never does).
//! Our daemon is this test binary re-executed with `LVS2_BENCH_DAEMON=<config>`: it runs
//! `daemon::lvs::drive` until SIGTERM, in its own process like keepalived's.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keepalived_rs::daemon::lvs;
use keepalived_rs::sys::clock;

#[path = "support/ipvs_vm.rs"]
mod ipvs_vm;
use ipvs_vm::in_vm;

#[path = "support/lvs_bench.rs"]
mod lvs_bench;
use lvs_bench::{config, config_with, vs_addr};

/// If this process is the re-executed daemon: run the driver until SIGTERM.
fn maybe_daemon() {
    let Some(conf) = std::env::var_os("LVS2_BENCH_DAEMON") else {
        return;
    };
    let cfg = Arc::new(keepalived_rs::config::load(conf.as_ref(), &Default::default()).model);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let stopper = tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
            term.recv().await;
            let _ = tx.send(true);
        });
        let r = lvs::drive(
            cfg,
            lvs::Options {
                release_on_stop: true,
                log_detail: false,
            },
            rx,
        )
        .await;
        stopper.abort();
        r.unwrap();
    });
    std::process::exit(0);
}

/// (services, dests) in the kernel.
fn ipvs_counts() -> (usize, usize) {
    let Ok(f) = std::fs::File::open("/proc/net/ip_vs") else {
        return (0, 0);
    };
    let (mut s, mut d) = (0, 0);
    for l in BufReader::new(f).lines().map_while(Result::ok) {
        if l.starts_with("TCP") || l.starts_with("UDP") || l.starts_with("FWM") {
            s += 1;
        } else if l.starts_with("  ->") && !l.contains("RemoteAddress") {
            d += 1;
        }
    }
    (s, d)
}

/// The daemons to measure: `LVS2_BENCH_WHO=ours|keepalived`, both by default.
fn whos() -> Vec<Who> {
    match std::env::var("LVS2_BENCH_WHO").as_deref() {
        Ok("ours") => vec![Who::Ours],
        Ok("keepalived") => vec![Who::Keepalived],
        _ => vec![Who::Ours, Who::Keepalived],
    }
}

/// Samples per daemon: `LVS2_BENCH_RUNS`, else `default`.
fn runs(default: usize) -> usize {
    std::env::var("LVS2_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

enum Who {
    Ours,
    Keepalived,
}

fn start(who: &Who, conf: &str) -> Child {
    match who {
        Who::Ours => Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "daemon_entry", "--nocapture"])
            .env("LVS2_BENCH_DAEMON", conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        Who::Keepalived => Command::new("/usr/sbin/keepalived")
            .args(["-n", "-l", "-C", "-f", conf])
            .args(["-p", "/run/lvs2-bench.pid", "-c", "/run/lvs2-bench-chk.pid"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    }
}

fn stop(mut c: Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = c.wait();
    let t = clock::now();
    while ipvs_counts().0 != 0 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("ipvsadm").arg("-C").status();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore]
fn daemon_entry() {
    maybe_daemon();
}

#[test]
#[ignore]
fn bench_program() {
    maybe_daemon();
    if !in_vm("bench_program") {
        return;
    }
    let conf = std::env::temp_dir().join("lvs2-bench-program.conf");
    std::fs::write(&conf, config(false, 0)).unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let _ = Command::new("ipvsadm").arg("-C").status();
    // One fresh VM per sample (tests/vm/bench-lvs.sh): the kernel keeps deleted dests in its
    // trash list for a minute and scans it on every dest added, so back-to-back runs in one
    // kernel slow each other down.
    let whos = whos();
    let runs = runs(1);
    let mut out = vec![];
    for who in whos {
        let mut times = vec![];
        for _ in 0..runs {
            let t: Instant = clock::now();
            let c = start(&who, &conf);
            loop {
                if ipvs_counts() == (1000, 10000) {
                    break;
                }
                assert!(t.elapsed() < Duration::from_secs(300), "timed out");
                std::thread::sleep(Duration::from_millis(50));
            }
            times.push(t.elapsed());
            stop(c);
        }
        let name = match who {
            Who::Ours => "keepalived-rs",
            Who::Keepalived => "keepalived 2.2.7",
        };
        eprintln!(
            "BENCH program 1000x10: {name}: runs {times:?} median {:?}",
            median(times.clone())
        );
        out.push(median(times));
    }
    if out.len() == 2 {
        eprintln!(
            "BENCH program 1000x10: ratio ours/keepalived = {:.2}",
            out[0].as_secs_f64() / out[1].as_secs_f64()
        );
    }
}

/// The real daemon binary, started as an operator would (checker side only), for the
/// reload benchmark: ours is the `keepalived` binary of this build.
fn start_binary(who: &Who, conf: &str) -> Child {
    let bin = match who {
        Who::Ours => env!("CARGO_BIN_EXE_keepalived"),
        Who::Keepalived => "/usr/sbin/keepalived",
    };
    Command::new(bin)
        .args(["-n", "-l", "-C", "-f", conf])
        .args(["-p", "/run/lvs2-bench.pid", "-c", "/run/lvs2-bench-chk.pid"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reload with one change: the daemon runs 1,000 x 10 (no checkers), the config changes one
/// real server's weight, SIGHUP; timed from the signal until the kernel has the new weight
/// (polled over netlink every 2 ms on that one service), and the daemon's CPU for the whole
/// reload. Every other entry must be left alone (the table keeps its 1,000 x 10).
#[test]
#[ignore]
fn bench_reload() {
    if !in_vm("bench_reload") {
        return;
    }
    let (v, r) = (500u32, 5u16);
    let conf = std::env::temp_dir().join("lvs2-bench-reload.conf");
    let conf_s = conf.to_str().unwrap().to_string();
    let key = keepalived_rs::ipvs::ServiceKey::tcp(vs_addr(v).parse().unwrap(), 80);
    let target: std::net::IpAddr = format!("192.168.{r}.{}", 1 + v % 250).parse().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let whos = whos();
    let runs = runs(3);
    let mut client = keepalived_rs::ipvs::Client::connect().expect("IPVS");
    // Interleaved (ours, keepalived, ours, ...): under TCG on a shared host the guest's speed
    // drifts by up to 2x over minutes, so samples taken side by side are compared.
    let mut samples: Vec<(Vec<Duration>, Vec<f64>)> = vec![(vec![], vec![]); whos.len()];
    for _ in 0..runs {
        for (wi, who) in whos.iter().enumerate() {
            let (times, cpus) = &mut samples[wi];
            let _ = Command::new("ipvsadm").arg("-C").status();
            std::fs::write(&conf, config_with(false, 0, None)).unwrap();
            let c = start_binary(who, &conf_s);
            let t = clock::now();
            while ipvs_counts() != (1000, 10000) {
                assert!(t.elapsed() < Duration::from_secs(300), "timed out");
                std::thread::sleep(Duration::from_millis(100));
            }
            // settle: ours gives its start-up memory back 12 s after start
            // (daemon::memory::RELEASE_AFTER); that one-off work is not part of a reload
            std::thread::sleep(Duration::from_secs(15));
            std::fs::write(&conf, config_with(false, 0, Some((v, r)))).unwrap();
            let cpu0 = cpu_ticks(c.id());
            let t = clock::now();
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGHUP,
            );
            loop {
                let w = client.dests(&key).ok().and_then(|d| {
                    d.iter()
                        .find(|d| d.dest.addr == target)
                        .map(|d| d.dest.weight)
                });
                if w == Some(2) {
                    break;
                }
                assert!(t.elapsed() < Duration::from_secs(120), "reload timed out");
                std::thread::sleep(Duration::from_millis(2));
            }
            times.push(t.elapsed());
            // let the reload finish (a daemon may still be working after the edit)
            std::thread::sleep(Duration::from_secs(3));
            cpus.push((cpu_ticks(c.id()) - cpu0) as f64 / hz);
            assert_eq!(ipvs_counts(), (1000, 10000), "the reload changed more");
            stop(c);
        }
    }
    let mut out = vec![];
    for (who, (times, mut cpus)) in whos.iter().zip(samples) {
        let name = match who {
            Who::Ours => "keepalived-rs",
            Who::Keepalived => "keepalived 2.2.7",
        };
        cpus.sort_by(f64::total_cmp);
        let cpu = cpus[cpus.len() / 2];
        eprintln!(
            "BENCH reload 1000x10 one change: {name}: runs {times:?} median {:?}; cpu {cpus:?} median {cpu:.2} s",
            median(times.clone())
        );
        out.push((median(times), cpu));
    }
    if out.len() == 2 {
        eprintln!(
            "BENCH reload 1000x10 one change: ratio ours/keepalived: time {:.2}, cpu {:.2}",
            out[0].0.as_secs_f64() / out[1].0.as_secs_f64(),
            out[0].1 / out[1].1.max(0.01)
        );
    }
}

/// user+sys ticks of `pid` and its children processes (keepalived forks its checker).
fn cpu_ticks(pid: u32) -> u64 {
    let mut total = 0;
    let mut pids = vec![pid];
    // children: scan /proc for ppid == pid
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Ok(st) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
                let rest = st.rsplit_once(')').map(|x| x.1).unwrap_or("");
                let f: Vec<&str> = rest.split_whitespace().collect();
                if f.get(1).and_then(|x| x.parse::<u32>().ok()) == Some(pid) {
                    pids.push(p);
                }
            }
        }
    }
    for p in pids {
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
            let rest = st.rsplit_once(')').map(|x| x.1).unwrap_or("");
            let f: Vec<&str> = rest.split_whitespace().collect();
            // fields after ')': state(0) ppid(1) ... utime(11) stime(12)
            let u: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0);
            let s: u64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
            total += u + s;
        }
    }
    total
}

#[test]
#[ignore]
fn bench_tcp_check_cpu() {
    maybe_daemon();
    if !in_vm("bench_tcp_check_cpu") {
        return;
    }
    // 10 listeners; 1000 virtual servers x 10 TCP_CHECKed real servers on them
    let base = 21000u16;
    let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for i in 0..10 {
        let l = std::net::TcpListener::bind(("127.0.0.1", base + i)).unwrap();
        let a = accepted.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                drop(s);
                a.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    let conf = std::env::temp_dir().join("lvs2-bench-tcp.conf");
    std::fs::write(&conf, config(true, base)).unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let _ = Command::new("ipvsadm").arg("-C").status();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let window = Duration::from_secs(30);
    let mut res = vec![];
    let whos = whos();
    for who in whos {
        let c = start(&who, &conf);
        let t = clock::now();
        // programmed (checks may already have removed a few real servers)
        while ipvs_counts().0 != 1000 || ipvs_counts().1 < 9000 {
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "timed out: {:?}",
                ipvs_counts()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // past start-up and the warmup spread (delay_loop 10 -> first checks within 11 s)
        std::thread::sleep(Duration::from_secs(15));
        let (c0, a0, t0) = (
            cpu_ticks(c.id()),
            accepted.load(std::sync::atomic::Ordering::Relaxed),
            clock::now(),
        );
        std::thread::sleep(window);
        let (c1, a1, el) = (
            cpu_ticks(c.id()),
            accepted.load(std::sync::atomic::Ordering::Relaxed),
            t0.elapsed(),
        );
        let probes = a1 - a0;
        let cpu = (c1 - c0) as f64 / hz;
        let per10k = cpu / (probes as f64 / 10_000.0);
        let name = match who {
            Who::Ours => "keepalived-rs",
            Who::Keepalived => "keepalived 2.2.7",
        };
        eprintln!(
            "BENCH tcp_check: {name}: {probes} probes in {el:?}, cpu {cpu:.2} s -> {per10k:.3} cpu-s per 10,000 probes"
        );
        res.push(per10k);
        stop(c);
    }
    if res.len() == 2 {
        eprintln!(
            "BENCH tcp_check: ratio ours/keepalived = {:.2}",
            res[0] / res[1]
        );
    }
}
