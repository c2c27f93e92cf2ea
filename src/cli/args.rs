//! keepalived 2.2.7's options as a clap definition: the one list of options, used for the
//! getopt tokenizer's table, for `-h`, and (on a canonical command line) for typed values.
//!
//! Every option that takes a value is a `String`/`OsString` here: checking values (facility,
//! umask, format, fd) happens in `mod.rs` with keepalived's messages and leniency.

use clap::{ArgAction, Parser};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(
    name = "keepalived",
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    override_usage = "keepalived [OPTION...]",
    help_template = "Usage: {usage}\n{options}{after-help}",
    after_help = "--check and --format are keepalived-rs additions; keepalived's long form of -C \
                  (--check) validates the configuration here (use -C to run only the checker).",
    max_term_width = 100
)]
pub struct Args {
    /// Configuration file (glob allowed) [default: /etc/keepalived/keepalived.conf]
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub use_file: Option<OsString>,
    /// Run the VRRP subsystem only
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,
    /// Run the health-checker (LVS) subsystem only
    #[arg(short = 'C')]
    pub checker_only: bool,
    /// Do not run the BFD subsystem
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Start every subsystem even if the configuration has nothing for it
    #[arg(long = "all")]
    pub all: bool,
    /// Log to the console too
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed logging (twice: more detail)
    #[arg(short = 'D', long = "log-detail", action = ArgAction::Count)]
    pub log_detail: u8,
    /// syslog facility: 0-7 (local0-7), local0-7, user or daemon [default: daemon]
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility: Option<String>,
    /// Log to FILE (_vrrp, _healthcheckers, _bfd inserted before the extension)
    #[arg(short = 'g', long = "log-file", value_name = "FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub log_file: Option<OsString>,
    /// Flush the log file after each write
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,
    /// Do not log to syslog
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// File creation mask, numeric (0177, 0x7f, 127) [default: 0177]
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Remove the VIPs when leaving MASTER on a reload, even if they look absent
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Keep VIPs and virtual routes on exit
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Keep the IPVS configuration on exit
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Do not restart a child process that died
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Stay in the foreground
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Dump the configuration (with --check: the parsed model as JSON on stdout)
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Parent pid file [default: /run/keepalived.pid]
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<OsString>,
    /// VRRP child pid file [default: /run/vrrp.pid]
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<OsString>,
    /// genhash mode (must be the first option; not available yet)
    #[arg(short = 'T', long = "genhash")]
    pub genhash: bool,
    /// Checker child pid file [default: /run/checkers.pid]
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<OsString>,
    /// Log every address added or removed (netlink)
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// BFD child pid file [default: /run/bfd.pid]
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<OsString>,
    /// Enable the SNMP AgentX subagent
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// AgentX master socket
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,
    /// Run in network namespace NAME (overrides net_namespace)
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Allow core dumps
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// Allow core dumps and set kernel.core_pattern [default: core]
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATTERN", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub core_dump_pattern: Option<String>,
    /// Missing configuration or include files are errors
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Config id for `@id` lines [default: host name up to the first dot]
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Print the signal number of STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Check the configuration; messages to stderr or appended to LOG_FILE
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub config_test: Option<OsString>,
    /// Validate the configuration like -t (keepalived-rs)
    #[arg(long = "check", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub check: Option<OsString>,
    /// Diagnostics format for -t/--check: keepalived, pretty or json (keepalived-rs)
    /// [default: pretty on a terminal, else keepalived]
    #[arg(long = "format", value_name = "FORMAT")]
    pub format: Option<String>,
    /// (internal) read the configuration from this file descriptor
    #[arg(long = "config-fd", value_name = "FD", hide = true)]
    pub config_fd: Option<String>,
    /// Print version and build information
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Print this help
    #[arg(short = 'h', long = "help")]
    pub help: bool,
}
