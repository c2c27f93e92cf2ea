//! The whole daemon's notifications on a namespaced LAN, in keepalived 2.2.7's runtime-capture
//! scenario (`../shared/corpus/keepalived-2.2.7-runtime-capture/two-node-*`): ours is node A
//! (VI_1 with `track_script chk` weight -60 fall 2 rise 2 and notify/notify_master scripts, a
//! sync group SG1 of VI_2+VI_3, `vrrp_notify_fifo`, SMTP alerts), Debian's keepalived is node
//! B (priority 120). A starts alone, B joins, A's real `chk` script starts failing (the real
//! script runner: VI_1 drops to 90 and the VIP moves to keepalived), recovers (A preempts
//! back), then B and A stop.
//!
//! Compared with what keepalived 2.2.7 did as node A in the capture: the notify scripts' argv
//! (`notify.log`), the FIFO lines (`fifo.log`) and the SMTP alerts received by a real aiosmtpd
//! server (tests/support/smtp_server.py) in keepalived's message format.
//!
//! Also: a `track_file` value moves the VIP to keepalived and back (the watcher feeding the
//! VRRP thread, value x weight).
//!
//! Needs root, iproute2, python3 with aiosmtpd and /usr/sbin/keepalived; skips otherwise.

#[path = "support/netns_lab.rs"]
mod lab;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use lab::{wait_until, Impl, Lab};

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/keepalived-2.2.7-runtime-capture/two-node-A"
);

fn conf_a(dir: &str, smtp_port: u16) -> String {
    format!(
        r#"global_defs {{
   router_id nodeA
   notification_email {{
     ops@example.com
     "Second Admin <admin2@example.com>"
   }}
   notification_email_from keepalived@nodeA.example.com
   smtp_server 127.0.0.1 {smtp_port}
   smtp_connect_timeout 5
   smtp_alert
   vrrp_notify_fifo {dir}/vrrp.fifo
   script_user root
}}
vrrp_script chk {{
   script "{dir}/chk.sh"
   interval 1
   weight -60
   fall 2
   rise 2
}}
vrrp_sync_group SG1 {{
   group {{
     VI_2
     VI_3
   }}
   notify "{dir}/notify.sh group-extra-arg"
}}
vrrp_instance VI_1 {{
   state BACKUP
   interface vd0
   virtual_router_id 51
   priority 150
   advert_int 1
   virtual_ipaddress {{
      10.9.9.100/24
   }}
   track_script {{
      chk
   }}
   notify "{dir}/notify.sh extra1 extra2"
   notify_master {dir}/notify_master.sh
}}
vrrp_instance VI_2 {{
   state BACKUP
   interface vd0
   virtual_router_id 52
   priority 150
   advert_int 1
   virtual_ipaddress {{
      10.9.9.101/24
   }}
   notify {dir}/notify.sh
}}
vrrp_instance VI_3 {{
   state BACKUP
   interface vd0
   virtual_router_id 53
   priority 150
   advert_int 1
   virtual_ipaddress {{
      10.9.9.102/24
   }}
   notify {dir}/notify.sh
}}
"#
    )
}

const CONF_B: &str = r#"global_defs {
   router_id nodeB
}
vrrp_sync_group SG1 {
   group {
     VI_2
     VI_3
   }
}
vrrp_instance VI_1 {
   state BACKUP
   interface vd0
   virtual_router_id 51
   priority 120
   advert_int 1
   virtual_ipaddress {
      10.9.9.100/24
   }
}
vrrp_instance VI_2 {
   state BACKUP
   interface vd0
   virtual_router_id 52
   priority 120
   advert_int 1
   virtual_ipaddress {
      10.9.9.101/24
   }
}
vrrp_instance VI_3 {
   state BACKUP
   interface vd0
   virtual_router_id 53
   priority 120
   advert_int 1
   virtual_ipaddress {
      10.9.9.102/24
   }
}
"#;

fn write_script(path: &std::path::Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The notify.log line without its `HH:MM:SS ` stamp.
fn unstamped(l: &str) -> String {
    l.split_once(' ')
        .map_or(l, |(_, r)| r)
        .trim_end()
        .to_string()
}

/// Which instance or group a notify.log / fifo.log line belongs to, and the state it reports.
/// `notify_master` (no arguments) is VI_1's.
fn lane(l: &str) -> (String, String) {
    let w: Vec<&str> = l.split_whitespace().collect();
    if l.starts_with("notify_master") {
        return ("VI_1".into(), "MASTER".into());
    }
    for (i, x) in w.iter().enumerate() {
        if (*x == "INSTANCE" || *x == "GROUP") && i + 2 < w.len() {
            return (w[i + 1].trim_matches('"').to_string(), w[i + 2].to_string());
        }
    }
    panic!("unexpected line {l}")
}

/// Per instance/group: its lines in order, where the lines one state change caused are
/// sorted (keepalived forks `notify_master` and the generic script without waiting, so two
/// of its own runs show them in both orders).
fn lanes(lines: &[String]) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut m: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for l in lines {
        let (name, state) = lane(l);
        let v = m.entry(name).or_default();
        match v.last_mut() {
            // An instance does not change to the state it is in: consecutive lines with the
            // same state come from one change.
            Some((s, group)) if *s == state => group.push(l.clone()),
            _ => v.push((state, vec![l.clone()])),
        }
    }
    m.into_iter()
        .map(|(k, v)| {
            (
                k,
                v.into_iter()
                    .map(|(_, mut g)| {
                        g.sort();
                        g
                    })
                    .collect(),
            )
        })
        .collect()
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[test]
fn notify_scripts_fifo_and_mail_match_keepalived_in_the_captured_scenario() {
    if !lab::can_run(&["python3"]) {
        return;
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: python3 with aiosmtpd is not installed");
        return;
    }
    let Ok(want_notify) = std::fs::read_to_string(format!("{CAPTURE}/notify.log")) else {
        eprintln!("skipping: {CAPTURE} is not there");
        return;
    };
    let want_fifo = std::fs::read_to_string(format!("{CAPTURE}/fifo.log")).expect("fifo.log");
    let want_notify: Vec<String> = want_notify.lines().map(unstamped).collect();
    let want_fifo: Vec<String> = want_fifo.lines().map(str::to_string).collect();

    let mut lab = Lab::new("nt", "10.9.9");
    let dir = lab.dir.display().to_string();
    write_script(
        &lab.path("notify.sh"),
        &format!("echo \"$(date +%T) notify argc=$# args: $*\" >> {dir}/notify.log"),
    );
    write_script(
        &lab.path("notify_master.sh"),
        &format!("echo \"$(date +%T) notify_master argc=$# args: $*\" >> {dir}/notify.log"),
    );
    write_script(
        &lab.path("chk.sh"),
        &format!("exit $(cat {dir}/chk.rc 2>/dev/null || echo 0)"),
    );
    // The FIFO and its reader exist before the daemon, as in the capture.
    lab::sh(&["mkfifo", &format!("{dir}/vrrp.fifo")]);
    let mut reader = lab.command_in(
        "A",
        &[
            "sh",
            "-c",
            &format!("exec cat {dir}/vrrp.fifo > {dir}/fifo.log"),
        ],
    );
    reader.stdin(Stdio::null());
    let reader = lab.spawn_helper(reader);

    // The SMTP server listens on A's loopback.
    let mut smtp = lab.command_in(
        "A",
        &[
            "python3",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py"),
        ],
    );
    smtp.stdin(Stdio::piped()).stdout(Stdio::piped());
    let smtp = lab.spawn_helper(smtp);
    let out = lab.helper(smtp).stdout.take().expect("stdout");
    let (tx, mails) = mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let port = mails
        .recv_timeout(Duration::from_secs(20))
        .expect("smtp server up")["port"]
        .as_u64()
        .expect("port") as u16;

    let vips = ["10.9.9.100", "10.9.9.101", "10.9.9.102"];
    lab.start("A", Impl::Ours, &conf_a(&dir, port));
    assert!(
        wait_until(Duration::from_secs(10), || vips
            .iter()
            .all(|v| lab.has_addr("A", v))),
        "ours never became MASTER alone:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, CONF_B);
    std::thread::sleep(Duration::from_secs(4));
    assert!(vips
        .iter()
        .all(|v| lab.has_addr("A", v) && !lab.has_addr("B", v)));

    // chk starts failing: 150 - 60 = 90 < 120, keepalived takes VI_1 (only).
    std::fs::write(lab.path("chk.rc"), "1\n").expect("rc");
    assert!(
        wait_until(Duration::from_secs(12), || lab.has_addr("B", vips[0])
            && !lab.has_addr("A", vips[0])),
        "VI_1 did not move to keepalived:\n{}",
        lab.log("A")
    );
    assert!(lab.has_addr("A", vips[1]) && lab.has_addr("A", vips[2]));
    let log = lab.log("A");
    assert_eq!(
        log.matches("VRRP_Script(chk) failed (exited with status 1)")
            .count(),
        1,
        "the script line is logged once:\n{log}"
    );
    // Recovery: back to 150, ours preempts.
    std::fs::write(lab.path("chk.rc"), "0\n").expect("rc");
    assert!(
        wait_until(Duration::from_secs(12), || lab.has_addr("A", vips[0])
            && !lab.has_addr("B", vips[0])),
        "VI_1 did not come back:\n{}",
        lab.log("A")
    );
    let log = lab.log("A");
    assert_eq!(
        log.matches("VRRP_Script(chk) succeeded").count(),
        2,
        "succeeded at the first run and at recovery, once each:\n{log}"
    );
    std::thread::sleep(Duration::from_secs(2));
    // Mails before the stop.
    let mut got: Vec<serde_json::Value> = Vec::new();
    while let Ok(m) = mails.recv_timeout(Duration::from_millis(500)) {
        got.push(m);
    }

    assert_eq!(lab.terminate("B"), Some(0));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lab.terminate("A"), Some(0), "{}", lab.log("A"));
    // Every writer is gone: the reader sees EOF.
    assert!(
        wait_until(Duration::from_secs(5), || matches!(
            lab.helper(reader).try_wait(),
            Ok(Some(_))
        )),
        "FIFO reader did not see EOF"
    );
    // notify scripts are asynchronous: give the STOP ones their moment.
    std::thread::sleep(Duration::from_millis(500));

    let got_notify: Vec<String> = std::fs::read_to_string(lab.path("notify.log"))
        .unwrap_or_default()
        .lines()
        .map(unstamped)
        .collect();
    let got_fifo: Vec<String> = std::fs::read_to_string(lab.path("fifo.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    eprintln!("ours notify.log:\n{}", got_notify.join("\n"));
    eprintln!("ours fifo.log:\n{}", got_fifo.join("\n"));
    // The same runs with the same argv, and the same sequence per instance and group.
    assert_eq!(sorted(&got_notify), sorted(&want_notify));
    assert_eq!(lanes(&got_notify), lanes(&want_notify));
    assert_eq!(sorted(&got_fifo), sorted(&want_fifo));
    assert_eq!(lanes(&got_fifo), lanes(&want_fifo));
    // keepalived's cross-lane order where its rules fix it: a group is MASTER only after
    // both members, and STOP comes last for the group.
    let pos = |l: &str| got_fifo.iter().position(|x| x == l).expect(l);
    assert!(pos("GROUP \"SG1\" MASTER 0") > pos("INSTANCE \"VI_2\" MASTER 150"));
    assert!(pos("GROUP \"SG1\" MASTER 0") > pos("INSTANCE \"VI_3\" MASTER 150"));
    assert_eq!(
        got_fifo.last().map(String::as_str),
        Some("GROUP \"SG1\" STOP 0")
    );

    // Mail: one per state change, keepalived's subjects and message. The capture lost A's
    // four start-up BACKUP mails (its sink was not listening yet) and has the other six.
    let subjects: Vec<String> = got
        .iter()
        .map(|m| {
            let d = m["data"].as_str().expect("data");
            d.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .expect("subject")
                .to_string()
        })
        .collect();
    eprintln!("mails before stop: {subjects:#?}");
    let capture_smtp = std::fs::read_to_string(format!("{CAPTURE}/smtp.log")).expect("smtp.log");
    let capture_b_smtp =
        std::fs::read_to_string(format!("{CAPTURE}/../two-node-B/smtp.log")).expect("smtp.log");
    let mut want_subjects: Vec<String> = capture_smtp
        .lines()
        .filter_map(|l| l.strip_prefix("C: Subject: "))
        .map(str::to_string)
        .collect();
    for n in [
        "VRRP Instance VI_1",
        "VRRP Instance VI_2",
        "VRRP Instance VI_3",
        "VRRP Group SG1",
    ] {
        want_subjects.push(format!("[nodeA] {n} - Entering BACKUP state"));
    }
    assert_eq!(sorted(&subjects), sorted(&want_subjects));
    let vi1: Vec<&String> = subjects.iter().filter(|s| s.contains("VI_1")).collect();
    assert_eq!(
        vi1,
        [
            "[nodeA] VRRP Instance VI_1 - Entering BACKUP state",
            "[nodeA] VRRP Instance VI_1 - Entering MASTER state",
            "[nodeA] VRRP Instance VI_1 - Entering BACKUP state",
            "[nodeA] VRRP Instance VI_1 - Entering MASTER state",
        ]
    );
    for m in &got {
        assert_eq!(m["mail_from"], "keepalived@nodeA.example.com");
        assert_eq!(
            m["rcpt_tos"],
            serde_json::json!(["ops@example.com", "admin2@example.com"])
        );
        let d = m["data"].as_str().expect("data");
        let (date, rest) = d.split_once("\r\n").expect("lines");
        assert!(date.starts_with("Date: "), "{date}");
        let subject = rest
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("Subject: "))
            .expect("subject second");
        let body = if subject.contains("Group") {
            if subject.ends_with("MASTER state") {
                "=> All VRRP group instances are now in MASTER state <="
            } else {
                "=> All VRRP group instances are now in BACKUP state <="
            }
        } else if subject.ends_with("MASTER state") {
            "=> VRRP Instance is now owning VRRP VIPs <="
        } else {
            "=> VRRP Instance is no longer owning VRRP VIPs <="
        };
        assert_eq!(
            rest,
            format!("From: keepalived@nodeA.example.com\r\nSubject: {subject}\r\nX-Mailer: Keepalived\r\nTo: ops@example.com, Second Admin <admin2@example.com>\r\n\r\n{body}\r\n\r\n")
        );
        // keepalived's own bytes for this body (node A's capture lost the start-up BACKUP
        // mails; node B's has them).
        assert!(
            capture_smtp.contains(&format!("C: {body}"))
                || capture_b_smtp.contains(&format!("C: {body}")),
            "{body}"
        );
    }
}

/// `track_file`: the watcher reads the file and the VRRP thread applies value x weight: 3 x -20
/// takes ours (150) to 90, below keepalived's 100, and the VIP moves; 0 brings it back.
#[test]
fn track_file_value_moves_the_vip() {
    if !lab::can_run(&[]) {
        return;
    }
    let mut lab = Lab::new("tf", "10.9.7");
    let file = lab.path("weight");
    std::fs::write(&file, "0\n").expect("file");
    let vip = "10.9.7.100";
    let inst = |prio: u8, track: &str| {
        format!("vrrp_instance VI_1 {{\n    state BACKUP\n    interface vd0\n    virtual_router_id 71\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{track}}}\n")
    };
    let ours = format!(
        "track_file tf {{\n    file {}\n    weight 1\n}}\n{}",
        file.display(),
        inst(150, "    track_file {\n        tf weight -20\n    }\n")
    );
    lab.start("A", Impl::Ours, &ours);
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr("A", vip)),
        "{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, &inst(100, ""));
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.has_addr("A", vip) && !lab.has_addr("B", vip));
    std::fs::write(&file, "3\n").expect("file");
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr("B", vip)
            && !lab.has_addr("A", vip)),
        "VIP did not move:\n{}",
        lab.log("A")
    );
    assert!(lab.log("A").contains("(VI_1) Entering BACKUP STATE"));
    std::fs::write(&file, "0\n").expect("file");
    assert!(
        wait_until(Duration::from_secs(8), || lab.has_addr("A", vip)
            && !lab.has_addr("B", vip)),
        "VIP did not come back:\n{}",
        lab.log("A")
    );
    assert!(
        !lab.log("A").contains("not implemented"),
        "{}",
        lab.log("A")
    );
    assert_eq!(lab.terminate("A"), Some(0));
}

/// Issue 6: with the SMTP server black-holed (it accepts connections and never answers), every
/// alert hangs until `smtp_connect_timeout`, yet ours takes over from a killed keepalived master
/// within the protocol's bound, and a dead (refused) server changes nothing either.
#[test]
fn a_black_holed_smtp_server_does_not_delay_failover() {
    if !lab::can_run(&["python3"]) {
        return;
    }
    let mut lab = Lab::new("bh", "10.9.8");
    let vip = "10.9.8.100";
    // A TCP listener on A's loopback that never accepts: connects succeed, no greeting comes.
    let hole = lab.command_in(
        "A",
        &[
            "python3",
            "-c",
            "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('127.0.0.1',2525))\ns.listen(64)\ntime.sleep(3600)\n",
        ],
    );
    lab.spawn_helper(hole);
    std::thread::sleep(Duration::from_millis(500));
    let inst = |prio: u8| {
        format!("vrrp_instance VI_1 {{\n    state BACKUP\n    interface vd0\n    virtual_router_id 72\n    priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n")
    };
    let ours = format!(
        "global_defs {{\n   router_id A\n   notification_email {{\n     ops@example.com\n   }}\n   smtp_server 127.0.0.1 2525\n   smtp_connect_timeout 30\n   smtp_alert\n}}\n{}",
        inst(100)
    );
    lab.start("B", Impl::Keepalived, &inst(200));
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr("B", vip)),
        "{}",
        lab.log("B")
    );
    lab.start("A", Impl::Ours, &ours);
    // Ours enters BACKUP (one hung alert already) and hears keepalived.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!lab.has_addr("A", vip));
    let killed = keepalived_rs::sys::clock::now();
    lab.signal("B", 9);
    assert!(
        wait_until(Duration::from_secs(10), || lab.has_addr("A", vip)),
        "no takeover:\n{}",
        lab.log("A")
    );
    let took = killed.elapsed();
    // Bound: Master_Down_Interval for priority 100, 3 s + 156/256 s after keepalived's last
    // advert (which came before the kill). keepalived's VRRP child usually still sends its
    // priority-0 advert when its parent is killed (parent-death signal), and then the
    // takeover comes after the skew time, ~0.61 s; either way the mail must not add to it.
    assert!(
        took < Duration::from_millis(3_609 + 300),
        "takeover took {took:?} with the SMTP server black-holed:\n{}",
        lab.log("A")
    );
    assert!(lab.log("A").contains("(VI_1) Entering MASTER STATE"));
    // The alerts are still pending (30 s timeout): nothing was delivered, nothing waited.
    assert!(!lab.log("A").contains("SMTP alert successfully sent"));
    eprintln!("takeover with a black-holed SMTP server: {took:?}");
    assert_eq!(lab.terminate("A"), Some(0));
}
