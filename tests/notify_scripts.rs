//! Notifier with real scripts and real FIFOs, checked against keepalived 2.2.7's runtime
//! capture (`shared/corpus/keepalived-2.2.7-runtime-capture/two-node-A`).

use keepalived_rs::config::{self, LoadOptions};
use keepalived_rs::notify::{Notifier, NotifyOptions};
use keepalived_rs::vrrp::{Notify, NotifyEvent, NotifyKind, State};
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ka-rs-notify-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_string_lossy().into_owned()
}

fn load(dir: &Path, conf: &str) -> keepalived_rs::model::Config {
    let p = dir.join("keepalived.conf");
    std::fs::write(&p, conf).unwrap();
    config::load(&p, &LoadOptions::default()).model
}

fn inst(name: &str, st: State, prio: u8) -> Notify {
    Notify {
        kind: NotifyKind::Instance,
        name: name.into(),
        event: NotifyEvent::State(st),
        priority: prio,
    }
}

fn group(name: &str, st: State) -> Notify {
    Notify {
        kind: NotifyKind::Group,
        name: name.into(),
        event: NotifyEvent::State(st),
        priority: 0,
    }
}

/// Reads lines from a FIFO on a thread until `n` lines or 10 s.
fn fifo_reader(path: PathBuf, n: usize) -> std::sync::mpsc::Receiver<Vec<String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Ok(f) = std::fs::File::open(&path) {
            for l in std::io::BufReader::new(f).lines() {
                let Ok(l) = l else { break };
                out.push(l);
                if out.len() == n {
                    break;
                }
            }
        }
        let _ = tx.send(out);
    });
    rx
}

const CAPTURE: &str = "../shared/corpus/keepalived-2.2.7-runtime-capture/two-node-A";

fn capture_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(CAPTURE);
    p.is_dir().then_some(p)
}

/// two-node-A's configuration with its paths moved into `d`.
fn two_node_a_conf(d: &Path) -> String {
    let src = capture_dir().unwrap().join("keepalived.conf");
    let conf = std::fs::read_to_string(src).unwrap();
    conf.replace("/tmp/ka/exp/A", &d.display().to_string())
        .replace("   smtp_alert\n", "")
}

/// The notifications keepalived sent in the capture, in its order (fifo.log).
fn capture_sequence() -> Vec<Notify> {
    use State::*;
    vec![
        group("SG1", Backup),
        inst("VI_1", Backup, 150),
        inst("VI_2", Backup, 150),
        inst("VI_3", Backup, 150),
        inst("VI_1", Master, 150),
        inst("VI_3", Master, 150),
        inst("VI_2", Master, 150),
        group("SG1", Master),
        inst("VI_1", Backup, 90),
        inst("VI_1", Master, 150),
        inst("VI_1", Stop, 150),
        inst("VI_2", Stop, 150),
        inst("VI_3", Stop, 150),
        group("SG1", Stop),
    ]
}

#[tokio::test]
async fn scripts_and_fifo_get_exactly_what_keepalived_gave_them() {
    let Some(cap) = capture_dir() else {
        eprintln!("SKIP: {CAPTURE} not found");
        return;
    };
    let d = tmpdir("capture");
    let log = d.join("notify.log");
    // The capture's scripts without the time stamp.
    script(
        &d,
        "notify.sh",
        &format!(
            "#!/bin/sh\necho \"notify argc=$# args: $*\" >> {}\n",
            log.display()
        ),
    );
    script(
        &d,
        "notify_master.sh",
        &format!(
            "#!/bin/sh\necho \"notify_master argc=$# args: $*\" >> {}\n",
            log.display()
        ),
    );
    let model = load(&d, &two_node_a_conf(&d));
    let (n, warnings) = Notifier::start(&model, NotifyOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let fifo = d.join("vrrp.fifo");
    assert!(fifo.exists(), "vrrp_notify_fifo created");
    let seq = capture_sequence();
    let reader = fifo_reader(fifo.clone(), seq.len());
    for s in &seq {
        n.send(s);
    }
    n.shutdown().await;
    assert!(!fifo.exists(), "a FIFO we created is removed at shutdown");

    let want_fifo: Vec<String> = std::fs::read_to_string(cap.join("fifo.log"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let got_fifo = reader.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(got_fifo, want_fifo);

    // keepalived forks each script and never waits, so only each instance's own order is
    // defined; compare per instance/group (and the whole as a multiset).
    let strip = |l: &str| {
        l.split_once(' ')
            .map(|x| x.1.to_string())
            .unwrap_or_default()
    };
    let want: Vec<String> = std::fs::read_to_string(cap.join("notify.log"))
        .unwrap()
        .lines()
        .map(strip)
        .collect();
    let got: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut a = want.clone();
    let mut b = got.clone();
    a.sort();
    b.sort();
    assert_eq!(b, a, "same runs with the same argv");
    for key in ["VI_2 ", "VI_3 ", "SG1 ", "extra1 extra2 INSTANCE VI_1 "] {
        let w: Vec<_> = want.iter().filter(|l| l.contains(key)).collect();
        let g: Vec<_> = got.iter().filter(|l| l.contains(key)).collect();
        assert_eq!(g, w, "order for {key}");
    }
    // Our lane is ordered: notify_master always before VI_1's generic MASTER notify.
    let vi1: Vec<_> = got
        .iter()
        .filter(|l| l.contains("VI_1") || l.starts_with("notify_master"))
        .cloned()
        .collect();
    assert_eq!(
        vi1,
        [
            "notify argc=6 args: extra1 extra2 INSTANCE VI_1 BACKUP 150",
            "notify_master argc=0 args: ",
            "notify argc=6 args: extra1 extra2 INSTANCE VI_1 MASTER 150",
            "notify argc=6 args: extra1 extra2 INSTANCE VI_1 BACKUP 90",
            "notify_master argc=0 args: ",
            "notify argc=6 args: extra1 extra2 INSTANCE VI_1 MASTER 150",
            "notify argc=6 args: extra1 extra2 INSTANCE VI_1 STOP 150",
        ]
    );
}

fn one_instance_conf(d: &Path, body: &str) -> String {
    format!(
        "global_defs {{\n script_user root\n}}\nvrrp_instance VI_1 {{\n interface lo\n virtual_router_id 51\n priority 100\n virtual_ipaddress {{\n  10.9.9.100/24\n }}\n{body}\n}}\n# {}\n",
        d.display()
    )
}

#[tokio::test]
async fn order_is_kept_under_a_burst_even_when_early_scripts_are_slower() {
    let d = tmpdir("burst");
    let log = d.join("log");
    // Odd priorities take longer: fire-and-forget would reorder them.
    let s = script(
        &d,
        "n.sh",
        &format!(
            "#!/bin/sh\ncase $4 in *1|*3|*5|*7|*9) sleep 0.03;; esac\necho \"$3 $4\" >> {}\n",
            log.display()
        ),
    );
    let model = load(&d, &one_instance_conf(&d, &format!(" notify {s}")));
    let (n, _) = Notifier::start(
        &model,
        NotifyOptions {
            queue_capacity: 64,
            ..Default::default()
        },
    );
    let mut want = Vec::new();
    for p in 1..=40u8 {
        let st = if p % 2 == 0 {
            State::Master
        } else {
            State::Backup
        };
        n.send(&inst("VI_1", st, p));
        want.push(format!("{st} {p}"));
    }
    assert_eq!(n.dropped(), 0);
    n.shutdown().await;
    let got: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_slow_script_never_blocks_send_and_overflow_is_counted() {
    let d = tmpdir("slow");
    let log = d.join("log");
    let s = script(
        &d,
        "slow.sh",
        &format!("#!/bin/sh\nsleep 0.3\necho \"$4\" >> {}\n", log.display()),
    );
    let model = load(&d, &one_instance_conf(&d, &format!(" notify {s}")));
    let (n, _) = Notifier::start(
        &model,
        NotifyOptions {
            queue_capacity: 2,
            ..Default::default()
        },
    );
    let t0 = tokio::time::Instant::now();
    for p in 1..=10u8 {
        n.send(&inst("VI_1", State::Master, p));
    }
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(100), "send took {took:?}");
    // Nothing ran between the sends (current-thread runtime): 2 queued, 8 dropped.
    assert_eq!(n.dropped(), 8);
    n.shutdown().await;
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "1\n2\n");
}

#[tokio::test]
async fn stop_scripts_are_killed_with_their_children_after_one_second() {
    let d = tmpdir("stop");
    let pidf = d.join("pid");
    let s = script(
        &d,
        "stop.sh",
        &format!(
            "#!/bin/sh\ntrap '' TERM\nsleep 100 &\necho $! > {}\nwait\n",
            pidf.display()
        ),
    );
    let model = load(&d, &one_instance_conf(&d, &format!(" notify_stop {s}")));
    let (n, _) = Notifier::start(&model, NotifyOptions::default());
    n.send(&inst("VI_1", State::Stop, 100));
    let t0 = tokio::time::Instant::now();
    n.shutdown().await;
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let pid: i32 = std::fs::read_to_string(&pidf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next());
    assert!(matches!(state, None | Some("Z") | Some("X")), "{stat}");
}

#[tokio::test]
async fn fifo_script_gets_the_fifo_appended_and_reads_our_lines() {
    let d = tmpdir("fifoscript");
    let got = d.join("got");
    let args = d.join("args");
    let reader = script(
        &d,
        "reader.sh",
        &format!(
            "#!/bin/sh\necho \"$@\" > {}\nfor f; do :; done\nwhile read -r l; do echo \"$l\" >> {}; done < \"$f\"\n",
            args.display(),
            got.display()
        ),
    );
    let fifo = d.join("n.fifo");
    let conf = format!(
        "global_defs {{\n script_user root\n notify_fifo {}\n notify_fifo_script \"{} first\"\n}}\n\
         vrrp_sync_group SG1 {{\n group {{\n  VI_1\n }}\n}}\n{}",
        fifo.display(),
        reader,
        one_instance_conf(&d, "")
    );
    let model = load(&d, &conf);
    let (n, warnings) = Notifier::start(&model, NotifyOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    n.send(&group("SG1", State::Master));
    n.send(&inst("VI_1", State::Master, 100));
    n.send(&Notify {
        event: NotifyEvent::MasterPriority,
        ..inst("VI_1", State::Master, 90)
    });
    n.send(&Notify {
        event: NotifyEvent::MasterRxLowerPri,
        ..inst("VI_1", State::Master, 90)
    });
    let want = "GROUP \"SG1\" MASTER 0\nINSTANCE \"VI_1\" MASTER 100\n\
                INSTANCE \"VI_1\" MASTER_PRIORITY 90\nINSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 90\n";
    let mut text = String::new();
    for _ in 0..500 {
        text = std::fs::read_to_string(&got).unwrap_or_default();
        if text.len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(text, want);
    assert_eq!(
        std::fs::read_to_string(&args).unwrap(),
        format!("first {}\n", fifo.display())
    );
    let t0 = tokio::time::Instant::now();
    n.shutdown().await;
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(!fifo.exists());
}

#[tokio::test]
async fn rx_lower_pri_runs_its_script_without_arguments_and_priority_changes_run_nothing() {
    let d = tmpdir("rxlow");
    let log = d.join("log");
    let s = script(
        &d,
        "any.sh",
        &format!("#!/bin/sh\necho \"$0 argc=$#\" >> {}\n", log.display()),
    );
    let body = format!(
        " notify_master_rx_lower_pri \"{s}\"\n notify {s}\n notify_master {s}\n notify_backup {s}"
    );
    let model = load(&d, &one_instance_conf(&d, &body));
    let (n, _) = Notifier::start(&model, NotifyOptions::default());
    n.send(&Notify {
        event: NotifyEvent::MasterRxLowerPri,
        ..inst("VI_1", State::Master, 100)
    });
    n.send(&Notify {
        event: NotifyEvent::BackupPriority,
        ..inst("VI_1", State::Backup, 50)
    });
    n.send(&inst("NOT_CONFIGURED", State::Master, 100));
    n.shutdown().await;
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{s} argc=0\n")
    );
}
