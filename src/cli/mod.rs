//! Command line: keepalived 2.2.7's options with keepalived's meanings and messages, plus
//! `--check[=FILE]` (validate like `-t`) and `--format`.
//!
//! Parsing happens in three steps. [`getopt`] tokenizes argv the way glibc's `getopt_long`
//! does for keepalived (same prefixes, clusters, optional values, stray arguments). The tokens
//! are then processed in order as keepalived's `parse_cmdline()` does: errors are reported and
//! parsing continues, and the first of `-v`, `-h`, `-T` or `--signum` ends the program on the
//! spot. Finally the remaining options, rebuilt as a canonical command line, go through clap
//! ([`args::Args`]) and become a validated [`Settings`].

pub mod args;
pub mod getopt;
mod version;

use crate::config::render::{self, Format};
use crate::config::{self, LoadOptions};
use args::Args;
use clap::{CommandFactory, FromArgMatches};
use getopt::{Event, OptSpec, ValueKind};
use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub use version::version_text;

/// keepalived's default configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/keepalived/keepalived.conf";
/// Default file-creation mask (keepalived's `umask` default).
pub const DEFAULT_UMASK: u32 = 0o177;

/// The syslog facility of `-S/--log-facility`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFacility {
    #[default]
    Daemon,
    User,
    /// `local0` .. `local7` (also given as `0` .. `7`).
    Local(u8),
}

impl LogFacility {
    /// keepalived's accepted spellings: `0`-`7`, `local0`-`local7`, `user`, `daemon`.
    pub fn parse(s: &str) -> Option<LogFacility> {
        let digit = |d: &str| match d.as_bytes() {
            [c @ b'0'..=b'7'] => Some(LogFacility::Local(c - b'0')),
            _ => None,
        };
        match s {
            "daemon" => Some(LogFacility::Daemon),
            "user" => Some(LogFacility::User),
            _ => digit(s).or_else(|| digit(s.strip_prefix("local")?)),
        }
    }

    /// The `LOG_*` facility value for `openlog(3)`.
    pub fn to_libc(self) -> libc::c_int {
        match self {
            LogFacility::Daemon => libc::LOG_DAEMON,
            LogFacility::User => libc::LOG_USER,
            LogFacility::Local(n) => libc::LOG_LOCAL0 + (libc::c_int::from(n) << 3),
        }
    }
}

/// What `-t/--config-test` or `--check` asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigTest {
    /// `--config-test=FILE` / `--check=FILE`: append the messages to FILE instead of stderr.
    pub log_file: Option<PathBuf>,
    /// Started as `--check` (ours): `-d` then also dumps the parsed model as JSON on stdout.
    pub check: bool,
    /// `--format`; `None` = pretty when writing to a terminal, else keepalived's line format.
    pub format: Option<Format>,
}

/// Everything the command line decides, validated, with keepalived 2.2.7's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `-f/--use-file` (may be a glob; resolved by the config loader).
    pub config_file: PathBuf,
    /// Subsystems to run: `-P` clears checkers, `-C` clears VRRP, `-B` clears BFD, `--all`
    /// sets all three (the last of them on the command line wins, as in keepalived).
    pub run_vrrp: bool,
    pub run_checkers: bool,
    pub run_bfd: bool,
    /// `--all`: start the children even when the config has nothing for them.
    pub run_all_children: bool,
    /// `-l`
    pub log_console: bool,
    /// `-D` once
    pub log_detail: bool,
    /// `-D` twice
    pub log_extra_detail: bool,
    /// `-S`
    pub log_facility: LogFacility,
    /// `-g/--log-file[=FILE]` (`-g` alone: `keepalived.log`)
    pub log_file: Option<PathBuf>,
    /// `--flush-log-file`
    pub flush_log_file: bool,
    /// `-G` (also implied by `-t`)
    pub no_syslog: bool,
    /// `-u`: overrides the config's `umask` keyword; `None` = config or [`DEFAULT_UMASK`].
    pub umask: Option<u32>,
    /// `-X`
    pub release_vips: bool,
    /// `-V`
    pub dont_release_vrrp: bool,
    /// `-I`
    pub dont_release_ipvs: bool,
    /// `-R` (also implied by `-t`)
    pub dont_respawn: bool,
    /// `-n` (also implied by `-t`)
    pub dont_fork: bool,
    /// `-d`
    pub dump_conf: bool,
    /// `-p`, `-r`, `-c`, `-b`
    pub pid_file: PathBuf,
    pub vrrp_pid_file: PathBuf,
    pub checkers_pid_file: PathBuf,
    pub bfd_pid_file: PathBuf,
    /// `-a`
    pub address_monitoring: bool,
    /// `-x`
    pub snmp: bool,
    /// `-A`
    pub snmp_agent_socket: Option<String>,
    /// `-s`: overrides the config's `net_namespace`.
    pub namespace: Option<String>,
    /// `-m` (or `-M`)
    pub core_dump: bool,
    /// `-M[PATTERN]`: also set kernel.core_pattern (`-M` alone: `core`).
    pub core_dump_pattern: Option<String>,
    /// `-e/--all-config`: missing configuration or include files are errors.
    pub all_config: bool,
    /// `-i/--config-id`; `None` = host name up to the first dot (the loader's default).
    pub config_id: Option<String>,
    /// `-t`/`--check`; `None` = run the daemon.
    pub config_test: Option<ConfigTest>,
    /// `--config-fd` (internal, for reload checks).
    pub config_fd: Option<i32>,
    /// Non-option arguments (reported, ignored).
    pub unexpected_args: Vec<OsString>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config_file: DEFAULT_CONFIG_FILE.into(),
            run_vrrp: true,
            run_checkers: true,
            run_bfd: true,
            run_all_children: false,
            log_console: false,
            log_detail: false,
            log_extra_detail: false,
            log_facility: LogFacility::Daemon,
            log_file: None,
            flush_log_file: false,
            no_syslog: false,
            umask: None,
            release_vips: false,
            dont_release_vrrp: false,
            dont_release_ipvs: false,
            dont_respawn: false,
            dont_fork: false,
            dump_conf: false,
            pid_file: "/run/keepalived.pid".into(),
            vrrp_pid_file: "/run/vrrp.pid".into(),
            checkers_pid_file: "/run/checkers.pid".into(),
            bfd_pid_file: "/run/bfd.pid".into(),
            address_monitoring: false,
            snmp: false,
            snmp_agent_socket: None,
            namespace: None,
            core_dump: false,
            core_dump_pattern: None,
            all_config: false,
            config_id: None,
            config_test: None,
            config_fd: None,
            unexpected_args: Vec::new(),
        }
    }
}

impl Settings {
    /// What the config loader needs from the command line (`-e`, `-i`).
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            config_id: self.config_id.clone(),
            all_config: self.all_config,
            // keepalived seeds ${_RANDOM} from the time of day.
            random_seed: crate::sys::clock::wall_now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1),
        }
    }
}

/// `--signum` names and numbers as keepalived 2.2.7 on Linux/glibc prints them. JSON and
/// STATS_CLEAR are real-time signals; the numbers are keepalived's (SIGRTMIN+2 = 36,
/// SIGRTMAX-1 = 63 with glibc), fixed so that scripts sending them agree with us.
pub const SIGNALS: &[(&str, i32)] = &[
    ("STOP", libc::SIGTERM),
    ("RELOAD", libc::SIGHUP),
    ("DATA", libc::SIGUSR1),
    ("STATS", libc::SIGUSR2),
    ("STATS_CLEAR", 63),
    ("JSON", 36),
];

/// The signal number for a `--signum` name (case-sensitive, as in keepalived).
pub fn signum(name: &str) -> Option<i32> {
    SIGNALS.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
}

/// `strtoll(s, 0)` semantics: optional blanks and sign, `0x` hex, leading `0` octal; the whole
/// string must be used and the value must fit in 0777. (Like keepalived, "" reads as 0.)
pub fn parse_umask(s: &str) -> Option<u32> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8).ok()?
    } else if t.is_empty() {
        0
    } else if t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()?
    } else {
        return None;
    };
    if neg && v != 0 || v > 0o777 {
        return None;
    }
    Some(v as u32)
}

/// C `atoi`: leading blanks, optional sign, digits; anything else ends the number (0 if none).
fn atoi(s: &str) -> i32 {
    let t = s.trim_start();
    let (sign, t) = match t.as_bytes().first() {
        Some(b'-') => (-1i64, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    (sign
        * digits
            .parse::<i64>()
            .unwrap_or(0)
            .min(i64::from(i32::MAX) + 1)) as i32
}

/// The getopt table, taken from the clap definition.
fn option_table() -> Vec<OptSpec> {
    Args::command()
        .get_arguments()
        .map(|a| {
            let takes = a.get_action().takes_values();
            let optional = a.get_num_args().is_some_and(|n| n.min_values() == 0);
            OptSpec {
                id: a.get_id().to_string(),
                short: a.get_short().map(|c| c as u8),
                long: a.get_long().map(str::to_string),
                value: match (takes, optional) {
                    (false, _) => ValueKind::None,
                    (true, true) => ValueKind::Optional,
                    (true, false) => ValueKind::Required,
                },
            }
        })
        .collect()
}

/// The outcome of reading the command line.
#[derive(Debug)]
pub enum Parsed {
    /// Run with these settings (daemon or config test).
    Run(Box<Settings>),
    /// The program is done (help, version, signum, a bad option...): exit with this status.
    Exit(u8),
}

/// Reads the command line like keepalived 2.2.7 does; messages for bad options, `-h`, `-v`
/// and `--signum` are printed here.
pub fn parse(argv: &[OsString]) -> Parsed {
    let argv0 = argv.first().cloned().unwrap_or_else(|| "keepalived".into());
    if Path::new(&argv0).file_name() == Some(OsStr::new("genhash")) {
        return Parsed::Exit(genhash(&argv0, argv.get(1..).unwrap_or_default()));
    }
    let specs = option_table();
    let events = getopt::scan(&specs, argv.get(1..).unwrap_or_default());

    let mut canonical: Vec<OsString> = vec![argv0.clone()];
    let mut stray = Vec::new();
    let mut bad = false;
    let mut first_option = true;
    for ev in events {
        let (id, value, spelled) = match ev {
            Event::Positional(p) => {
                stray.push(p);
                continue;
            }
            Event::Unknown(s) => {
                eprintln!("Unknown option {s}");
                bad = true;
                first_option = false;
                continue;
            }
            Event::Missing(s) => {
                eprintln!("Missing parameter for option {s}");
                bad = true;
                first_option = false;
                continue;
            }
            Event::Opt { id, value, spelled } => (id, value, spelled),
        };
        let text = value.as_deref().map(OsStr::to_string_lossy);
        match (id.as_str(), text.as_deref()) {
            ("version", _) => {
                eprint!("{}", version_text());
                return Parsed::Exit(0);
            }
            ("help", _) => {
                eprint!("{}", help_text(&argv0.to_string_lossy()));
                return Parsed::Exit(0);
            }
            ("genhash", _) => {
                if !first_option {
                    // keepalived names a long option without its dashes here.
                    let name = spelled.strip_prefix("--").unwrap_or(&spelled);
                    eprintln!(
                        "Warning -- `{name}` not used as first option, previous options ignored"
                    );
                }
                // Everything after the `-T`/`--genhash` word belongs to genhash.
                let at = argv
                    .iter()
                    .skip(1)
                    .position(|a| a.to_string_lossy() == spelled)
                    .map_or(argv.len(), |i| i + 2);
                return Parsed::Exit(genhash(&argv0, argv.get(at..).unwrap_or_default()));
            }
            ("signum", Some(name)) => {
                return Parsed::Exit(match signum(name) {
                    Some(n) => {
                        println!("{n}");
                        0
                    }
                    None => {
                        eprintln!("Unknown sigfunc {name}");
                        1
                    }
                });
            }
            // keepalived reports these and carries on with the default.
            ("log_facility", Some(f)) if LogFacility::parse(f).is_none() => {
                eprintln!("Invalid log facility '{f}'");
            }
            ("umask", Some(u)) if parse_umask(u).is_none() => {
                eprintln!("Invalid --umask option {u}");
            }
            ("format", Some(f)) if Format::from_name(f).is_none() => {
                eprintln!("Invalid --format '{f}' (expected keepalived, pretty or json)");
                bad = true;
            }
            _ => {}
        }
        first_option = false;
        canonical.push(canonical_arg(&specs, &id, value));
    }

    if !stray.is_empty() {
        // keepalived prints this on stdout, each argument followed by a space.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"Unexpected argument(s): ");
        for a in &stray {
            let _ = out.write_all(a.as_bytes());
            let _ = out.write_all(b" ");
        }
        let _ = out.write_all(b"\n");
    }
    if bad {
        return Parsed::Exit(1);
    }

    let matches = match Args::command().try_get_matches_from(&canonical) {
        Ok(m) => m,
        Err(e) => {
            // Not expected: the tokenizer already checked the shape of every option.
            eprintln!("{}", e.render());
            return Parsed::Exit(1);
        }
    };
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{}", e.render());
            return Parsed::Exit(1);
        }
    };
    let mut settings = settings_from(args, &matches);
    settings.unexpected_args = stray;
    Parsed::Run(Box::new(settings))
}

fn canonical_arg(specs: &[OptSpec], id: &str, value: Option<OsString>) -> OsString {
    let spec = specs.iter().find(|s| s.id == id);
    let mut arg = OsString::new();
    match spec.and_then(|s| s.long.as_deref()) {
        Some(long) => {
            arg.push("--");
            arg.push(long);
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                arg.push("=");
                arg.push(v);
            }
        }
        // Only flags lack a long form (-C).
        None => {
            arg.push("-");
            let short = spec.and_then(|s| s.short).unwrap_or(b'?');
            arg.push(OsStr::from_bytes(&[short]));
        }
    }
    arg
}

fn settings_from(a: Args, m: &clap::ArgMatches) -> Settings {
    let d = Settings::default();
    let path = |v: Option<OsString>, default: PathBuf| v.map(PathBuf::from).unwrap_or(default);
    let nonempty = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);

    // -P, -C, -B and --all change the same bit set in command-line order.
    let mut flags: Vec<(usize, &str)> = ["vrrp", "checker_only", "no_bfd", "all"]
        .into_iter()
        .filter(|id| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .flat_map(|id| m.indices_of(id).into_iter().flatten().map(move |i| (i, id)))
        .collect();
    flags.sort_unstable();
    let (mut run_vrrp, mut run_checkers, mut run_bfd) = (true, true, true);
    for (_, id) in flags {
        match id {
            "vrrp" => run_checkers = false,
            "checker_only" => run_vrrp = false,
            "no_bfd" => run_bfd = false,
            _ => (run_vrrp, run_checkers, run_bfd) = (true, true, true),
        }
    }

    let format = a.format.as_deref().and_then(Format::from_name);
    // --check wins over -t when both are given: it is the superset.
    let config_test = match (a.check, a.config_test) {
        (Some(f), _) => Some(ConfigTest {
            log_file: nonempty(Some(f)),
            check: true,
            format,
        }),
        (None, Some(f)) => Some(ConfigTest {
            log_file: nonempty(Some(f)),
            check: false,
            format,
        }),
        (None, None) => None,
    };
    let testing = config_test.is_some();

    Settings {
        config_file: path(a.use_file, d.config_file),
        run_vrrp,
        run_checkers,
        run_bfd,
        run_all_children: a.all,
        log_console: a.log_console,
        log_detail: a.log_detail >= 1,
        log_extra_detail: a.log_detail >= 2,
        log_facility: a
            .log_facility
            .as_deref()
            .and_then(LogFacility::parse)
            .unwrap_or_default(),
        log_file: a
            .log_file
            .map(|f| nonempty(Some(f)).unwrap_or_else(|| "keepalived.log".into())),
        flush_log_file: a.flush_log_file,
        no_syslog: a.no_syslog || testing,
        umask: a.umask.as_deref().and_then(parse_umask),
        release_vips: a.release_vips,
        dont_release_vrrp: a.dont_release_vrrp,
        dont_release_ipvs: a.dont_release_ipvs,
        dont_respawn: a.dont_respawn || testing,
        dont_fork: a.dont_fork || testing,
        dump_conf: a.dump_conf,
        pid_file: path(a.pid, d.pid_file),
        vrrp_pid_file: path(a.vrrp_pid, d.vrrp_pid_file),
        checkers_pid_file: path(a.checkers_pid, d.checkers_pid_file),
        bfd_pid_file: path(a.bfd_pid, d.bfd_pid_file),
        address_monitoring: a.address_monitoring,
        snmp: a.snmp,
        snmp_agent_socket: a.snmp_agent_socket,
        namespace: a.namespace,
        core_dump: a.core_dump || a.core_dump_pattern.is_some(),
        core_dump_pattern: a
            .core_dump_pattern
            .map(|p| if p.is_empty() { "core".into() } else { p }),
        all_config: a.all_config,
        config_id: a.config_id,
        config_test,
        config_fd: a.config_fd.as_deref().map(atoi),
        unexpected_args: Vec::new(),
    }
}

/// `-h`: usage in keepalived's shape (`Usage: ARGV0 [OPTION...]` then the options).
pub fn help_text(argv0: &str) -> String {
    Args::command()
        .override_usage(format!("{argv0} [OPTION...]"))
        .render_help()
        .to_string()
}

/// genhash mode (`-T`, or run as `genhash`): the MD5 digest of a URL's body.
fn genhash(argv0: &OsStr, args: &[OsString]) -> u8 {
    // keepalived names itself by argv[0] as given (full path included).
    crate::check::genhash::main(&argv0.to_string_lossy(), args)
}

/// Runs the program with the given arguments (argv\[0\] first) and returns the exit status.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let argv: Vec<OsString> = args.into_iter().collect();
    let settings = match parse(&argv) {
        Parsed::Exit(code) => return code,
        Parsed::Run(s) => *s,
    };
    match &settings.config_test {
        Some(test) => config_test(&settings, test),
        None => crate::daemon::run(settings),
    }
}

/// `-t`/`--check`: load, report, exit with keepalived's `-t` status.
fn config_test(settings: &Settings, test: &ConfigTest) -> u8 {
    let mut sink: Box<dyn Write> = match &test.log_file {
        Some(path) => match open_test_log(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(0);
                let msg = e.to_string();
                // keepalived prints strerror(errno) (%m), without Rust's "(os error N)".
                let msg = msg
                    .strip_suffix(&format!(" (os error {errno})"))
                    .unwrap_or(&msg);
                eprintln!(
                    "Unable to open config-test log file {} {errno} - {msg}",
                    path.display()
                );
                return 1;
            }
        },
        None => Box::new(std::io::stderr()),
    };
    let tty = test.log_file.is_none() && std::io::stderr().is_terminal();
    let format = test.format.unwrap_or(if tty {
        Format::Pretty
    } else {
        Format::Keepalived
    });
    let color = tty && !std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());

    let loaded = config::load(&settings.config_file, &settings.load_options());
    let _ = sink.write_all(render::render(&loaded, format, color).as_bytes());
    let _ = sink.flush();
    if test.check && settings.dump_conf {
        match serde_json::to_string_pretty(&loaded.model) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("keepalived-rs: cannot dump the configuration: {e}"),
        }
    }
    loaded.exit_status()
}

/// keepalived appends, creates with mode 0644, and refuses to follow a symlink.
fn open_test_log(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests;
