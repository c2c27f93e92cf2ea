use super::*;

fn settings(args: &[&str]) -> Settings {
    let argv: Vec<OsString> = std::iter::once("keepalived")
        .chain(args.iter().copied())
        .map(Into::into)
        .collect();
    match parse(&argv) {
        Parsed::Run(s) => *s,
        Parsed::Exit(c) => panic!("{args:?} exited with {c}"),
    }
}

fn exit(args: &[&str]) -> u8 {
    let argv: Vec<OsString> = std::iter::once("keepalived")
        .chain(args.iter().copied())
        .map(Into::into)
        .collect();
    match parse(&argv) {
        Parsed::Run(s) => panic!("{args:?} did not exit: {s:?}"),
        Parsed::Exit(c) => c,
    }
}

#[test]
fn defaults_are_keepalived_defaults() {
    let s = settings(&[]);
    assert_eq!(s, Settings::default());
    assert_eq!(s.config_file, Path::new("/etc/keepalived/keepalived.conf"));
    assert_eq!(s.pid_file, Path::new("/run/keepalived.pid"));
    assert_eq!(s.vrrp_pid_file, Path::new("/run/vrrp.pid"));
    assert_eq!(s.checkers_pid_file, Path::new("/run/checkers.pid"));
    assert_eq!(s.bfd_pid_file, Path::new("/run/bfd.pid"));
    assert_eq!(s.umask, None);
    assert!(s.run_vrrp && s.run_checkers && s.run_bfd);
}

#[test]
fn every_flag_lands_in_its_field() {
    let s = settings(&[
        "-f",
        "/x.conf",
        "-l",
        "-DD",
        "-S",
        "local3",
        "-G",
        "-u",
        "022",
        "-X",
        "-V",
        "-I",
        "-R",
        "-n",
        "-d",
        "-p",
        "/p",
        "-r",
        "/r",
        "-c",
        "/c",
        "-b",
        "/b",
        "-a",
        "-x",
        "-A",
        "/agentx",
        "-s",
        "ns1",
        "-m",
        "-e",
        "-i",
        "lb1",
        "--config-fd=7",
        "--flush-log-file",
        "-g/l.log",
    ]);
    assert_eq!(s.config_file, Path::new("/x.conf"));
    assert!(s.log_console && s.log_detail && s.log_extra_detail && s.no_syslog);
    assert_eq!(s.log_facility, LogFacility::Local(3));
    assert_eq!(s.umask, Some(0o22));
    assert!(s.release_vips && s.dont_release_vrrp && s.dont_release_ipvs);
    assert!(s.dont_respawn && s.dont_fork && s.dump_conf);
    assert_eq!(
        [
            &s.pid_file,
            &s.vrrp_pid_file,
            &s.checkers_pid_file,
            &s.bfd_pid_file
        ],
        [
            Path::new("/p"),
            Path::new("/r"),
            Path::new("/c"),
            Path::new("/b")
        ]
    );
    assert!(s.address_monitoring && s.snmp && s.core_dump && s.flush_log_file);
    assert_eq!(s.snmp_agent_socket.as_deref(), Some("/agentx"));
    assert_eq!(s.namespace.as_deref(), Some("ns1"));
    assert_eq!(s.core_dump_pattern, None);
    assert_eq!(s.load_options().config_id.as_deref(), Some("lb1"));
    assert!(s.load_options().all_config);
    assert_eq!(s.config_fd, Some(7));
    assert_eq!(s.log_file.as_deref(), Some(Path::new("/l.log")));
    assert_eq!(s.config_test, None);
}

#[test]
fn long_forms_and_prefixes() {
    let s = settings(&[
        "--use-file",
        "/a",
        "--dont-f",
        "--log-facility=user",
        "--pid=/p",
    ]);
    assert_eq!(s.config_file, Path::new("/a"));
    assert!(s.dont_fork);
    assert_eq!(s.log_facility, LogFacility::User);
    assert_eq!(s.pid_file, Path::new("/p"));
}

#[test]
fn subsystem_flags_apply_in_order() {
    let s = settings(&["-P"]);
    assert!(s.run_vrrp && !s.run_checkers && s.run_bfd);
    let s = settings(&["-C", "-B"]);
    assert!(!s.run_vrrp && s.run_checkers && !s.run_bfd);
    let s = settings(&["-P", "--all"]);
    assert!(s.run_vrrp && s.run_checkers && s.run_bfd && s.run_all_children);
    let s = settings(&["--all", "-P"]);
    assert!(s.run_vrrp && !s.run_checkers && s.run_all_children);
}

#[test]
fn optional_values() {
    let s = settings(&["-M"]);
    assert!(s.core_dump);
    assert_eq!(s.core_dump_pattern.as_deref(), Some("core"));
    assert_eq!(
        settings(&["--core-dump-pattern=/tmp/%e"])
            .core_dump_pattern
            .as_deref(),
        Some("/tmp/%e")
    );
    assert_eq!(
        settings(&["-g"]).log_file.as_deref(),
        Some(Path::new("keepalived.log"))
    );
    let s = settings(&["-t"]);
    assert_eq!(s.config_test, Some(ConfigTest::default()));
    assert!(s.dont_fork && s.dont_respawn && s.no_syslog);
    let s = settings(&["-t/tmp/log"]);
    assert_eq!(
        s.config_test.unwrap().log_file.as_deref(),
        Some(Path::new("/tmp/log"))
    );
    // A separate word is not the optional value but a stray argument.
    let s = settings(&["--config-test", "/tmp/log"]);
    assert_eq!(s.config_test.unwrap().log_file, None);
    assert_eq!(s.unexpected_args, [OsString::from("/tmp/log")]);
}

#[test]
fn check_is_ours_and_c_stays_checker_only() {
    let s = settings(&["--check"]);
    let t = s.config_test.unwrap();
    assert!(t.check && t.log_file.is_none());
    assert!(s.run_vrrp, "--check must not mean checker-only");
    let s = settings(&["--check=/tmp/x", "--format=json"]);
    let t = s.config_test.unwrap();
    assert_eq!(t.log_file.as_deref(), Some(Path::new("/tmp/x")));
    assert_eq!(t.format, Some(Format::Json));
    let s = settings(&["-C"]);
    assert!(s.config_test.is_none() && !s.run_vrrp);
}

#[test]
fn invalid_values_are_reported_not_fatal() {
    let s = settings(&["-S", "local8", "-u", "0x1000"]);
    assert_eq!(s.log_facility, LogFacility::Daemon);
    assert_eq!(s.umask, None);
}

#[test]
fn terminal_options_and_errors() {
    assert_eq!(exit(&["--signum=RELOAD"]), 0);
    assert_eq!(exit(&["--signum=reload"]), 1);
    assert_eq!(exit(&["--bogus"]), 1);
    assert_eq!(exit(&["-f"]), 1);
    assert_eq!(exit(&["--use-file="]), 1);
    assert_eq!(exit(&["--format=xml"]), 1);
    // keepalived reports a bad option and still honours a later -v / -h.
    assert_eq!(exit(&["--bogus", "-h"]), 0);
    assert_eq!(exit(&["-T"]), 1);
}

#[test]
fn signum_table() {
    let want = [
        ("STOP", 15),
        ("RELOAD", 1),
        ("DATA", 10),
        ("STATS", 12),
        ("STATS_CLEAR", 63),
        ("JSON", 36),
    ];
    for (n, v) in want {
        assert_eq!(signum(n), Some(v), "{n}");
    }
    assert_eq!(signum("TDUMP"), None);
}

#[test]
fn umask_reads_like_strtoll_base_0() {
    assert_eq!(parse_umask("0177"), Some(0o177));
    assert_eq!(parse_umask("127"), Some(127));
    assert_eq!(parse_umask("0x1f"), Some(0x1f));
    assert_eq!(parse_umask(" 022"), Some(0o22));
    assert_eq!(parse_umask("0"), Some(0));
    assert_eq!(parse_umask(""), Some(0));
    assert_eq!(parse_umask("0888"), None);
    assert_eq!(parse_umask("1000"), None);
    assert_eq!(parse_umask("-1"), None);
    assert_eq!(parse_umask("22x"), None);
}

#[test]
fn facilities() {
    assert_eq!(LogFacility::parse("0"), Some(LogFacility::Local(0)));
    assert_eq!(LogFacility::parse("local7"), Some(LogFacility::Local(7)));
    assert_eq!(LogFacility::parse("daemon"), Some(LogFacility::Daemon));
    assert_eq!(LogFacility::parse("8"), None);
    assert_eq!(LogFacility::parse("local"), None);
    assert_eq!(LogFacility::parse("LOCAL1"), None);
    assert_eq!(LogFacility::Local(2).to_libc(), libc::LOG_LOCAL2);
}

#[test]
fn help_lists_every_visible_option() {
    let h = help_text("/usr/sbin/keepalived");
    assert!(
        h.starts_with("Usage: /usr/sbin/keepalived [OPTION...]\n"),
        "{h}"
    );
    for opt in [
        "--use-file",
        "--signum",
        "--config-test",
        "--check",
        "--format",
        "-C",
    ] {
        assert!(h.contains(opt), "{opt} missing from help");
    }
}
