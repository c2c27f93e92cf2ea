//! The checker core across a reload, on a virtual clock: what keepalived's
//! `clear_diff_services` / `migrate_checkers` / `check_new_rs_state` keep and change. A real
//! server that failed stays out of the pool (it is not re-added until a check succeeds), a
//! healthy one is not touched, a new one starts up (or down with `alpha`), a changed weight is
//! applied and logged, a sorry server in the pool stays there, and what disappeared is logged.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use keepalived_rs::check::core::{Action, Lvs, Outcome};
use keepalived_rs::config::{load, LoadOptions};
use keepalived_rs::ipvs::desired::{self, LvsConfig};
use keepalived_rs::ipvs::*;

#[path = "support/lvs_bench.rs"]
mod lvs_bench;

fn lvs(name: &str, text: &str) -> LvsConfig {
    // (tests run in parallel: one directory per call)
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lvs-reload-{}-{name}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    let l = load(&p, &LoadOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    // (keepalived's notice about scripts run without script_security is expected for MISC)
    let diags: Vec<&String> = l
        .diagnostics
        .iter()
        .map(|d| &d.message)
        .filter(|m| !m.starts_with("SECURITY VIOLATION - check scripts"))
        .collect();
    assert!(diags.is_empty(), "{name}: {diags:?}");
    desired::build(&l.model)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Drains actions: (logs, fifo lines, probes started).
fn drain(l: &mut Lvs) -> (Vec<String>, Vec<String>, Vec<usize>) {
    let (mut logs, mut fifo, mut probes) = (vec![], vec![], vec![]);
    while let Some(a) = l.poll_action() {
        match a {
            Action::Log(s) => logs.push(s),
            Action::Fifo(s) => fifo.push(s),
            Action::Probe(id) => probes.push(id),
            Action::Run(_) | Action::Alert(_) => {}
        }
    }
    (logs, fifo, probes)
}

/// Runs the due timers and answers every probe with `f(target address)`.
fn step(l: &mut Lvs, now: Instant, f: &dyn Fn(IpAddr) -> Outcome) -> Vec<String> {
    l.handle_timeout(now);
    let (mut logs, _, probes) = drain(l);
    for id in probes {
        let target = l.spec(id).target.ip();
        l.handle_result(now, id, f(target));
        logs.extend(drain(l).0);
    }
    logs
}

fn fail() -> Outcome {
    Outcome::Failure("failed".into())
}
fn ok() -> Outcome {
    Outcome::Success(vec![])
}

/// (address, weight) of the dests of `key`.
fn dests(l: &Lvs, key: &ServiceKey) -> Vec<(IpAddr, u32)> {
    l.table()
        .services
        .get(key)
        .map(|v| v.dests.values().map(|d| (d.addr, d.weight)).collect())
        .unwrap_or_default()
}

fn vs(extra: &str, reals: &[(&str, u32, &str)]) -> String {
    let mut s = format!(
        "virtual_server 10.0.0.1 80 {{\n    delay_loop 5\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{extra}"
    );
    for (addr, w, opts) in reals {
        s += &format!(
            "    real_server {addr} 80 {{\n        weight {w}\n{opts}        TCP_CHECK {{\n            connect_timeout 2\n            retry 1\n        }}\n    }}\n"
        );
    }
    s + "}\n"
}

const DOWN: &str = "10.1.0.2";

/// Config 1 running until 10.1.0.2 failed (and was removed), then reloaded with `text2`.
fn reload_after_failure(text1: &str, text2: &str) -> (Lvs, Instant, Vec<String>) {
    let t0 = keepalived_rs::sys::clock::now();
    let mut l = Lvs::new(lvs("one", text1), t0, 7);
    drain(&mut l);
    let now = t0 + Duration::from_secs(8);
    let logs = step(&mut l, now, &|a| if a == ip(DOWN) { fail() } else { ok() });
    assert!(
        logs.iter()
            .any(|s| s.starts_with("Removing service [10.1.0.2]")),
        "{logs:?}"
    );
    let carry = l.carry();
    let mut l2 = Lvs::reloaded(lvs("two", text2), now, 8, &carry);
    let (logs, _, _) = drain(&mut l2);
    (l2, now, logs)
}

#[test]
fn a_failed_real_server_stays_out_and_a_healthy_one_is_untouched() {
    let text = vs("", &[("10.1.0.1", 1, ""), (DOWN, 1, "")]);
    let (mut l, now, logs) = reload_after_failure(&text, &text);
    assert!(
        logs.is_empty(),
        "an unchanged reload says nothing: {logs:?}"
    );
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(dests(&l, &key), vec![(ip("10.1.0.1"), 1)]);
    // Without the carried state the failed server would be back in the pool here and would
    // need `retry + 1` failures to leave again. With it, still failing says nothing...
    let now = now + Duration::from_secs(7);
    let logs = step(&mut l, now, &|a| if a == ip(DOWN) { fail() } else { ok() });
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(dests(&l, &key), vec![(ip("10.1.0.1"), 1)]);
    // ...and one success brings it back.
    let now = now + Duration::from_secs(5);
    let logs = step(&mut l, now, &|_| ok());
    assert!(
        logs.contains(&"Adding service [10.1.0.2]:tcp:80 to VS [10.0.0.1]:tcp:80".to_string()),
        "{logs:?}"
    );
    assert_eq!(
        dests(&l, &key),
        vec![(ip("10.1.0.1"), 1), (ip("10.1.0.2"), 1)]
    );
}

#[test]
fn a_weight_change_is_applied_and_logged_and_only_that_entry_changes() {
    let one = vs(
        "",
        &[("10.1.0.1", 1, ""), (DOWN, 1, ""), ("10.1.0.3", 1, "")],
    );
    let two = vs(
        "",
        &[("10.1.0.1", 5, ""), (DOWN, 1, ""), ("10.1.0.3", 1, "")],
    );
    let (l, _, logs) = reload_after_failure(&one, &two);
    assert_eq!(
        logs,
        vec![
            "Changing weight from 1 to 5 for active service [10.1.0.1]:tcp:80 of VS [10.0.0.1]:tcp:80"
                .to_string()
        ]
    );
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(
        dests(&l, &key),
        vec![(ip("10.1.0.1"), 5), (ip("10.1.0.3"), 1)]
    );
}

#[test]
fn new_real_servers_start_up_or_down_with_alpha_and_removed_ones_are_logged() {
    let one = vs("", &[("10.1.0.1", 1, ""), (DOWN, 1, "")]);
    let two = vs(
        "",
        &[
            ("10.1.0.1", 1, ""),
            ("10.1.0.4", 1, ""),
            ("10.1.0.5", 1, "        alpha\n"),
        ],
    );
    let (mut l, now, logs) = reload_after_failure(&one, &two);
    assert_eq!(
        logs,
        vec!["service [10.1.0.2]:tcp:80 no longer exist".to_string()]
    );
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(
        dests(&l, &key),
        vec![(ip("10.1.0.1"), 1), (ip("10.1.0.4"), 1)],
        "the new non-alpha server starts in the pool, the alpha one out of it"
    );
    // A checker created by a reload is not on its first-failure-decisive start-up count
    // (keepalived sets retry_it = retry only at start-up): retry 1 -> two failures needed.
    let mut now = now + Duration::from_secs(7);
    let logs = step(&mut l, now, &|a| {
        if a == ip("10.1.0.4") {
            fail()
        } else {
            ok()
        }
    });
    assert!(
        logs.contains(&"Adding service [10.1.0.5]:tcp:80 to VS [10.0.0.1]:tcp:80".to_string()),
        "{logs:?}"
    );
    assert!(!logs.iter().any(|s| s.contains("10.1.0.4")), "{logs:?}");
    now += Duration::from_secs(1);
    let logs = step(&mut l, now, &|a| {
        if a == ip("10.1.0.4") {
            fail()
        } else {
            ok()
        }
    });
    assert!(
        logs.contains(&"Removing service [10.1.0.4]:tcp:80 from VS [10.0.0.1]:tcp:80".to_string()),
        "{logs:?}"
    );
}

#[test]
fn a_changed_checker_starts_fresh_and_a_retimed_one_keeps_its_state() {
    let one = vs("", &[("10.1.0.1", 1, ""), (DOWN, 1, "")]);
    // delay_loop and retry changed: same connection, same probe -> state kept
    let retimed = one
        .replace("delay_loop 5", "delay_loop 9")
        .replace("retry 1", "retry 3");
    let (l, _, _) = reload_after_failure(&one, &retimed);
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(dests(&l, &key), vec![(ip("10.1.0.1"), 1)]);
    // connect_timeout changed: a different checker for keepalived. The real server then has
    // no failed checker, so keepalived's migrate_checkers puts it back in the pool at once;
    // its new checker's first failure is decisive (retry_it = retry) and takes it out again.
    let changed = one.replace("connect_timeout 2", "connect_timeout 3");
    let (mut l, now, logs) = reload_after_failure(&one, &changed);
    assert_eq!(
        logs,
        vec!["Adding service [10.1.0.2]:tcp:80 to VS [10.0.0.1]:tcp:80".to_string()]
    );
    assert_eq!(
        dests(&l, &key),
        vec![(ip("10.1.0.1"), 1), (ip("10.1.0.2"), 1)]
    );
    let logs = step(&mut l, now + Duration::from_secs(7), &|a| {
        if a == ip(DOWN) {
            fail()
        } else {
            ok()
        }
    });
    assert!(
        logs.contains(&"Removing service [10.1.0.2]:tcp:80 from VS [10.0.0.1]:tcp:80".to_string()),
        "{logs:?}"
    );
}

#[test]
fn a_sorry_server_in_the_pool_stays_and_removed_virtual_servers_are_logged() {
    let quorum = "    quorum 2\n    sorry_server 10.9.9.9 80\n";
    let one = format!(
        "{}{}",
        vs(quorum, &[(DOWN, 2, "")]),
        vs("", &[("10.1.0.7", 1, "")]).replace("10.0.0.1 80", "10.0.0.2 80")
    );
    let t0 = keepalived_rs::sys::clock::now();
    let mut l = Lvs::new(lvs("sorry1", &one), t0, 7);
    drain(&mut l);
    let now = t0 + Duration::from_secs(8);
    let logs = step(&mut l, now, &|a| if a == ip(DOWN) { fail() } else { ok() });
    assert!(
        logs.contains(&"Adding sorry server [10.9.9.9]:tcp:80 to VS [10.0.0.1]:tcp:80".to_string()),
        "{logs:?}"
    );
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(dests(&l, &key), vec![(ip("10.9.9.9"), 1)]);

    let two = vs(quorum, &[(DOWN, 2, "")]);
    let mut l2 = Lvs::reloaded(lvs("sorry2", &two), now, 8, &l.carry());
    let (logs, fifo, _) = drain(&mut l2);
    assert_eq!(
        logs,
        vec!["Removing Virtual Server [10.0.0.2]:tcp:80".to_string()],
        "no quorum lines: the quorum state is carried, not started again"
    );
    assert!(fifo.is_empty(), "{fifo:?}");
    assert_eq!(dests(&l2, &key), vec![(ip("10.9.9.9"), 1)]);
    assert!(!l2
        .table()
        .services
        .contains_key(&ServiceKey::tcp(ip("10.0.0.2"), 80)));
}

#[test]
fn what_keepalived_does_not_compare_may_change_without_losing_the_state() {
    use keepalived_rs::check::core::MiscExit;
    // keepalived's compare_misc_check looks at the script and `dynamic` only: a new
    // misc_timeout keeps the failed state (the server stays out, no "Adding service")
    let misc = |timeout: u32| {
        format!(
            "virtual_server 10.0.0.1 80 {{\n    delay_loop 5\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 10.1.0.1 80 {{\n        weight 1\n        MISC_CHECK {{\n            misc_path \"/bin/true\"\n        }}\n    }}\n    real_server {DOWN} 80 {{\n        weight 1\n        MISC_CHECK {{\n            misc_path \"/bin/false\"\n            misc_timeout {timeout}\n        }}\n    }}\n}}\n"
        )
    };
    let t0 = keepalived_rs::sys::clock::now();
    let mut l = Lvs::new(lvs("misc1", &misc(5)), t0, 7);
    drain(&mut l);
    let now = t0 + Duration::from_secs(8);
    let logs = step(&mut l, now, &|a| {
        Outcome::Misc(MiscExit::Status(if a == ip(DOWN) { 1 } else { 0 }))
    });
    assert!(
        logs.iter()
            .any(|s| s.starts_with("Removing service [10.1.0.2]")),
        "{logs:?}"
    );
    let mut l2 = Lvs::reloaded(lvs("misc2", &misc(9)), now, 8, &l.carry());
    let (logs, _, _) = drain(&mut l2);
    assert!(logs.is_empty(), "{logs:?}");
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(dests(&l2, &key), vec![(ip("10.1.0.1"), 1)]);
    // a different script is a different checker: the server has no failed checker left and
    // keepalived's migrate_checkers puts it back at once
    let other = misc(5).replace("/bin/false", "/bin/echo");
    let mut l3 = Lvs::reloaded(lvs("misc3", &other), now, 8, &l.carry());
    let (logs, _, _) = drain(&mut l3);
    assert_eq!(
        logs,
        vec!["Adding service [10.1.0.2]:tcp:80 to VS [10.0.0.1]:tcp:80".to_string()]
    );
}

/// Host-side profile of what a checker side does at a 1,000 x 10 reload with one weight
/// changed, without the kernel (BENCHMARKS.md, "Reload with one change"): load and validate
/// the new file, build the LVS model, migrate the previous side's state, compute the table,
/// plan against the previous table, hand over. Best of 15, in ms per step. Run with
///
///     cargo test --release --test check_reload -- --ignored --nocapture reload_pipeline
///
/// The VM benchmark (`tests/vm/bench-lvs.sh reload`) measures the same steps end to end.
#[test]
#[ignore]
fn bench_reload_pipeline_host() {
    use keepalived_rs::ipvs::plan::plan;
    use keepalived_rs::sys::clock;
    let dir = std::env::temp_dir().join(format!("lvs-reload-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old_p, new_p) = (dir.join("old.conf"), dir.join("new.conf"));
    std::fs::write(&old_p, lvs_bench::config_with(false, 0, None)).unwrap();
    std::fs::write(&new_p, lvs_bench::config_with(false, 0, Some((500, 5)))).unwrap();
    let opts = LoadOptions::default();
    let now = clock::now();
    let old = Lvs::new(desired::build(&load(&old_p, &opts).model), now, 1);
    let prev = old.table();
    let carry = old.into_carry();
    let steps = [
        "load",
        "desired",
        "migrate",
        "table",
        "plan",
        "hand over",
        "total",
    ];
    let mut best = [Duration::MAX; 7];
    for _ in 0..15 {
        let mut t = [Duration::ZERO; 7];
        let start = clock::now();
        let mut lap = clock::now();
        let mut step = |i: usize, t: &mut [Duration; 7]| {
            t[i] = lap.elapsed();
            lap = clock::now();
        };
        let loaded = load(&new_p, &opts);
        step(0, &mut t);
        let cfg = desired::build(&loaded.model);
        step(1, &mut t);
        let core = Lvs::reloaded(cfg, now, 1, &carry);
        step(2, &mut t);
        let want = core.table();
        step(3, &mut t);
        let owned = want.services.keys().copied().collect();
        let ops = plan(&want, &prev, &owned);
        step(4, &mut t);
        drop(core.into_carry());
        drop(loaded);
        step(5, &mut t);
        t[6] = start.elapsed();
        assert_eq!(ops.len(), 1, "one weight changed: one edit");
        for (b, x) in best.iter_mut().zip(t) {
            *b = (*b).min(x);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let line: Vec<String> = steps
        .iter()
        .zip(best)
        .map(|(n, b)| format!("{n} {:.2}", b.as_secs_f64() * 1e3))
        .collect();
    eprintln!(
        "BENCH reload pipeline 1000x10 (ms, best of 15): {}",
        line.join(", ")
    );
}
