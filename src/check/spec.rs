//! One health checker, with every option resolved (checker, then real server, then virtual
//! server, then keepalived's per-type default), as `check_data.c` resolves them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::model::{self, CheckerKind, Config, Parsed, Script};

/// keepalived's defaults (`check_data.c`, `check_api.c`, `check_http.c`, `check_misc.c`).
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRY: u32 = 1;
pub const DEFAULT_MISC_RETRY: u32 = 0;
pub const DEFAULT_DNS_RETRY: u32 = 3;
/// keepalived's `SMTP_DEFAULT_HELO`.
pub const DEFAULT_SMTP_HELO: &str = "smtpchecker.keepalived.org";
pub const DEFAULT_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(1);
pub const DEFAULT_HTTP_DELAY_BEFORE_RETRY: Duration = Duration::from_secs(3);

pub use crate::model::HttpProtocol;

/// One `url { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSpec {
    pub path: String,
    /// Lower-case hex MD5 of the body.
    pub digest: Option<String>,
    /// Accepted status codes (inclusive ranges); keepalived's default is 200-299.
    pub status: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
}

impl UrlSpec {
    pub fn status_ok(&self, code: u16) -> bool {
        if self.status.is_empty() {
            (200..=299).contains(&code)
        } else {
            self.status.iter().any(|(a, b)| (*a..=*b).contains(&code))
        }
    }
}

/// HTTP_GET / SSL_GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSpec {
    pub tls: bool,
    pub urls: Vec<UrlSpec>,
    /// Checker, real server or virtual server `virtualhost` (a url's own wins).
    pub virtualhost: Option<String>,
    pub protocol: HttpProtocol,
    pub enable_sni: bool,
    /// `fast_recovery`: no delay before the next check while the state is not settled.
    pub fast_recovery: bool,
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscSpec {
    pub script: Script,
    pub timeout: Duration,
    pub dynamic: bool,
}

/// UDP_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    /// What is sent (keepalived's default: 32 bytes of "keepalived check - ").
    pub payload: Vec<u8>,
    /// A reply is required (a silent server is a failure).
    pub require_reply: bool,
    /// Expected reply bytes and the mask of bits to ignore.
    pub reply: Option<(Vec<u8>, Vec<u8>)>,
    pub min_reply_len: u16,
    pub max_reply_len: u16,
}

impl UdpSpec {
    /// keepalived's `check_udp_reply`: `true` when `got` is acceptable.
    pub fn reply_ok(&self, got: &[u8]) -> bool {
        let Some((data, mask)) = &self.reply else {
            return true;
        };
        if got.len() < self.min_reply_len as usize || got.len() > self.max_reply_len as usize {
            return false;
        }
        got.iter()
            .zip(data.iter().zip(mask.iter()))
            .all(|(g, (d, m))| (g ^ d) & !m == 0)
    }
}

/// keepalived's filler for UDP and ICMP payloads.
pub fn filler(len: usize) -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// DNS_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSpec {
    pub qtype: u16,
    /// The query name, `""` or `"."` for the root.
    pub name: String,
}

/// What a checker probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Tcp,
    Http(HttpSpec),
    Misc(MiscSpec),
    Udp(UdpSpec),
    Ping,
    Dns(DnsSpec),
    /// SMTP_CHECK with its HELO name.
    Smtp(String),
}

/// A checker with everything resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSpec {
    pub kind: CheckerKind,
    pub probe: Probe,
    /// connect_ip/connect_port, else the real server's address and port.
    pub target: SocketAddr,
    /// bindto/bind_port.
    pub bind: Option<SocketAddr>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    pub connect_timeout: Duration,
    pub retry: u32,
    pub delay_loop: Duration,
    pub delay_before_retry: Duration,
    /// Upper bound of the random delay before the first check.
    pub warmup: Duration,
    pub alpha: bool,
    pub log_all_failures: bool,
}

fn last<'a>(p: &'a Parsed, key: &str) -> Option<&'a [String]> {
    p.get(key).and_then(|v| v.last()).map(|v| v.as_slice())
}

/// A `[BOOL]` keyword kept verbatim: absent = None, bare = true.
pub fn parsed_bool(p: &Parsed, key: &str) -> Option<bool> {
    let a = last(p, key)?;
    match a.first() {
        None => Some(true),
        Some(s) => crate::config::values::true_false(s),
    }
}

fn kind_name(k: CheckerKind) -> &'static str {
    match k {
        CheckerKind::Tcp => "TCP_CHECK",
        CheckerKind::HttpGet => "HTTP_GET",
        CheckerKind::SslGet => "SSL_GET",
        CheckerKind::Misc => "MISC_CHECK",
        CheckerKind::Smtp => "SMTP_CHECK",
        CheckerKind::Dns => "DNS_CHECK",
        CheckerKind::Udp => "UDP_CHECK",
        CheckerKind::Ping => "PING_CHECK",
        CheckerKind::File => "FILE_CHECK",
        CheckerKind::Bfd => "BFD_CHECK",
    }
}

/// The checker kinds keepalived-rs does not run yet.
pub fn unsupported(kind: CheckerKind) -> bool {
    matches!(kind, CheckerKind::File | CheckerKind::Bfd)
}

/// Resolves one checker. `Err` is a warning (the checker is not run).
#[allow(clippy::too_many_arguments)]
pub fn build(
    cfg: &Config,
    vs: &model::VirtualServer,
    rs: &model::RealServer,
    ck: &model::Checker,
    rs_port: u16,
    rs_alpha: bool,
    rs_label: &str,
    vs_label: &str,
) -> Result<CheckSpec, String> {
    let name = kind_name(ck.kind);
    if unsupported(ck.kind) {
        return Err(format!(
            "{name} of real server {rs_label} of VS {vs_label} is not supported by keepalived-rs yet - checker ignored, the real server does not depend on it"
        ));
    }
    let o = &ck.options;

    let delay_loop = o
        .delay_loop
        .or(rs.options.delay_loop)
        .or(vs.options.delay_loop)
        .unwrap_or(DEFAULT_DELAY_LOOP);
    let warmup = o
        .warmup
        .or(rs.options.warmup)
        .or(vs.options.warmup)
        .unwrap_or(delay_loop);
    let default_retry = match ck.kind {
        CheckerKind::Misc => DEFAULT_MISC_RETRY,
        CheckerKind::Dns => DEFAULT_DNS_RETRY,
        _ => DEFAULT_RETRY,
    };
    let retry = o
        .retry
        .or(rs.options.retry)
        .or(vs.options.retry)
        .unwrap_or(default_retry);
    let default_dbr = match ck.kind {
        CheckerKind::HttpGet | CheckerKind::SslGet => DEFAULT_HTTP_DELAY_BEFORE_RETRY,
        // DNS_CHECK: keepalived's default_delay_before_retry 0 means "delay_loop"
        CheckerKind::Dns => delay_loop,
        _ => DEFAULT_DELAY_BEFORE_RETRY,
    };
    let delay_before_retry = o
        .delay_before_retry
        .or(rs.options.delay_before_retry)
        .or(vs.options.delay_before_retry)
        .unwrap_or(default_dbr);
    let connect_timeout = o
        .connect_timeout
        .or(rs.options.connect_timeout)
        .or(vs.options.connect_timeout)
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let alpha = o.alpha.unwrap_or(rs_alpha);
    let log_all_failures = o
        .log_all_failures
        .or_else(|| parsed_bool(&cfg.global.parsed, "global_defs/checker_log_all_failures"))
        .unwrap_or(false);
    let fwmark = ck.fwmark;

    let target = SocketAddr::new(
        ck.connect_ip.unwrap_or(rs.addr),
        ck.connect_port.unwrap_or(rs_port),
    );
    let bind = ck
        .bindto
        .map(|a: IpAddr| SocketAddr::new(a, ck.bind_port.unwrap_or(0)));

    let probe = match ck.kind {
        CheckerKind::Tcp => Probe::Tcp,
        CheckerKind::HttpGet | CheckerKind::SslGet => {
            let urls: Vec<UrlSpec> = ck
                .urls
                .iter()
                .filter_map(|u| {
                    Some(UrlSpec {
                        path: u.path.clone()?,
                        digest: u.digest.clone(),
                        status: u.status_code.clone(),
                        virtualhost: u.virtualhost.clone(),
                    })
                })
                .collect();
            if urls.is_empty() {
                return Err(format!(
                    "{name} of real server {rs_label} of VS {vs_label} has no url with a path - checker ignored"
                ));
            }
            let protocol = ck.http_protocol.unwrap_or_default();
            Probe::Http(HttpSpec {
                tls: ck.kind == CheckerKind::SslGet,
                urls,
                virtualhost: o
                    .virtualhost
                    .clone()
                    .or_else(|| rs.options.virtualhost.clone())
                    .or_else(|| vs.options.virtualhost.clone()),
                protocol,
                enable_sni: ck.enable_sni.unwrap_or(false),
                fast_recovery: ck.fast_recovery.unwrap_or(false),
            })
        }
        CheckerKind::Misc => {
            let Some(script) = ck.misc_path.clone() else {
                return Err(format!(
                    "MISC_CHECK of real server {rs_label} of VS {vs_label} has no misc_path - checker ignored"
                ));
            };
            if !script.runnable() {
                // keepalived never runs a misc script its security checks rejected (the
                // config pass already reported why).
                return Err(format!(
                    "MISC_CHECK of real server {rs_label} of VS {vs_label}: script {} is disabled - checker ignored",
                    script.args.first().map(String::as_str).unwrap_or("")
                ));
            }
            Probe::Misc(MiscSpec {
                script,
                timeout: ck.misc_timeout.unwrap_or(delay_loop),
                dynamic: ck.misc_dynamic,
            })
        }
        CheckerKind::Udp => {
            let max = ck.udp_max_reply_length.unwrap_or(255);
            Probe::Udp(UdpSpec {
                payload: ck.udp_payload.clone().unwrap_or_else(|| filler(32)),
                require_reply: ck.udp_require_reply,
                reply: ck.udp_reply.clone(),
                min_reply_len: ck.udp_min_reply_length.unwrap_or(0),
                max_reply_len: max,
            })
        }
        CheckerKind::Ping => Probe::Ping,
        CheckerKind::Dns => Probe::Dns(DnsSpec {
            qtype: ck.dns_type.unwrap_or(6),
            name: ck.dns_name.clone().unwrap_or_default(),
        }),
        CheckerKind::Smtp => Probe::Smtp(
            ck.helo_name
                .clone()
                .unwrap_or_else(|| DEFAULT_SMTP_HELO.to_string()),
        ),
        _ => {
            return Err(format!(
                "{name} of real server {rs_label} of VS {vs_label} is not supported by keepalived-rs yet - checker ignored"
            ))
        }
    };
    Ok(CheckSpec {
        kind: ck.kind,
        probe,
        target,
        bind,
        bind_if: ck.bind_if.clone(),
        fwmark,
        connect_timeout,
        retry,
        delay_loop,
        delay_before_retry,
        warmup,
        alpha,
        log_all_failures,
    })
}
