//! The running daemon: supervisor, signals, reload diff, pid file, dumps, logging.

use crate::cli::Settings;

/// Runs keepalived with these settings until it stops; returns the process exit status.
///
/// The VRRP and LVS drivers are not in this build yet, so this says so instead of pretending
/// to protect anything.
pub fn run(_settings: Settings) -> u8 {
    eprintln!(
        "keepalived-rs: the daemon (VRRP/IPVS) is not implemented yet in this build; \
         use --check to validate a configuration"
    );
    1
}
pub mod lvs;
