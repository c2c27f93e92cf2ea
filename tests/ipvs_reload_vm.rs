//! IPVS across a reload, in a real kernel (the VM of tests/vm/run-ipvs-tests.sh): the checker
//! side on config 1 hands over (`StopMode::Handover`: nothing released) to a driver on config 2
//! that adopts config 1's services. A service both configs have keeps its connection counter
//! (it was neither deleted nor re-added), one config 2 dropped is removed, one it added
//! appears, and an operator's own service is never touched.
//!
//! Runs only inside the VM (IPVSVM/KA_VM set); skips elsewhere.

use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use keepalived_rs::daemon::lvs::{self, StopMode};

#[path = "support/ipvs_vm.rs"]
mod ipvs_vm;
use ipvs_vm::{client_netns, in_vm, ipvsadm, wait_for};

fn has_service(s: &str) -> bool {
    ipvsadm(&["-S", "-n"])
        .lines()
        .any(|l| l.starts_with(&format!("-A -t {s} ")))
}

/// The `Conns` column of `ipvsadm -Ln --stats` for service `s`.
fn conns(s: &str) -> u64 {
    let out = ipvsadm(&["-L", "-n", "--stats", "-t", s]);
    out.lines()
        .find(|l| l.starts_with("TCP"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stats for {s}:\n{out}"))
}

fn vs(addr: &str) -> String {
    format!(
        "virtual_server {addr} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 127.0.0.2 8080 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n}}\n"
    )
}

fn driver(
    conf: &std::path::Path,
    takeover: lvs::Takeover,
) -> (
    tokio::sync::watch::Sender<StopMode>,
    std::thread::JoinHandle<anyhow::Result<Option<lvs::Takeover>>>,
) {
    let cfg = Arc::new(keepalived_rs::config::load(conf, &Default::default()).model);
    let (tx, rx) = tokio::sync::watch::channel(StopMode::Running);
    let h = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(lvs::drive_with(
            cfg,
            lvs::Options {
                release_on_stop: true,
                log_detail: false,
            },
            takeover,
            rx,
        ))
    });
    (tx, h)
}

#[test]
fn reload_changes_only_what_differs() {
    if !in_vm("reload_changes_only_what_differs") {
        return;
    }
    let _ = ipvsadm(&["-C"]);
    let dir = std::env::temp_dir().join(format!("ipvs-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let rs = TcpListener::bind("127.0.0.2:8080").expect("real server");
    rs.set_nonblocking(true).expect("nonblocking");
    ipvsadm(&["-A", "-t", "10.10.9.9:22", "-s", "rr"]);
    // The kept service's address is local, so a local connect goes through IPVS.
    let _ = Command::new("ip")
        .args(["addr", "add", "10.10.0.1/32", "dev", "lo"])
        .status();
    let _ = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();

    let c1 = dir.join("one.conf");
    std::fs::write(&c1, format!("{}{}", vs("10.10.0.1"), vs("10.10.0.2"))).expect("conf");
    let (stop1, h1) = driver(&c1, lvs::Takeover::default());
    wait_for("config 1", 30, || {
        has_service("10.10.0.1:80") && has_service("10.10.0.2:80")
    });
    // Connections from "outside": a client in its own network namespace behind a veth
    // (IPVS schedules packets that arrive for a local address; each counts in `Conns`).
    let mut client = client_netns();
    let pid = client.id().to_string();
    let ns = |args: &[&str]| {
        Command::new("nsenter")
            .args(["-t", &pid, "-n"])
            .args(args)
            .status()
            .expect("nsenter")
    };
    for a in [
        &[
            "ip", "link", "add", "wrv0", "type", "veth", "peer", "name", "wrv1", "netns", &pid,
        ][..],
        &["ip", "addr", "add", "10.10.5.1/24", "dev", "wrv0"],
        &["ip", "link", "set", "wrv0", "up"],
    ] {
        assert!(
            Command::new(a[0])
                .args(&a[1..])
                .status()
                .expect("ip")
                .success(),
            "{a:?}"
        );
    }
    ns(&["ip", "addr", "add", "10.10.5.2/24", "dev", "wrv1"]);
    ns(&["ip", "link", "set", "wrv1", "up"]);
    ns(&["ip", "route", "add", "default", "via", "10.10.5.1"]);
    for _ in 0..3 {
        ns(&["timeout", "1", "bash", "-c", "echo > /dev/tcp/10.10.0.1/80"]);
    }
    let _ = client.kill();
    let _ = client.wait();
    // The kernel's estimator folds the per-CPU counters into what ipvsadm reads about every
    // 2 s: read once they stay put for a period.
    let mut before = conns("10.10.0.1:80");
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(2200));
        let now = conns("10.10.0.1:80");
        if now == before && now > 0 {
            break;
        }
        before = now;
    }
    assert!(before > 0, "no connection counted on the kept service");

    let owned1 = lvs::owned_services(&keepalived_rs::config::load(&c1, &Default::default()).model);
    stop1.send(StopMode::Handover).expect("stop");
    let takeover = h1
        .join()
        .expect("join")
        .expect("driver 1")
        .expect("a hand-over returns what the next driver takes over");
    assert_eq!(takeover.services, owned1);
    assert!(
        takeover.programmed.is_some(),
        "the successor plans against what was programmed"
    );
    assert!(
        has_service("10.10.0.1:80") && has_service("10.10.0.2:80"),
        "a hand-over releases nothing"
    );
    // An operator made the service config 2 adds, before the reload: the successor, which
    // plans against what its predecessor programmed, must still see it in the kernel and
    // correct it in place (not fail to add it).
    ipvsadm(&["-A", "-t", "10.10.0.3:80", "-s", "wlc"]);

    let c2 = dir.join("two.conf");
    std::fs::write(&c2, format!("{}{}", vs("10.10.0.1"), vs("10.10.0.3"))).expect("conf");
    let (stop2, h2) = driver(&c2, takeover);
    wait_for("config 2", 30, || {
        let t = ipvsadm(&["-S", "-n"]);
        t.contains("-A -t 10.10.0.3:80 -s rr")
            && t.contains("-a -t 10.10.0.3:80 -r 127.0.0.2:8080 -m -w 1")
            && !has_service("10.10.0.2:80")
    });
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(
        conns("10.10.0.1:80"),
        before,
        "the kept service was re-created (its counter restarted)"
    );
    assert!(
        has_service("10.10.9.9:22"),
        "the operator's service is kept"
    );
    eprintln!("kept service counted {before} connections before and after the reload");

    stop2.send(StopMode::Stop).expect("stop");
    h2.join().expect("join").expect("driver 2");
    assert!(!has_service("10.10.0.1:80") && !has_service("10.10.0.3:80"));
    assert!(has_service("10.10.9.9:22"));
    let _ = ipvsadm(&["-C"]);
    let _ = std::fs::remove_dir_all(&dir);
}
