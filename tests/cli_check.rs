//! `-t/--config-test` and `--check`: where the messages go, in which format, which exit status.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ka(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run keepalived")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch directory unique to this test process and test name.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keepalived-rs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const CLEAN: &str = "global_defs {\n    router_id test\n}\n";
const MISSING: &str = "/nonexistent/keepalived-rs-test.conf";

#[test]
fn missing_main_file_exits_0_without_e() {
    // keepalived 2.2.7: "Config files missing 'X'." and exit 0 (observed).
    for flag in ["-t", "--check", "--config-test"] {
        let o = ka(&[flag, "-f", MISSING]);
        assert_eq!(o.status.code(), Some(0), "{flag}");
        assert!(o.stdout.is_empty());
    }
}

// Depends on config::load producing the fatal "Config files missing" diagnostic for -e.
#[test]
fn missing_main_file_with_e_exits_4() {
    for args in [
        &["-t", "-e", "-f", MISSING][..],
        &["--check", "--all-config", "-f", MISSING],
    ] {
        let o = ka(args);
        assert_eq!(o.status.code(), Some(4), "{args:?}");
        assert_eq!(
            text(&o.stderr),
            format!("Config files missing '{MISSING}'.\n"),
            "{args:?}"
        );
    }
}

#[test]
fn json_format_is_one_json_object() {
    let dir = scratch("json");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CLEAN).unwrap();
    let conf = conf.to_str().unwrap();
    for args in [
        &["--check", "--format=json", "-f", conf][..],
        &["-t", "--format", "json", "-f", conf],
        &["--check", "--format=json", "-f", MISSING],
    ] {
        let o = ka(args);
        let v: serde_json::Value = serde_json::from_slice(&o.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&o.stderr)));
        assert_eq!(
            v["exit_status"].as_u64(),
            o.status.code().map(|c| c as u64),
            "{args:?}"
        );
        assert!(v["file"].is_string());
        assert!(v["diagnostics"].is_array());
        for d in v["diagnostics"].as_array().unwrap() {
            for key in [
                "severity",
                "code",
                "message",
                "file",
                "line",
                "column",
                "end_column",
                "help",
            ] {
                assert!(d.get(key).is_some(), "{key} missing in {d}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clean_config_is_silent_in_keepalived_format() {
    let dir = scratch("clean");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CLEAN).unwrap();
    let o = ka(&["-t", "-f", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pretty_format_ends_with_a_summary() {
    let dir = scratch("pretty");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CLEAN).unwrap();
    let o = ka(&["--check", "--format=pretty", "-f", conf.to_str().unwrap()]);
    let err = text(&o.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(&format!(
            "keepalived -t would exit {}",
            o.status.code().unwrap()
        )),
        "{err}"
    );
    // not a terminal: no colour codes
    assert!(!err.contains('\x1b'));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_file_argument_appends_instead_of_stderr() {
    let dir = scratch("logfile");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CLEAN).unwrap();
    let log = dir.join("check.log");
    std::fs::write(&log, "earlier line\n").unwrap();
    for flag in ["--check", "--config-test"] {
        let o = ka(&[
            &format!("{flag}={}", log.display()),
            "--format=json",
            "-f",
            conf.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0));
        assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    }
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.starts_with("earlier line\n{"), "{written}");
    assert_eq!(written.matches("\"exit_status\"").count(), 2);

    // -tFILE (attached short form) too
    let short = dir.join("short.log");
    let o = ka(&[&format!("-t{}", short.display()), "-f", MISSING]);
    assert_eq!(o.status.code(), Some(0));
    assert!(short.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unwritable_log_file_fails_like_keepalived() {
    let o = ka(&["--config-test=/nonexistent/dir/log", "-f", MISSING]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr)
        .starts_with("Unable to open config-test log file /nonexistent/dir/log 2 - "));
}

#[test]
fn dump_conf_with_check_prints_the_model_as_json_on_stdout() {
    let dir = scratch("dump");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CLEAN).unwrap();
    let o = ka(&["--check", "-d", "-f", conf.to_str().unwrap()]);
    let _: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)));
    // keepalived's -t never prints the configuration: -t -d stays quiet on stdout.
    let o = ka(&["-t", "-d", "-f", conf.to_str().unwrap()]);
    assert!(o.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_format_is_an_option_error() {
    let o = ka(&["--check", "--format=xml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("--format"));
}
