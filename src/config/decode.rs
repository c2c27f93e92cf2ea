//! Keyword behaviour: each keyword path's handler turns a line (or a value block) into model
//! fields, with keepalived's checks and messages. Paths without a typed handler are kept
//! verbatim in the `parsed` map of the object they belong to, with a named note.

use super::diag::{Diagnostic, Severity};
use super::engine::{Abort, Args, Ctx, Handlers};
use super::keywords::{Kind, Kw};
use super::lexer::{command_words, Tok};
use super::values::{addr_prefix, read_decimal, read_int, read_timer, read_unsigned, true_false};
use crate::model::*;
use std::net::IpAddr;
use std::time::Duration;

type C<'a, 'h> = Ctx<'a, Builder<'h>>;
type R = Result<(), Abort>;

const TIMER_HZ: u64 = 1_000_000;

/// keepalived's nftables table when none is named.
const DEFAULT_NFT_TABLE: &str = "keepalived";

/// Every keyword path with a typed handler (the rest are kept verbatim). `grammar/keywords.tsv`
/// marks these `implemented`.
pub fn is_typed(path: &str) -> bool {
    TYPED.binary_search(&path).is_ok()
}

/// Sorted list of typed paths.
static TYPED: &[&str] = &[
    "SSL",
    "SSL/ca",
    "SSL/certificate",
    "SSL/key",
    "SSL/password",
    "bfd_instance",
    "bfd_instance/neighbor_ip",
    "bfd_instance/neighbour_ip",
    "bfd_instance/source_ip",
    "garp_group",
    "garp_group/garp_interval",
    "garp_group/gna_interval",
    "garp_group/interface",
    "garp_group/interfaces",
    "global_defs",
    "global_defs/default_interface",
    "global_defs/dynamic_interfaces",
    "global_defs/enable_script_security",
    "global_defs/lvs_flush",
    "global_defs/lvs_notify_fifo",
    "global_defs/lvs_notify_fifo_script",
    "global_defs/lvs_sync_daemon",
    "global_defs/max_auto_priority",
    "global_defs/nftables",
    "global_defs/no_email_faults",
    "global_defs/notification_email",
    "global_defs/notification_email_from",
    "global_defs/notify_fifo",
    "global_defs/notify_fifo_script",
    "global_defs/router_id",
    "global_defs/script_user",
    "global_defs/smtp_alert",
    "global_defs/smtp_alert_checker",
    "global_defs/smtp_alert_vrrp",
    "global_defs/smtp_connect_timeout",
    "global_defs/smtp_helo_name",
    "global_defs/smtp_server",
    "global_defs/vrrp_check_unicast_src",
    "global_defs/vrrp_down_timer_adverts",
    "global_defs/vrrp_garp_interval",
    "global_defs/vrrp_garp_lower_prio_delay",
    "global_defs/vrrp_garp_lower_prio_repeat",
    "global_defs/vrrp_garp_master_delay",
    "global_defs/vrrp_garp_master_refresh",
    "global_defs/vrrp_garp_master_refresh_repeat",
    "global_defs/vrrp_garp_master_repeat",
    "global_defs/vrrp_gna_interval",
    "global_defs/vrrp_higher_prio_send_advert",
    "global_defs/vrrp_iptables",
    "global_defs/vrrp_lower_prio_no_advert",
    "global_defs/vrrp_mcast_group4",
    "global_defs/vrrp_mcast_group6",
    "global_defs/vrrp_notify_fifo",
    "global_defs/vrrp_notify_fifo_script",
    "global_defs/vrrp_skip_check_adv_addr",
    "global_defs/vrrp_strict",
    "global_defs/vrrp_version",
    "linkbeat_interfaces",
    "net_namespace",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_file",
    "track_file/file",
    "track_file/weight",
    "virtual_server",
    "virtual_server/alpha",
    "virtual_server/connect_timeout",
    "virtual_server/delay_before_retry",
    "virtual_server/delay_loop",
    "virtual_server/flag-1",
    "virtual_server/flag-2",
    "virtual_server/flag-3",
    "virtual_server/ha_suspend",
    "virtual_server/hashed",
    "virtual_server/hysteresis",
    "virtual_server/inhibit_on_failure",
    "virtual_server/ip_family",
    "virtual_server/lb_algo",
    "virtual_server/lb_kind",
    "virtual_server/lvs_method",
    "virtual_server/lvs_sched",
    "virtual_server/mh-fallback",
    "virtual_server/mh-port",
    "virtual_server/omega",
    "virtual_server/ops",
    "virtual_server/persistence_engine",
    "virtual_server/persistence_granularity",
    "virtual_server/persistence_timeout",
    "virtual_server/protocol",
    "virtual_server/quorum",
    "virtual_server/quorum_down",
    "virtual_server/quorum_up",
    "virtual_server/real_server",
    "virtual_server/real_server/DNS_CHECK",
    "virtual_server/real_server/DNS_CHECK/alpha",
    "virtual_server/real_server/DNS_CHECK/bind_if",
    "virtual_server/real_server/DNS_CHECK/bind_port",
    "virtual_server/real_server/DNS_CHECK/bindto",
    "virtual_server/real_server/DNS_CHECK/connect_ip",
    "virtual_server/real_server/DNS_CHECK/connect_port",
    "virtual_server/real_server/DNS_CHECK/connect_timeout",
    "virtual_server/real_server/DNS_CHECK/delay_before_retry",
    "virtual_server/real_server/DNS_CHECK/delay_loop",
    "virtual_server/real_server/DNS_CHECK/fwmark",
    "virtual_server/real_server/DNS_CHECK/log_all_failures",
    "virtual_server/real_server/DNS_CHECK/name",
    "virtual_server/real_server/DNS_CHECK/retry",
    "virtual_server/real_server/DNS_CHECK/type",
    "virtual_server/real_server/DNS_CHECK/warmup",
    "virtual_server/real_server/FILE_CHECK",
    "virtual_server/real_server/FILE_CHECK/track_file",
    "virtual_server/real_server/FILE_CHECK/weight",
    "virtual_server/real_server/HTTP_GET",
    "virtual_server/real_server/HTTP_GET/alpha",
    "virtual_server/real_server/HTTP_GET/bind_if",
    "virtual_server/real_server/HTTP_GET/bind_port",
    "virtual_server/real_server/HTTP_GET/bindto",
    "virtual_server/real_server/HTTP_GET/connect_ip",
    "virtual_server/real_server/HTTP_GET/connect_port",
    "virtual_server/real_server/HTTP_GET/connect_timeout",
    "virtual_server/real_server/HTTP_GET/delay_before_retry",
    "virtual_server/real_server/HTTP_GET/delay_loop",
    "virtual_server/real_server/HTTP_GET/enable_sni",
    "virtual_server/real_server/HTTP_GET/fast_recovery",
    "virtual_server/real_server/HTTP_GET/fwmark",
    "virtual_server/real_server/HTTP_GET/http_protocol",
    "virtual_server/real_server/HTTP_GET/log_all_failures",
    "virtual_server/real_server/HTTP_GET/nb_get_retry",
    "virtual_server/real_server/HTTP_GET/retry",
    "virtual_server/real_server/HTTP_GET/url",
    "virtual_server/real_server/HTTP_GET/url/digest",
    "virtual_server/real_server/HTTP_GET/url/path",
    "virtual_server/real_server/HTTP_GET/url/regex",
    "virtual_server/real_server/HTTP_GET/url/regex_max_offset",
    "virtual_server/real_server/HTTP_GET/url/regex_min_offset",
    "virtual_server/real_server/HTTP_GET/url/regex_no_match",
    "virtual_server/real_server/HTTP_GET/url/regex_options",
    "virtual_server/real_server/HTTP_GET/url/regex_stack",
    "virtual_server/real_server/HTTP_GET/url/status_code",
    "virtual_server/real_server/HTTP_GET/url/virtualhost",
    "virtual_server/real_server/HTTP_GET/virtualhost",
    "virtual_server/real_server/HTTP_GET/warmup",
    "virtual_server/real_server/MISC_CHECK",
    "virtual_server/real_server/MISC_CHECK/alpha",
    "virtual_server/real_server/MISC_CHECK/delay_before_retry",
    "virtual_server/real_server/MISC_CHECK/delay_loop",
    "virtual_server/real_server/MISC_CHECK/log_all_failures",
    "virtual_server/real_server/MISC_CHECK/misc_dynamic",
    "virtual_server/real_server/MISC_CHECK/misc_path",
    "virtual_server/real_server/MISC_CHECK/misc_timeout",
    "virtual_server/real_server/MISC_CHECK/retry",
    "virtual_server/real_server/MISC_CHECK/user",
    "virtual_server/real_server/MISC_CHECK/warmup",
    "virtual_server/real_server/PING_CHECK",
    "virtual_server/real_server/PING_CHECK/alpha",
    "virtual_server/real_server/PING_CHECK/bind_if",
    "virtual_server/real_server/PING_CHECK/bind_port",
    "virtual_server/real_server/PING_CHECK/bindto",
    "virtual_server/real_server/PING_CHECK/connect_ip",
    "virtual_server/real_server/PING_CHECK/connect_port",
    "virtual_server/real_server/PING_CHECK/connect_timeout",
    "virtual_server/real_server/PING_CHECK/delay_before_retry",
    "virtual_server/real_server/PING_CHECK/delay_loop",
    "virtual_server/real_server/PING_CHECK/fwmark",
    "virtual_server/real_server/PING_CHECK/log_all_failures",
    "virtual_server/real_server/PING_CHECK/retry",
    "virtual_server/real_server/PING_CHECK/warmup",
    "virtual_server/real_server/SMTP_CHECK",
    "virtual_server/real_server/SMTP_CHECK/alpha",
    "virtual_server/real_server/SMTP_CHECK/bind_if",
    "virtual_server/real_server/SMTP_CHECK/bind_port",
    "virtual_server/real_server/SMTP_CHECK/bindto",
    "virtual_server/real_server/SMTP_CHECK/connect_ip",
    "virtual_server/real_server/SMTP_CHECK/connect_port",
    "virtual_server/real_server/SMTP_CHECK/connect_timeout",
    "virtual_server/real_server/SMTP_CHECK/delay_before_retry",
    "virtual_server/real_server/SMTP_CHECK/delay_loop",
    "virtual_server/real_server/SMTP_CHECK/fwmark",
    "virtual_server/real_server/SMTP_CHECK/helo_name",
    "virtual_server/real_server/SMTP_CHECK/log_all_failures",
    "virtual_server/real_server/SMTP_CHECK/retry",
    "virtual_server/real_server/SMTP_CHECK/warmup",
    "virtual_server/real_server/SSL_GET",
    "virtual_server/real_server/SSL_GET/alpha",
    "virtual_server/real_server/SSL_GET/bind_if",
    "virtual_server/real_server/SSL_GET/bind_port",
    "virtual_server/real_server/SSL_GET/bindto",
    "virtual_server/real_server/SSL_GET/connect_ip",
    "virtual_server/real_server/SSL_GET/connect_port",
    "virtual_server/real_server/SSL_GET/connect_timeout",
    "virtual_server/real_server/SSL_GET/delay_before_retry",
    "virtual_server/real_server/SSL_GET/delay_loop",
    "virtual_server/real_server/SSL_GET/enable_sni",
    "virtual_server/real_server/SSL_GET/fast_recovery",
    "virtual_server/real_server/SSL_GET/fwmark",
    "virtual_server/real_server/SSL_GET/http_protocol",
    "virtual_server/real_server/SSL_GET/log_all_failures",
    "virtual_server/real_server/SSL_GET/nb_get_retry",
    "virtual_server/real_server/SSL_GET/retry",
    "virtual_server/real_server/SSL_GET/url",
    "virtual_server/real_server/SSL_GET/url/digest",
    "virtual_server/real_server/SSL_GET/url/path",
    "virtual_server/real_server/SSL_GET/url/regex",
    "virtual_server/real_server/SSL_GET/url/regex_max_offset",
    "virtual_server/real_server/SSL_GET/url/regex_min_offset",
    "virtual_server/real_server/SSL_GET/url/regex_no_match",
    "virtual_server/real_server/SSL_GET/url/regex_options",
    "virtual_server/real_server/SSL_GET/url/regex_stack",
    "virtual_server/real_server/SSL_GET/url/status_code",
    "virtual_server/real_server/SSL_GET/url/virtualhost",
    "virtual_server/real_server/SSL_GET/virtualhost",
    "virtual_server/real_server/SSL_GET/warmup",
    "virtual_server/real_server/TCP_CHECK",
    "virtual_server/real_server/TCP_CHECK/alpha",
    "virtual_server/real_server/TCP_CHECK/bind_if",
    "virtual_server/real_server/TCP_CHECK/bind_port",
    "virtual_server/real_server/TCP_CHECK/bindto",
    "virtual_server/real_server/TCP_CHECK/connect_ip",
    "virtual_server/real_server/TCP_CHECK/connect_port",
    "virtual_server/real_server/TCP_CHECK/connect_timeout",
    "virtual_server/real_server/TCP_CHECK/delay_before_retry",
    "virtual_server/real_server/TCP_CHECK/delay_loop",
    "virtual_server/real_server/TCP_CHECK/fwmark",
    "virtual_server/real_server/TCP_CHECK/log_all_failures",
    "virtual_server/real_server/TCP_CHECK/retry",
    "virtual_server/real_server/TCP_CHECK/warmup",
    "virtual_server/real_server/UDP_CHECK",
    "virtual_server/real_server/UDP_CHECK/alpha",
    "virtual_server/real_server/UDP_CHECK/bind_if",
    "virtual_server/real_server/UDP_CHECK/bind_port",
    "virtual_server/real_server/UDP_CHECK/bindto",
    "virtual_server/real_server/UDP_CHECK/connect_ip",
    "virtual_server/real_server/UDP_CHECK/connect_port",
    "virtual_server/real_server/UDP_CHECK/connect_timeout",
    "virtual_server/real_server/UDP_CHECK/delay_before_retry",
    "virtual_server/real_server/UDP_CHECK/delay_loop",
    "virtual_server/real_server/UDP_CHECK/fwmark",
    "virtual_server/real_server/UDP_CHECK/log_all_failures",
    "virtual_server/real_server/UDP_CHECK/max_reply_length",
    "virtual_server/real_server/UDP_CHECK/min_reply_length",
    "virtual_server/real_server/UDP_CHECK/payload",
    "virtual_server/real_server/UDP_CHECK/require_reply",
    "virtual_server/real_server/UDP_CHECK/retry",
    "virtual_server/real_server/UDP_CHECK/warmup",
    "virtual_server/real_server/alpha",
    "virtual_server/real_server/connect_timeout",
    "virtual_server/real_server/delay_before_retry",
    "virtual_server/real_server/delay_loop",
    "virtual_server/real_server/inhibit_on_failure",
    "virtual_server/real_server/lthreshold",
    "virtual_server/real_server/lvs_method",
    "virtual_server/real_server/notify_down",
    "virtual_server/real_server/notify_up",
    "virtual_server/real_server/retry",
    "virtual_server/real_server/smtp_alert",
    "virtual_server/real_server/snmp_name",
    "virtual_server/real_server/uthreshold",
    "virtual_server/real_server/virtualhost",
    "virtual_server/real_server/warmup",
    "virtual_server/real_server/weight",
    "virtual_server/retry",
    "virtual_server/sh-fallback",
    "virtual_server/sh-port",
    "virtual_server/smtp_alert",
    "virtual_server/snmp_name",
    "virtual_server/sorry_server",
    "virtual_server/sorry_server_inhibit",
    "virtual_server/sorry_server_lvs_method",
    "virtual_server/virtualhost",
    "virtual_server/warmup",
    "virtual_server/weight",
    "virtual_server_group",
    "vrrp_instance",
    "vrrp_instance/accept",
    "vrrp_instance/advert_int",
    "vrrp_instance/authentication",
    "vrrp_instance/authentication/auth_pass",
    "vrrp_instance/authentication/auth_type",
    "vrrp_instance/dont_track_primary",
    "vrrp_instance/down_timer_adverts",
    "vrrp_instance/garp_master_delay",
    "vrrp_instance/garp_master_refresh",
    "vrrp_instance/garp_master_refresh_repeat",
    "vrrp_instance/garp_master_repeat",
    "vrrp_instance/higher_prio_send_advert",
    "vrrp_instance/interface",
    "vrrp_instance/lower_prio_no_advert",
    "vrrp_instance/lvs_sync_daemon_interface",
    "vrrp_instance/mcast_src_ip",
    "vrrp_instance/no_accept",
    "vrrp_instance/nopreempt",
    "vrrp_instance/notify",
    "vrrp_instance/notify_backup",
    "vrrp_instance/notify_fault",
    "vrrp_instance/notify_master",
    "vrrp_instance/notify_stop",
    "vrrp_instance/preempt",
    "vrrp_instance/preempt_delay",
    "vrrp_instance/priority",
    "vrrp_instance/skip_check_adv_addr",
    "vrrp_instance/smtp_alert",
    "vrrp_instance/state",
    "vrrp_instance/strict_mode",
    "vrrp_instance/track_file",
    "vrrp_instance/track_interface",
    "vrrp_instance/track_process",
    "vrrp_instance/track_script",
    "vrrp_instance/unicast_peer",
    "vrrp_instance/unicast_src_ip",
    "vrrp_instance/unicast_ttl",
    "vrrp_instance/use_vmac",
    "vrrp_instance/version",
    "vrrp_instance/virtual_ipaddress",
    "vrrp_instance/virtual_ipaddress_excluded",
    "vrrp_instance/virtual_router_id",
    "vrrp_instance/virtual_routes",
    "vrrp_instance/virtual_rules",
    "vrrp_instance/vmac_xmit_base",
    "vrrp_script",
    "vrrp_script/fall",
    "vrrp_script/init_fail",
    "vrrp_script/interval",
    "vrrp_script/rise",
    "vrrp_script/script",
    "vrrp_script/timeout",
    "vrrp_script/user",
    "vrrp_script/weight",
    "vrrp_sync_group",
    "vrrp_sync_group/global_tracking",
    "vrrp_sync_group/group",
    "vrrp_sync_group/notify",
    "vrrp_sync_group/notify_backup",
    "vrrp_sync_group/notify_fault",
    "vrrp_sync_group/notify_master",
    "vrrp_sync_group/notify_stop",
    "vrrp_sync_group/smtp_alert",
    "vrrp_sync_group/sync_group_tracking_weight",
    "vrrp_sync_group/track_file",
    "vrrp_sync_group/track_interface",
    "vrrp_sync_group/track_script",
    "vrrp_track_file",
    "vrrp_track_file/file",
    "vrrp_track_file/weight",
];

fn err(ctx: &mut C<'_, '_>, msg: impl Into<String>) {
    ctx.report(Severity::Error, "invalid-value", msg);
}

fn last<T>(v: &mut [T]) -> Option<&mut T> {
    v.last_mut()
}

/// keepalived's `alloc_strvec_quoted_escaped`, reporting a broken quote or escape.
fn quoted_words(ctx: &mut C<'_, '_>, text: &str) -> Option<Vec<String>> {
    match command_words(text) {
        Ok(w) => Some(w),
        Err(e) => {
            let msg = match e {
                super::lexer::CommandError::MissingQuote(q) => {
                    format!("String '{text}': missing terminating {q}")
                }
                super::lexer::CommandError::TrailingEscape => {
                    format!("Missing escape char at end: '{text}'")
                }
            };
            ctx.report(Severity::Error, "unmatched-quote", msg);
            None
        }
    }
}

/// A script command (`script`, `notify*`, ...). Like keepalived, the whole keyword line is
/// split shell-like first (so `'...'` groups words there too), then its second word, the
/// command, is split again into the program and its arguments; words 3 and 4 are USER
/// [GROUP]. `default_user`: without USER the script runs as keepalived's default script user
/// (and is dropped when that user cannot be set, as `notify_script_init` does).
fn script_with(
    ctx: &mut C<'_, '_>,
    args: &Args,
    default_user: bool,
) -> Result<Option<Script>, Abort> {
    ctx.arg(args, 1)?;
    let line = args.rest_text(0).unwrap_or("");
    let Some(words) = quoted_words(ctx, line) else {
        return Ok(None);
    };
    let Some(cmd) = words.get(1) else {
        return Ok(None);
    };
    let Some(argv) = quoted_words(ctx, cmd) else {
        return Ok(None);
    };
    if argv.is_empty() {
        return Ok(None);
    }
    let user = words.get(2).cloned();
    let group = words.get(3).cloned();
    // keepalived only logs "Invalid user/group for ... script" (or the default user's
    // failure) and drops the script.
    let ids = match &user {
        Some(u) => script_ids(ctx.b.host, u, group.as_deref()),
        None if default_user => default_script_user(ctx),
        None => Some((0, 0)),
    };
    if ids.is_none() {
        return Ok(None);
    }
    Ok(Some(Script {
        args: argv,
        user,
        group,
        security: ScriptSecurity::Runnable,
    }))
}

/// vrrp_script's `script` (keepalived's `set_script_params_array`): only the second word of
/// the shell-split line is the command (split again into program and arguments); further
/// words are ignored, not a user (the user comes from the block's `user` keyword, or the
/// default script user when the block closes).
fn script_command(ctx: &mut C<'_, '_>, args: &Args) -> Result<Option<Script>, Abort> {
    ctx.arg(args, 1)?;
    let line = args.rest_text(0).unwrap_or("");
    let Some(words) = quoted_words(ctx, line) else {
        return Ok(None);
    };
    let Some(cmd) = words.get(1) else {
        return Ok(None);
    };
    let Some(argv) = quoted_words(ctx, cmd) else {
        return Ok(None);
    };
    if argv.is_empty() {
        return Ok(None);
    }
    Ok(Some(Script {
        args: argv,
        user: None,
        group: None,
        security: ScriptSecurity::Runnable,
    }))
}

fn script(ctx: &mut C<'_, '_>, args: &Args) -> Result<Option<Script>, Abort> {
    script_with(ctx, args, true)
}

/// (uid, gid) of USER [GROUP], as keepalived's `set_uid_gid` resolves them.
pub(crate) fn script_ids(
    host: &dyn super::host::Host,
    user: &str,
    group: Option<&str>,
) -> Option<(u32, u32)> {
    let (uid, gid) = host.user(user)?;
    match group {
        Some(g) => Some((uid, host.group(g)?)),
        None => Some((uid, gid)),
    }
}

/// keepalived's `get_default_script_user`: the global `script_user`, else `keepalived_script`
/// when that user exists, else keepalived's own ids. With `enable_script_security` a missing
/// `keepalived_script` user is an error, reported once; `None` = the default user failed.
fn default_script_user(ctx: &mut C<'_, '_>) -> Option<(u32, u32)> {
    if let Some(r) = ctx.b.default_user {
        return r;
    }
    let r = match ctx.b.host.user("keepalived_script") {
        Some(ids) => Some(ids),
        None if ctx.b.cfg.global.enable_script_security => {
            err(
                ctx,
                "Unable to set default user keepalived_script for script",
            );
            None
        }
        None => Some(ctx.b.host.euid()),
    };
    ctx.b.default_user = Some(r);
    r
}

/// keepalived's `cmd_str`: each word in single quotes, separated by spaces (a leading `<`/`>`
/// redirection is left unquoted).
pub(crate) fn cmd_str(args: &[String]) -> String {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
                a.clone()
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[BOOL]` argument: none = true.
fn opt_bool(ctx: &mut C<'_, '_>, args: &Args) -> Option<bool> {
    match args.opt(1) {
        None => Some(true),
        Some(s) => match true_false(s) {
            Some(b) => Some(b),
            None => {
                let k = args.opt(0).unwrap_or("");
                err(ctx, format!("Invalid {k} parameter {s}"));
                None
            }
        },
    }
}

fn timer(
    ctx: &mut C<'_, '_>,
    args: &Args,
    min_us: u64,
    max_us: u64,
) -> Result<Option<Duration>, Abort> {
    let s = ctx.arg(args, 1)?;
    let (v, e) = read_timer(s, min_us, max_us);
    if let Some(e) = e {
        ctx.report(Severity::Error, "invalid-number", e);
    }
    Ok(v)
}

fn unsigned(
    ctx: &mut C<'_, '_>,
    args: &Args,
    i: usize,
    min: u64,
    max: u64,
) -> Result<Option<u64>, Abort> {
    let s = ctx.arg(args, i)?;
    match read_unsigned(s, min, max) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            ctx.report(Severity::Error, "invalid-number", e);
            Ok(None)
        }
    }
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// keepalived's `inet_stosockaddr`: a `-range` or `/prefix` suffix is ignored.
fn sock_ip(s: &str) -> Option<IpAddr> {
    let end = s.find('-').or_else(|| s.find('/')).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// One `virtual_ipaddress`-style line.
fn addr_entry(ctx: &mut C<'_, '_>, toks: &[Tok]) -> Option<AddrEntry> {
    let first = toks[0].text;
    let Some((addr, prefix)) = addr_prefix(first) else {
        err(
            ctx,
            format!("VRRP parsed invalid IP {first}. skipping IP..."),
        );
        return None;
    };
    let mut e = AddrEntry {
        addr,
        prefix: prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 }),
        dev: None,
        brd: None,
        scope: None,
        label: None,
        peer: None,
        options: Vec::new(),
    };
    let mut i = 1;
    let word = |i: usize| toks.get(i).map(|t| t.text.to_string());
    while i < toks.len() {
        let w = toks[i].text;
        match w {
            "dev" | "brd" | "broadcast" | "scope" | "label" | "peer" | "preferred_lft"
            | "track_group" => {
                let Some(v) = word(i + 1) else {
                    i += 1;
                    continue;
                };
                match w {
                    "dev" => {
                        if !ctx.b.host.interface_exists(&v) && !ctx.b.cfg.global.dynamic_interfaces
                        {
                            ctx.b.missing_interface = true;
                            err(
                                ctx,
                                format!(
                                    "WARNING - interface {v} for ip address {first} doesn't exist"
                                ),
                            );
                        }
                        e.dev = Some(v)
                    }
                    "brd" | "broadcast" => e.brd = Some(v),
                    "scope" => e.scope = Some(v),
                    "label" => e.label = Some(v),
                    "peer" => e.peer = Some(v),
                    _ => e.options.extend([w.to_string(), v]),
                }
                i += 2;
            }
            "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin"
            | "no_track" | "use_vmac" => {
                e.options.push(w.to_string());
                i += 1;
            }
            _ => {
                err(
                    ctx,
                    format!("Unknown configuration entry '{w}' for ip address - ignoring"),
                );
                i += 1;
            }
        }
    }
    Some(e)
}

/// `NAME [weight W [reverse|noreverse]]`.
fn track_ref(ctx: &mut C<'_, '_>, toks: &[Tok], min: i64, max: i64) -> TrackRef {
    let mut r = TrackRef {
        name: toks[0].text.to_string(),
        weight: None,
        reverse: false,
    };
    if toks.get(1).is_some_and(|t| t.text == "weight") {
        match toks.get(2) {
            Some(w) => match read_int(w.text, min, max) {
                Ok(v) => r.weight = Some(v as i32),
                Err(e) => {
                    ctx.report(Severity::Error, "invalid-number", e);
                }
            },
            None => err(ctx, format!("Missing weight for {}", r.name)),
        }
        if toks.get(3).is_some_and(|t| t.text == "reverse") {
            r.reverse = true;
        }
    } else if toks.get(1).is_some_and(|t| t.text == "reverse") {
        r.reverse = true;
    }
    r
}

/// keepalived looks a tracked interface up while parsing: a missing one is reported at its
/// line (and, without `dynamic_interfaces`, stops the VRRP process before its checks).
fn tracked_interface_exists(ctx: &mut C<'_, '_>, owner: &str, ifname: &str) -> bool {
    if ctx.b.host.interface_exists(ifname) {
        return true;
    }
    if ctx.b.cfg.global.dynamic_interfaces {
        return true;
    }
    ctx.b.missing_interface = true;
    err(
        ctx,
        format!("({owner}) tracked interface {ifname} doesn't exist"),
    );
    false
}

/// keepalived resolves `track_script` entries while parsing (`alloc_track_script`): the
/// vrrp_script must be defined (and not removed) above the reference, and listed once.
fn tracked_script_usable(
    ctx: &mut C<'_, '_>,
    owner: &str,
    script: &str,
    so_far: &[TrackRef],
) -> bool {
    if !ctx.b.cfg.vrrp_scripts.iter().any(|s| s.name == script) {
        err(
            ctx,
            format!("({owner}) track script {script} not found, ignoring..."),
        );
        return false;
    }
    if so_far.iter().any(|t| t.name == script) {
        err(
            ctx,
            format!("({owner}) duplicate track_script {script} - ignoring"),
        );
        return false;
    }
    true
}

/// The MISC_CHECK being read (the last checker of the last real server), if it is one.
fn last_misc(cfg: &mut Config) -> Option<&mut Checker> {
    cfg.virtual_servers
        .last_mut()?
        .real_servers
        .last_mut()?
        .checkers
        .last_mut()
        .filter(|c| c.kind == CheckerKind::Misc)
}

fn pop_last_checker(cfg: &mut Config) {
    if let Some(rs) = cfg
        .virtual_servers
        .last_mut()
        .and_then(|vs| vs.real_servers.last_mut())
    {
        rs.checkers.pop();
    }
}

/// MISC_CHECK's `user USER [GROUP]` (keepalived's `misc_user_handler`): a user that cannot be
/// set removes the checker.
fn misc_user(ctx: &mut C<'_, '_>, args: &Args) -> R {
    let Some(ck) = last_misc(&mut ctx.b.cfg) else {
        return Ok(());
    };
    let cmd = ck
        .misc_path
        .as_ref()
        .map(|s| cmd_str(&s.args))
        .unwrap_or_default();
    let Some(user) = args.opt(1).map(str::to_string) else {
        err(
            ctx,
            format!("No user specified for misc checker script {cmd}"),
        );
        return Ok(());
    };
    let group = args.opt(2).map(str::to_string);
    if script_ids(ctx.b.host, &user, group.as_deref()).is_none() {
        err(
            ctx,
            format!("Failed to set uid/gid for misc checker script {cmd} - removing"),
        );
        pop_last_checker(&mut ctx.b.cfg);
        return Ok(());
    }
    if let Some(ck) = last_misc(&mut ctx.b.cfg) {
        // Kept on the checker too: `user` may come before `misc_path`; the block's close
        // applies it to the script either way.
        ck.misc_user = Some(Box::new((user.clone(), group.clone())));
        if let Some(sc) = ck.misc_path.as_mut() {
            sc.user = Some(user);
            sc.group = group;
        }
    }
    Ok(())
}

/// keepalived's `misc_end_handler`: a MISC_CHECK without `misc_path` is dropped, reported at
/// the block's closing line; without `user` the default script user must be usable.
fn misc_check_close(ctx: &mut C<'_, '_>) {
    let no_user = last_misc(&mut ctx.b.cfg)
        .and_then(|c| c.misc_path.as_ref())
        .filter(|s| s.user.is_none())
        .map(|s| cmd_str(&s.args));
    if let Some(cmd) = no_user {
        if default_script_user(ctx).is_none() {
            err(
                ctx,
                format!("Unable to set default user for misc script {cmd} - removing"),
            );
            pop_last_checker(&mut ctx.b.cfg);
        }
        return;
    }
    let rs = ctx
        .b
        .cfg
        .virtual_servers
        .last_mut()
        .and_then(|vs| vs.real_servers.last_mut());
    let Some(rs) = rs else {
        return;
    };
    if rs
        .checkers
        .last()
        .is_some_and(|c| c.kind == CheckerKind::Misc && c.misc_path.is_none())
    {
        rs.checkers.pop();
        err(
            ctx,
            "No script path has been specified for MISC_CHECKER - skipping",
        );
    }
}

/// keepalived's `vrrp_alloc_track_file`: the file must be a known track_file, once per owner.
fn tracked_file_usable(ctx: &mut C<'_, '_>, owner: &str, file: &str, so_far: &[TrackRef]) -> bool {
    if !ctx.b.cfg.track_files.iter().any(|s| s.name == file) {
        err(
            ctx,
            format!("({owner}) track file {file} not found, ignoring..."),
        );
        return false;
    }
    if so_far.iter().any(|t| t.name == file) {
        err(
            ctx,
            format!("({owner}) duplicate track_file {file} - ignoring"),
        );
        return false;
    }
    true
}

fn words_of(toks: &[Tok]) -> Vec<String> {
    toks.iter().map(|t| t.text.to_string()).collect()
}

/// The `parsed` map of the innermost object a keyword path belongs to.
fn parsed_for<'m>(cfg: &'m mut Config, path: &str) -> &'m mut Parsed {
    let root = path.split('/').next().unwrap_or("");
    let depth = path.matches('/').count();
    macro_rules! or_root {
        ($e:expr) => {
            match $e {
                Some(x) => x,
                None => &mut cfg.parsed,
            }
        };
    }
    match root {
        "global_defs" => &mut cfg.global.parsed,
        "vrrp_instance" => or_root!(cfg.vrrp_instances.last_mut().map(|i| &mut i.parsed)),
        "vrrp_script" => or_root!(cfg.vrrp_scripts.last_mut().map(|i| &mut i.parsed)),
        "vrrp_sync_group" => or_root!(cfg.vrrp_sync_groups.last_mut().map(|i| &mut i.parsed)),
        "track_file" | "vrrp_track_file" => {
            or_root!(cfg.track_files.last_mut().map(|i| &mut i.parsed))
        }
        "vrrp_track_process" => or_root!(cfg.track_processes.last_mut().map(|i| &mut i.parsed)),
        "bfd_instance" => or_root!(cfg.bfd_instances.last_mut().map(|i| &mut i.parsed)),
        "virtual_server" => {
            let has_vs = !cfg.virtual_servers.is_empty();
            if !has_vs {
                return &mut cfg.parsed;
            }
            let vs = cfg.virtual_servers.last_mut().expect("checked non-empty");
            if depth >= 2 && path.contains("/real_server/") && !vs.real_servers.is_empty() {
                let rs = vs.real_servers.last_mut().expect("checked non-empty");
                if depth >= 3 && !rs.checkers.is_empty() {
                    let ck = rs.checkers.last_mut().expect("checked non-empty");
                    if depth >= 4 && path.contains("/url/") && !ck.urls.is_empty() {
                        return &mut ck.urls.last_mut().expect("checked non-empty").parsed;
                    }
                    return &mut ck.parsed;
                }
                return &mut rs.parsed;
            }
            &mut vs.parsed
        }
        _ => &mut cfg.parsed,
    }
}

/// Keeps a keyword without a typed handler, and says so by name.
fn keep_verbatim(ctx: &mut C<'_, '_>, kw: &'static Kw, args: &Args) -> R {
    let mut occurrences = vec![args.from(1)];
    if kw.kind == Kind::ValueBlock {
        ctx.value_block(args, |_, toks, _| {
            occurrences.push(words_of(toks));
            Ok(())
        })?;
    }
    let span = args.span_of(0);
    ctx.push(
        Diagnostic::new(
            Severity::Note,
            "not-implemented",
            format!(
                "keyword '{}' is parsed but not implemented yet - it has no effect",
                kw.path
            ),
        )
        .at(span),
    );
    let map = parsed_for(&mut ctx.b.cfg, kw.path);
    map.entry(kw.path.to_string())
        .or_default()
        .extend(occurrences);
    Ok(())
}

/// What the handlers build, plus what they may ask the machine.
pub struct Builder<'h> {
    pub cfg: Config,
    pub host: &'h dyn super::host::Host,
    /// keepalived's process-wide default script user: `None` = not resolved yet,
    /// `Some(None)` = setting it failed. Under `-t` keepalived parses every section in one
    /// process, so this carries over from one pass to the next.
    pub default_user: Option<Option<(u32, u32)>>,
    /// An interface the VRRP configuration names does not exist (keepalived's
    /// `non_existent_interface_specified`: the VRRP process then stops before its post-parse
    /// checks).
    pub missing_interface: bool,
    /// State of the vrrp_script being read (keepalived's `remove_script`/`script_user_set`).
    pub vscript: VscriptState,
    /// Next automatic rule preference (IPv4, IPv6), counting down from 16384 as keepalived does.
    pub next_rule_priority: (u32, u32),
    /// The bfd_instance being read was rejected; its remaining lines are ignored.
    pub bfd_dropped: bool,
}

impl<'h> Builder<'h> {
    pub fn new(cfg: Config, host: &'h dyn super::host::Host) -> Self {
        Builder {
            cfg,
            host,
            default_user: None,
            missing_interface: false,
            vscript: VscriptState::default(),
            next_rule_priority: (16384, 16384),
            bfd_dropped: false,
        }
    }
}

/// Per-vrrp_script parse state.
#[derive(Debug, Clone, Default)]
pub struct VscriptState {
    remove: bool,
    user_set: bool,
    user: Option<(String, Option<String>)>,
}

impl<'h> Handlers for Builder<'h> {
    fn keyword(ctx: &mut Ctx<'_, Self>, kw: &'static Kw, args: &Args) -> R {
        if ctx.b.bfd_dropped && kw.path.starts_with("bfd_instance/") {
            return Ok(());
        }
        if matches!(
            kw.path,
            "vrrp_instance/unicast_peer"
                | "vrrp_instance/unicast_src_ip"
                | "vrrp_instance/unicast_fault_no_peer"
                | "vrrp_instance/check_unicast_src"
                | "vrrp_instance/old_unicast_checksum"
        ) {
            if let Some(i) = ctx.b.cfg.vrrp_instances.last_mut() {
                i.unicast_configured = true;
            }
        }
        if !is_typed(kw.path) {
            return keep_verbatim(ctx, kw, args);
        }
        let p = kw.path;
        if let Some(rest) = p.strip_prefix("global_defs") {
            return global(ctx, rest.trim_start_matches('/'), args);
        }
        if p.starts_with("vrrp_instance") {
            return instance(ctx, p, args);
        }
        if p.starts_with("vrrp_script") {
            return vrrp_script(ctx, p, args);
        }
        if p.starts_with("vrrp_sync_group") {
            return sync_group(ctx, p, args);
        }
        if p == "virtual_server/real_server/MISC_CHECK/user" {
            return misc_user(ctx, args);
        }
        if p.starts_with("virtual_server_group") {
            return vsg(ctx, args);
        }
        if p.starts_with("virtual_server") {
            return virtual_server(ctx, p, args);
        }
        if p.starts_with("track_file") || p.starts_with("vrrp_track_file") {
            return track_file(ctx, p, args);
        }
        if p.starts_with("bfd_instance") {
            return bfd(ctx, p, args);
        }
        if p.starts_with("garp_group") {
            return garp_group(ctx, p, args);
        }
        match p {
            "SSL" => ctx.b.cfg.ssl = Some(Ssl::default()),
            "SSL/password" | "SSL/ca" | "SSL/certificate" | "SSL/key" => {
                let v = ctx.arg(args, 1)?.to_string();
                let ssl = ctx.b.cfg.ssl.get_or_insert_with(Ssl::default);
                match p {
                    "SSL/password" => ssl.password = Some(v),
                    "SSL/ca" => ssl.ca = Some(v),
                    "SSL/certificate" => ssl.certificate = Some(v),
                    _ => ssl.key = Some(v),
                }
            }
            "net_namespace" => match args.opt(1) {
                None => err(ctx, "net_namespace name missing - ignoring"),
                Some(n) if ctx.b.cfg.global.net_namespace.is_some() => err(
                    ctx,
                    format!("Duplicate net_namespace definition {n} - ignoring"),
                ),
                Some(n) => ctx.b.cfg.global.net_namespace = Some(n.to_string()),
            },
            "linkbeat_interfaces" => {
                let mut out = Vec::new();
                let dynamic = ctx.b.cfg.global.dynamic_interfaces;
                ctx.value_block(args, |c, toks, _| {
                    let name = toks[0].text.to_string();
                    // keepalived looks the name up without creating it unless
                    // dynamic_interfaces is set; the error is CONFIG_FATAL.
                    if !dynamic && !c.b.host.interface_exists(&name) {
                        c.report(
                            Severity::Fatal,
                            "interface-missing",
                            format!("unknown interface {name} specified for linkbeat interface"),
                        );
                        return Ok(());
                    }
                    let kind = match toks.get(1).map(|t| t.text) {
                        None => None,
                        Some("MII") => Some(LinkbeatKind::Mii),
                        Some("ETHTOOL") => Some(LinkbeatKind::Ethtool),
                        Some("IOCTL") => Some(LinkbeatKind::Ioctl),
                        Some(_) => None,
                    };
                    if toks.len() > 1 && (kind.is_none() || toks.len() > 2) {
                        c.report(
                            Severity::Error,
                            "invalid-value",
                            format!("extra characters {} in linkbeat interface", toks[1].text),
                        );
                    }
                    out.push(LinkbeatInterface { name, kind });
                    Ok(())
                })?;
                ctx.b.cfg.linkbeat_interfaces.extend(out);
            }
            "static_ipaddress" => {
                let mut out = Vec::new();
                ctx.value_block(args, |c, toks, _| {
                    if let Some(e) = addr_entry(c, toks) {
                        out.push(e);
                    }
                    Ok(())
                })?;
                ctx.b.cfg.static_ipaddress.extend(out);
            }
            "static_routes" | "static_rules" => {
                let mut out = Vec::new();
                ctx.value_block(args, |c, toks, _| {
                    let ok = if p == "static_routes" {
                        super::routes::route(c, toks, true)
                    } else {
                        super::routes::rule(c, toks, true)
                    };
                    if ok {
                        out.push(words_of(toks));
                    }
                    Ok(())
                })?;
                if p == "static_routes" {
                    ctx.b.cfg.static_routes.extend(out);
                } else {
                    ctx.b.cfg.static_rules.extend(out);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn close(ctx: &mut Ctx<'_, Self>, kw: &'static Kw) {
        if kw.path == "vrrp_instance" {
            instance_close(ctx);
            return;
        }
        if kw.path == "bfd_instance" {
            bfd_close(ctx);
            return;
        }
        if kw.path == "track_file" || kw.path == "vrrp_track_file" {
            // track_file_end_handler: a tracked file needs its path.
            if let Some(tf) = ctx.b.cfg.track_files.last() {
                if tf.file.is_none() {
                    let name = tf.name.clone();
                    err(ctx, format!("No file set for track_file {name} - ignoring"));
                    ctx.b.cfg.track_files.pop();
                }
            }
            return;
        }
        if kw.path == "virtual_server/real_server/MISC_CHECK" {
            // `user` applies to misc_path wherever it appears in the block.
            if let Some(ck) = last_checker(&mut ctx.b.cfg) {
                if let (Some((u, g)), Some(sc)) =
                    (ck.misc_user.as_deref().cloned(), ck.misc_path.as_mut())
                {
                    sc.user = Some(u);
                    sc.group = g;
                }
            }
            misc_check_close(ctx);
            return;
        }
        if kw.path == "virtual_server/real_server/FILE_CHECK" {
            // check_file.c's file_end_handler
            if last_checker(&mut ctx.b.cfg)
                .is_some_and(|c| c.kind == CheckerKind::File && c.track_file.is_none())
            {
                err(ctx, "FILE_CHECK has no track_file specified - ignoring");
                pop_last_checker(&mut ctx.b.cfg);
            }
            return;
        }
        if kw.path == "virtual_server/real_server/UDP_CHECK" {
            if let Some(ck) = last_checker(&mut ctx.b.cfg) {
                let (min, max) = (
                    ck.udp_min_reply_length.unwrap_or(0),
                    ck.udp_max_reply_length.unwrap_or(255),
                );
                if min > max {
                    ctx.report(
                        Severity::Error,
                        "invalid-value",
                        format!("UDP_CHECK min_reply length {min} > max_reply_length {max} - will always fail"),
                    );
                }
            }
            return;
        }
        if kw.path == "garp_group" {
            let (keep, agg) = match ctx.b.cfg.garp_groups.last() {
                Some(g) => (
                    g.garp_interval.is_some() || g.gna_interval.is_some(),
                    g.aggregation_group,
                ),
                None => return,
            };
            if !keep {
                err(
                    ctx,
                    format!("garp group {agg} does not have any delay set - removing"),
                );
                ctx.b.cfg.garp_groups.pop();
            }
            return;
        }
        if kw.path == "vrrp_script" {
            let st = std::mem::take(&mut ctx.b.vscript);
            let Some(s) = ctx.b.cfg.vrrp_scripts.last() else {
                return;
            };
            let name = s.name.clone();
            let mut remove = st.remove;
            if s.script.is_none() {
                ctx.report(
                    Severity::Error,
                    "script-missing",
                    format!("No script set for vrrp_script {name} - removing"),
                );
                remove = true;
            } else if !remove && !st.user_set && default_script_user(ctx).is_none() {
                ctx.report(
                    Severity::Error,
                    "script-user",
                    format!("Unable to set default user for vrrp script {name} - removing"),
                );
                remove = true;
            }
            if remove {
                ctx.b.cfg.vrrp_scripts.pop();
            } else if let (Some((u, g)), Some(sc)) = (
                st.user,
                ctx.b
                    .cfg
                    .vrrp_scripts
                    .last_mut()
                    .and_then(|s| s.script.as_mut()),
            ) {
                sc.user = Some(u);
                sc.group = g;
            }
        }
    }
}

fn global(ctx: &mut C<'_, '_>, k: &str, args: &Args) -> R {
    fn g<'x>(ctx: &'x mut C<'_, '_>) -> &'x mut GlobalDefs {
        &mut ctx.b.cfg.global
    }
    match k {
        "" => {}
        "router_id" => g(ctx).router_id = Some(ctx.arg(args, 1)?.to_string()),
        "notification_email" => {
            let mut v = Vec::new();
            ctx.value_block(args, |_, toks, _| {
                v.extend(toks.iter().map(|t| t.text.to_string()));
                Ok(())
            })?;
            if v.is_empty() {
                ctx.report(
                    Severity::Warning,
                    "empty-block",
                    "Warning - empty notification_email block",
                );
            }
            g(ctx).notification_email.extend(v);
        }
        "notification_email_from" => {
            g(ctx).notification_email_from = Some(ctx.arg(args, 1)?.to_string())
        }
        "smtp_server" => {
            let host = ctx.arg(args, 1)?.to_string();
            let port = match args.opt(2) {
                Some(p) => match read_unsigned(p, 1, 65535) {
                    Ok(v) => v as u16,
                    Err(e) => {
                        ctx.report(Severity::Error, "invalid-number", e);
                        25
                    }
                },
                None => 25,
            };
            if host.parse::<IpAddr>().is_err() && !ctx.b.host.resolves(&host) {
                err(ctx, format!("Invalid smtp server {host} {port}"));
            } else {
                g(ctx).smtp_server = Some(SmtpServer { host, port });
            }
        }
        "smtp_helo_name" => g(ctx).smtp_helo_name = Some(ctx.arg(args, 1)?.to_string()),
        "smtp_connect_timeout" => {
            if let Some(v) = unsigned(ctx, args, 1, 1, u32::MAX as u64)? {
                g(ctx).smtp_connect_timeout = Duration::from_secs(v);
            }
        }
        "smtp_alert" => g(ctx).smtp_alert = opt_bool(ctx, args),
        "smtp_alert_vrrp" => g(ctx).smtp_alert_vrrp = opt_bool(ctx, args),
        "smtp_alert_checker" => g(ctx).smtp_alert_checker = opt_bool(ctx, args),
        "no_email_faults" => g(ctx).no_email_faults = true,
        "script_user" => {
            let user = ctx.arg(args, 1)?.to_string();
            let group = args.opt(2).map(str::to_string);
            let ids = script_ids(ctx.b.host, &user, group.as_deref());
            ctx.b.default_user = Some(ids);
            if ids.is_none() {
                err(ctx, "Error setting global script uid/gid");
            }
            g(ctx).script_user = Some((user, group));
        }
        "enable_script_security" => g(ctx).enable_script_security = true,
        // keepalived 2.2.7 as Debian builds it has nftables but no iptables: the legacy
        // keyword selects nftables with the default table and says so.
        "vrrp_iptables" => {
            err(
                ctx,
                "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option",
            );
            g(ctx).nftables = Some(DEFAULT_NFT_TABLE.to_string());
        }
        "nftables" => {
            if g(ctx).nftables.is_some() {
                err(ctx, "nftables already specified - ignoring");
            } else {
                let name = args.opt(1).unwrap_or(DEFAULT_NFT_TABLE);
                // NFT_TABLE_MAXNAMELEN is 256 including the terminating NUL.
                if name.len() >= 256 {
                    err(ctx, "nftables table name too long - ignoring");
                } else {
                    g(ctx).nftables = Some(name.to_string());
                }
            }
        }
        "notify_fifo"
        | "notify_fifo_script"
        | "vrrp_notify_fifo"
        | "vrrp_notify_fifo_script"
        | "lvs_notify_fifo"
        | "lvs_notify_fifo_script" => {
            let s = script(ctx, args)?;
            let gd = g(ctx);
            let slot = match k {
                "notify_fifo" => &mut gd.notify_fifo,
                "notify_fifo_script" => &mut gd.notify_fifo_script,
                "vrrp_notify_fifo" => &mut gd.vrrp_notify_fifo,
                "vrrp_notify_fifo_script" => &mut gd.vrrp_notify_fifo_script,
                "lvs_notify_fifo" => &mut gd.lvs_notify_fifo,
                _ => &mut gd.lvs_notify_fifo_script,
            };
            *slot = s;
        }
        "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
            let s = ctx.arg(args, 1)?;
            match ip(s) {
                Some(a) if a.is_multicast() && (a.is_ipv4() == (k == "vrrp_mcast_group4")) => {
                    if k == "vrrp_mcast_group4" {
                        g(ctx).vrrp_mcast_group4 = Some(a)
                    } else {
                        g(ctx).vrrp_mcast_group6 = Some(a)
                    }
                }
                _ => err(ctx, format!("{k} '{s}' is invalid")),
            }
        }
        "vrrp_version" => {
            if let Some(v) = unsigned(ctx, args, 1, 2, 3)? {
                g(ctx).vrrp_version = v as u8;
            }
        }
        "vrrp_strict" => g(ctx).vrrp_strict = true,
        "vrrp_skip_check_adv_addr" => g(ctx).vrrp_skip_check_adv_addr = true,
        "vrrp_check_unicast_src" => g(ctx).vrrp_check_unicast_src = true,
        "vrrp_garp_master_delay" | "vrrp_garp_lower_prio_delay" => {
            if let Some(v) = unsigned(ctx, args, 1, 0, 86400)? {
                let d = Duration::from_secs(v);
                if k == "vrrp_garp_master_delay" {
                    g(ctx).vrrp_garp_master_delay = d
                } else {
                    g(ctx).vrrp_garp_lower_prio_delay = Some(d)
                }
            }
        }
        "vrrp_garp_master_repeat"
        | "vrrp_garp_lower_prio_repeat"
        | "vrrp_garp_master_refresh_repeat" => {
            if let Some(v) = unsigned(ctx, args, 1, 0, u32::MAX as u64)? {
                match k {
                    "vrrp_garp_master_repeat" => g(ctx).vrrp_garp_master_repeat = v as u32,
                    "vrrp_garp_lower_prio_repeat" => {
                        g(ctx).vrrp_garp_lower_prio_repeat = Some(v as u32)
                    }
                    _ => g(ctx).vrrp_garp_master_refresh_repeat = v as u32,
                }
            }
        }
        "vrrp_garp_master_refresh" => {
            if let Some(v) = unsigned(ctx, args, 1, 0, u32::MAX as u64)? {
                g(ctx).vrrp_garp_master_refresh = Duration::from_secs(v);
            }
        }
        "vrrp_garp_interval" | "vrrp_gna_interval" => {
            let s = ctx.arg(args, 1)?;
            let (v, e) = read_decimal(s, 1, u32::MAX as u64, 6);
            if let Some(e) = e {
                ctx.report(Severity::Error, "invalid-number", e);
            }
            match v {
                Some(us) => {
                    let d = Duration::from_micros(us);
                    if k == "vrrp_garp_interval" {
                        g(ctx).vrrp_garp_interval = d
                    } else {
                        g(ctx).vrrp_gna_interval = d
                    }
                }
                None => err(ctx, format!("{k} '{s}' is invalid")),
            }
        }
        "vrrp_lower_prio_no_advert" => {
            if let Some(b) = opt_bool(ctx, args) {
                g(ctx).vrrp_lower_prio_no_advert = b
            }
        }
        "vrrp_higher_prio_send_advert" => {
            if let Some(b) = opt_bool(ctx, args) {
                g(ctx).vrrp_higher_prio_send_advert = b
            }
        }
        "vrrp_down_timer_adverts" => {
            if let Some(v) = unsigned(ctx, args, 1, 1, 100)? {
                g(ctx).vrrp_down_timer_adverts = v as u32;
            }
        }
        "dynamic_interfaces" => g(ctx).dynamic_interfaces = true,
        "default_interface" => {
            let v = ctx.arg(args, 1)?.to_string();
            if !ctx.b.host.interface_exists(&v) {
                err(ctx, format!("default interface {v} does not exist"));
            }
            g(ctx).default_interface = Some(v);
        }
        "max_auto_priority" => {
            let v = match args.opt(1) {
                None => Some(99),
                Some(s) => match read_int(s, -1, 99) {
                    Ok(v) => Some(v as i32),
                    Err(e) => {
                        ctx.report(Severity::Error, "invalid-number", e);
                        None
                    }
                },
            };
            if v.is_some() {
                g(ctx).max_auto_priority = v;
            }
        }
        "lvs_flush" => g(ctx).lvs_flush = true,
        "lvs_sync_daemon" => lvs_sync_daemon(ctx, args),
        _ => {}
    }
    Ok(())
}

/// keepalived's `IP_VS_IFNAME_MAXLEN`: an interface name must be shorter.
const IP_VS_IFNAME_MAXLEN: usize = 16;

/// `lvs_sync_daemon IFACE [inst] VRRP_INSTANCE [id SYNCID] [maxlen LEN] [port PORT] [ttl TTL]
/// [group IP]`, read as keepalived's `lvs_syncd_handler` reads it (the old positional form
/// `IFACE VRRP_INSTANCE [SYNCID]` too), with its messages.
fn lvs_sync_daemon(ctx: &mut C<'_, '_>, args: &Args) {
    if let Some(old) = &ctx.b.cfg.global.lvs_sync_daemon {
        let msg = format!(
            "lvs_sync_daemon has already been specified as {} {} - ignoring",
            old.interface,
            old.instance.as_deref().unwrap_or("")
        );
        err(ctx, msg);
        return;
    }
    let Some(iface) = args.opt(1) else {
        err(ctx, "lvs_sync_daemon requires interface");
        return;
    };
    if iface.len() >= IP_VS_IFNAME_MAXLEN {
        err(
            ctx,
            format!("lvs_sync_daemon interface name '{iface}' too long - ignoring"),
        );
        return;
    }
    let mut d = LvsSyncDaemon {
        interface: iface.to_string(),
        ..Default::default()
    };
    // One option's value: a number in [min, max] (keepalived's read_unsigned_strvec and then
    // the option's own message on failure).
    fn number(ctx: &mut C<'_, '_>, v: &str, min: u64, max: u64, what: String) -> Option<u64> {
        match read_unsigned(v, min, max) {
            Ok(n) => Some(n),
            Err(e) => {
                ctx.report(Severity::Error, "invalid-number", e);
                err(ctx, what);
                None
            }
        }
    }
    let mut i = 2;
    while i < args.len() {
        let word = args.opt(i).unwrap_or("");
        let value = args.opt(i + 1);
        match (word, value) {
            ("inst", Some(v)) => {
                if let Some(old) = &d.instance {
                    let msg = format!(
                        "lvs_sync_daemon vrrp instance has already been specified as {old} - ignoring"
                    );
                    err(ctx, msg);
                } else {
                    d.instance = Some(v.to_string());
                }
                i += 2;
                continue;
            }
            ("id", None) => err(
                ctx,
                "No value specified for lvs_sync_daemon id, defaulting to vrid",
            ),
            ("maxlen" | "port" | "ttl" | "group", None) => err(
                ctx,
                format!("No value specified for lvs_sync_daemon {word} - ignoring"),
            ),
            ("id", Some(v)) => {
                let what = format!("Invalid syncid ({v}) - defaulting to vrid");
                if let Some(n) = number(ctx, v, 0, 255, what) {
                    d.syncid = Some(n as u8);
                }
                i += 2;
                continue;
            }
            ("maxlen", Some(v)) => {
                let what = format!("Invalid lvs_sync_daemon maxlen ({v}) - ignoring");
                if let Some(n) = number(ctx, v, 1, 65535 - 20 - 8, what) {
                    d.maxlen = Some(n as u16);
                }
                i += 2;
                continue;
            }
            ("port", Some(v)) => {
                let what = format!("Invalid lvs_sync_daemon port ({v}) - ignoring");
                if let Some(n) = number(ctx, v, 1, 65535, what) {
                    d.port = Some(n as u16);
                }
                i += 2;
                continue;
            }
            ("ttl", Some(v)) => {
                let what = format!("Invalid lvs_sync_daemon ttl ({v}) - ignoring");
                if let Some(n) = number(ctx, v, 1, 255, what) {
                    d.ttl = Some(n as u8);
                }
                i += 2;
                continue;
            }
            ("group", Some(v)) => {
                match sock_ip(v) {
                    None => err(
                        ctx,
                        format!("Invalid lvs_sync_daemon group ({v}) - ignoring"),
                    ),
                    Some(a) if !a.is_multicast() => err(
                        ctx,
                        format!("lvs_sync_daemon group address {v} is not multicast - ignoring"),
                    ),
                    Some(a) => d.group = Some(a),
                }
                i += 2;
                continue;
            }
            // The old positional form: IFACE VRRP_INSTANCE [SYNCID].
            _ if i == 2 => d.instance = Some(word.to_string()),
            _ if i == 3 => {
                let what = format!("Invalid syncid ({word}) - defaulting to vrid");
                if let Some(n) = number(ctx, word, 0, 255, what) {
                    err(
                        ctx,
                        "Please use keyword \"id\" before lvs_sync_daemon SYNCID",
                    );
                    d.syncid = Some(n as u8);
                }
            }
            _ => err(
                ctx,
                format!("Unknown option {word} specified for lvs_sync_daemon"),
            ),
        }
        i += 1;
    }
    ctx.b.cfg.global.lvs_sync_daemon = Some(d);
}

fn vrrp_script(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    if p == "vrrp_script" {
        let name = ctx.arg(args, 1)?.to_string();
        ctx.b.cfg.vrrp_scripts.push(VrrpScript::new(name));
        ctx.b.vscript = VscriptState::default();
        return Ok(());
    }
    let k = &p["vrrp_script/".len()..];
    let s = match k {
        "user" => {
            let user = ctx.arg(args, 1)?.to_string();
            let group = args.opt(2).map(str::to_string);
            if script_ids(ctx.b.host, &user, group.as_deref()).is_some() {
                ctx.b.vscript.remove = false;
                ctx.b.vscript.user_set = true;
                ctx.b.vscript.user = Some((user, group));
            } else {
                let cmd = ctx
                    .b
                    .cfg
                    .vrrp_scripts
                    .last()
                    .and_then(|s| s.script.as_ref())
                    .map(|s| cmd_str(&s.args))
                    .unwrap_or_default();
                err(
                    ctx,
                    format!("Unable to set uid/gid for script {cmd}")
                        .trim_end()
                        .to_string(),
                );
                ctx.b.vscript.remove = true;
            }
            return Ok(());
        }
        "script" => {
            let sc = script_command(ctx, args)?;
            if let Some(s) = last(&mut ctx.b.cfg.vrrp_scripts) {
                s.script = sc;
            }
            return Ok(());
        }
        "interval" | "timeout" => {
            let v = timer(ctx, args, 0, 0)?;
            let Some(s) = last(&mut ctx.b.cfg.vrrp_scripts) else {
                return Ok(());
            };
            match (k, v) {
                ("interval", Some(d)) if d.is_zero() => {
                    s.interval = Duration::from_secs(1);
                }
                ("interval", Some(d)) => s.interval = d,
                ("timeout", Some(d)) => s.timeout = Some(d),
                _ => {}
            }
            return Ok(());
        }
        "weight" => {
            let w = ctx.arg(args, 1)?;
            match read_int(w, -253, 253) {
                Ok(v) => {
                    let rev = args.opt(2) == Some("reverse");
                    if let Some(s) = last(&mut ctx.b.cfg.vrrp_scripts) {
                        s.weight = v as i32;
                        s.weight_reverse = rev;
                    }
                }
                Err(e) => ctx.report(Severity::Error, "invalid-number", e),
            }
            return Ok(());
        }
        "rise" | "fall" => unsigned(ctx, args, 1, 1, u32::MAX as u64)?,
        "init_fail" => {
            if let Some(s) = last(&mut ctx.b.cfg.vrrp_scripts) {
                s.init_fail = true;
            }
            return Ok(());
        }
        _ => None,
    };
    if let (Some(v), Some(sc)) = (s, last(&mut ctx.b.cfg.vrrp_scripts)) {
        if k == "rise" {
            sc.rise = v as u32
        } else {
            sc.fall = v as u32
        }
    }
    Ok(())
}

fn instance(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    if p == "vrrp_instance" {
        if args.len() != 2 {
            err(ctx, "vrrp_instance must have a name");
            ctx.skip_block(true);
            return Ok(());
        }
        let name = ctx.arg(args, 1)?.to_string();
        if ctx.b.cfg.vrrp_instances.iter().any(|i| i.name == name) {
            err(ctx, format!("vrrp instance {name} already defined"));
            ctx.skip_block(true);
            return Ok(());
        }
        ctx.b.cfg.vrrp_instances.push(VrrpInstance::new(name));
        return Ok(());
    }
    let Some(name) = ctx.b.cfg.vrrp_instances.last().map(|i| i.name.clone()) else {
        return Ok(());
    };
    let k = &p["vrrp_instance/".len()..];
    macro_rules! inst {
        () => {
            ctx.b
                .cfg
                .vrrp_instances
                .last_mut()
                .expect("instance exists")
        };
    }
    match k {
        "state" => {
            let s = ctx.arg(args, 1)?;
            match s {
                "MASTER" => inst!().state = Some(InitialState::Master),
                "BACKUP" => {
                    if inst!().state == Some(InitialState::Master) {
                        err(
                            ctx,
                            format!("({name}) state previously set as MASTER - ignoring BACKUP"),
                        );
                    } else {
                        inst!().state = Some(InitialState::Backup)
                    }
                }
                other => {
                    err(
                        ctx,
                        format!("({name}) unknown state '{other}', defaulting to BACKUP"),
                    );
                    inst!().state = Some(InitialState::Backup);
                }
            }
        }
        "vmac_xmit_base" => inst!().vmac_xmit_base = true,
        "interface" => {
            let s = ctx.arg(args, 1)?.to_string();
            if s.len() >= 16 {
                err(ctx, format!("Interface name '{s}' too long - ignoring"));
            } else {
                if !ctx.b.host.interface_exists(&s) && !ctx.b.cfg.global.dynamic_interfaces {
                    ctx.b.missing_interface = true;
                    err(
                        ctx,
                        format!("WARNING - interface {s} for vrrp_instance {name} doesn't exist"),
                    );
                } else if s == "lo" {
                    err(
                        ctx,
                        format!(
                            "({name}) cannot use a loopback interface ({s}) for vrrp - ignoring"
                        ),
                    );
                    return Ok(());
                }
                inst!().interface = Some(s);
            }
        }
        "virtual_router_id" => {
            let s = ctx.arg(args, 1)?.to_string();
            match read_unsigned(&s, 1, 255) {
                Ok(v) => inst!().virtual_router_id = Some(v as u8),
                Err(e) => {
                    ctx.report(Severity::Error, "invalid-number", e);
                    err(
                        ctx,
                        format!("({name}): VRID '{s}' not valid - must be between 1 & 255"),
                    );
                }
            }
        }
        "priority" => {
            let s = ctx.arg(args, 1)?.to_string();
            match read_unsigned(&s, 1, 255) {
                Ok(v) => inst!().priority = Some(v as u8),
                Err(e) => {
                    ctx.report(Severity::Error, "invalid-number", e);
                    err(
                        ctx,
                        format!("({name}) Priority not valid! must be between 1 & 255. Using default 100"),
                    );
                    inst!().priority = Some(100);
                }
            }
        }
        "advert_int" => {
            let s = ctx.arg(args, 1)?.to_string();
            let (v, e) = read_decimal(&s, TIMER_HZ / 100, 255 * TIMER_HZ, 6);
            if let Some(e) = e {
                ctx.report(Severity::Error, "invalid-number", e);
            }
            match v {
                Some(us) if us > 0 => inst!().advert_int = Duration::from_micros(us),
                _ => err(
                    ctx,
                    format!("({name}) Advert interval ({s}) not valid! Must be > 0 - ignoring"),
                ),
            }
        }
        "version" => {
            if let Some(v) = unsigned(ctx, args, 1, 2, 3)? {
                inst!().version = Some(v as u8);
            }
        }
        "authentication" => {
            inst!()
                .authentication
                .get_or_insert_with(Authentication::default);
        }
        "authentication/auth_type" => {
            let s = ctx.arg(args, 1)?;
            let t = match s {
                "PASS" => Some(AuthType::Pass),
                "AH" => Some(AuthType::Ah),
                other => {
                    err(
                        ctx,
                        format!("({name}) unknown authentication type '{other}'"),
                    );
                    None
                }
            };
            if t.is_some() {
                inst!()
                    .authentication
                    .get_or_insert_with(Authentication::default)
                    .auth_type = t;
            }
        }
        "authentication/auth_pass" => {
            let s = ctx.arg(args, 1)?;
            let mut pass = s.as_bytes().to_vec();
            if pass.len() > 8 {
                pass.truncate(8);
                err(ctx, "Truncating auth_pass to 8 characters");
            }
            inst!()
                .authentication
                .get_or_insert_with(Authentication::default)
                .auth_pass = Some(String::from_utf8_lossy(&pass).into_owned());
        }
        "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
            let mut out: Vec<AddrEntry> = Vec::new();
            // The first VIP sets the instance's address family (alloc_vrrp_vip).
            let mut family = inst!().virtual_ipaddress.first().map(|e| e.addr.is_ipv4());
            ctx.value_block(args, |c, toks, _| {
                if let Some(e) = addr_entry(c, toks) {
                    if k == "virtual_ipaddress" {
                        match family {
                            None => family = Some(e.addr.is_ipv4()),
                            Some(v4) if v4 != e.addr.is_ipv4() => {
                                err(
                                    c,
                                    format!(
                                        "({name}): address family must match VRRP instance [{}] - ignoring",
                                        toks[0].text
                                    ),
                                );
                                return Ok(());
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(e);
                }
                Ok(())
            })?;
            if k == "virtual_ipaddress" {
                inst!().virtual_ipaddress.extend(out);
            } else {
                inst!().virtual_ipaddress_excluded.extend(out);
            }
        }
        "virtual_routes" | "virtual_rules" => {
            let mut out = Vec::new();
            ctx.value_block(args, |c, toks, _| {
                let ok = if k == "virtual_routes" {
                    super::routes::route(c, toks, false)
                } else {
                    super::routes::rule(c, toks, false)
                };
                if ok {
                    out.push(words_of(toks));
                }
                Ok(())
            })?;
            if k == "virtual_routes" {
                inst!().virtual_routes.extend(out);
            } else {
                inst!().virtual_rules.extend(out);
            }
        }
        "nopreempt" => inst!().nopreempt = true,
        "preempt" => inst!().nopreempt = false,
        "preempt_delay" => {
            if let Some(d) = timer(ctx, args, 0, 1000 * TIMER_HZ)? {
                inst!().preempt_delay = d;
            }
        }
        "unicast_peer" => {
            let mut out = Vec::new();
            ctx.value_block(args, |c, toks, _| {
                match sock_ip(toks[0].text) {
                    Some(addr) => out.push(UnicastPeer {
                        addr,
                        min_ttl: None,
                        max_ttl: None,
                    }),
                    None => err(
                        c,
                        format!(
                            "Configuration error: VRRP instance[{name}] malformed unicast peer address[{}]. Skipping...",
                            toks[0].text
                        ),
                    ),
                }
                Ok(())
            })?;
            inst!().unicast_peer.extend(out);
        }
        "unicast_src_ip" | "mcast_src_ip" => {
            let s = ctx.arg(args, 1)?;
            match sock_ip(s) {
                Some(a) => {
                    if k == "unicast_src_ip" {
                        inst!().unicast_src_ip = Some(a)
                    } else {
                        inst!().mcast_src_ip = Some(a)
                    }
                }
                None => err(
                    ctx,
                    format!("Configuration error: VRRP instance[{name}] malformed src address[{s}]. Skipping..."),
                ),
            }
        }
        "unicast_ttl" => {
            if let Some(v) = unsigned(ctx, args, 1, 0, 255)? {
                inst!().unicast_ttl = Some(v as u8);
            }
        }
        "track_interface" => {
            let mut out = Vec::new();
            ctx.value_block(args, |c, toks, _| {
                let r = track_ref(c, toks, -253, 253);
                if tracked_interface_exists(c, &name, &r.name) {
                    out.push(r);
                }
                Ok(())
            })?;
            inst!().track_interface.extend(out);
        }
        "track_script" | "track_file" | "track_process" => {
            let (min, max) = if k == "track_script" {
                (-253, 253)
            } else {
                (-254, 254)
            };
            let mut out: Vec<TrackRef> = Vec::new();
            ctx.value_block(args, |c, toks, _| {
                if k == "track_script" && !tracked_script_usable(c, &name, toks[0].text, &out) {
                    return Ok(());
                }
                if k == "track_file" && !tracked_file_usable(c, &name, toks[0].text, &out) {
                    return Ok(());
                }
                out.push(track_ref(c, toks, min, max));
                Ok(())
            })?;
            let i = inst!();
            match k {
                "track_script" => i.track_script.extend(out),
                "track_file" => i.track_file.extend(out),
                _ => i.track_process.extend(out),
            }
        }
        "dont_track_primary" => inst!().dont_track_primary = true,
        "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
            if inst!().notify_slot(k).is_some() {
                let w = args.opt(1).unwrap_or("");
                err(
                    ctx,
                    format!("({name}) {k} script already specified - ignoring {w}"),
                );
                return Ok(());
            }
            let s = script(ctx, args)?;
            *inst!().notify_slot(k) = s;
        }
        "smtp_alert" => inst!().smtp_alert = opt_bool(ctx, args),
        "garp_master_delay" | "garp_master_refresh" => {
            if let Some(v) = unsigned(ctx, args, 1, 0, 86400)? {
                let d = Some(Duration::from_secs(v));
                if k == "garp_master_delay" {
                    inst!().garp_master_delay = d
                } else {
                    inst!().garp_master_refresh = d
                }
            }
        }
        "garp_master_repeat" | "garp_master_refresh_repeat" => {
            if let Some(v) = unsigned(ctx, args, 1, 0, u32::MAX as u64)? {
                if k == "garp_master_repeat" {
                    inst!().garp_master_repeat = Some(v as u32)
                } else {
                    inst!().garp_master_refresh_repeat = Some(v as u32)
                }
            }
        }
        "lower_prio_no_advert" => inst!().lower_prio_no_advert = opt_bool(ctx, args),
        "higher_prio_send_advert" => inst!().higher_prio_send_advert = opt_bool(ctx, args),
        "skip_check_adv_addr" => inst!().skip_check_adv_addr = opt_bool(ctx, args),
        "strict_mode" => inst!().strict_mode = opt_bool(ctx, args),
        "down_timer_adverts" => {
            if let Some(v) = unsigned(ctx, args, 1, 1, 100)? {
                inst!().down_timer_adverts = Some(v as u32);
            }
        }
        "accept" => inst!().accept = Some(true),
        "no_accept" => inst!().accept = Some(false),
        "use_vmac" => inst!().use_vmac = Some(args.from(1)),
        "lvs_sync_daemon_interface" => {
            let iface = ctx.arg(args, 1)?.to_string();
            ctx.report(
                Severity::Warning,
                "deprecated",
                format!(
                    "({name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.\n        Please use global lvs_sync_daemon"
                ),
            );
            if let Some(old) = &ctx.b.cfg.global.lvs_sync_daemon {
                let msg = format!(
                    "({name}) lvs_sync_daemon_interface has already been specified as {} - ignoring",
                    old.interface
                );
                err(ctx, msg);
            } else {
                // keepalived ties the daemon to this instance; its syncid stays 0.
                ctx.b.cfg.global.lvs_sync_daemon = Some(LvsSyncDaemon {
                    interface: iface,
                    instance: Some(name.clone()),
                    syncid: Some(0),
                    deprecated_form: true,
                    ..Default::default()
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// garp_group { ... } as keepalived's garp_group handlers read it.
fn garp_group(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    let k = p.split('/').nth(1).unwrap_or("");
    let dynamic = ctx.b.cfg.global.dynamic_interfaces;
    // Attaches an interface to the current group; keepalived looks it up with
    // IF_CREATE_IF_DYNAMIC, so a missing one also stops the VRRP process's checks.
    fn attach(ctx: &mut C<'_, '_>, name: &str, dynamic: bool) {
        if !dynamic && !ctx.b.host.interface_exists(name) {
            ctx.b.missing_interface = true;
            err(
                ctx,
                format!("WARNING - interface {name} specified for garp_group doesn't exist"),
            );
            return;
        }
        if ctx
            .b
            .cfg
            .garp_groups
            .iter()
            .any(|g| g.interfaces.iter().any(|i| i == name))
        {
            err(
                ctx,
                format!("garp_group already specified for {name} - ignoring"),
            );
            return;
        }
        if let Some(g) = ctx.b.cfg.garp_groups.last_mut() {
            g.interfaces.push(name.to_string());
        }
    }
    match k {
        "" => {
            ctx.b.cfg.garp_groups.push(GarpGroup::default());
        }
        "garp_interval" | "gna_interval" => {
            let s = ctx.arg(args, 1)?.to_string();
            let (mut v, e) = read_timer(&s, 0, i32::MAX as u64);
            if let Some(e) = e {
                // keepalived reads an unparsable number as far as it goes and, being in
                // range, still accepts it (ignore_error): "x" is 0, "2x" is 2.
                if v.is_none() && e.starts_with("invalid number") {
                    let head: String = s
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.')
                        .collect();
                    v = read_timer(
                        if head.is_empty() { "0" } else { &head },
                        0,
                        i32::MAX as u64,
                    )
                    .0;
                }
                ctx.report(Severity::Error, "invalid-number", e);
            }
            match v {
                None => err(ctx, format!("garp_group {k} '{s}' invalid")),
                Some(d) => {
                    if let Some(g) = ctx.b.cfg.garp_groups.last_mut() {
                        if k == "garp_interval" {
                            g.garp_interval = Some(d);
                        } else {
                            g.gna_interval = Some(d);
                        }
                    }
                }
            }
        }
        "interface" => {
            let name = ctx.arg(args, 1)?.to_string();
            attach(ctx, &name, dynamic);
        }
        "interfaces" => {
            let mut names = Vec::new();
            ctx.value_block(args, |_, toks, _| {
                names.extend(toks.iter().map(|t| t.text.to_string()));
                Ok(())
            })?;
            if names.is_empty() {
                err(ctx, "Warning - empty garp_group interfaces block");
                return Ok(());
            }
            // Numbered after the other (kept) groups that have an interfaces block.
            let groups = &mut ctx.b.cfg.garp_groups;
            let n = groups.len().saturating_sub(1);
            let num = 1 + groups[..n]
                .iter()
                .filter(|g| g.aggregation_group != 0)
                .count() as u32;
            if let Some(g) = groups.last_mut() {
                g.aggregation_group = num;
            }
            for n in names {
                attach(ctx, &n, dynamic);
            }
        }
        _ => {}
    }
    Ok(())
}

/// keepalived's `vrrp_end_handler`, at the instance's closing line: unicast with a VMAC or
/// ipvlan needs an interface (else the VMAC is dropped) and transmits from the base interface;
/// `unicast_ttl` needs unicast peers.
fn instance_close(ctx: &mut C<'_, '_>) {
    let dynamic = ctx.b.cfg.global.dynamic_interfaces;
    let host = ctx.b.host;
    let Some(i) = ctx.b.cfg.vrrp_instances.last() else {
        return;
    };
    let name = i.name.clone();
    // keepalived's vrrp->ifp: the interface was found (or created for dynamic_interfaces).
    let has_ifp = i
        .interface
        .as_deref()
        .is_some_and(|s| dynamic || host.interface_exists(s));
    let ipvlan = i.parsed.contains_key("vrrp_instance/use_ipvlan");
    let mut msgs = Vec::new();
    let i = ctx.b.cfg.vrrp_instances.last_mut().expect("checked above");
    if i.unicast_configured && (i.use_vmac.is_some() || ipvlan) {
        if !has_ifp {
            msgs.push(format!(
                "({name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"
            ));
            i.use_vmac = None;
            i.parsed.remove("vrrp_instance/use_ipvlan");
        } else if !i.vmac_xmit_base {
            msgs.push(format!(
                "({name}) unicast with use_vmac requires vmac_xmit_base - setting"
            ));
            i.vmac_xmit_base = true;
        }
    }
    if i.unicast_peer.is_empty() && i.unicast_ttl.is_some() {
        msgs.push(format!(
            "({name}): Cannot use unicast_ttl without unicast peers - resetting"
        ));
        i.unicast_ttl = None;
    }
    for m in msgs {
        err(ctx, m);
    }
}

fn sync_group(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    if p == "vrrp_sync_group" {
        let name = ctx.arg(args, 1)?.to_string();
        if ctx.b.cfg.vrrp_sync_groups.iter().any(|g| g.name == name) {
            err(ctx, format!("vrrp sync group {name} already defined"));
            ctx.skip_block(true);
            return Ok(());
        }
        ctx.b.cfg.vrrp_sync_groups.push(SyncGroup {
            name,
            ..Default::default()
        });
        return Ok(());
    }
    let Some(name) = ctx.b.cfg.vrrp_sync_groups.last().map(|g| g.name.clone()) else {
        return Ok(());
    };
    let k = &p["vrrp_sync_group/".len()..];
    macro_rules! grp {
        () => {
            ctx.b.cfg.vrrp_sync_groups.last_mut().expect("group exists")
        };
    }
    match k {
        "sync_group_tracking_weight" => grp!().sync_group_tracking_weight = true,
        "global_tracking" => {
            err(
                ctx,
                format!("({name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"),
            );
            grp!().sync_group_tracking_weight = true;
        }
        "group" => {
            let mut out = Vec::new();
            ctx.value_block(args, |_, toks, _| {
                out.extend(toks.iter().map(|t| t.text.to_string()));
                Ok(())
            })?;
            grp!().group.extend(out);
        }
        "track_interface" | "track_script" | "track_file" => {
            let mut out: Vec<TrackRef> = Vec::new();
            ctx.value_block(args, |c, toks, _| {
                if k == "track_script" && !tracked_script_usable(c, &name, toks[0].text, &out) {
                    return Ok(());
                }
                if k == "track_file" && !tracked_file_usable(c, &name, toks[0].text, &out) {
                    return Ok(());
                }
                let r = track_ref(c, toks, -254, 254);
                if k != "track_interface" || tracked_interface_exists(c, &name, &r.name) {
                    out.push(r);
                }
                Ok(())
            })?;
            match k {
                "track_interface" => grp!().track_interface.extend(out),
                "track_script" => grp!().track_script.extend(out),
                _ => grp!().track_file.extend(out),
            }
        }
        "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
            if grp!().notify_slot(k).is_some() {
                let w = args.opt(1).unwrap_or("");
                err(
                    ctx,
                    format!("vrrp group {name}: {k} script already specified - ignoring {w}"),
                );
                return Ok(());
            }
            let s = script(ctx, args)?;
            *grp!().notify_slot(k) = s;
        }
        "smtp_alert" => grp!().smtp_alert = opt_bool(ctx, args),
        _ => {}
    }
    Ok(())
}

fn track_file(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    let k = p.split('/').nth(1).unwrap_or("");
    match k {
        "" => {
            let name = ctx.arg(args, 1)?.to_string();
            ctx.b.cfg.track_files.push(TrackFile {
                name,
                weight: 1,
                ..Default::default()
            });
        }
        "file" => {
            let v = ctx.arg(args, 1)?.to_string();
            if let Some(t) = last(&mut ctx.b.cfg.track_files) {
                t.file = Some(v);
            }
        }
        "weight" => {
            let w = ctx.arg(args, 1)?;
            match read_int(w, -254, 254) {
                Ok(v) => {
                    let rev = args.opt(2) == Some("reverse");
                    if let Some(t) = last(&mut ctx.b.cfg.track_files) {
                        t.weight = v as i32;
                        t.reverse = rev;
                    }
                }
                Err(e) => ctx.report(Severity::Error, "invalid-number", e),
            }
        }
        _ => {}
    }
    Ok(())
}

/// bfd_instance NAME { neighbor_ip / source_ip ... }: only the BFD process reads the
/// addresses (the other processes only note the name), so the instance is built in every pass
/// but checked in the BFD pass, as keepalived's `bfd_end_handler` does.
fn bfd(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    let k = p.split('/').nth(1).unwrap_or("");
    let bfd_pass = ctx.pass == super::engine::Pass::Bfd;
    match k {
        "" => {
            let name = ctx.arg(args, 1)?.to_string();
            ctx.b.bfd_dropped = false;
            if bfd_pass {
                // BFD_INAME_MAX is 32 including the terminating NUL.
                if name.len() >= 32 {
                    err(ctx, format!("Configuration error: BFD instance {name} name too long (maximum length is 31 characters) - ignoring"));
                    ctx.b.bfd_dropped = true;
                } else if ctx.b.cfg.bfd_instances.iter().any(|b| b.name == name) {
                    err(ctx, format!("Configuration error: BFD instance {name} already configured - ignoring"));
                    ctx.b.bfd_dropped = true;
                }
            }
            if !ctx.b.bfd_dropped {
                ctx.b.cfg.bfd_instances.push(BfdInstance {
                    name,
                    ..Default::default()
                });
            }
        }
        _ if ctx.b.bfd_dropped => {}
        "neighbor_ip" | "neighbour_ip" => {
            let v = ctx.arg(args, 1)?.to_string();
            match sock_ip(&v) {
                Some(a) => {
                    if let Some(b) = ctx.b.cfg.bfd_instances.last_mut() {
                        b.neighbor_ip = Some(a);
                    }
                }
                None => {
                    if bfd_pass {
                        let name = last_bfd_name(ctx);
                        err(ctx, format!("Configuration error: BFD instance {name} has malformed neighbor address {v}, ignoring instance"));
                    }
                    ctx.b.cfg.bfd_instances.pop();
                    ctx.b.bfd_dropped = true;
                }
            }
        }
        "source_ip" => {
            let v = ctx.arg(args, 1)?.to_string();
            match sock_ip(&v) {
                Some(a) => {
                    if let Some(b) = ctx.b.cfg.bfd_instances.last_mut() {
                        b.source_ip = Some(a);
                    }
                }
                None if bfd_pass => {
                    let name = last_bfd_name(ctx);
                    err(ctx, format!("Configuration error: BFD instance {name} has malformed source address {v}, ignoring"));
                }
                None => {}
            }
        }
        _ => {}
    }
    Ok(())
}

fn last_bfd_name(ctx: &C<'_, '_>) -> String {
    ctx.b
        .cfg
        .bfd_instances
        .last()
        .map(|b| b.name.clone())
        .unwrap_or_default()
}

/// keepalived's `bfd_end_handler`: an instance without a neighbor, with a source of the other
/// address family, or with a neighbor (and source) another instance already has, is disabled.
fn bfd_close(ctx: &mut C<'_, '_>) {
    if std::mem::take(&mut ctx.b.bfd_dropped) || ctx.pass != super::engine::Pass::Bfd {
        return;
    }
    let Some(b) = ctx.b.cfg.bfd_instances.last().cloned() else {
        return;
    };
    let n = ctx.b.cfg.bfd_instances.len() - 1;
    let problem = match (b.neighbor_ip, b.source_ip) {
        (None, _) => Some(format!(
            "Configuration error: BFD instance {} has no neighbor address set, disabling instance",
            b.name
        )),
        (Some(nbr), Some(src)) if nbr.is_ipv4() != src.is_ipv4() => Some(format!(
            "Configuration error: BFD instance {} source address {src} and neighbor address {nbr} are not of the same family, disabling instance",
            b.name
        )),
        (Some(nbr), src) => {
            let dup = ctx.b.cfg.bfd_instances[..n].iter().any(|o| {
                o.neighbor_ip == Some(nbr)
                    && (o.source_ip.is_none() || src.is_none() || o.source_ip == src)
            });
            dup.then(|| match src {
                Some(src) => format!(
                    "Configuration error: BFD instance {} has duplicate source/neighbor address {src}/{nbr}, ignoring instance",
                    b.name
                ),
                None => format!(
                    "Configuration error: BFD instance {} has duplicate neighbor address {nbr}, ignoring instance",
                    b.name
                ),
            })
        }
    };
    if let Some(msg) = problem {
        err(ctx, msg);
        ctx.b.cfg.bfd_instances.pop();
    }
}

fn vsg(ctx: &mut C<'_, '_>, args: &Args) -> R {
    let name = ctx.arg(args, 1)?.to_string();
    let mut entries = Vec::new();
    // keepalived drops the group name before reading the block: `{` is word 2.
    ctx.value_block_at(args, 2, |c, toks, _| {
        let a = toks[0].text;
        if a == "fwmark" {
            match toks
                .get(1)
                .map(|t| read_unsigned(t.text, 1, u32::MAX as u64))
            {
                Some(Ok(v)) => entries.push(VsgEntry::Fwmark(v as u32)),
                Some(Err(e)) => c.report(Severity::Error, "invalid-number", e),
                None => err(c, "virtual server group fwmark missing"),
            }
            return Ok(());
        }
        let port = toks.get(1).and_then(|t| t.text.parse::<u16>().ok());
        let (first, last) = match a.split_once('-') {
            Some((f, l)) => {
                let first: Option<IpAddr> = f.parse().ok();
                let last = match (first, l.parse::<IpAddr>().ok()) {
                    (_, Some(l)) => Some(l),
                    (Some(IpAddr::V4(f4)), None) => l.parse::<u8>().ok().map(|o| {
                        let mut b = f4.octets();
                        b[3] = o;
                        IpAddr::from(b)
                    }),
                    (Some(IpAddr::V6(f6)), None) => u16::from_str_radix(l, 16).ok().map(|o| {
                        let mut s = f6.segments();
                        s[7] = o;
                        IpAddr::from(s)
                    }),
                    _ => None,
                };
                (first, last)
            }
            None => (addr_prefix(a).map(|x| x.0), None),
        };
        match first {
            Some(first) => entries.push(VsgEntry::Range { first, last, port }),
            None => err(c, format!("Invalid virtual server group address {a}")),
        }
        Ok(())
    })?;
    ctx.b
        .cfg
        .virtual_server_groups
        .push(VirtualServerGroup { name, entries });
    Ok(())
}

fn lb_kind(s: &str) -> Option<LbKind> {
    match s {
        "NAT" => Some(LbKind::Nat),
        "DR" => Some(LbKind::Dr),
        "TUN" => Some(LbKind::Tun),
        _ => None,
    }
}

const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos",
];

fn options_for(cfg: &mut Config, depth: usize) -> Option<&mut CheckOptions> {
    let vs = cfg.virtual_servers.last_mut()?;
    if depth == 1 {
        return Some(&mut vs.options);
    }
    let rs = vs.real_servers.last_mut()?;
    if depth == 2 {
        return Some(&mut rs.options);
    }
    Some(&mut rs.checkers.last_mut()?.options)
}

/// Which object a common option is on, for keepalived's per-level messages.
fn level_name(depth: usize) -> &'static str {
    match depth {
        1 => "virtual server",
        2 => "real server",
        _ => "checker",
    }
}

/// A timer value; `what` gives keepalived's handler message for a bad value.
fn timer_msg(
    ctx: &mut C<'_, '_>,
    args: &Args,
    min_us: u64,
    max_us: u64,
    what: impl FnOnce(&str) -> String,
) -> Result<Option<Duration>, Abort> {
    let s = ctx.arg(args, 1)?;
    let (v, e) = read_timer(s, min_us, max_us);
    if let Some(e) = e {
        ctx.report(Severity::Error, "invalid-number", e);
    }
    // keepalived's read_decimal_unsigned_long_func with ignore_error: a malformed number
    // still counts with the value of its leading digits (decimal point removed, padded to
    // microseconds) when that is in range - `warmup abc` is 0.
    let v = v.or_else(|| lenient_timer(s, min_us, max_us));
    if v.is_none() {
        let a = args.opt(1).unwrap_or("");
        err(ctx, what(a));
    }
    Ok(v)
}

fn lenient_timer(s: &str, min_us: u64, max_us: u64) -> Option<Duration> {
    if s.starts_with('-') {
        return None;
    }
    let max = if max_us == 0 { u64::MAX - 1 } else { max_us };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac: String = frac.chars().take(6).collect();
    while frac.len() < 6 {
        frac.push('0');
    }
    let joined = format!("{int}{frac}");
    let t = joined.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix('+').unwrap_or(t);
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let v: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    (min_us..=max)
        .contains(&v)
        .then(|| Duration::from_micros(v))
}

/// The checker/real-server/virtual-server options every level accepts (`check_parser.c`'s
/// vs_*/rs_* handlers and `check_api.c`'s checker handlers). `Ok(true)` = handled.
fn common_option(ctx: &mut C<'_, '_>, depth: usize, k: &str, args: &Args) -> Result<bool, Abort> {
    let lvl = level_name(depth);
    let ck = depth == 3;
    // MISC_CHECK and FILE_CHECK have no connection options; FILE_CHECK no timing options.
    let ck_kind = if ck {
        ctx.b
            .cfg
            .virtual_servers
            .last()
            .and_then(|v| v.real_servers.last())
            .and_then(|r| r.checkers.last())
            .map(|c| c.kind)
    } else {
        None
    };
    if matches!(ck_kind, Some(CheckerKind::File) | Some(CheckerKind::Bfd)) {
        return Ok(false);
    }
    match k {
        "connect_timeout" => {
            if ck_kind == Some(CheckerKind::Misc) {
                return Ok(false);
            }
            let d = timer_msg(ctx, args, 1, u32::MAX as u64, |a| {
                if ck {
                    format!("connect_timeout {a} invalid - ignoring")
                } else {
                    format!("{lvl} connect_timeout {a} invalid - ignoring")
                }
            })?;
            if let (Some(d), Some(o)) = (d, options_for(&mut ctx.b.cfg, depth)) {
                o.connect_timeout = Some(d);
            }
        }
        "delay_loop" => {
            let d = timer_msg(ctx, args, 1, 0, |a| match depth {
                1 => format!("virtual server delay loop '{a}' invalid - ignoring"),
                2 => format!("real server delay_loop '{a}' invalid - ignoring"),
                _ => format!("delay_loop '{a}' is invalid - ignoring"),
            })?;
            if let (Some(d), Some(o)) = (d, options_for(&mut ctx.b.cfg, depth)) {
                o.delay_loop = Some(d);
            }
        }
        "delay_before_retry" => {
            let d = timer_msg(ctx, args, 0, 0, |a| match depth {
                1 => format!("virtual server delay before retry '{a}' invalid - ignoring"),
                2 => format!("real server delay_before_retry '{a}' invalid - ignoring"),
                _ => format!("Invalid delay_before_retry connection value '{a}'"),
            })?;
            if let (Some(d), Some(o)) = (d, options_for(&mut ctx.b.cfg, depth)) {
                o.delay_before_retry = Some(d);
            }
        }
        "warmup" => {
            let d = timer_msg(ctx, args, 0, 0, |a| {
                if ck {
                    format!("Invalid warmup connection value '{a}'")
                } else {
                    format!("{lvl} warmup '{a}' invalid - ignoring")
                }
            })?;
            if let (Some(d), Some(o)) = (d, options_for(&mut ctx.b.cfg, depth)) {
                o.warmup = Some(d);
            }
        }
        "retry" | "nb_get_retry" => {
            if k == "nb_get_retry" {
                ctx.report(
                    Severity::Warning,
                    "deprecated",
                    "nb_get_retry is deprecated - please use 'retry'",
                );
            }
            let s = ctx.arg(args, 1)?;
            // Checkers accept 0 (no retry); virtual and real servers need at least 1.
            let min = if ck { 0 } else { 1 };
            let v = match read_unsigned(s, min, u32::MAX as u64) {
                Ok(v) => Some(v as u32),
                Err(e) => {
                    ctx.report(Severity::Error, "invalid-number", e);
                    if ck {
                        err(ctx, format!("Invalid retry connection value '{s}'"));
                    } else {
                        err(ctx, format!("retry value invalid - {s}"));
                    }
                    None
                }
            };
            if let (Some(v), Some(o)) = (v, options_for(&mut ctx.b.cfg, depth)) {
                o.retry = Some(v);
            }
        }
        "alpha" | "inhibit_on_failure" | "log_all_failures" => {
            if k == "log_all_failures" && !ck {
                return Ok(false);
            }
            let b = if depth == 1 {
                Some(true)
            } else {
                opt_bool(ctx, args)
            };
            if let (Some(b), Some(o)) = (b, options_for(&mut ctx.b.cfg, depth)) {
                match k {
                    "alpha" => o.alpha = Some(b),
                    "inhibit_on_failure" => o.inhibit_on_failure = Some(b),
                    _ => o.log_all_failures = Some(b),
                }
            }
        }
        "virtualhost" => {
            if ck
                && !matches!(
                    ck_kind,
                    Some(CheckerKind::HttpGet) | Some(CheckerKind::SslGet)
                )
            {
                return Ok(false);
            }
            let v = ctx.arg(args, 1)?.to_string();
            if let Some(o) = options_for(&mut ctx.b.cfg, depth) {
                o.virtualhost = Some(v);
            }
        }
        "fwmark" if ck => {
            if ck_kind == Some(CheckerKind::Misc) {
                return Ok(false);
            }
            let s = ctx.arg(args, 1)?;
            match read_unsigned(s, 0, u32::MAX as u64) {
                Ok(v) => {
                    if let Some(c) = last_checker(&mut ctx.b.cfg) {
                        c.fwmark = Some(v as u32);
                    }
                }
                Err(e) => {
                    ctx.report(Severity::Error, "invalid-number", e);
                    err(ctx, format!("Invalid fwmark connection value '{s}'"));
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn last_checker(cfg: &mut Config) -> Option<&mut Checker> {
    cfg.virtual_servers
        .last_mut()?
        .real_servers
        .last_mut()?
        .checkers
        .last_mut()
}

/// DNS_CHECK record types keepalived 2.2.7 knows (case-insensitive).
pub fn dns_type_code(s: &str) -> Option<u16> {
    const T: &[(&str, u16)] = &[
        ("A", 1),
        ("NS", 2),
        ("CNAME", 5),
        ("SOA", 6),
        ("MX", 15),
        ("TXT", 16),
        ("AAAA", 28),
        ("RRSIG", 46),
        ("DNSKEY", 48),
    ];
    T.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, c)| *c)
}

/// keepalived's `read_hex_str`: hex octets, spaces between octets allowed, a lone digit before
/// a space or the end is one octet; with `wildcard`, `X` matches any nibble (returned as set
/// bits of the mask). `None` for an invalid or empty string.
pub fn read_hex_str(s: &str, wildcard: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    fn val(c: u8, wildcard: bool) -> Option<Option<u8>> {
        match c {
            b'0'..=b'9' => Some(Some(c - b'0')),
            b'a'..=b'f' => Some(Some(c - b'a' + 10)),
            b'A'..=b'F' => Some(Some(c - b'A' + 10)),
            // keepalived upper-cases first, so `x` is a wildcard too
            b'X' | b'x' if wildcard => Some(None),
            _ => None,
        }
    }
    let b = s.as_bytes();
    let (mut data, mut mask) = (Vec::new(), Vec::new());
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let hi = val(b[i], wildcard)?;
        i += 1;
        let (mut v, mut m) = match hi {
            Some(x) => (x, 0u8),
            None => (0, 0x0f),
        };
        if i < b.len() && b[i] != b' ' {
            let lo = val(b[i], wildcard)?;
            i += 1;
            v <<= 4;
            m <<= 4;
            match lo {
                Some(x) => v |= x,
                None => m |= 0x0f,
            }
        }
        data.push(v);
        mask.push(m);
    }
    if data.is_empty() {
        return None;
    }
    Some((data, mask))
}

/// keepalived's `svr_forwarding_handler`: `NAT|DR|TUN [type ipip|gue|gre] [port N]
/// [nocsum|csum|remcsum]`. An unknown method changes nothing; a bad tunnel option keeps the
/// method but not the options (`prev`'s stay).
fn lvs_method_line(
    ctx: &mut C<'_, '_>,
    args: &Args,
    s_type: &str,
    prev: Option<LvsMethod>,
) -> Result<Option<LvsMethod>, Abort> {
    let s = ctx.arg(args, 1)?;
    let Some(kind) = lb_kind(s) else {
        err(
            ctx,
            format!("PARSER : unknown [{s}] routing method for {s_type} server."),
        );
        return Ok(None);
    };
    let keep = LvsMethod {
        kind,
        tunnel: prev.map(|p| p.tunnel).unwrap_or_default(),
    };
    let mut t = TunnelOpts::default();
    let words = args.from(0);
    let mut i = 2;
    while i < words.len() {
        match words[i].as_str() {
            "type" => {
                let Some(ty) = words.get(i + 1) else {
                    err(ctx, format!("Missing tunnel type for {s_type} server."));
                    return Ok(Some(keep));
                };
                t.kind = match ty.as_str() {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    _ => {
                        err(
                            ctx,
                            format!("Unknown tunnel type {ty} for {s_type} server."),
                        );
                        return Ok(Some(keep));
                    }
                };
                i += 1;
            }
            "port" => {
                let Some(p) = words.get(i + 1) else {
                    err(ctx, format!("Missing port for {s_type} server gue tunnel."));
                    return Ok(Some(keep));
                };
                match read_unsigned(p, 1, 65535) {
                    Ok(v) => t.port = v as u16,
                    Err(e) => {
                        ctx.report(Severity::Error, "invalid-number", e);
                        err(
                            ctx,
                            format!("Invalid gue tunnel port {p} for {s_type} server."),
                        );
                        return Ok(Some(keep));
                    }
                }
                i += 1;
            }
            "nocsum" => t.csum = TunnelCsum::NoCsum,
            "csum" => t.csum = TunnelCsum::Csum,
            "remcsum" => t.csum = TunnelCsum::RemCsum,
            o => {
                err(
                    ctx,
                    format!("Invalid tunnel option {o} for {s_type} server."),
                );
                return Ok(Some(keep));
            }
        }
        i += 1;
    }
    if (t.kind == TunnelType::Gue) != (t.port != 0) {
        err(ctx, "gue tunnels require port, otherwise cannot have port.");
        return Ok(Some(keep));
    }
    if t.kind == TunnelType::Ipip && t.csum != TunnelCsum::NoCsum {
        err(ctx, "ipip tunnels do not support checksum option.");
        return Ok(Some(keep));
    }
    if t.kind == TunnelType::Gre && t.csum == TunnelCsum::RemCsum {
        err(ctx, "gre tunnels do not support remote checksum option.");
        return Ok(Some(keep));
    }
    Ok(Some(LvsMethod { kind, tunnel: t }))
}

fn virtual_server(ctx: &mut C<'_, '_>, p: &str, args: &Args) -> R {
    let depth = p.matches('/').count();
    let k = p.rsplit('/').next().unwrap_or("");
    if p == "virtual_server" {
        let a = ctx.arg(args, 1)?;
        let addr = if a == "fwmark" {
            let s = ctx.arg(args, 2)?;
            match read_unsigned(s, 1, u32::MAX as u64) {
                Ok(v) => Some(VsAddr::Fwmark(v as u32)),
                Err(e) => {
                    ctx.report(Severity::Error, "invalid-number", e);
                    None
                }
            }
        } else if a == "group" {
            Some(VsAddr::Group(ctx.arg(args, 2)?.to_string()))
        } else {
            let port = args.opt(2).and_then(|p| p.parse::<u16>().ok());
            match ip(a) {
                Some(addr) => Some(VsAddr::Ip { addr, port }),
                None => {
                    err(
                        ctx,
                        format!(
                            "Invalid virtual server IP address/port {a}/{} - skipping",
                            args.opt(2).unwrap_or("")
                        ),
                    );
                    None
                }
            }
        };
        let reals = Vec::with_capacity(ctx.count_in_block("real_server"));
        match addr {
            Some(addr) => ctx.b.cfg.virtual_servers.push(VirtualServer {
                addr,
                lb_algo: None,
                lb_kind: None,
                protocol: None,
                persistence_timeout: None,
                persistence_granularity: None,
                quorum: 1,
                hysteresis: 0,
                quorum_up: None,
                quorum_down: None,
                sorry_server: None,
                sorry_server_inhibit: false,
                omega: false,
                ha_suspend: false,
                ops: false,
                smtp_alert: None,
                weight: None,
                lvs_method: None,
                sched_flags: SchedFlags::default(),
                persistence_engine: None,
                ip_family: None,
                snmp_name: None,
                sorry_server_lvs_method: None,
                options: CheckOptions::default(),
                real_servers: reals,
                parsed: Parsed::new(),
            }),
            None => ctx.skip_block(true),
        }
        return Ok(());
    }
    if ctx.b.cfg.virtual_servers.is_empty() {
        return Ok(());
    }
    // Options common to every level (each level with keepalived's own messages).
    if depth <= 3 && common_option(ctx, depth, k, args)? {
        return Ok(());
    }
    macro_rules! vs {
        () => {
            ctx.b.cfg.virtual_servers.last_mut().expect("vs exists")
        };
    }
    if depth == 1 {
        match k {
            "lb_algo" | "lvs_sched" => {
                let s = ctx.arg(args, 1)?;
                if SCHEDULERS.contains(&s) {
                    vs!().lb_algo = Some(s.to_string());
                } else {
                    err(ctx, format!("Invalid lvs_scheduler '{s}' - ignoring"));
                }
            }
            "lb_kind" | "lvs_method" => {
                let prev = vs!().lvs_method;
                if let Some(m) = lvs_method_line(ctx, args, "virtual", prev)? {
                    vs!().lb_kind = Some(m.kind);
                    vs!().lvs_method = Some(m);
                }
            }
            "sorry_server_lvs_method" => {
                if vs!().sorry_server.is_none() {
                    err(ctx, "sorry_server forwarding used without sorry_server");
                } else {
                    let prev = vs!().sorry_server_lvs_method;
                    if let Some(m) = lvs_method_line(ctx, args, "sorry", prev)? {
                        vs!().sorry_server_lvs_method = Some(m);
                    }
                }
            }
            "hashed" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port"
            | "mh-fallback" => {
                // keepalived's lbflags_handler: flag-N always; the sh-/mh- flags only when
                // that scheduler is already set (silently nothing for the other family);
                // anything else (including `hashed`) is an error unless sh/mh is set.
                let sched = vs!().lb_algo.clone().unwrap_or_default();
                let f = &mut vs!().sched_flags;
                match k {
                    "flag-1" => f.flag_1 = true,
                    "flag-2" => f.flag_2 = true,
                    "flag-3" => f.flag_3 = true,
                    _ if sched == "sh" => match k {
                        "sh-port" => f.sh_port = true,
                        "sh-fallback" => f.sh_fallback = true,
                        _ => {}
                    },
                    _ if sched == "mh" => match k {
                        "mh-port" => f.mh_port = true,
                        "mh-fallback" => f.mh_fallback = true,
                        _ => {}
                    },
                    _ => err(ctx, format!("{k} only applies to sh scheduler - ignoring")),
                }
            }
            "persistence_engine" => {
                let s = ctx.arg(args, 1)?;
                // IP_VS_PENAME_MAXLEN is 16 with the NUL.
                let mut v = s.to_string();
                if v.len() > 15 {
                    err(ctx, format!("persistence_name too long, truncating - {s}"));
                    let mut end = 15;
                    while !v.is_char_boundary(end) {
                        end -= 1;
                    }
                    v.truncate(end);
                }
                vs!().persistence_engine = Some(v);
            }
            "ip_family" => {
                let s = ctx.arg(args, 1)?;
                let fam = match s {
                    "inet" => Some(IpFamily::Inet),
                    "inet6" => Some(IpFamily::Inet6),
                    _ => {
                        err(ctx, format!("unknown address family {s}"));
                        None
                    }
                };
                if let Some(fam) = fam {
                    // keepalived knows the family of an address-based service already.
                    let known = match &vs!().addr {
                        VsAddr::Ip { addr, .. } => Some(if addr.is_ipv4() {
                            IpFamily::Inet
                        } else {
                            IpFamily::Inet6
                        }),
                        _ => vs!().ip_family,
                    };
                    if known.is_some_and(|f| f != fam) {
                        err(
                            ctx,
                            format!(
                                "Virtual server specified family {s} conflicts with server family"
                            ),
                        );
                    } else {
                        vs!().ip_family = Some(fam);
                    }
                }
            }
            "snmp_name" => {
                if args.len() != 2 {
                    err(ctx, "virtual server snmp_name missing or extra parameters");
                } else {
                    vs!().snmp_name = Some(ctx.arg(args, 1)?.to_string());
                }
            }
            "protocol" => {
                let s = ctx.arg(args, 1)?;
                let pr = match s.to_ascii_uppercase().as_str() {
                    "TCP" => Some(Protocol::Tcp),
                    "UDP" => Some(Protocol::Udp),
                    "SCTP" => Some(Protocol::Sctp),
                    _ => None,
                };
                match pr {
                    Some(pr) => vs!().protocol = Some(pr),
                    None => err(ctx, format!("Unknown protocol {s} - ignoring")),
                }
            }
            "persistence_timeout" => {
                let v = match args.opt(1) {
                    None => Some(360),
                    // LVS_MAX_TIMEOUT: 31 days.
                    Some(s) => match read_unsigned(s, 1, 2_678_400) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            err(ctx, e);
                            err(ctx, "persistence_timeout invalid");
                            None
                        }
                    },
                };
                if let Some(v) = v {
                    vs!().persistence_timeout = Some(Duration::from_secs(v));
                }
            }
            "persistence_granularity" => {
                vs!().persistence_granularity = Some(ctx.arg(args, 1)?.to_string())
            }
            "quorum" => {
                if let Some(v) = unsigned(ctx, args, 1, 1, u32::MAX as u64)? {
                    vs!().quorum = v as u32;
                }
            }
            "hysteresis" => {
                if let Some(v) = unsigned(ctx, args, 1, 0, u32::MAX as u64)? {
                    vs!().hysteresis = v as u32;
                }
            }
            "quorum_up" | "quorum_down" => {
                let s = script(ctx, args)?;
                if k == "quorum_up" {
                    vs!().quorum_up = s
                } else {
                    vs!().quorum_down = s
                }
            }
            "sorry_server" => {
                let a = ctx.arg(args, 1)?;
                match ip(a) {
                    Some(addr) => {
                        let port = args.opt(2).and_then(|p| p.parse().ok());
                        vs!().sorry_server = Some((addr, port));
                    }
                    None => err(
                        ctx,
                        format!("Invalid sorry_server IP address {a} - skipping"),
                    ),
                }
            }
            "sorry_server_inhibit" => vs!().sorry_server_inhibit = true,
            "omega" => vs!().omega = true,
            "ha_suspend" => vs!().ha_suspend = true,
            "ops" => vs!().ops = true,
            "smtp_alert" => vs!().smtp_alert = opt_bool(ctx, args),
            "weight" => {
                if let Some(v) = unsigned(ctx, args, 1, 1, 65535)? {
                    vs!().weight = Some(v as u32);
                }
            }
            "real_server" => {
                let a = ctx.arg(args, 1)?;
                match ip(a) {
                    Some(addr) => {
                        let port = args.opt(2).and_then(|p| p.parse().ok());
                        vs!().real_servers.push(RealServer {
                            addr,
                            port,
                            weight: None,
                            lvs_method: None,
                            method: None,
                            snmp_name: None,
                            notify_up: None,
                            notify_down: None,
                            uthreshold: None,
                            lthreshold: None,
                            smtp_alert: None,
                            options: CheckOptions::default(),
                            checkers: Vec::new(),
                            parsed: Parsed::new(),
                        });
                    }
                    None => {
                        err(
                            ctx,
                            format!("Invalid real server ip address/port {a} - skipping"),
                        );
                        ctx.skip_block(true);
                    }
                }
            }
            _ => {}
        }
        return Ok(());
    }
    if vs!().real_servers.is_empty() {
        return Ok(());
    }
    macro_rules! rs {
        () => {
            vs!().real_servers.last_mut().expect("rs exists")
        };
    }
    if depth == 2 {
        match k {
            "weight" => {
                if let Some(v) = unsigned(ctx, args, 1, 0, 65535)? {
                    rs!().weight = Some(v as u32);
                }
            }
            "uthreshold" | "lthreshold" => {
                if let Some(v) = unsigned(ctx, args, 1, 0, u32::MAX as u64)? {
                    if k == "uthreshold" {
                        rs!().uthreshold = Some(v as u32)
                    } else {
                        rs!().lthreshold = Some(v as u32)
                    }
                }
            }
            "notify_up" | "notify_down" => {
                let s = script(ctx, args)?;
                if k == "notify_up" {
                    rs!().notify_up = s.map(Box::new)
                } else {
                    rs!().notify_down = s.map(Box::new)
                }
            }
            "smtp_alert" => rs!().smtp_alert = opt_bool(ctx, args),
            "lvs_method" => {
                let prev = rs!().method;
                if let Some(m) = lvs_method_line(ctx, args, "real", prev)? {
                    rs!().lvs_method = Some(m.kind);
                    rs!().method = Some(m);
                }
            }
            "snmp_name" => {
                if args.len() != 2 {
                    err(ctx, "real server snmp_name missing or extra parameters");
                } else {
                    rs!().snmp_name = Some(ctx.arg(args, 1)?.to_string());
                }
            }
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "MISC_CHECK" | "SMTP_CHECK" | "DNS_CHECK"
            | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" | "BFD_CHECK" => {
                let kind = match k {
                    "TCP_CHECK" => CheckerKind::Tcp,
                    "HTTP_GET" => CheckerKind::HttpGet,
                    "SSL_GET" => CheckerKind::SslGet,
                    "MISC_CHECK" => CheckerKind::Misc,
                    "SMTP_CHECK" => CheckerKind::Smtp,
                    "DNS_CHECK" => CheckerKind::Dns,
                    "UDP_CHECK" => CheckerKind::Udp,
                    "PING_CHECK" => CheckerKind::Ping,
                    "FILE_CHECK" => CheckerKind::File,
                    _ => CheckerKind::Bfd,
                };
                // Almost every real server has one checker; a Checker is large, and push's
                // first allocation holds four (40 MB of spare capacity on 40,000 servers).
                let checkers = &mut rs!().checkers;
                checkers.reserve_exact(1);
                checkers.push(Checker::new(kind));
            }
            _ => {}
        }
        return Ok(());
    }
    let Some(_) = rs!().checkers.last_mut() else {
        return Ok(());
    };
    macro_rules! ck {
        () => {
            rs!().checkers.last_mut().expect("checker exists")
        };
    }
    if depth == 3 {
        match k {
            "connect_ip" | "bindto" => {
                let a = ctx.arg(args, 1)?;
                match sock_ip(a) {
                    Some(v) => {
                        let other = if k == "connect_ip" {
                            ck!().bindto
                        } else {
                            ck!().connect_ip
                        };
                        if other.is_some_and(|o| o.is_ipv4() != v.is_ipv4()) {
                            let o = if k == "connect_ip" {
                                "bindto"
                            } else {
                                "connect_ip"
                            };
                            err(
                                ctx,
                                format!("{k} address {a} does not match address family of {o} - skipping"),
                            );
                        } else if k == "connect_ip" {
                            ck!().connect_ip = Some(v)
                        } else {
                            ck!().bindto = Some(v)
                        }
                    }
                    None => err(ctx, format!("Invalid {k} address {a} - ignoring")),
                }
            }
            "connect_port" | "bind_port" => {
                let a = ctx.arg(args, 1)?;
                match read_unsigned(a, 1, 65535) {
                    Ok(v) => {
                        if k == "connect_port" {
                            ck!().connect_port = Some(v as u16)
                        } else {
                            ck!().bind_port = Some(v as u16)
                        }
                    }
                    Err(e) => {
                        ctx.report(Severity::Error, "invalid-number", e);
                        err(ctx, format!("Invalid checker {k} '{a}'"));
                    }
                }
            }
            "bind_if" => {
                let a = ctx.arg(args, 1)?;
                if a.len() > 15 {
                    err(ctx, format!("Interface name {a} is too long - ignoring"));
                } else {
                    ck!().bind_if = Some(a.to_string());
                }
            }
            "url" => ck!().urls.push(Url::default()),
            "misc_path" => {
                // Like vrrp_script's `script`: the user comes from `user` or, when the block
                // closes, the default script user.
                let s = script_command(ctx, args)?;
                ck!().misc_path = s.map(Box::new);
            }
            "misc_timeout" => {
                if let Some(v) = unsigned(ctx, args, 1, 1, u32::MAX as u64)? {
                    ck!().misc_timeout = Some(Duration::from_secs(v));
                }
            }
            "misc_dynamic" => ck!().misc_dynamic = true,
            "payload" => {
                if args.len() < 2 {
                    err(ctx, "UDP_CHECK payload requires a payload");
                } else {
                    match read_hex_str(&args.from(1).join(" "), false) {
                        Some((d, _)) => ck!().udp_payload = Some(d),
                        None => err(ctx, "Invalid hex string for UDP_CHECK payload"),
                    }
                }
            }
            "require_reply" => {
                ck!().udp_require_reply = true;
                if args.len() >= 2 {
                    match read_hex_str(&args.from(1).join(" "), true) {
                        Some(r) => ck!().udp_reply = Some(Box::new(r)),
                        None => err(ctx, "Invalid hex string for UDP_CHECK reply"),
                    }
                }
            }
            "min_reply_length" | "max_reply_length" => {
                let a = ctx.arg(args, 1)?;
                match read_unsigned(a, 0, 65535) {
                    Ok(v) => {
                        if k == "min_reply_length" {
                            ck!().udp_min_reply_length = Some(v as u16)
                        } else {
                            ck!().udp_max_reply_length = Some(v as u16)
                        }
                    }
                    Err(e) => {
                        ctx.report(Severity::Error, "invalid-number", e);
                        let w = if k == "min_reply_length" {
                            "min"
                        } else {
                            "max"
                        };
                        err(
                            ctx,
                            format!(
                                "UDP_CHECK {w} length {a} not valid - must be between 0 & 65535"
                            ),
                        );
                    }
                }
            }
            "type" => {
                let a = ctx.arg(args, 1)?;
                match dns_type_code(a) {
                    Some(t) => ck!().dns_type = Some(t),
                    None => err(ctx, format!("Unknown DNS check type {a} - ignoring")),
                }
            }
            "name" => {
                let a = ctx.arg(args, 1)?;
                let empty_label = (a.starts_with('.') && a != ".") || a.contains("..");
                if ck!().dns_name.is_some() {
                    err(ctx, "DNS_CHECK name already specified - ignoring");
                } else if empty_label {
                    err(
                        ctx,
                        format!("DNS_CHECK name '{a}' has empty label - ignoring"),
                    );
                } else {
                    ck!().dns_name = Some(a.to_string());
                }
            }
            "helo_name" => ck!().helo_name = Some(ctx.arg(args, 1)?.to_string()),
            // FILE_CHECK (check_file.c)
            "track_file" => {
                let name = ctx.arg(args, 1)?;
                if ctx.b.cfg.track_files.iter().any(|t| t.name == name) {
                    ck!().track_file = Some(name.to_string());
                } else {
                    err(ctx, format!("track_file {name} not found"));
                }
            }
            "weight" => {
                let Some(w) = args.opt(1) else {
                    err(ctx, "track file weight missing");
                    return Ok(());
                };
                let limit = i32::MAX as i64;
                match read_int(w, -limit, limit) {
                    Ok(v) => {
                        let reverse = match args.opt(2) {
                            None | Some("noreverse") => Some(false),
                            Some("reverse") => Some(true),
                            Some(o) => {
                                err(
                                    ctx,
                                    format!("unknown track file weight option {o} - ignoring"),
                                );
                                None
                            }
                        };
                        if let Some(r) = reverse {
                            ck!().file_weight = Some((v as i32, r));
                        }
                    }
                    Err(e) => {
                        ctx.report(Severity::Error, "invalid-number", e);
                        err(
                            ctx,
                            format!("weight for track file must be in [-{limit}..{limit}] inclusive. Ignoring..."),
                        );
                    }
                }
            }
            "http_protocol" => {
                let s = ctx.arg(args, 1)?;
                let v = match s {
                    "1.0" => Some(HttpProtocol::Http10),
                    "1.1" => Some(HttpProtocol::Http11),
                    "1.0C" | "1.0c" => Some(HttpProtocol::Http10Close),
                    _ => {
                        err(ctx, format!("Invalid http_protocol version {s}"));
                        None
                    }
                };
                if v.is_some() {
                    ck!().http_protocol = v;
                }
            }
            "enable_sni" | "fast_recovery" => {
                if let Some(b) = opt_bool(ctx, args) {
                    if k == "enable_sni" {
                        ck!().enable_sni = Some(b)
                    } else {
                        ck!().fast_recovery = Some(b)
                    }
                }
            }
            _ => {}
        }
        return Ok(());
    }
    let Some(_) = ck!().urls.last_mut() else {
        return Ok(());
    };
    macro_rules! url {
        () => {
            ck!().urls.last_mut().expect("url exists")
        };
    }
    match k {
        "path" => url!().path = Some(ctx.arg(args, 1)?.to_string()),
        "digest" => {
            let d = ctx.arg(args, 1)?.to_string();
            if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                err(ctx, format!("digest '{d}' is not a valid MD5 digest"));
            } else {
                url!().digest = Some(d.to_ascii_lowercase());
            }
        }
        "status_code" => {
            let mut ranges = Vec::new();
            for w in args.from(1) {
                let (a, b) = w.split_once('-').unwrap_or((&w, &w));
                match (a.parse::<u16>(), b.parse::<u16>()) {
                    (Ok(a), Ok(b))
                        if (100..=599).contains(&a) && (100..=599).contains(&b) && a <= b =>
                    {
                        ranges.push((a, b))
                    }
                    _ => err(
                        ctx,
                        format!("Invalid HTTP_GET status code range '{w}' - skipping"),
                    ),
                }
            }
            url!().status_code.extend(ranges);
        }
        "virtualhost" => url!().virtualhost = Some(ctx.arg(args, 1)?.to_string()),
        // check_http.c's regex handlers: their complaints are log lines of the checker
        // process, not configuration errors.
        "regex" => {
            let words = command_words(args.rest_text(0).unwrap_or("")).unwrap_or_default();
            if words.len() != 2 {
                url!()
                    .regex_log
                    .push("regex missing or too many fields".into());
            } else {
                url!().regex = words.get(1).cloned();
            }
        }
        "regex_no_match" => url!().regex_no_match = true,
        "regex_options" => {
            let known = crate::check::matcher::OPTION_NAMES;
            let names = args.from(1);
            let u = url!();
            for n in names {
                if known.contains(&n.as_str()) {
                    u.regex_options.push(n);
                }
            }
        }
        "regex_min_offset" | "regex_max_offset" => {
            let which = if k == "regex_min_offset" {
                "min"
            } else {
                "max"
            };
            let v = if args.len() != 2 {
                url!().regex_log.push(format!(
                    "Missing or too may options for regex_{which}_offset"
                ));
                0
            } else {
                let a = args.opt(1).unwrap_or("");
                match strtoul_whole(a) {
                    Some(v) => v,
                    None => {
                        url!()
                            .regex_log
                            .push(format!("Invalid regex_{which}_offset {a} specified"));
                        0
                    }
                }
            };
            if which == "min" {
                url!().regex_min_offset = Some(v);
            } else {
                url!().regex_max_offset = Some(v);
            }
        }
        "regex_stack" => {
            let msg = if args.len() != 3 {
                Some("regex_stack requires start and max values")
            } else {
                match (
                    strtoul_whole(args.opt(1).unwrap_or("")),
                    strtoul_whole(args.opt(2).unwrap_or("")),
                ) {
                    (None, _) => Some("regex_stack invalid start value"),
                    (_, None) => Some("regex_stack invalid max value"),
                    (Some(a), Some(b)) if a > b => {
                        Some("regex stack start cannot exceed max value")
                    }
                    (Some(a), Some(b)) => {
                        url!().regex_stack = Some((a as u64, b as u64));
                        None
                    }
                }
            };
            if let Some(m) = msg {
                url!().regex_log.push(m.into());
            }
        }
        _ => {}
    }
    Ok(())
}

/// C's `strtoul(s, &end, 10)` with `*end == 0` required (keepalived's regex offsets): leading
/// blanks and a sign are accepted, a negative value wraps, an overflow saturates.
fn strtoul_whole(s: &str) -> Option<usize> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if t.is_empty() {
        // no digits: strtoul consumes nothing, so `end` is at the (non-empty) input
        return if s.is_empty() { Some(0) } else { None };
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = t.parse::<u64>().unwrap_or(u64::MAX) as usize;
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_list_is_sorted_and_in_the_tree() {
        let mut sorted = TYPED.to_vec();
        sorted.sort();
        assert_eq!(sorted, TYPED, "TYPED must stay sorted for binary search");
        let mut all = std::collections::BTreeSet::new();
        super::super::keywords::walk(&mut |k| {
            all.insert(k.path);
        });
        for p in TYPED {
            assert!(all.contains(p), "{p} is not a keyword path");
        }
    }
}

/// `notify_master|backup|fault|stop` and generic `notify`, shared by instances and sync groups.
trait NotifySlots {
    fn notify_slot(&mut self, k: &str) -> &mut Option<Script>;
}

macro_rules! notify_slots {
    ($t:ty) => {
        impl NotifySlots for $t {
            fn notify_slot(&mut self, k: &str) -> &mut Option<Script> {
                match k {
                    "notify_master" => &mut self.notify_master,
                    "notify_backup" => &mut self.notify_backup,
                    "notify_fault" => &mut self.notify_fault,
                    "notify_stop" => &mut self.notify_stop,
                    _ => &mut self.notify,
                }
            }
        }
    };
}
notify_slots!(VrrpInstance);
notify_slots!(SyncGroup);
