//! keepalived's dump signals, ours against Debian's keepalived 2.2.7 running the same config:
//! SIGUSR1 (`keepalived.data` + `keepalived_parent.data`), SIGUSR2 (`keepalived.stats`),
//! signal 36 (`keepalived.json`) and SIGRTMAX-1 = 63 (stats, then cleared), written to
//! `$TMPDIR`. Each daemon runs alone in its own network namespace (`dumpsO` / `dumpsK`, a veth
//! pair with the same addresses), so both become MASTER of the same three instances and every
//! value an exporter reads must be the same. Time stamps and descriptor numbers are the only
//! lines allowed to differ (and keepalived's `Interfaces` section, which we do not write).
//!
//! Needs root, iproute2 and /usr/sbin/keepalived; skips with a message otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "support/netns_lab.rs"]
mod netns_lab;
use netns_lab::{sh, wait_until};

const KA: &str = "/usr/sbin/keepalived";
const OURS: &str = env!("CARGO_BIN_EXE_keepalived");
const VIPS: [&str; 3] = ["10.96.0.100/24", "10.96.0.101/24", "10.96.0.102/24"];

const CONF: &str = r#"global_defs {
   router_id dumpsnode
   script_user root
   vrrp_garp_master_delay 3
}
vrrp_script chk {
   script "/bin/true"
   interval 1
   weight -20
   fall 2
   rise 2
}
vrrp_sync_group SG1 {
   group {
     VI_2
     VI_3
   }
   notify "/bin/true group-arg"
}
vrrp_instance VI_1 {
   state BACKUP
   interface dv0
   virtual_router_id 61
   priority 150
   advert_int 1
   virtual_ipaddress {
      10.96.0.100/24
      10.96.0.110 label dv0:1
   }
   virtual_ipaddress_excluded {
      10.96.1.5/24
   }
   track_script {
      chk
   }
   notify "/bin/true extra1"
   notify_master /bin/true
}
vrrp_instance VI_2 {
   state BACKUP
   interface dv0
   virtual_router_id 62
   priority 120
   advert_int 1
   authentication {
      auth_type PASS
      auth_pass secret
   }
   virtual_ipaddress {
      10.96.0.101/24
   }
}
vrrp_instance VI_3 {
   state BACKUP
   interface dv0
   virtual_router_id 63
   priority 120
   advert_int 1
   virtual_ipaddress {
      10.96.0.102/24
   }
}
"#;

fn have_tools() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !(root && ip && Path::new(KA).exists()) {
        eprintln!("skipping: needs root, iproute2 and {KA}");
        return false;
    }
    true
}

fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a daemon this test started.
    unsafe { libc::kill(pid, sig) };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Ours,
    Keepalived,
}

struct Node {
    ns: String,
    dir: PathBuf,
    child: std::process::Child,
}

impl Node {
    fn start(who: Who, base: &Path) -> Node {
        let tag = match who {
            Who::Ours => "O",
            Who::Keepalived => "K",
        };
        let ns = format!("dumps{tag}");
        let dir = base.join(tag);
        std::fs::create_dir_all(&dir).expect("dir");
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", &ns]);
        sh(&[
            "ip", "-n", &ns, "link", "add", "dv0", "type", "veth", "peer", "name", "dv1",
        ]);
        sh(&["ip", "-n", &ns, "addr", "add", "10.96.0.1/24", "dev", "dv0"]);
        for l in ["dv0", "dv1", "lo"] {
            sh(&["ip", "-n", &ns, "link", "set", l, "up"]);
        }
        let conf = base.join("k.conf");
        let p = |f: &str| dir.join(f).display().to_string();
        let bin = match who {
            Who::Ours => OURS,
            Who::Keepalived => KA,
        };
        let log = std::fs::File::create(base.join(format!("{tag}.log"))).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, bin, "-n", "-l", "-G", "-f"])
            .arg(&conf)
            .args(["-p", &p("pid"), "-r", &p("vrrp.pid")])
            .args(["-c", &p("check.pid"), "-b", &p("bfd.pid")])
            .env("TMPDIR", &dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("start");
        Node { ns, dir, child }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn all_vips(&self) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-4", "-o", "addr", "show", "dev", "dv0"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        VIPS.iter().all(|v| out.contains(v))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        kill(self.pid(), libc::SIGTERM);
        let stopped = wait_until(Duration::from_secs(5), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !stopped {
            kill(self.pid(), libc::SIGKILL);
            let _ = self.child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
    }
}

/// Sends `sig` to both and returns the contents of `file` each wrote (keepalived renames its
/// file into place before writing it, so wait until the size is stable).
fn signal_both(nodes: &[&Node], sig: i32, file: &str) -> Vec<String> {
    for n in nodes {
        let _ = std::fs::remove_file(n.file(file));
    }
    for n in nodes {
        kill(n.pid(), sig);
    }
    nodes
        .iter()
        .map(|n| {
            let p = n.file(file);
            assert!(
                wait_until(Duration::from_secs(3), || p.exists()),
                "{:?}: no {file} after signal {sig}",
                n.dir
            );
            let mut last = String::new();
            wait_until(Duration::from_secs(2), || {
                std::thread::sleep(Duration::from_millis(100));
                let now = std::fs::read_to_string(&p).unwrap_or_default();
                let stable = !now.is_empty() && now == last;
                last = now;
                stable
            });
            last
        })
        .collect()
}

/// The data file with the lines that legitimately differ blanked out.
fn masked_data(text: &str, mask_script_state: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = "";
    for l in text.lines() {
        if l.starts_with("------<") {
            section = if l.contains("Interfaces") {
                "interfaces"
            } else if l.contains("VRRP Scripts") {
                "scripts"
            } else {
                "other"
            };
        }
        if section == "interfaces" {
            continue;
        }
        let timing = l.starts_with("   Last transition = ")
            || l.starts_with("   Read timeout = ")
            || l.starts_with("   fd_in ")
            || l.starts_with(" fd_in ");
        let script_state = section == "scripts"
            && (l.starts_with("   Result = ")
                || l.starts_with("   Init state = ")
                || l.starts_with("   Status = "));
        if timing || (mask_script_state && script_state) {
            let key = l.split(['=', ' ']).find(|w| !w.is_empty());
            out.push(format!("{} <masked>", key.unwrap_or("")));
        } else {
            out.push(l.to_string());
        }
    }
    out
}

/// The stats file with the advert counters (time-dependent) blanked out.
fn masked_stats(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = "";
    for l in text.lines() {
        if !l.starts_with("    ") {
            section = if l.trim() == "Advertisements:" {
                "adverts"
            } else {
                ""
            };
        }
        if section == "adverts" && l.starts_with("    ") {
            out.push(format!("{} <masked>", l.split(':').next().unwrap_or("")));
        } else {
            out.push(l.to_string());
        }
    }
    out
}

fn stat_value(text: &str, instance: &str, label: &str) -> Option<u64> {
    let mut on = false;
    for l in text.lines() {
        if let Some(n) = l.strip_prefix("VRRP Instance: ") {
            on = n == instance;
        } else if on {
            if let Some(v) = l.trim().strip_prefix(label) {
                return v.trim().parse().ok();
            }
        }
    }
    None
}

/// What mehdy/keepalived-exporter reads from the data file, by its exact labels.
fn exporter_view(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur = String::new();
    let mut in_vips = false;
    for l in text.lines() {
        if let Some(n) = l.strip_prefix(" VRRP Instance = ") {
            cur = format!("instance {n}");
            in_vips = false;
            continue;
        }
        if let Some(n) = l.strip_prefix(" VRRP Script = ") {
            cur = format!("script {n}");
            in_vips = false;
            continue;
        }
        if l.starts_with("------<") {
            cur.clear();
            continue;
        }
        if cur.is_empty() {
            continue;
        }
        if in_vips && l.starts_with("     ") {
            m.entry(cur.clone())
                .or_default()
                .push(format!("vip {}", l.trim()));
            continue;
        }
        in_vips = false;
        let labels: &[&str] = if cur.starts_with("instance") {
            &[
                "   State = ",
                "   Wantstate = ",
                "   Interface = ",
                "   Gratuitous ARP delay = ",
                "   Virtual Router ID = ",
            ]
        } else {
            &["   Status = ", "   State = "]
        };
        for lab in labels {
            if let Some(v) = l.strip_prefix(lab) {
                m.entry(cur.clone())
                    .or_default()
                    .push(format!("{} {v}", lab.trim()));
            }
        }
        if l.starts_with("   Virtual IP (") || l.starts_with("   Virtual IP Excluded") {
            in_vips = true;
            m.entry(cur.clone()).or_default().push(l.trim().to_string());
        }
    }
    m
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

fn strip_timing(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(a) = v.as_array_mut() {
        for i in a {
            if let Some(d) = i.get_mut("data").and_then(|d| d.as_object_mut()) {
                d.remove("last_transition");
            }
            if let Some(s) = i.get_mut("stats").and_then(|d| d.as_object_mut()) {
                s.remove("advert_sent");
            }
        }
    }
    v
}

#[test]
fn dump_signals_write_what_keepalived_writes() {
    if !have_tools() {
        return;
    }
    let base = std::env::temp_dir().join(format!("dumps-netns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("base");
    std::fs::write(base.join("k.conf"), CONF).expect("conf");
    let ours = Node::start(Who::Ours, &base);
    let ka = Node::start(Who::Keepalived, &base);
    let read_log =
        |t: &str| std::fs::read_to_string(base.join(format!("{t}.log"))).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(10), || ours.all_vips() && ka.all_vips()),
        "both must become MASTER of every instance\nours:\n{}\nkeepalived:\n{}",
        read_log("O"),
        read_log("K")
    );
    // Let the GARP bursts and the first script runs finish.
    std::thread::sleep(Duration::from_secs(4));

    // gen2brain/keepalived_exporter: signal 36, sleep 100 ms, read $TMPDIR/keepalived.json.
    let _ = std::fs::remove_file(ours.file("keepalived.json"));
    kill(ours.pid(), 36);
    std::thread::sleep(Duration::from_millis(100));
    let scraped = std::fs::read_to_string(ours.file("keepalived.json"))
        .expect("keepalived.json within 100 ms of signal 36");
    let v = json(&scraped);
    let arr = v.as_array().expect("array");
    let names: Vec<&str> = arr
        .iter()
        .filter_map(|i| i["data"]["iname"].as_str())
        .collect();
    assert_eq!(names, ["VI_1", "VI_2", "VI_3"]);
    for i in arr {
        assert_eq!(i["data"]["state"], 2, "MASTER is 2: {i}");
        assert_eq!(i["data"]["wantstate"], 2);
        assert_eq!(i["data"]["ifp_ifname"], "dv0");
        assert!(i["data"]["last_transition"].as_f64().is_some());
        for k in [
            "advert_rcvd",
            "advert_sent",
            "become_master",
            "pri_zero_sent",
        ] {
            assert!(i["stats"][k].as_u64().is_some(), "stats.{k}");
        }
    }

    // Without a vrrp_script runner in this build our script stays at its initial state.
    let no_runner = read_log("O").contains("vrrp_script runner is not in this build");
    if no_runner {
        eprintln!("note: no vrrp_script runner in this build: script Result/Status not compared");
    }
    let both = [&ours, &ka];

    // SIGUSR1: keepalived.data and keepalived_parent.data.
    let data = signal_both(&both, libc::SIGUSR1, "keepalived.data");
    let (o, k) = (
        masked_data(&data[0], no_runner),
        masked_data(&data[1], no_runner),
    );
    if o != k {
        let diff: Vec<String> = o
            .iter()
            .zip(k.iter())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("ours: {a}\n  ka: {b}"))
            .collect();
        panic!(
            "keepalived.data differs ({} vs {} lines):\n{}\nours:\n{}",
            o.len(),
            k.len(),
            diff.join("\n"),
            data[0]
        );
    }
    let (mut eo, mut ek) = (exporter_view(&data[0]), exporter_view(&data[1]));
    if no_runner {
        for m in [&mut eo, &mut ek] {
            if let Some(v) = m.get_mut("script chk") {
                v.retain(|l| !l.starts_with("Status ="));
            }
        }
    }
    assert_eq!(eo, ek);
    assert_eq!(eo.len(), 4, "3 instances and 1 script: {eo:?}");
    assert!(eo["instance VI_1"].contains(&"Virtual IP (2):".to_string()));
    assert!(eo["instance VI_1"].contains(&"State = MASTER".to_string()));
    let parent =
        |n: &Node| std::fs::read_to_string(n.file("keepalived_parent.data")).unwrap_or_default();
    assert!(wait_until(Duration::from_secs(2), || !parent(&ka).is_empty()));
    assert_eq!(parent(&ours), parent(&ka), "keepalived_parent.data");

    // SIGUSR2: keepalived.stats.
    let stats = signal_both(&both, libc::SIGUSR2, "keepalived.stats");
    assert_eq!(masked_stats(&stats[0]), masked_stats(&stats[1]));
    assert_eq!(stat_value(&stats[0], "VI_1", "Became master:"), Some(1));
    assert!(stat_value(&stats[0], "VI_1", "Sent:").is_some_and(|n| n > 0));

    // 36: keepalived.json.
    let js = signal_both(&both, 36, "keepalived.json");
    let (jo, jk) = (json(&js[0]), json(&js[1]));
    // Nothing in the JSON depends on the script's state while it is not failing.
    let (jo_cmp, jk_cmp) = (strip_timing(jo), strip_timing(jk));
    assert_eq!(
        jo_cmp, jk_cmp,
        "keepalived.json:\nours {}\n  ka {}",
        js[0], js[1]
    );
    // The same keys in the same order as keepalived's writer.
    let keys = |t: &str| -> Vec<String> {
        t.split('"')
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1].starts_with(':'))
            .map(|w| w[0].to_string())
            .collect()
    };
    assert_eq!(keys(&js[0]), keys(&js[1]), "JSON key order");

    // SIGRTMAX-1 (63): the stats as they were, then cleared.
    let cleared = signal_both(&both, 63, "keepalived.stats");
    assert_eq!(masked_stats(&cleared[0]), masked_stats(&cleared[1]));
    assert_eq!(stat_value(&cleared[0], "VI_1", "Became master:"), Some(1));
    let after = signal_both(&both, libc::SIGUSR2, "keepalived.stats");
    assert_eq!(masked_stats(&after[0]), masked_stats(&after[1]));
    assert_eq!(stat_value(&after[0], "VI_1", "Became master:"), Some(0));
    assert_eq!(stat_value(&after[1], "VI_1", "Became master:"), Some(0));
    assert!(
        stat_value(&after[0], "VI_1", "Sent:").unwrap_or(u64::MAX)
            < stat_value(&stats[0], "VI_1", "Sent:").unwrap_or(0),
        "advert counter was not cleared"
    );

    // Mode 0600 under keepalived's default umask, like keepalived's.
    use std::os::unix::fs::PermissionsExt;
    for n in both {
        let m = std::fs::metadata(n.file("keepalived.stats"))
            .expect("stats")
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600, "{:?}", n.dir);
    }

    // The log lines, pid aside, are keepalived's.
    let printing = |t: &str| -> Vec<String> {
        read_log(t)
            .lines()
            .filter_map(|l| l.split_once(": Printing").map(|(_, r)| r.to_string()))
            .map(|l| l.split("process(").next().unwrap_or("").to_string())
            .collect()
    };
    let (po, pk) = (printing("O"), printing("K"));
    // Ours also answered the exporter's first signal 36. keepalived's parent and VRRP child
    // log their SIGUSR1 lines in whichever order the scheduler runs them, so compare as sets.
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    assert_eq!(sorted(&po[1..]), sorted(&pk), "ours:\n{}", read_log("O"));
    assert!(pk.iter().any(|l| l.contains("and clearing VRRP stats")));
    drop(ours);
    drop(ka);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn signum_numbers_are_keepalived_s() {
    if !Path::new(KA).exists() {
        eprintln!("skipping: needs {KA}");
        return;
    }
    for name in ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"] {
        let run = |bin: &str| {
            Command::new(bin)
                .arg(format!("--signum={name}"))
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .expect("run")
        };
        let (o, k) = (run(OURS), run(KA));
        assert_eq!(o, k, "--signum={name}");
    }
    // The numbers the daemon acts on are those.
    assert_eq!(keepalived_rs::daemon::dump::SIG_JSON, 36);
    assert_eq!(keepalived_rs::daemon::dump::SIG_STATS_CLEAR, 63);
}
