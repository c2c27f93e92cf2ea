//! Differential test of the command line against keepalived 2.2.7 itself (Debian's
//! /usr/sbin/keepalived), for invocations that end while parsing the command line or in `-t`
//! (so the real keepalived never starts a daemon). Skipped, with a message, without the binary.
//!
//! Deliberate differences, not tested here: `-v`/`-h` text (ours names keepalived-rs), messages
//! where keepalived 2.2.7 prints garbage or crashes (`--use-file`/`--pid` as the last argument:
//! segfault; `--signum`, `--config-id` without a value: a garbled option name), the option named
//! in "Unknown option" after a stray argument (keepalived names the stray one), and the missing
//! newline after keepalived's "Invalid --umask option X".

use std::path::Path;
use std::process::{Command, Output};

const ORACLE: &str = "/usr/sbin/keepalived";

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run")
}

fn oracle_available() -> bool {
    if Path::new(ORACLE).exists() {
        return true;
    }
    eprintln!("skipping: {ORACLE} (keepalived 2.2.7) is not installed");
    false
}

/// Same exit status, stdout and stderr.
fn same(args: &[&str]) {
    let ours = run(env!("CARGO_BIN_EXE_keepalived"), args);
    let theirs = run(ORACLE, args);
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "exit status for {args:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "stdout for {args:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr),
        "stderr for {args:?}"
    );
}

#[test]
fn signum_matches_keepalived() {
    if !oracle_available() {
        return;
    }
    for name in [
        "STOP",
        "RELOAD",
        "DATA",
        "STATS",
        "STATS_CLEAR",
        "JSON",
        "TDUMP",
        "stop",
        "",
    ] {
        same(&[&format!("--signum={name}")]);
    }
    same(&["--sig", "RELOAD"]);
    same(&["-n", "--signum", "DATA", "-D"]);
}

#[test]
fn option_errors_match_keepalived() {
    if !oracle_available() {
        return;
    }
    for args in [
        &["--bogus"][..],
        &["-Z"],
        &["-qZ", "--nope"],
        &["--vrrp=x"],
        &["--help=x"],
        &["--dont"],
        &["-f"],
        &["-u"],
        &["--use-file="],
        &["-nZf"],
        &["--bogus", "--signum=JSON"],
        &["-S", "local9", "--signum=STOP"],
        &["-S", "bogus", "-S", "8", "--signum=STOP"],
        &[
            "--config-test=/nonexistent/dir/log",
            "-f",
            "/nonexistent/x.conf",
        ],
    ] {
        same(args);
    }
}

#[test]
fn first_line_of_version_matches_keepalived_prefix() {
    if !oracle_available() {
        return;
    }
    let ours = run(env!("CARGO_BIN_EXE_keepalived"), &["-v"]);
    let theirs = run(ORACLE, &["-v"]);
    assert_eq!(ours.status.code(), theirs.status.code());
    let first = |o: &Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert!(first(&ours).starts_with(&first(&theirs)));
}

#[test]
fn stray_arguments_match_keepalived() {
    if !oracle_available() {
        return;
    }
    let args = ["-t", "-f", "/nonexistent/keepalived-rs-test.conf", "x", "y"];
    let ours = run(env!("CARGO_BIN_EXE_keepalived"), &args);
    let theirs = run(ORACLE, &args);
    assert_eq!(ours.status.code(), theirs.status.code());
    assert_eq!(ours.stdout, theirs.stdout);
}

// Depends on the config loader (config::load) reporting "Config files missing 'X'." with the
// right severity; until it does, our stderr is empty and -e exits 0.
#[test]
fn missing_config_file_matches_keepalived() {
    if !oracle_available() {
        return;
    }
    let missing = "/nonexistent/keepalived-rs-test.conf";
    same(&["-t", "-f", missing]);
    same(&["-t", "-e", "-f", missing]);
    same(&["--config-test", "--all-config", "-f", missing]);
}
