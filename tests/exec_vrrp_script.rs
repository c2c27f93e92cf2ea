//! The vrrp_script runner with real scripts: outcome sequences, keepalived's log lines,
//! no overlapping runs, stop.

use keepalived_rs::exec::vrrp_script::{ScriptEvent, ScriptRunner, TrackedScript};
use keepalived_rs::exec::{Command, Credentials, Exit};
use keepalived_rs::vrrp::track::{ScriptOutcome, ScriptTransition};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ka-rs-vs-{}-{tag}", std::process::id()));
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

fn tracked(name: &str, path: &str, interval_ms: u64, timeout_ms: u64) -> TrackedScript {
    TrackedScript {
        name: name.into(),
        command: Command::new(vec![path.into()], Credentials::current()),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        rise: 2,
        fall: 2,
        init_fail: false,
        runnable: true,
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> (Buf, tracing::subscriber::DefaultGuard) {
    let buf = Buf::default();
    let b2 = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_writer(move || b2.clone())
        .finish();
    (buf, tracing::subscriber::set_default(sub))
}

fn lines(b: &Buf) -> Vec<String> {
    String::from_utf8_lossy(&b.0.lock().unwrap())
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// A script that plays one line of `plan` per run: an exit status, or `T` to hang.
fn plan_script(d: &Path, plan: &[&str]) -> String {
    std::fs::write(d.join("plan"), plan.join("\n") + "\n").unwrap();
    std::fs::write(d.join("cnt"), "0").unwrap();
    script(
        d,
        "chk.sh",
        &format!(
            "#!/bin/sh\ncd {}\nn=$(cat cnt); n=$((n+1)); echo $n > cnt\n\
             l=$(sed -n \"${{n}}p\" plan)\n[ \"$l\" = T ] && exec sleep 100\nexit ${{l:-0}}\n",
            d.display()
        ),
    )
}

#[tokio::test]
async fn fail_recover_and_timeout_sequence_with_keepalived_lines() {
    let (buf, _g) = capture();
    let d = tmpdir("seq");
    let s = plan_script(&d, &["0", "0", "1", "1", "1", "T", "0", "0"]);
    let (tx, mut rx) = mpsc::channel(16);
    let runner = ScriptRunner::start(vec![tracked("chk", &s, 250, 150)], tx);
    let mut got: Vec<ScriptEvent> = Vec::new();
    while got.len() < 8 {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("event in time")
            .expect("runner alive");
        got.push(ev);
    }
    runner.stop().await;
    use ScriptOutcome::*;
    let outcomes: Vec<_> = got.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [Success, Success, Failure, Failure, Failure, TimedOut, Success, Success]
    );
    assert_eq!(got[2].exit, Exit::Code(1));
    assert_eq!(got[5].exit, Exit::TimedOut);
    let tr: Vec<_> = got.iter().map(|e| e.transition).collect();
    use ScriptTransition as T;
    assert_eq!(
        tr,
        [
            Some(T::Succeeded),
            None,
            None,
            Some(T::Failed),
            None,
            None,
            None,
            Some(T::Succeeded)
        ]
    );
    assert!(got.iter().all(|e| e.name == "chk"));
    let log = lines(&buf);
    assert_eq!(
        log,
        [
            "VRRP_Script(chk) succeeded",
            "Script `chk` now returning 1",
            "VRRP_Script(chk) failed (exited with status 1)",
            "Script `chk` now returning 0",
            "VRRP_Script(chk) succeeded",
        ],
        "{log:?}"
    );
}

#[tokio::test]
async fn a_timeout_that_flips_state_logs_timed_out() {
    let (buf, _g) = capture();
    let d = tmpdir("tmo");
    let s = plan_script(&d, &["T"]);
    let (tx, mut rx) = mpsc::channel(4);
    let mut t = tracked("slowchk", &s, 500, 100);
    t.rise = 1;
    t.fall = 1;
    let runner = ScriptRunner::start(vec![t], tx);
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    runner.stop().await;
    assert_eq!(ev.outcome, ScriptOutcome::TimedOut);
    assert_eq!(ev.transition, Some(ScriptTransition::TimedOut));
    assert_eq!(lines(&buf), ["VRRP_Script(slowchk) timed_out"]);
}

#[tokio::test]
async fn a_run_still_in_progress_is_not_started_twice() {
    let (buf, _g) = capture();
    let d = tmpdir("skip");
    let s = script(
        &d,
        "slow.sh",
        &format!(
            "#!/bin/sh\ncd {}\necho start >> log\nsleep 0.5\necho end >> log\n",
            d.display()
        ),
    );
    let (tx, mut rx) = mpsc::channel(16);
    let runner = ScriptRunner::start(vec![tracked("slow", &s, 100, 2000)], tx);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    runner.stop().await;
    let mut n_events = 0;
    while rx.try_recv().is_ok() {
        n_events += 1;
    }
    let log = std::fs::read_to_string(d.join("log")).unwrap_or_default();
    let starts = log.lines().filter(|l| *l == "start").count();
    assert!((1..=3).contains(&starts), "{log}");
    // Never two at once: start/end strictly alternate.
    for (i, l) in log.lines().enumerate() {
        assert_eq!(l, if i % 2 == 0 { "start" } else { "end" }, "{log}");
    }
    assert!(n_events >= 1);
    assert!(lines(&buf)
        .iter()
        .any(|l| l == "Track script slow is already running, expect idle - skipping run"));
}

#[tokio::test]
async fn stop_ends_a_running_script_and_unrunnable_scripts_never_run() {
    let d = tmpdir("stop");
    let pidf = d.join("pid");
    let s = script(
        &d,
        "hang.sh",
        &format!("#!/bin/sh\necho $$ > {}\nexec sleep 100\n", pidf.display()),
    );
    let marker = d.join("never");
    let never = script(
        &d,
        "never.sh",
        &format!("#!/bin/sh\ntouch {}\n", marker.display()),
    );
    let mut off = tracked("off", &never, 50, 50);
    off.runnable = false;
    let (tx, mut rx) = mpsc::channel(4);
    let runner = ScriptRunner::start(vec![tracked("hang", &s, 5000, 5000), off], tx);
    let mut pid = 0;
    for _ in 0..200 {
        if let Ok(p) = std::fs::read_to_string(&pidf) {
            if let Ok(p) = p.trim().parse::<i32>() {
                pid = p;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pid > 0);
    let t0 = tokio::time::Instant::now();
    runner.stop().await;
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(rx.try_recv().is_err(), "a stopped run reports nothing");
    assert!(!marker.exists(), "an unrunnable script ran");
}
