//! SIGHUP reload of the whole daemon on a namespaced LAN, with Debian's keepalived 2.2.7 as
//! the backup peer (tests/support/netns_lab.rs): ours is MASTER (150) of VI_1, keepalived
//! BACKUP (100), the client pings the VIP every 10 ms.
//!
//! * 50 reloads, every other one adding or removing a second VIP, then a burst of SIGHUPs:
//!   zero lost pings, `ip monitor address` in ours' namespace never shows the unchanged VIP
//!   deleted or added (while it does show the second VIP coming and going), ours stays MASTER
//!   and keepalived never leaves BACKUP, the burst coalesces;
//! * a broken config (a missing `}`) is refused with keepalived's diagnostic and our refusal
//!   line, the VIP stays, and the next good config is applied;
//! * an instance removed by a reload releases its VIP (the peer takes over), and its notify
//!   script and the FIFO report FAULT (DELETED with `notify_deleted`), as keepalived does.
//!
//! Needs root, iproute2, ping and /usr/sbin/keepalived; skips otherwise.

#[path = "support/netns_lab.rs"]
mod lab;

use std::process::Stdio;
use std::time::Duration;

use lab::{wait_until, Impl, Lab};

const VIP: &str = "10.9.8.100";
const VIP2: &str = "10.9.8.101";

/// Ours: VI_1 with `vips`, plus `extra` instance blocks and global lines.
fn conf_ours(vips: &[&str], globals: &str, extra: &str) -> String {
    let v: String = vips.iter().map(|a| format!("        {a}/24\n")).collect();
    format!(
        "global_defs {{\n    router_id ours\n{globals}}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface vd0\n    virtual_router_id 61\n    priority 150\n    advert_int 1\n    virtual_ipaddress {{\n{v}    }}\n}}\n{extra}"
    )
}

fn instance(name: &str, vrid: u8, prio: u8, vip: &str, more: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface vd0\n    virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{more}}}\n"
    )
}

fn conf_peer(extra: &str) -> String {
    format!(
        "global_defs {{\n    router_id peer\n}}\n{}{extra}",
        instance("VI_1", 61, 100, VIP, "")
    )
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// Starts ours (A) and keepalived (B) and waits until ours holds the VIP.
fn lab_with_master(tag: &str, ours: &str, peer: &str) -> Lab {
    let mut lab = Lab::new(tag, "10.9.8");
    lab.start("A", Impl::Ours, ours);
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr("A", VIP)),
        "ours never MASTER:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, peer);
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.has_addr("A", VIP) && !lab.has_addr("B", VIP));
    lab
}

/// SIGHUP to ours, then waits until it has logged `n` "Reload complete" lines in total.
fn reload_and_wait(lab: &Lab, n: usize) {
    lab.signal("A", libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(10), || count(
            &lab.log("A"),
            "Reload complete"
        ) >= n),
        "reload {n} did not complete:\n{}",
        lab.log("A")
    );
}

#[test]
fn fifty_reloads_under_ping_without_a_flap() {
    if !lab::can_run(&["ping"]) {
        return;
    }
    let mut lab = lab_with_master("rl", &conf_ours(&[VIP], "", ""), &conf_peer(""));
    let mon_out = lab.path("monitor.txt");
    let mut mon = lab.command_in("A", &["ip", "monitor", "address"]);
    mon.stdout(std::fs::File::create(&mon_out).expect("monitor out"))
        .stdin(Stdio::null());
    let mon = lab.spawn_helper(mon);
    let ping_out = lab.path("ping.txt");
    let mut ping = lab.command_in("C", &["ping", "-i", "0.01", "-W", "1", "-q", VIP]);
    ping.stdout(std::fs::File::create(&ping_out).expect("ping out"))
        .stdin(Stdio::null());
    let ping = lab.spawn_helper(ping);
    std::thread::sleep(Duration::from_millis(500));

    let conf = lab.conf_path("A");
    let mut took = Vec::new();
    let mut with_vip2 = false;
    for i in 1..=50 {
        // Every other reload edits the VIP list; the others reload the same file.
        if i % 2 == 0 {
            with_vip2 = !with_vip2;
            let vips: &[&str] = if with_vip2 { &[VIP, VIP2] } else { &[VIP] };
            std::fs::write(&conf, conf_ours(vips, "", "")).expect("conf");
        }
        let t = keepalived_rs::sys::clock::now();
        reload_and_wait(&lab, i);
        took.push(t.elapsed());
        // Spread the reloads over several seconds of pings.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(lab.has_addr("A", VIP2), with_vip2, "reload {i}: second VIP");
    }
    took.sort();
    let (median, max) = (took[took.len() / 2], took[took.len() - 1]);
    // A burst: 20 SIGHUPs back to back coalesce into fewer reloads.
    let before = count(&lab.log("A"), "Reloading ...");
    for _ in 0..20 {
        lab.signal("A", libc::SIGHUP);
    }
    std::thread::sleep(Duration::from_secs(2));
    let log = lab.log("A");
    let burst = count(&log, "Reloading ...") - before;
    assert!((1..20).contains(&burst), "20 SIGHUPs gave {burst} reloads");
    assert_eq!(count(&log, "Reload complete"), 50 + burst);
    std::thread::sleep(Duration::from_millis(300));
    lab.stop_helper(ping, libc::SIGINT);
    lab.stop_helper(mon, libc::SIGTERM);

    let ping_txt = std::fs::read_to_string(&ping_out).expect("ping output");
    let stats = ping_txt
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping summary: {ping_txt}"));
    let num = |w: &str| -> u64 {
        stats
            .split(',')
            .find(|p| p.contains(w))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{w} in {stats}"))
    };
    let (sent, received) = (num("transmitted"), num("received"));
    eprintln!(
        "[reload] 50 reloads + a burst of 20 SIGHUPs ({burst} reloads): {sent} pings sent, {received} received; SIGHUP to 'Reload complete' in the log: median {:.1} ms, max {:.1} ms",
        median.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    );
    assert!(sent > 300, "{stats}");
    assert_eq!(sent, received, "lost pings: {stats}");

    let monitor = std::fs::read_to_string(&mon_out).expect("monitor");
    let vip_lines: Vec<&str> = monitor
        .lines()
        .filter(|l| l.contains(&format!(" {VIP}/")))
        .collect();
    assert!(
        vip_lines.is_empty(),
        "the unchanged VIP was touched: {vip_lines:#?}"
    );
    let vip2 = |deleted: bool| {
        monitor
            .lines()
            .filter(|l| l.contains(&format!(" {VIP2}/")) && l.starts_with("Deleted") == deleted)
            .count()
    };
    // 25 edits alternate: 13 adds, 12 removals.
    assert_eq!((vip2(false), vip2(true)), (13, 12), "{monitor}");

    assert_eq!(count(&log, "(VI_1) Entering MASTER STATE"), 1, "{log}");
    assert_eq!(count(&log, "(VI_1) Entering BACKUP STATE"), 1, "{log}");
    let peer = lab.log("B");
    assert!(!peer.contains("Entering MASTER STATE"), "{peer}");
    assert!(lab.has_addr("A", VIP) && !lab.has_addr("B", VIP));
    assert_eq!(lab.terminate("A"), Some(0));
}

#[test]
fn a_broken_config_is_refused_and_service_continues() {
    if !lab::can_run(&[]) {
        return;
    }
    let lab = lab_with_master("rb", &conf_ours(&[VIP], "", ""), &conf_peer(""));
    let conf = lab.conf_path("A");
    let good = conf_ours(&[VIP, VIP2], "", "");
    // The last `}` is missing: keepalived would silently run what it could parse.
    let broken = good.trim_end().trim_end_matches('}').to_string();
    std::fs::write(&conf, &broken).expect("conf");
    lab.signal("A", libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(5), || lab
            .log("A")
            .contains("New config failed validation")),
        "no refusal:\n{}",
        lab.log("A")
    );
    let log = lab.log("A");
    assert!(
        log.contains("There are 1 missing '}'s or extra '{'s"),
        "the error is logged:\n{log}"
    );
    assert!(!log.contains("Reload complete"), "{log}");
    std::thread::sleep(Duration::from_secs(3));
    assert!(lab.has_addr("A", VIP) && !lab.has_addr("A", VIP2));
    assert!(!lab.has_addr("B", VIP));
    assert!(!lab.log("B").contains("Entering MASTER STATE"));
    // keepalived refuses to change the network namespace at a reload, and so do we.
    std::fs::write(&conf, format!("net_namespace elsewhere\n{good}")).expect("conf");
    lab.signal("A", libc::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(5), || lab.log("A").contains(
            "Cannot change network namespace at a reload - please restart keepalived"
        )),
        "{}",
        lab.log("A")
    );
    assert!(!lab.log("A").contains("Reload complete"));
    assert!(lab.has_addr("A", VIP) && !lab.has_addr("A", VIP2));
    // Fixed: the next SIGHUP applies it.
    std::fs::write(&conf, &good).expect("conf");
    reload_and_wait(&lab, 1);
    assert!(lab.has_addr("A", VIP) && lab.has_addr("A", VIP2));
    assert_eq!(count(&lab.log("A"), "(VI_1) Entering MASTER STATE"), 1);
}

#[test]
fn a_removed_instance_releases_its_vip_and_notifies() {
    if !lab::can_run(&[]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("wire-rm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("notify.sh");
    let nlog = dir.join("notify.log");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$*\" >> {}\n", nlog.display()),
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let notify = format!("    notify {}\n", script.display());
    let deleted = format!("{notify}    notify_deleted\n");
    let vip3 = "10.9.8.102";
    let two = format!(
        "{}{}",
        instance("VI_2", 62, 150, VIP2, &notify),
        instance("VI_3", 63, 150, vip3, &deleted)
    );
    let globals = format!("    vrrp_notify_fifo {}\n", dir.join("fifo").display());
    let ours_all = conf_ours(&[VIP], &globals, &two);
    let peer = conf_peer(&format!(
        "{}{}",
        instance("VI_2", 62, 100, VIP2, ""),
        instance("VI_3", 63, 100, vip3, "")
    ));
    // The FIFO and its reader exist before the daemon (it then never unlinks it, and the
    // reader stays connected across the reload).
    let fifo_path = dir.join("fifo");
    lab::sh(&["mkfifo", &fifo_path.display().to_string()]);
    let fifo_out = dir.join("fifo.log");
    let reader_cmd = format!("exec cat {} > {}", fifo_path.display(), fifo_out.display());
    let mut lab = Lab::new("rr", "10.9.8");
    let mut reader = lab.command_in("A", &["sh", "-c", &reader_cmd]);
    reader.stdin(Stdio::null());
    lab.spawn_helper(reader);
    lab.start("A", Impl::Ours, &ours_all);
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr("A", VIP)
            && lab.has_addr("A", VIP2)
            && lab.has_addr("A", vip3)),
        "{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, &peer);
    std::thread::sleep(Duration::from_secs(2));

    std::fs::write(lab.conf_path("A"), conf_ours(&[VIP], &globals, "")).expect("conf");
    let t0 = keepalived_rs::sys::clock::now();
    reload_and_wait(&lab, 1);
    // Released at once (no down timer: the priority-0 advert hands over to the peer).
    assert!(!lab.has_addr("A", VIP2) && !lab.has_addr("A", vip3));
    assert!(
        wait_until(Duration::from_secs(3), || lab.has_addr("B", VIP2)
            && lab.has_addr("B", vip3)),
        "peer did not take over:\n{}",
        lab.log("B")
    );
    eprintln!(
        "[reload] removed instances' VIPs on the peer {:.0} ms after SIGHUP",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    assert!(lab.has_addr("A", VIP) && !lab.has_addr("B", VIP));
    std::thread::sleep(Duration::from_millis(500));
    let notes = std::fs::read_to_string(&nlog).unwrap_or_default();
    let tail: Vec<&str> = notes
        .lines()
        .skip_while(|l| !l.contains("MASTER"))
        .collect();
    assert!(
        tail.contains(&"INSTANCE VI_2 FAULT 150") && tail.contains(&"INSTANCE VI_3 DELETED 150"),
        "{notes}"
    );
    let fifo = std::fs::read_to_string(&fifo_out).unwrap_or_default();
    assert!(
        fifo.contains("INSTANCE \"VI_2\" FAULT 150\n")
            && fifo.contains("INSTANCE \"VI_3\" DELETED 150\n"),
        "{fifo}"
    );
    assert!(lab.running("A"));
    assert_eq!(lab.terminate("A"), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn systemd_hears_reloading_then_ready() {
    use std::os::unix::net::UnixDatagram;
    if !lab::can_run(&[]) {
        return;
    }
    let mut lab = Lab::new("rs", "10.9.8");
    let sock_path = lab.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let path = sock_path.display().to_string();
    lab.start_with_env(
        "A",
        Impl::Ours,
        &conf_ours(&[VIP], "", ""),
        &[("NOTIFY_SOCKET", &path)],
    );
    let mut buf = [0u8; 256];
    let mut next = || {
        sock.recv(&mut buf)
            .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
            .ok()
    };
    assert_eq!(next().as_deref(), Some("READY=1\n"));
    lab.signal("A", libc::SIGHUP);
    assert_eq!(next().as_deref(), Some("RELOADING=1\n"));
    assert_eq!(next().as_deref(), Some("READY=1\n"));
    // A refused reload changes nothing systemd needs to know.
    std::fs::write(lab.conf_path("A"), "vrrp_instance VI_1 {\n").expect("conf");
    lab.signal("A", libc::SIGHUP);
    assert!(wait_until(Duration::from_secs(5), || lab
        .log("A")
        .contains("New config failed validation")));
    lab.signal("A", libc::SIGTERM);
    assert_eq!(next().as_deref(), Some("STOPPING=1\n"));
}

/// Without `-P` the checker side runs on its own thread: on this kernel (no IPVS) it stops at
/// once with a clear line while VRRP carries on, and a reload restarts it (same line again).
/// In the IPVS VM, tests/ipvs_reload_vm.rs covers what it does to the table.
#[test]
fn checker_side_runs_beside_vrrp_and_reloads() {
    if !lab::can_run(&[]) {
        return;
    }
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        eprintln!("skipping: this kernel has IPVS; the test expects the checker side to fail");
        return;
    }
    let mut lab = Lab::new("rc", "10.9.8");
    lab.with_checkers = true;
    let vs = "virtual_server 10.10.0.1 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 127.0.0.2 8080 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n";
    lab.start(
        "A",
        Impl::Ours,
        &format!("{}{vs}", conf_ours(&[VIP], "", "")),
    );
    let line = "Healthchecker stopped with an error: IPVS is not available";
    assert!(
        wait_until(Duration::from_secs(5), || lab.log("A").contains(line)),
        "{}",
        lab.log("A")
    );
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr("A", VIP)),
        "VRRP goes on:\n{}",
        lab.log("A")
    );
    reload_and_wait(&lab, 1);
    assert!(
        wait_until(Duration::from_secs(5), || count(&lab.log("A"), line) == 2),
        "{}",
        lab.log("A")
    );
    let log = lab.log("A");
    assert!(!log.contains("not in this build"), "{log}");
    assert!(lab.running("A") && lab.has_addr("A", VIP));
    assert_eq!(lab.terminate("A"), Some(0));
}
