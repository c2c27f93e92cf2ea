//! One health checker, with every option resolved (checker, then real server, then virtual
//! server, then keepalived's per-type default), as `check_data.c` resolves them.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::matcher::BodyRegex;
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
    /// `regex` and its options.
    pub regex: Option<UrlRegex>,
}

/// A url's `regex`, `regex_no_match`, `regex_options` and offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlRegex {
    pub re: BodyRegex,
    /// `regex_no_match`: the check fails when the response matches.
    pub no_match: bool,
    /// `regex_min_offset`: the first byte of the response a match may start at.
    pub min_offset: usize,
    /// `regex_max_offset`: the last byte of the response a match may start at.
    pub max_start: Option<usize>,
}

impl UrlRegex {
    /// keepalived's verdict on a response (`req->regex_matched != url->regex_no_match`).
    pub fn passes(&self, response: &[u8]) -> bool {
        self.re.is_match(response, self.min_offset, self.max_start) != self.no_match
    }
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

/// FILE_CHECK: the value of a `track_file`, times `weight` (negated with `reverse`), is added
/// to the real server's weight; a product at or below `i32::MIN` (or, with weight 0, any
/// non-zero value; with weight 0 reverse, zero) puts the checker down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// The `track_file` block's name.
    pub name: String,
    pub path: std::path::PathBuf,
    pub weight: i32,
    pub reverse: bool,
    /// The file's value when the checker starts: keepalived reads every track file once
    /// before it programs IPVS. The driver fills it in ([`crate::notify::track_file::read_value`]);
    /// 0 (what a missing file reads as) until then.
    pub initial: i64,
}

impl FileSpec {
    /// keepalived's `IPVS_WEIGHT_FAULT`.
    pub const FAULT: i64 = i32::MIN as i64;

    /// What `value` contributes (keepalived's per-object status in `update_track_file_status`):
    /// a weight, or [`FileSpec::FAULT`].
    pub fn status(&self, value: i64) -> i64 {
        if self.weight == 0 {
            if (value == 0) == self.reverse {
                Self::FAULT
            } else {
                0
            }
        } else {
            let m = if self.reverse { -1 } else { 1 };
            (value as i128 * self.weight as i128 * m).clamp(i32::MIN as i128, i32::MAX as i128)
                as i64
        }
    }

    /// Is the checker down when the file holds `value` at start-up? (keepalived's
    /// `set_track_file_checkers_down`: with weight 0 any non-zero value counts as a failure,
    /// whatever `reverse` says, and a zero value never does.)
    pub fn down_at_start(&self, value: i64) -> bool {
        if value == 0 {
            false
        } else if self.weight == 0 {
            true
        } else {
            self.status(value) <= Self::FAULT
        }
    }

    /// The weight the checker adds at start-up (keepalived's `set_track_file_weights`).
    pub fn weight_at_start(&self, value: i64) -> i64 {
        if self.weight == 0 || value == 0 || self.down_at_start(value) {
            0
        } else {
            value * self.weight as i64 * if self.reverse { -1 } else { 1 }
        }
    }
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
    /// FILE_CHECK: nothing is probed; the driver feeds the file's value to the core.
    File(FileSpec),
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
    matches!(kind, CheckerKind::Bfd)
}

/// Resolves one checker. `Err` is a warning (the checker is not run); `notes` receives what
/// keepalived logs about a checker it runs (e.g. its regex keywords).
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
    notes: &mut Vec<String>,
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
                    let path = u.path.clone()?;
                    Some(UrlSpec {
                        regex: url_regex(u, &path, rs_label, notes),
                        path,
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
            let Some(script) = ck.misc_path.as_deref().cloned() else {
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
                reply: ck.udp_reply.as_deref().cloned(),
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
        CheckerKind::File => {
            let tf = ck
                .track_file
                .as_ref()
                .and_then(|n| cfg.track_files.iter().find(|t| &t.name == n));
            let Some((tf, path)) = tf.and_then(|t| Some((t, t.file.as_ref()?))) else {
                return Err(format!(
                    "FILE_CHECK of real server {rs_label} of VS {vs_label} has no usable track_file - checker ignored"
                ));
            };
            let (weight, reverse) = ck.file_weight.unwrap_or((tf.weight, tf.reverse));
            Probe::File(FileSpec {
                name: tf.name.clone(),
                path: path.into(),
                weight,
                reverse,
                initial: 0,
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

/// A url's regex as keepalived's `url_check` and `prepare_regex` leave it, with their log
/// lines in `notes`.
fn url_regex(
    u: &model::Url,
    path: &str,
    rs_label: &str,
    notes: &mut Vec<String>,
) -> Option<UrlRegex> {
    notes.extend(u.regex_log.iter().cloned());
    let min = u.regex_min_offset.unwrap_or(0);
    let Some(pattern) = &u.regex else {
        if !u.regex_options.is_empty()
            || u.regex_no_match
            || min != 0
            || u.regex_max_offset.is_some()
            || u.regex_stack.is_some()
        {
            notes.push("regex parameters specified without regex".into());
        }
        return None;
    };
    let (min, max) = match u.regex_max_offset {
        Some(max) if min > max => {
            notes.push(format!(
                "regex min offset {min} > regex_max_offset {max} - ignoring"
            ));
            (0, None)
        }
        m => (min, m),
    };
    match BodyRegex::new(pattern, &u.regex_options) {
        Ok((re, warnings)) => {
            notes.extend(warnings);
            Some(UrlRegex {
                re,
                no_match: u.regex_no_match,
                min_offset: min,
                max_start: max,
            })
        }
        Err(why) => {
            notes.push(format!(
                "Invalid regex: '{pattern}': {why} - keepalived-rs cannot run it; url({path}) of {rs_label} is checked without it"
            ));
            None
        }
    }
}
