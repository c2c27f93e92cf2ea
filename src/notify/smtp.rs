//! SMTP alerts, as keepalived 2.2.7 sends them (inventory §5.3; keepalived/core/smtp.c).
//!
//! What keepalived's users see is kept byte for byte: the subject lines, the bodies, and the
//! message headers (`Date`, `From`, `Subject`, `X-Mailer: Keepalived`, `To`), so mail filters
//! and ticket rules keep matching. The SMTP dialogue itself is lettre's: it greets with `EHLO`
//! where keepalived says `HELO`, and it puts only the address part of a `"Name <addr>"`
//! recipient in `RCPT TO` (keepalived 2.2.7 sends the whole string inside the angle brackets,
//! which strict servers refuse).
//!
//! One connection per alert, several at once, as keepalived does; [`Mailer::send`] never waits
//! for the network, so a slow or dead SMTP server cannot delay VRRP or the checkers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::address::Envelope;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::model::GlobalDefs;

/// keepalived's subject buffer (`MAX_HEADERS_LENGTH`, NUL included).
const MAX_SUBJECT: usize = 256 - 1;
/// keepalived's body buffer (`MAX_BODY_LENGTH`, NUL included).
const MAX_BODY: usize = 512 - 1;

/// Everything needed to send alerts, resolved from `global_defs` with keepalived's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub server_host: String,
    pub server_port: u16,
    /// `smtp_helo_name`, default the host name.
    pub helo_name: String,
    /// `notification_email_from`, default `keepalived@<host name>`.
    pub from: String,
    /// `notification_email`, in config order.
    pub to: Vec<String>,
    /// `smtp_connect_timeout`, default 30 s.
    pub connect_timeout: Duration,
    /// `router_id`, default the host name: the `[...]` prefix of every subject.
    pub router_id: String,
}

impl SmtpSettings {
    /// `None` when keepalived would send nothing: no `smtp_server`, or no
    /// `notification_email` address. `local_name` is the full host name (keepalived's default
    /// for `router_id`, `smtp_helo_name` and the `notification_email_from` domain).
    pub fn from_globals(g: &GlobalDefs, local_name: &str) -> Option<SmtpSettings> {
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        Some(SmtpSettings {
            server_host: server.host.clone(),
            server_port: server.port,
            helo_name: g
                .smtp_helo_name
                .clone()
                .unwrap_or_else(|| local_name.to_string()),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{local_name}")),
            to: g.notification_email.clone(),
            connect_timeout: g.smtp_connect_timeout,
            router_id: g
                .router_id
                .clone()
                .unwrap_or_else(|| local_name.to_string()),
        })
    }

    /// `[host]:port` as keepalived prints the server in its log lines.
    pub fn server_display(&self) -> String {
        format!("[{}]:{}", self.server_host, self.server_port)
    }
}

/// Whether a VRRP instance or sync group sends mail: its own `smtp_alert`, else global
/// `smtp_alert_vrrp`, else global `smtp_alert`, else off.
pub fn vrrp_alerts_enabled(own: Option<bool>, g: &GlobalDefs) -> bool {
    own.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
}

/// Whether a virtual server sends mail: its own `smtp_alert`, else `smtp_alert_checker`, else
/// `smtp_alert`, else off.
pub fn virtual_server_alerts_enabled(own: Option<bool>, g: &GlobalDefs) -> bool {
    own.or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(false)
}

/// Whether a real server sends mail: as a virtual server, except that the final default is
/// *on* (keepalived's check_data.c says so itself: inconsistent, but what users rely on).
pub fn real_server_alerts_enabled(own: Option<bool>, g: &GlobalDefs) -> bool {
    own.or(g.smtp_alert_checker)
        .or(g.smtp_alert)
        .unwrap_or(true)
}

/// A VRRP instance's or group's state, as the alert names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VrrpAlertState {
    Master,
    Backup,
    Fault,
    Stop,
    /// Removed by a reload (`notify_deleted` semantics).
    Deleted,
}

/// One alert; the subject and body come from it, in keepalived's words.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Alert {
    /// `vrrp_instance NAME` changed state.
    Instance { name: String, state: VrrpAlertState },
    /// `vrrp_sync_group NAME` changed state.
    Group { name: String, state: VrrpAlertState },
    /// A real server went up or down (or is being removed / shut down). `rs` and `vs` are
    /// keepalived's `FMT_RS` / `FMT_VS` forms, e.g. `[192.168.200.2]:tcp:1358`; `event` is the
    /// subject's last word(s) (`UP`, `DOWN`); `body` the checker's sentence without the
    /// `=> ... <=` frame, e.g. `TCP CHECK failed on service`.
    RealServer {
        rs: String,
        vs: String,
        event: String,
        body: String,
    },
    /// A virtual server gained or lost quorum. `event` is `UP` or `DOWN`; `body` e.g.
    /// `Gained quorum 7+2=9 <= 9`.
    VirtualServer {
        vs: String,
        event: String,
        body: String,
    },
}

impl Alert {
    /// The subject, `[router_id] ...`, cut at keepalived's 255 bytes.
    pub fn subject(&self, router_id: &str) -> String {
        let s = match self {
            Alert::Instance { name, state } => {
                let what = match state {
                    VrrpAlertState::Master => "Entering MASTER state",
                    VrrpAlertState::Backup => "Entering BACKUP state",
                    VrrpAlertState::Fault => "Entering FAULT state",
                    VrrpAlertState::Stop => "Stopping",
                    VrrpAlertState::Deleted => "Deleted",
                };
                format!("[{router_id}] VRRP Instance {name} - {what}")
            }
            Alert::Group { name, state } => {
                let what = match state {
                    VrrpAlertState::Master => "Entering MASTER state",
                    VrrpAlertState::Backup => "Entering BACKUP state",
                    VrrpAlertState::Fault => "Entering FAULT state",
                    VrrpAlertState::Stop | VrrpAlertState::Deleted => "Stopping",
                };
                format!("[{router_id}] VRRP Group {name} - {what}")
            }
            Alert::RealServer { rs, vs, event, .. } => {
                format!("[{router_id}] Realserver {rs} of virtual server {vs} - {event}")
            }
            Alert::VirtualServer { vs, event, .. } => {
                format!("[{router_id}] Virtualserver {vs} - {event}")
            }
        };
        truncate(s, MAX_SUBJECT)
    }

    /// The one-line body, `=> ... <=`, cut at keepalived's 511 bytes.
    pub fn body(&self) -> String {
        let s = match self {
            Alert::Instance { state, .. } => match state {
                VrrpAlertState::Master => "=> VRRP Instance is now owning VRRP VIPs <=".into(),
                VrrpAlertState::Backup | VrrpAlertState::Fault => {
                    "=> VRRP Instance is no longer owning VRRP VIPs <=".into()
                }
                VrrpAlertState::Stop => "=> VRRP Instance stopping <=".into(),
                VrrpAlertState::Deleted => "=> VRRP Deleted at reload <=".into(),
            },
            Alert::Group { state, .. } => match state {
                VrrpAlertState::Master => {
                    "=> All VRRP group instances are now in MASTER state <=".into()
                }
                VrrpAlertState::Backup => {
                    "=> All VRRP group instances are now in BACKUP state <=".into()
                }
                VrrpAlertState::Fault => {
                    "=> All VRRP group instances are now in FAULT state <=".into()
                }
                VrrpAlertState::Stop | VrrpAlertState::Deleted => {
                    "=> All VRRP group instances are now stopping <=".into()
                }
            },
            Alert::RealServer { body, .. } | Alert::VirtualServer { body, .. } => {
                format!("=> {body} <=")
            }
        };
        truncate(s, MAX_BODY)
    }
}

/// Cuts at `max` bytes on a character boundary (keepalived cuts bytes; we never split UTF-8).
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The message keepalived writes after `DATA`, without the `.` terminator the transport adds:
/// its five headers, an empty line, the body and one more line end.
pub fn message(date: &str, from: &str, to: &[String], subject: &str, body: &str) -> Vec<u8> {
    format!(
        "Date: {date}\r\nFrom: {from}\r\nSubject: {subject}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{body}\r\n",
        to.join(", ")
    )
    .into_bytes()
}

/// `strftime("%a, %d %b %Y %H:%M:%S %z")` in local time, as keepalived stamps its mails.
pub fn rfc822_date(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs(),
        Err(_) => 0,
    };
    let secs = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: `tm` is plain old data, fully written by localtime_r before it is read; the
    // format string is NUL-terminated and `buf` is writable for its whole length.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 80];
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%a, %d %b %Y %H:%M:%S %z".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// The address part of a configured recipient: `ops@example.com` or the `<...>` of
/// `Second Admin <admin2@example.com>`.
pub fn envelope_address(configured: &str) -> Option<Address> {
    let s = configured.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    addr.trim().parse().ok()
}

/// Sends alerts in the background on a tokio runtime.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    settings: SmtpSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    envelope: Option<Envelope>,
    runtime: tokio::runtime::Handle,
    sent: AtomicU64,
    failed: AtomicU64,
}

impl Mailer {
    /// A mailer whose sends run on `runtime`. Recipients whose address cannot be parsed are
    /// logged once here and left out of the envelope (they stay in the `To:` header, as
    /// configured).
    pub fn new(settings: SmtpSettings, runtime: tokio::runtime::Handle) -> Mailer {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.server_host.as_str())
                .port(settings.server_port)
                .timeout(Some(settings.connect_timeout))
                .hello_name(ClientId::Domain(settings.helo_name.clone()))
                .build();
        let from = envelope_address(&settings.from);
        if from.is_none() {
            tracing::warn!(
                "notification_email_from {} is not a valid mail address",
                settings.from
            );
        }
        let mut rcpts = Vec::new();
        for to in &settings.to {
            match envelope_address(to) {
                Some(a) => rcpts.push(a),
                None => tracing::warn!("notification_email {to} is not a valid mail address"),
            }
        }
        let envelope = Envelope::new(from, rcpts).ok();
        Mailer {
            inner: Arc::new(Inner {
                settings,
                transport,
                envelope,
                runtime,
                sent: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }),
        }
    }

    pub fn settings(&self) -> &SmtpSettings {
        &self.inner.settings
    }

    /// Alerts delivered so far.
    pub fn sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Alerts that failed so far (logged each time).
    pub fn failed(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }

    /// Queues one alert and returns at once; the mail goes out on its own connection.
    pub fn send(&self, alert: &Alert) {
        let inner = Arc::clone(&self.inner);
        let date = rfc822_date(crate::sys::clock::wall_now());
        let subject = alert.subject(&inner.settings.router_id);
        let body = alert.body();
        let bytes = message(
            &date,
            &inner.settings.from,
            &inner.settings.to,
            &subject,
            &body,
        );
        self.inner.runtime.spawn(async move {
            let server = inner.settings.server_display();
            let Some(envelope) = inner.envelope.as_ref() else {
                inner.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!("SMTP alert not sent: no valid recipient address");
                return;
            };
            // lettre bounds only the TCP connect; keepalived bounds every step of the
            // dialogue with smtp_connect_timeout. One bound on the whole dialogue keeps a
            // silent server from holding a connection (and a task) forever.
            let limit = inner.settings.connect_timeout;
            let sent = tokio::time::timeout(limit, inner.transport.send_raw(envelope, &bytes));
            match sent.await {
                Err(_elapsed) => {
                    inner.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("Timeout reading data to remote SMTP server {server}.");
                }
                Ok(Ok(_)) => {
                    inner.sent.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(detail = true, "Remote SMTP server {server} connected.");
                    tracing::debug!(detail = true, "SMTP alert successfully sent.");
                }
                Ok(Err(e)) => {
                    inner.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("{}", failure_line(&server, &e));
                }
            }
        });
    }
}

/// keepalived's log line for a failed alert, as close as lettre's error lets us tell.
fn failure_line(server: &str, e: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = e.status() {
        format!(
            "Error processing SMTP cmd on SMTP server {server}. SMTP status code = {}",
            code
        )
    } else if e.is_timeout() {
        format!("Timeout connecting SMTP server {server}.")
    } else {
        format!("SMTP connection ERROR to {server}. ({e})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SmtpServer;

    fn globals() -> GlobalDefs {
        GlobalDefs {
            smtp_server: Some(SmtpServer {
                host: "127.0.0.1".into(),
                port: 2525,
            }),
            notification_email: vec![
                "ops@example.com".into(),
                "Second Admin <admin2@example.com>".into(),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn nothing_without_server_or_recipients() {
        let mut g = globals();
        g.notification_email.clear();
        assert_eq!(SmtpSettings::from_globals(&g, "vm"), None);
        let mut g = globals();
        g.smtp_server = None;
        assert_eq!(SmtpSettings::from_globals(&g, "vm"), None);
    }

    #[test]
    fn defaults_come_from_the_host_name() {
        let s = SmtpSettings::from_globals(&globals(), "nodeB.example.com").unwrap();
        assert_eq!(s.router_id, "nodeB.example.com");
        assert_eq!(s.helo_name, "nodeB.example.com");
        assert_eq!(s.from, "keepalived@nodeB.example.com");
        assert_eq!(s.connect_timeout, Duration::from_secs(30));
        assert_eq!(s.server_display(), "[127.0.0.1]:2525");
    }

    #[test]
    fn alert_defaults_differ_for_real_servers() {
        let mut g = globals();
        assert!(!vrrp_alerts_enabled(None, &g));
        assert!(!virtual_server_alerts_enabled(None, &g));
        assert!(real_server_alerts_enabled(None, &g));
        g.smtp_alert = Some(true);
        assert!(vrrp_alerts_enabled(None, &g));
        g.smtp_alert_vrrp = Some(false);
        assert!(!vrrp_alerts_enabled(None, &g));
        assert!(vrrp_alerts_enabled(Some(true), &g));
        g.smtp_alert_checker = Some(false);
        assert!(!real_server_alerts_enabled(None, &g));
    }

    #[test]
    fn subjects_and_bodies_are_keepalived_s() {
        let i = |state| Alert::Instance {
            name: "VI_1".into(),
            state,
        };
        assert_eq!(
            i(VrrpAlertState::Master).subject("nodeA"),
            "[nodeA] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(
            i(VrrpAlertState::Master).body(),
            "=> VRRP Instance is now owning VRRP VIPs <="
        );
        assert_eq!(
            i(VrrpAlertState::Fault).body(),
            "=> VRRP Instance is no longer owning VRRP VIPs <="
        );
        assert_eq!(
            i(VrrpAlertState::Stop).subject("r"),
            "[r] VRRP Instance VI_1 - Stopping"
        );
        assert_eq!(
            i(VrrpAlertState::Stop).body(),
            "=> VRRP Instance stopping <="
        );
        assert_eq!(
            i(VrrpAlertState::Deleted).body(),
            "=> VRRP Deleted at reload <="
        );
        let g = Alert::Group {
            name: "SG1".into(),
            state: VrrpAlertState::Backup,
        };
        assert_eq!(g.subject("r"), "[r] VRRP Group SG1 - Entering BACKUP state");
        assert_eq!(
            g.body(),
            "=> All VRRP group instances are now in BACKUP state <="
        );
        let rs = Alert::RealServer {
            rs: "[192.168.200.2]:tcp:1358".into(),
            vs: "[10.10.10.2]:tcp:1358".into(),
            event: "DOWN".into(),
            body: "TCP CHECK failed on service".into(),
        };
        assert_eq!(
            rs.subject("r"),
            "[r] Realserver [192.168.200.2]:tcp:1358 of virtual server [10.10.10.2]:tcp:1358 - DOWN"
        );
        assert_eq!(rs.body(), "=> TCP CHECK failed on service <=");
    }

    #[test]
    fn long_subjects_and_bodies_are_cut_like_keepalived() {
        let a = Alert::VirtualServer {
            vs: "x".repeat(400),
            event: "UP".into(),
            body: "é".repeat(400),
        };
        assert_eq!(a.subject("r").len(), 255);
        assert!(a.body().len() <= 511 && a.body().len() >= 510);
    }

    #[test]
    fn message_layout_matches_the_capture() {
        let to = vec![
            "ops@example.com".to_string(),
            "Second Admin <admin2@example.com>".to_string(),
        ];
        let m = message(
            "Sun, 22 Nov 2026 04:16:47 +0000",
            "keepalived@nodeA.example.com",
            &to,
            "[nodeA] VRRP Instance VI_2 - Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        );
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "Date: Sun, 22 Nov 2026 04:16:47 +0000\r\n\
             From: keepalived@nodeA.example.com\r\n\
             Subject: [nodeA] VRRP Instance VI_2 - Entering MASTER state\r\n\
             X-Mailer: Keepalived\r\n\
             To: ops@example.com, Second Admin <admin2@example.com>\r\n\
             \r\n\
             => VRRP Instance is now owning VRRP VIPs <=\r\n"
        );
    }

    #[test]
    fn envelope_takes_the_address_part() {
        assert_eq!(
            envelope_address("Second Admin <admin2@example.com>").unwrap(),
            "admin2@example.com".parse::<Address>().unwrap()
        );
        assert!(envelope_address("ops@example.com").is_some());
        assert!(envelope_address("not an address").is_none());
    }

    #[test]
    fn date_has_keepalived_s_shape() {
        let d = rfc822_date(UNIX_EPOCH + Duration::from_secs(1_795_321_007));
        // e.g. "Sun, 22 Nov 2026 04:16:47 +0000" in UTC; the zone depends on TZ.
        let parts: Vec<&str> = d.split(' ').collect();
        assert_eq!(parts.len(), 6, "{d}");
        assert!(parts[0].ends_with(','));
        assert_eq!(parts[4].len(), 8);
        assert!(parts[5].starts_with('+') || parts[5].starts_with('-'));
    }
}
