//! Logging as keepalived does it.
//!
//! * syslog (unless `-G`): one datagram per line to `/dev/log`, in glibc's format
//!   `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG`, with the `-S` facility. keepalived runs a parent
//!   and a child per subsystem, each with its own ident; we run threads, so the ident is chosen
//!   per line from the thread that logs it: the VRRP thread ([`VRRP_THREAD`]) logs as
//!   `Keepalived_vrrp`, the checker thread ([`CHECKER_THREAD`]) as `Keepalived_healthcheckers`,
//!   everything else (start/stop/reload lines of the supervisor) as `Keepalived`. (libc's
//!   `openlog` has one process-wide ident, hence our own writer.)
//! * journald (tracing-journald) instead of syslog when systemd started us (`JOURNAL_STREAM`
//!   or `INVOCATION_ID` set) and its socket answers: the same idents as `SYSLOG_IDENTIFIER`,
//!   the `-S` facility as `SYSLOG_FACILITY`, keepalived's LOG_INFO as priority 6.
//! * `-l`: the console (stderr) as `Sun Nov 22 04:16:44 2026: MSG`.
//!
//! Lines are plain `tracing` events; INFO and above are keepalived's lines, DEBUG is ours
//! (shown with `-D -D`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Name of the VRRP thread: its lines are `Keepalived_vrrp`'s.
pub const VRRP_THREAD: &str = "vrrp";
/// Name of the checker/LVS thread: its lines are `Keepalived_healthcheckers`'.
pub const CHECKER_THREAD: &str = "checker";

/// keepalived's syslog ident for a line logged by the thread named `thread`.
pub fn ident_for_thread(thread: Option<&str>) -> &'static str {
    match thread {
        Some(VRRP_THREAD) => "Keepalived_vrrp",
        Some(CHECKER_THREAD) => "Keepalived_healthcheckers",
        _ => "Keepalived",
    }
}

/// The ident of a line: its target when that is one of keepalived's idents (a line the
/// supervisor logs on behalf of the VRRP thread: `info!(target: "Keepalived_vrrp", ...)`),
/// else the logging thread's.
fn ident_for(target: &str) -> &'static str {
    match target {
        "Keepalived" => "Keepalived",
        "Keepalived_vrrp" => "Keepalived_vrrp",
        "Keepalived_healthcheckers" => "Keepalived_healthcheckers",
        _ => ident_for_thread(std::thread::current().name()),
    }
}

/// Where lines go.
#[derive(Debug, Clone)]
pub struct LogSetup {
    pub console: bool,
    pub syslog: bool,
    /// The `LOG_*` facility value (already shifted, as `openlog(3)` takes it).
    pub facility: libc::c_int,
    /// Also show DEBUG lines (ours, e.g. notifications with no sink).
    pub debug: bool,
    /// Send to journald instead of syslog when started by systemd (see [`started_by_systemd`]).
    pub journald: bool,
}

/// Whether systemd started us: it sets `JOURNAL_STREAM` when stdout/stderr go to the journal
/// and `INVOCATION_ID` for every unit it runs.
pub fn started_by_systemd() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some()
}

struct Msg(String);

impl Visit for Msg {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
}

fn strftime_now(fmt: &std::ffi::CStr) -> String {
    let secs = crate::sys::clock::wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r and strftime write into the buffers we pass, sized accordingly.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// keepalived's console time stamp: `%a %b %d %T %Y` in local time.
pub fn console_stamp() -> String {
    strftime_now(c"%a %b %d %T %Y")
}

/// The syslog priority of a tracing level (keepalived logs its lines at LOG_INFO).
fn syslog_severity(level: Level) -> libc::c_int {
    match level {
        Level::ERROR => libc::LOG_ERR,
        Level::WARN => libc::LOG_WARNING,
        Level::INFO => libc::LOG_INFO,
        _ => libc::LOG_DEBUG,
    }
}

/// One syslog datagram in glibc's format: `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG`.
pub fn syslog_line(facility: libc::c_int, level: Level, ident: &str, msg: &str) -> String {
    format!(
        "<{}>{} {ident}[{}]: {msg}",
        facility | syslog_severity(level),
        strftime_now(c"%h %e %T"),
        std::process::id()
    )
}

/// Writes syslog datagrams to `/dev/log` (a fresh `sendto` per line, so a restarted syslog
/// daemon is picked up; a line that cannot be sent is dropped, as glibc does without
/// `LOG_CONS`).
struct Syslog {
    sock: Option<UnixDatagram>,
    path: PathBuf,
    facility: libc::c_int,
}

impl Syslog {
    fn send(&self, level: Level, ident: &str, msg: &str) {
        if let Some(s) = &self.sock {
            let line = syslog_line(self.facility, level, ident, msg);
            let _ = s.send_to(line.as_bytes(), &self.path);
        }
    }
}

struct KaLayer {
    console: bool,
    syslog: Option<Syslog>,
    debug: bool,
}

fn shown(level: Level, debug: bool) -> bool {
    !(level == Level::TRACE || (level == Level::DEBUG && !debug))
}

impl<S: Subscriber> Layer<S> for KaLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if !shown(level, self.debug) {
            return;
        }
        let mut m = Msg(String::new());
        event.record(&mut m);
        if self.console {
            // one write per line (stderr is unbuffered: piecewise formatting made four)
            let line = format!("{}: {}\n", console_stamp(), m.0);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if let Some(s) = &self.syslog {
            let ident = ident_for(event.metadata().target());
            s.send(level, ident, &m.0.replace('\0', " "));
        }
    }
}

/// One journald layer per ident, each taking the lines of its threads.
fn journald_layers<S>(
    facility: libc::c_int,
    debug: bool,
) -> Option<Vec<Box<dyn Layer<S> + Send + Sync>>>
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let mut out: Vec<Box<dyn Layer<S> + Send + Sync>> = Vec::new();
    for ident in ["Keepalived", "Keepalived_vrrp", "Keepalived_healthcheckers"] {
        let mut prio = tracing_journald::PriorityMappings::new();
        prio.info = tracing_journald::Priority::Informational;
        prio.debug = tracing_journald::Priority::Debug;
        let l = tracing_journald::layer()
            .ok()?
            .with_syslog_identifier(ident.to_string())
            .with_priority_mappings(prio)
            .with_custom_fields([("SYSLOG_FACILITY", (facility >> 3).to_string())]);
        let f = filter_fn(move |m| {
            m.is_event() && shown(*m.level(), debug) && ident_for(m.target()) == ident
        });
        out.push(Box::new(l.with_filter(f)));
    }
    Some(out)
}

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(setup: &LogSetup) {
    let journald = if setup.syslog && setup.journald {
        journald_layers(setup.facility, setup.debug)
    } else {
        None
    };
    let syslog = (setup.syslog && journald.is_none()).then(|| Syslog {
        sock: UnixDatagram::unbound().ok(),
        path: PathBuf::from("/dev/log"),
        facility: setup.facility,
    });
    let layer = KaLayer {
        console: setup.console,
        syslog,
        debug: setup.debug,
    };
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(journald)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_has_keepalived_shape() {
        let s = console_stamp();
        // e.g. "Sun Nov 22 04:16:44 2026"
        let parts: Vec<&str> = s.split(' ').collect();
        assert_eq!(parts.len(), 5, "{s}");
        assert_eq!(parts[3].len(), 8);
        assert_eq!(parts[4].len(), 4);
    }

    #[test]
    fn syslog_lines_are_glibc_s_with_the_facility() {
        let l = syslog_line(libc::LOG_LOCAL3, Level::INFO, "Keepalived_vrrp", "(VI_1) x");
        // <158>Nov 22 07:32:30 Keepalived_vrrp[7245]: (VI_1) x
        assert!(l.starts_with("<158>"), "{l}");
        let rest = &l[5..];
        assert_eq!(&rest[3..4], " ");
        assert_eq!(&rest[6..7], " ");
        assert!(
            rest[16..].starts_with(&format!(
                "Keepalived_vrrp[{}]: (VI_1) x",
                std::process::id()
            )),
            "{l}"
        );
        let d = syslog_line(libc::LOG_DAEMON, Level::WARN, "Keepalived", "y");
        assert!(d.starts_with("<28>"), "{d}");
    }

    #[test]
    fn idents_follow_keepalived_s_processes() {
        assert_eq!(ident_for_thread(Some("vrrp")), "Keepalived_vrrp");
        assert_eq!(
            ident_for_thread(Some("checker")),
            "Keepalived_healthcheckers"
        );
        assert_eq!(ident_for_thread(Some("main")), "Keepalived");
        assert_eq!(ident_for_thread(None), "Keepalived");
    }
}
