//! FILE_CHECK: the pure core on the values keepalived 2.2.7 was seen to act on (the timeline
//! below is Debian's keepalived run in the IPVS VM with `-D`: its log lines and `ipvsadm -Ln`
//! weights after each write), and the driver's file path (first read, watcher) on real files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_rs::check::core::{Action, Lvs};
use keepalived_rs::check::files::{read_initial, FileWatch};
use keepalived_rs::config::{load, LoadOptions};
use keepalived_rs::ipvs::desired::{self, LvsConfig};
use keepalived_rs::ipvs::ServiceKey;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ka-filecheck-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn build(d: &Path, text: &str) -> (LvsConfig, Vec<String>) {
    let p = d.join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    let l = load(&p, &LoadOptions::default());
    let diags = l.diagnostics.iter().map(|d| d.message.clone()).collect();
    (desired::build(&l.model), diags)
}

fn logs(l: &mut Lvs) -> Vec<String> {
    let mut out = vec![];
    while let Some(a) = l.poll_action() {
        if let Action::Log(s) = a {
            out.push(s);
        }
    }
    out
}

/// Weight of each VS's only dest (None: not in the table).
fn weights(l: &Lvs, n: usize) -> Vec<Option<u32>> {
    let t = l.table();
    (1..=n)
        .map(|i| {
            let key = ServiceKey::tcp(format!("10.0.0.{i}").parse().unwrap(), 80);
            t.services[&key].dests.values().next().map(|d| d.weight)
        })
        .collect()
}

fn six(d: &Path) -> String {
    let mut s = String::new();
    let files = [
        ("fA", ""),
        ("fB", "weight 0"),
        ("fC", "weight 0 reverse"),
        ("fD", "weight 2"),
        ("fE", ""),
        ("fF", ""),
    ];
    for (name, w) in files {
        s += &format!(
            "track_file {name} {{\n file {}/{name}\n {w}\n}}\n",
            d.display()
        );
    }
    let checks = [
        "track_file fA",
        "track_file fB",
        "track_file fC",
        "track_file fD",
        "track_file fE\n weight 0",
        "track_file fF\n weight 3 reverse",
    ];
    for (i, c) in checks.iter().enumerate() {
        let n = i + 1;
        s += &format!(
            "virtual_server 10.0.0.{n} 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server 10.0.1.{n} 80 {{\n  weight 10\n  FILE_CHECK {{\n   {c}\n  }}\n }}\n}}\n"
        );
    }
    s
}

fn write(d: &Path, vals: &[(&str, &str)]) {
    for (n, v) in vals {
        std::fs::write(d.join(n), format!("{v}\n")).unwrap();
    }
}

#[test]
fn keepalived_timeline() {
    let d = dir("timeline");
    write(
        &d,
        &[
            ("fA", "0"),
            ("fB", "0"),
            ("fC", "0"),
            ("fD", "3"),
            ("fE", "7"),
            ("fF", "0"),
        ],
    );
    let (mut c, diags) = build(&d, &six(&d));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(diags.is_empty(), "{diags:?}");
    let (msgs, watched) = read_initial(&mut c);
    assert!(msgs.is_empty(), "{msgs:?}");
    assert_eq!(watched.len(), 6);
    let mut l = Lvs::new(c, keepalived_rs::sys::clock::now(), 1);
    l.set_log_detail(true);
    // nothing to probe
    assert_eq!(l.poll_timeout(), None);
    let start = logs(&mut l);
    let gained =
        |vs: u32, w: u32| format!("Gained quorum 1+0=1 <= {w} for VS [10.0.0.{vs}]:tcp:80");
    // keepalived logs "Gained quorum 1+0=1 <= W" for VS 1, 2, 3, 4 (W 16) and 6 here
    assert_eq!(
        start,
        vec![
            gained(1, 10),
            gained(2, 10),
            gained(3, 10),
            gained(4, 16),
            gained(6, 10)
        ]
    );
    assert_eq!(
        weights(&l, 6),
        [Some(10), Some(10), Some(10), Some(16), None, Some(10)]
    );

    let rs = |n: u32| format!("[10.0.1.{n}]:tcp:80");
    let vs = |n: u32| format!("[10.0.0.{n}]:tcp:80");
    let changing = |n: u32, a: u32, b: u32| {
        format!(
            "Changing weight from {a} to {b} for active service {} of VS {}",
            rs(n),
            vs(n)
        )
    };
    let fault = |n: u32, f: &str| format!("({}): tracked file {f} now FAULT state", rs(n));
    let leaving = |n: u32, f: &str| format!("({}): tracked file {f} leaving FAULT state", rs(n));
    let removing = |n: u32| format!("Removing service {} from VS {}", rs(n), vs(n));
    let adding = |n: u32| format!("Adding service {} to VS {}", rs(n), vs(n));
    let lost = |n: u32| format!("Lost quorum 1-0=1 > 0 for VS {}", vs(n));
    let step = |l: &mut Lvs, vals: &[(&str, i64)]| {
        for (n, v) in vals {
            l.track_file(n, *v);
        }
        logs(l)
    };

    let got = step(
        &mut l,
        &[
            ("fA", 5),
            ("fB", 1),
            ("fC", 4),
            ("fD", 0),
            ("fE", 0),
            ("fF", 2),
        ],
    );
    assert_eq!(
        got,
        vec![
            changing(1, 10, 15),
            fault(2, "fB"),
            removing(2),
            lost(2),
            leaving(3, "fC"),
            changing(4, 16, 10),
            leaving(5, "fE"),
            adding(5),
            gained(5, 10),
            changing(6, 10, 4),
        ]
    );
    assert_eq!(
        weights(&l, 6),
        [Some(15), None, Some(10), Some(10), Some(10), Some(4)]
    );

    let got = step(
        &mut l,
        &[
            ("fA", -20),
            ("fB", 0),
            ("fC", 0),
            ("fD", -10),
            ("fE", 9),
            ("fF", -1),
        ],
    );
    assert_eq!(
        got,
        vec![
            changing(1, 15, 0),
            lost(1),
            leaving(2, "fB"),
            adding(2),
            gained(2, 10),
            fault(3, "fC"),
            removing(3),
            lost(3),
            changing(4, 10, 0),
            lost(4),
            fault(5, "fE"),
            removing(5),
            lost(5),
            changing(6, 4, 13),
        ]
    );
    assert_eq!(
        weights(&l, 6),
        [Some(0), Some(10), None, Some(0), None, Some(13)]
    );

    let got = step(&mut l, &[("fA", -2147483648), ("fF", 1000000000)]);
    assert_eq!(
        got,
        vec![
            fault(1, "fA"),
            removing(1),
            fault(6, "fF"),
            removing(6),
            lost(6)
        ]
    );
    assert_eq!(weights(&l, 6), [None, Some(10), None, Some(0), None, None]);

    let got = step(&mut l, &[("fA", 2), ("fF", 0)]);
    assert_eq!(
        got,
        vec![
            leaving(1, "fA"),
            adding(1),
            gained(1, 12),
            leaving(6, "fF"),
            adding(6),
            gained(6, 10),
        ]
    );
    assert_eq!(
        weights(&l, 6),
        [Some(12), Some(10), None, Some(0), None, Some(10)]
    );

    // the file deleted reads as 0; the same value again changes nothing
    let got = step(&mut l, &[("fA", 0), ("fA", 0), ("fB", 0)]);
    assert_eq!(got, vec![changing(1, 12, 10)]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn detail_lines_only_with_log_detail() {
    let d = dir("detail");
    write(
        &d,
        &[
            ("fA", "0"),
            ("fB", "0"),
            ("fC", "0"),
            ("fD", "0"),
            ("fE", "0"),
            ("fF", "0"),
        ],
    );
    let (mut c, _) = build(&d, &six(&d));
    read_initial(&mut c);
    let mut l = Lvs::new(c, keepalived_rs::sys::clock::now(), 1);
    logs(&mut l);
    l.track_file("fB", 1);
    assert_eq!(
        logs(&mut l),
        vec![
            "Removing service [10.0.1.2]:tcp:80 from VS [10.0.0.2]:tcp:80".to_string(),
            "Lost quorum 1-0=1 > 0 for VS [10.0.0.2]:tcp:80".to_string(),
        ]
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn config_errors_as_keepalived_reports_them() {
    let d = dir("config");
    let text = format!(
        r#"track_file fA {{
  file {}/a
}}
virtual_server 10.0.0.1 80 {{
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.1.1 80 {{
    FILE_CHECK {{
      track_file nope
    }}
    FILE_CHECK {{
      weight 3
    }}
    FILE_CHECK {{
      track_file fA
      weight 99999999999
    }}
    FILE_CHECK {{
      track_file fA
      weight 5 sideways
    }}
    FILE_CHECK {{
      track_file fA
      weight -2147483647 noreverse
    }}
  }}
}}
"#,
        d.display()
    );
    let (c, diags) = build(&d, &text);
    // keepalived -t's lines for this file (Debian keepalived 2.2.7)
    assert_eq!(
        diags,
        vec![
            "track_file nope not found",
            "FILE_CHECK has no track_file specified - ignoring",
            "FILE_CHECK has no track_file specified - ignoring",
            "number '99999999999' outside integer range",
            "weight for track file must be in [-2147483647..2147483647] inclusive. Ignoring...",
            "unknown track file weight option sideways - ignoring",
        ]
    );
    // the three FILE_CHECKs with a track_file run; the weights fall back to the file's (1)
    let cks = &c.virtual_servers[0].reals[0].checkers;
    assert_eq!(cks.len(), 3);
    let w: Vec<(i32, bool)> = cks
        .iter()
        .map(|c| match &c.probe {
            keepalived_rs::check::spec::Probe::File(f) => (f.weight, f.reverse),
            p => panic!("{p:?}"),
        })
        .collect();
    assert_eq!(w, [(1, false), (1, false), (-2147483647, false)]);
    assert!(!keepalived_rs::check::spec::unsupported(
        keepalived_rs::model::CheckerKind::File
    ));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn start_values_and_missing_directory() {
    let d = dir("start");
    // weight 0 reverse with 0 at start: keepalived leaves the checker up (only a non-zero
    // value is looked at when it starts); weight 0 with a non-zero value: down, reverse or not
    write(
        &d,
        &[
            ("fA", "-3"),
            ("fB", "0"),
            ("fC", "5"),
            ("fD", "0x10"),
            ("fE", "junk"),
            ("fF", "1"),
        ],
    );
    let mut text = six(&d);
    text = text.replace(
        &format!("file {}/fF", d.display()),
        &format!("file {}/nodir/fF", d.display()),
    );
    let (mut c, _) = build(&d, &text);
    let (msgs, watched) = read_initial(&mut c);
    assert_eq!(
        msgs,
        vec!["Track file directory for fF does not exist - removing".to_string()]
    );
    assert_eq!(watched.len(), 5);
    let l = Lvs::new(c, keepalived_rs::sys::clock::now(), 1);
    // fA -3 (10-3), fB 0 (up), fC 5 (weight 0 reverse, non-zero: down), fD 16*2+10,
    // fE unreadable number (0) with FILE_CHECK weight 0: up, fF not read: up
    assert_eq!(
        weights(&l, 6),
        [Some(7), Some(10), None, Some(42), Some(10), Some(10)]
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// The driver's path on real files: first read, then the watcher reports writes, a deletion
/// (0) and ignores an invalid number.
#[tokio::test]
async fn watcher_feeds_the_core_from_real_files() {
    let d = dir("watch");
    write(
        &d,
        &[
            ("fA", "4"),
            ("fB", "0"),
            ("fC", "0"),
            ("fD", "0"),
            ("fE", "0"),
            ("fF", "0"),
        ],
    );
    let (mut c, _) = build(&d, &six(&d));
    let (_, files) = read_initial(&mut c);
    let mut l = Lvs::new(c, keepalived_rs::sys::clock::now(), 1);
    logs(&mut l);
    assert_eq!(weights(&l, 1), [Some(14)]);
    let mut w = FileWatch::start(files, Duration::from_millis(20));
    // the first report of each file is its current value
    assert_eq!(next(&mut w, "fA").await, 4);
    write(&d, &[("fA", "-2147483648")]);
    let v = loop {
        let v = next(&mut w, "fA").await;
        if v != 4 {
            break v;
        }
    };
    l.track_file("fA", v);
    assert_eq!(
        logs(&mut l),
        vec![
            "Removing service [10.0.1.1]:tcp:80 from VS [10.0.0.1]:tcp:80".to_string(),
            "Lost quorum 1-0=1 > 0 for VS [10.0.0.1]:tcp:80".to_string()
        ]
    );
    std::fs::remove_file(d.join("fA")).unwrap();
    let v = next(&mut w, "fA").await;
    assert_eq!(v, 0);
    l.track_file("fA", v);
    assert_eq!(weights(&l, 1), [Some(10)]);
    let _ = std::fs::remove_dir_all(&d);
}

async fn next(w: &mut FileWatch, want: &str) -> i64 {
    loop {
        let (n, v) = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("watcher reports")
            .expect("open");
        if n == want {
            return v;
        }
    }
}
