//! exec: real processes, real process groups, real uid switching.

use keepalived_rs::exec::{self, Command, Credentials, Exit, OnTimeout};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn tmpdir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("ka-rs-exec-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_string_lossy().into_owned()
}

fn me(argv: &[&str]) -> Command {
    Command::new(
        argv.iter().map(|s| s.to_string()).collect(),
        Credentials::current(),
    )
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

async fn read_pid(p: &Path) -> i32 {
    for _ in 0..200 {
        if let Ok(s) = std::fs::read_to_string(p) {
            if let Ok(v) = s.trim().parse() {
                return v;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no pid in {}", p.display());
}

#[tokio::test]
async fn exit_status_and_signal_are_reported() {
    let r = exec::run(
        &me(&["/bin/sh", "-c", "exit 3"]),
        None,
        OnTimeout::Kill,
        None,
    )
    .await;
    assert_eq!(r.unwrap(), Exit::Code(3));
    let r = exec::run(&me(&["/bin/true"]), None, OnTimeout::Kill, None).await;
    assert_eq!(r.unwrap(), Exit::Code(0));
    let r = exec::run(
        &me(&["/bin/sh", "-c", "kill -USR1 $$"]),
        None,
        OnTimeout::Kill,
        None,
    )
    .await;
    assert_eq!(r.unwrap(), Exit::Signal(libc::SIGUSR1));
}

#[tokio::test]
async fn missing_program_is_an_error_not_a_panic() {
    let r = exec::run(&me(&["/nonexistent/ka-rs"]), None, OnTimeout::Kill, None).await;
    let e = r.unwrap_err().to_string();
    assert!(
        e.starts_with("Error exec-ing command '/nonexistent/ka-rs', error 2"),
        "{e}"
    );
}

#[tokio::test]
async fn argv_is_passed_verbatim_without_a_shell() {
    let d = tmpdir("argv");
    let out = d.join("out");
    let s = script(
        &d,
        "a.sh",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done > {}\n",
            out.display()
        ),
    );
    let c = me(&[&s, "a b", "$HOME", "'q'", "*"]);
    assert_eq!(
        exec::run(&c, None, OnTimeout::Kill, None).await.unwrap(),
        Exit::Code(0)
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "[a b][$HOME]['q'][*]"
    );
}

#[tokio::test]
async fn child_has_own_group_null_stdio_and_clean_signals() {
    let d = tmpdir("env");
    let pidf = d.join("pid");
    // Make the parent ignore SIGUSR2: the script must still get the default disposition.
    // SAFETY: setting a disposition for a signal nothing else in this test binary uses.
    unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };
    let s = script(
        &d,
        "e.sh",
        &format!("#!/bin/sh\necho $$ > {}\nexec sleep 5\n", pidf.display()),
    );
    let mut child = exec::spawn(&me(&[&s])).unwrap();
    unsafe { libc::signal(libc::SIGUSR2, libc::SIG_DFL) };
    let pid = read_pid(&pidf).await;
    assert_eq!(Some(pid as u32), child.id());
    // Wait for the exec of sleep.
    for _ in 0..200 {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for fd in 0..3 {
        let l = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(l, Path::new("/dev/null"), "fd {fd}");
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit(')').next().unwrap();
    let pgrp: i32 = after.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert_eq!(pgrp, pid, "own process group");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mask = |key: &str| {
        let l = status.lines().find(|l| l.starts_with(key)).unwrap();
        u64::from_str_radix(l[key.len()..].trim(), 16).unwrap()
    };
    // Signals 32/33 are glibc-internal and cannot be reset through sigaction (keepalived
    // cannot either); the environment may have them ignored.
    assert_eq!(mask("SigIgn:") & 0x7fff_ffff, 0, "{status}");
    assert_eq!(mask("SigBlk:"), 0, "{status}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn timeout_terminates_the_whole_group_and_reports_timed_out() {
    let d = tmpdir("tmo");
    let pidf = d.join("pid");
    let s = script(
        &d,
        "t.sh",
        &format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}\nwait\n",
            pidf.display()
        ),
    );
    let r = exec::run(
        &me(&[&s]),
        Some(Duration::from_millis(300)),
        OnTimeout::term_then_kill(),
        None,
    )
    .await;
    assert_eq!(r.unwrap(), Exit::TimedOut);
    let grandchild = read_pid(&pidf).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !alive(grandchild),
        "the script's child {grandchild} survived"
    );
}

#[tokio::test]
async fn a_script_ignoring_sigterm_is_killed_after_the_grace() {
    let d = tmpdir("ign");
    let pidf = d.join("pid");
    let s = script(
        &d,
        "i.sh",
        &format!(
            "#!/bin/sh\ntrap '' TERM\nsleep 1000 &\necho $! > {}\nwait\nsleep 1000\n",
            pidf.display()
        ),
    );
    let start = tokio::time::Instant::now();
    let r = exec::run(
        &me(&[&s]),
        Some(Duration::from_millis(200)),
        OnTimeout::TermThenKill {
            grace: Duration::from_millis(500),
        },
        None,
    )
    .await;
    assert_eq!(r.unwrap(), Exit::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(700));
    let grandchild = read_pid(&pidf).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!alive(grandchild));
}

#[tokio::test]
async fn a_script_that_handles_sigterm_reports_its_own_status_like_keepalived() {
    let d = tmpdir("trap");
    let ready = d.join("ready");
    let s = script(
        &d,
        "h.sh",
        &format!(
            "#!/bin/sh\ntrap 'exit 7' TERM\ntouch {}\nwhile :; do sleep 0.05; done\n",
            ready.display()
        ),
    );
    let r = exec::run(
        &me(&[&s]),
        Some(Duration::from_millis(300)),
        OnTimeout::term_then_kill(),
        None,
    )
    .await;
    assert!(ready.exists());
    assert_eq!(r.unwrap(), Exit::Code(7));
}

#[tokio::test]
async fn kill_policy_sigkills_at_once() {
    let d = tmpdir("kill");
    let pidf = d.join("pid");
    let s = script(
        &d,
        "k.sh",
        &format!(
            "#!/bin/sh\ntrap '' TERM\nsleep 1000 &\necho $! > {}\nwait\n",
            pidf.display()
        ),
    );
    let start = tokio::time::Instant::now();
    let r = exec::run(
        &me(&[&s]),
        Some(Duration::from_millis(200)),
        OnTimeout::Kill,
        None,
    )
    .await;
    assert_eq!(r.unwrap(), Exit::TimedOut);
    assert!(start.elapsed() < Duration::from_millis(1500));
    let grandchild = read_pid(&pidf).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!alive(grandchild));
}

#[tokio::test]
async fn dropping_a_run_kills_its_group() {
    let d = tmpdir("drop");
    let pidf = d.join("pid");
    let s = script(
        &d,
        "d.sh",
        &format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}\nwait\n",
            pidf.display()
        ),
    );
    let c = me(&[&s]);
    let r = tokio::time::timeout(
        Duration::from_millis(300),
        exec::run(&c, None, OnTimeout::Kill, None),
    )
    .await;
    assert!(r.is_err());
    let grandchild = read_pid(&pidf).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!alive(grandchild));
}

#[tokio::test]
async fn redirection_only_scripts_and_shebangless_files_go_through_sh() {
    let r = exec::run(&me(&["</dev/null"]), None, OnTimeout::Kill, None).await;
    assert_eq!(r.unwrap(), Exit::Code(0));
    let r = exec::run(&me(&["</nonexistent/ka-rs"]), None, OnTimeout::Kill, None).await;
    assert_ne!(r.unwrap(), Exit::Code(0));

    let d = tmpdir("noshebang");
    let out = d.join("out");
    let s = script(&d, "n", &format!("echo \"$1\" > {}\n", out.display()));
    let r = exec::run(&me(&[&s, "x y"]), None, OnTimeout::Kill, None).await;
    assert_eq!(r.unwrap(), Exit::Code(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "x y\n");
}

#[tokio::test]
async fn runs_as_the_configured_user_and_group() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP runs_as_the_configured_user_and_group: needs root");
        return;
    }
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        eprintln!("SKIP runs_as_the_configured_user_and_group: no user nobody");
        return;
    };
    let d = tmpdir("uid");
    let out = d.join("out");
    let s = script(
        &d,
        "u.sh",
        &format!(
            "#!/bin/sh\n{{ id -u; id -g; id -G; }} > {}\n",
            out.display()
        ),
    );
    let creds = exec::resolve_user("nobody", Some("root")).unwrap();
    assert_eq!(creds.uid, nobody.uid.as_raw());
    let c = Command::new(vec![s], creds);
    assert_eq!(
        exec::run(&c, None, OnTimeout::Kill, None).await.unwrap(),
        Exit::Code(0)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, format!("{}\n0\n0\n", nobody.uid.as_raw()));
}
