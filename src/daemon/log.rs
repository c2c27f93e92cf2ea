//! Logging as keepalived does it: syslog (ident `Keepalived_vrrp`, `LOG_PID`, the `-S`
//! facility) unless `-G`, and with `-l` the console (stderr) as `Sun Nov 22 04:16:44 2026: MSG`.
//! Lines are plain `tracing` events; INFO and above are keepalived's lines, DEBUG is ours
//! (shown on the console with `-D -D`).

use std::ffi::CString;
use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Where lines go.
#[derive(Debug, Clone)]
pub struct LogSetup {
    pub console: bool,
    pub syslog: bool,
    pub facility: libc::c_int,
    pub ident: String,
    /// Also show DEBUG lines (ours, e.g. notifications with no sink).
    pub debug: bool,
}

struct KaLayer {
    console: bool,
    syslog: bool,
    debug: bool,
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

/// keepalived's console time stamp: `%a %b %d %T %Y` in local time.
pub fn console_stamp() -> String {
    let secs = crate::sys::clock::wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r and strftime write into the buffers we pass, sized accordingly.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        let mut buf = [0u8; 64];
        let fmt = b"%a %b %d %T %Y\0";
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr().cast(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

impl<S: Subscriber> Layer<S> for KaLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level == Level::TRACE || (level == Level::DEBUG && !self.debug) {
            return;
        }
        let mut m = Msg(String::new());
        event.record(&mut m);
        if self.console {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "{}: {}", console_stamp(), m.0);
        }
        if self.syslog {
            let prio = match level {
                Level::ERROR => libc::LOG_ERR,
                Level::WARN => libc::LOG_WARNING,
                Level::INFO => libc::LOG_INFO,
                _ => libc::LOG_DEBUG,
            };
            if let Ok(c) = CString::new(m.0.replace('\0', " ")) {
                // SAFETY: "%s" with one NUL-terminated string argument.
                unsafe { libc::syslog(prio, c"%s".as_ptr(), c.as_ptr()) };
            }
        }
    }
}

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(setup: &LogSetup) {
    if setup.syslog {
        // openlog keeps the pointer: the ident must live for the process.
        let ident: &'static std::ffi::CStr = Box::leak(
            CString::new(setup.ident.clone())
                .unwrap_or_else(|_| c"Keepalived_vrrp".to_owned())
                .into_boxed_c_str(),
        );
        // SAFETY: ident is 'static and NUL-terminated.
        unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID, setup.facility) };
    }
    let layer = KaLayer {
        console: setup.console,
        syslog: setup.syslog,
        debug: setup.debug,
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn stamp_has_keepalived_shape() {
        let s = super::console_stamp();
        // e.g. "Sun Nov 22 04:16:44 2026"
        let parts: Vec<&str> = s.split(' ').collect();
        assert_eq!(parts.len(), 5, "{s}");
        assert_eq!(parts[3].len(), 8);
        assert_eq!(parts[4].len(), 4);
    }
}
