//! The command line as operators and tools see it: run the built binary, check streams and
//! exit statuses against what keepalived 2.2.7 does (observed with Debian's /usr/sbin/keepalived).

use std::process::{Command, Output};

fn ka(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(args)
        .output()
        .expect("run keepalived")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn signum_prints_keepalived_numbers_on_stdout() {
    for (name, num) in [
        ("STOP", 15),
        ("RELOAD", 1),
        ("DATA", 10),
        ("STATS", 12),
        ("STATS_CLEAR", 63),
        ("JSON", 36),
    ] {
        let o = ka(&[&format!("--signum={name}")]);
        assert_eq!(o.status.code(), Some(0), "{name}");
        assert_eq!(text(&o.stdout), format!("{num}\n"), "{name}");
        assert!(o.stderr.is_empty(), "{name}");
        // the separate-word form and a unique prefix of --signum work too
        assert_eq!(text(&ka(&["--signum", name]).stdout), format!("{num}\n"));
        assert_eq!(text(&ka(&["--sig", name]).stdout), format!("{num}\n"));
    }
}

#[test]
fn signum_unknown_name() {
    for name in ["stop", "TDUMP", "HUP"] {
        let o = ka(&["--signum", name]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(text(&o.stderr), format!("Unknown sigfunc {name}\n"));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn version_on_stderr_with_keepalived_first_line() {
    for flag in ["-v", "--version", "--vers"] {
        let o = ka(&[flag]);
        assert_eq!(o.status.code(), Some(0));
        assert!(o.stdout.is_empty());
        let err = text(&o.stderr);
        let first = err.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!(
                "Keepalived v2.2.7 (01/16,2022), keepalived-rs {}",
                env!("CARGO_PKG_VERSION")
            )
        );
        // The puppet/facter pattern: /Keepalived v(\d+\.\d+\.\d+) .+/ on the first line.
        assert!(first.starts_with("Keepalived v2.2.7 "));
        let configure = err
            .lines()
            .find(|l| l.starts_with("configure options: "))
            .expect("configure options line");
        assert!(configure.split(' ').any(|w| w == "--enable-json"));
        assert!(err.lines().any(|l| l.starts_with("Config options:  ")));
        assert!(err.lines().any(|l| l.starts_with("System options:  ")));
        assert_eq!(err.lines().nth(1), Some(""));
    }
}

#[test]
fn help_on_stderr_exit_0() {
    let o = ka(&["-h"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "Usage: {} [OPTION...]\n",
            env!("CARGO_BIN_EXE_keepalived")
        )),
        "{err}"
    );
    assert!(err.contains("--check"));
    assert_eq!(ka(&["--help"]).status.code(), Some(0));
}

#[test]
fn first_of_version_and_help_wins() {
    assert!(text(&ka(&["-vh"]).stderr).starts_with("Keepalived v2.2.7"));
    assert!(text(&ka(&["-hv"]).stderr).starts_with("Usage: "));
}

#[test]
fn unknown_options_like_keepalived() {
    for (args, msg) in [
        (&["--bogus"][..], "Unknown option --bogus\n"),
        (&["-Z"], "Unknown option -Z\n"),
        (&["--vrrp=x"], "Unknown option --vrrp=x\n"),
        (&["--help=x"], "Unknown option --help=x\n"),
        // ambiguous prefix (dont-fork, dont-release-vrrp, ...)
        (&["--dont"], "Unknown option --dont\n"),
        (&["-f"], "Missing parameter for option -f\n"),
        (
            &["--use-file="],
            "Missing parameter for option --use-file\n",
        ),
        (&["--use-file"], "Missing parameter for option --use-file\n"),
    ] {
        let o = ka(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&o.stderr), msg, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    // every bad option is reported before exiting
    let o = ka(&["-qZ", "--nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "Unknown option -q\nUnknown option -Z\nUnknown option --nope\n"
    );
}

#[test]
fn bad_option_then_version_still_prints_version() {
    let o = ka(&["--bogus", "-v"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).starts_with("Unknown option --bogus\nKeepalived v2.2.7"));
}

#[test]
fn stray_arguments_are_reported_on_stdout_not_fatal() {
    let missing = "/nonexistent/keepalived-rs-test.conf";
    let o = ka(&["-t", "-f", missing, "x", "y"]);
    assert_eq!(text(&o.stdout), "Unexpected argument(s): x y \n");
    assert_eq!(o.status.code(), Some(0));
    // ... but a bad option still makes it fail, after the report
    let o = ka(&["x", "--bogus"]);
    assert_eq!(text(&o.stdout), "Unexpected argument(s): x \n");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn invalid_facility_and_umask_are_reported_not_fatal() {
    let o = ka(&["-S", "local9", "-u", "0999", "--signum=STOP"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stderr),
        "Invalid log facility 'local9'\nInvalid --umask option 0999\n"
    );
}

#[test]
fn genhash_mode_answers_like_keepalived() {
    // Usage and option handling, byte for byte against keepalived 2.2.7 when it is installed
    // (the digest itself is compared in tests/check_probe.rs).
    let cases: [&[&str]; 5] = [
        &["-T"],
        &["-T", "-h"],
        &["-n", "--genhash"],
        &["-n", "-T"],
        &["-T", "-s", "127.0.0.1", "-p", "1", "-u", "/"],
    ];
    for args in cases {
        let o = ka(args);
        assert_ne!(o.status.code(), None);
        if args.len() <= 2 {
            assert!(
                text(&o.stderr).contains("--genhash COMMAND [OPTIONS]"),
                "{args:?}"
            );
            assert!(
                text(&o.stderr).contains("\n   --use-ssl         -S"),
                "{args:?}"
            );
            assert_eq!(o.status.code(), Some(1), "{args:?}");
        }
        if std::path::Path::new("/usr/sbin/keepalived").exists() {
            let k = Command::new("/usr/sbin/keepalived")
                .args(args)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), k.status.code(), "{args:?}");
            assert_eq!(text(&o.stdout), text(&k.stdout), "{args:?}");
            // Both print argv[0] as they were called.
            let ours = text(&o.stderr).replace(env!("CARGO_BIN_EXE_keepalived"), "PROG");
            let theirs = text(&k.stderr).replace("/usr/sbin/keepalived", "PROG");
            assert_eq!(ours, theirs, "{args:?}");
        }
    }

    // Called as `genhash` (a symlink to the binary).
    let dir = std::env::temp_dir().join(format!("keepalived-rs-genhash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("genhash");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_keepalived"), &link).unwrap();
    let o = Command::new(&link).arg("-h").output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).starts_with(&format!(
        "Usage: {} --genhash COMMAND [OPTIONS]\n",
        link.display()
    )));
}

#[test]
fn daemon_without_a_config_file_stops_with_keepalived_s_exit_code() {
    let dir = std::env::temp_dir().join(format!("keepalived-rs-noconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let args = [
        "-n",
        "-l",
        "-f",
        "/nonexistent/keepalived-rs-test.conf",
        "-p",
        &pid("a.pid"),
        "-r",
        &pid("b.pid"),
        "-c",
        &pid("c.pid"),
        "-b",
        &pid("d.pid"),
    ];
    let o = ka(&args);
    let _ = std::fs::remove_dir_all(&dir);
    // keepalived 2.2.7: KEEPALIVED_EXIT_NO_CONFIG.
    assert_eq!(o.status.code(), Some(6));
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        out.contains("Config files missing '/nonexistent/keepalived-rs-test.conf'."),
        "{out}"
    );
    assert!(out.contains("Stopped Keepalived v2.2.7"), "{out}");
}

#[test]
fn a_missing_net_namespace_ends_the_daemon_like_keepalived() {
    let dir = std::env::temp_dir().join(format!("keepalived-rs-netns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "net_namespace karsdoesnotexist\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
    )
    .unwrap();
    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let args = [
        "-n".to_string(),
        "-l".into(),
        "-f".into(),
        p("k.conf"),
        "-p".into(),
        p("a.pid"),
        "-r".into(),
        p("b.pid"),
        "-c".into(),
        p("c.pid"),
        "-b".into(),
        p("d.pid"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ka(&args);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(0));
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    // Console lines are "<date>: message".
    let msgs: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(_, m)| m))
        .collect();
    let tail = &msgs[msgs.len().saturating_sub(3)..];
    assert_eq!(
        tail,
        [
            "Failed to open /run/netns/karsdoesnotexist",
            "Unable to set network namespace karsdoesnotexist - exiting",
            "Stopped Keepalived v2.2.7 (01/16,2022)"
        ],
        "{out}"
    );
}
