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
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscSpec {
    pub script: Script,
    pub timeout: Duration,
    pub dynamic: bool,
}

/// What a checker probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Tcp,
    Http(HttpSpec),
    Misc(MiscSpec),
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
    matches!(
        kind,
        CheckerKind::Smtp
            | CheckerKind::Dns
            | CheckerKind::Udp
            | CheckerKind::Ping
            | CheckerKind::File
            | CheckerKind::Bfd
    )
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
    let default_retry = if ck.kind == CheckerKind::Misc {
        DEFAULT_MISC_RETRY
    } else {
        DEFAULT_RETRY
    };
    let retry = o
        .retry
        .or(rs.options.retry)
        .or(vs.options.retry)
        .unwrap_or(default_retry);
    let default_dbr = match ck.kind {
        CheckerKind::HttpGet | CheckerKind::SslGet => DEFAULT_HTTP_DELAY_BEFORE_RETRY,
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
