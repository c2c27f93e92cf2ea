//! `static_routes` / `virtual_routes` and `static_rules` / `virtual_rules` lines, checked the
//! way keepalived 2.2.7's `alloc_route()` and `alloc_rule()` check them: the same messages at
//! the same line, and the same verdict (a rejected line is not kept).

use super::decode::Builder;
use super::diag::Severity;
use super::engine::Ctx;
use super::lexer::Tok;

type C<'a, 'h> = Ctx<'a, Builder<'h>>;

fn err(ctx: &mut C<'_, '_>, msg: impl Into<String>) {
    ctx.report(Severity::Error, "invalid-route", msg);
}

const RTPROT_KEEPALIVED: u32 = 18;

/// Address family of a parsed address: 4, 6, or 0 for `default`/`any`/`all`.
type Family = u8;

/// keepalived's `parse_ipaddress`: "VRRP parsed invalid IP" when the address does not parse.
fn parse_ip(ctx: &mut C<'_, '_>, s: &str, allow_prefix: bool) -> Option<Family> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) if allow_prefix => (a, Some(p)),
        _ => (s, None),
    };
    let v6 = s.contains(':');
    let ok = if v6 {
        a.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        a.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if !ok {
        err(ctx, format!("VRRP parsed invalid IP {s}. skipping IP..."));
        return None;
    }
    let max = if v6 { 128 } else { 32 };
    if let Some(p) = p {
        if p.parse::<u32>().map_or(true, |n| n > max) {
            err(
                ctx,
                format!("Invalid address prefix len {p} for address {s} - using {max}"),
            );
        }
    }
    Some(if v6 { 6 } else { 4 })
}

/// keepalived's `parse_route`: `default`/`any`/`all`, `default6`, or ADDR[/LEN].
fn parse_route(ctx: &mut C<'_, '_>, s: &str) -> Option<Family> {
    match s {
        "default" | "any" | "all" => Some(0),
        "default6" => Some(6),
        _ => parse_ip(ctx, s, true),
    }
}

fn number(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&v| v <= max)
}

fn table(s: &str) -> Option<u64> {
    match s {
        "default" => Some(253),
        "main" => Some(254),
        "local" => Some(255),
        _ => number(s, u32::MAX as u64),
    }
}

fn protocol(s: &str) -> Option<u32> {
    let named = [
        ("none", 0),
        ("redirect", 1),
        ("kernel", 2),
        ("boot", 3),
        ("static", 4),
        ("keepalived", 18),
        ("gated", 8),
        ("ra", 9),
        ("mrt", 10),
        ("zebra", 11),
        ("bird", 12),
        ("babel", 42),
        ("dnrouted", 13),
        ("xorp", 14),
        ("ntk", 15),
        ("dhcp", 16),
    ];
    named
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .or_else(|| number(s, 255).map(|v| v as u32))
}

const RTN_TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
    "xresolve",
];

/// A `dev`/`oif`/`iif` interface: without `dynamic_interfaces` a missing one is an error and
/// stops keepalived's VRRP process before its post-parse checks.
fn interface(ctx: &mut C<'_, '_>, name: &str) -> bool {
    if ctx.b.host.interface_exists(name) || ctx.b.cfg.global.dynamic_interfaces {
        return true;
    }
    ctx.b.missing_interface = true;
    false
}

fn family_ok(ctx: &mut C<'_, '_>, fam: &mut Family, f: Family, msg: &str) -> bool {
    if f == 0 {
        return true;
    }
    if *fam == 0 {
        *fam = f;
        return true;
    }
    if *fam != f {
        err(ctx, msg.to_string());
        return false;
    }
    true
}

/// One route line; `false` = keepalived rejects it.
pub(super) fn route(ctx: &mut C<'_, '_>, toks: &[Tok], allow_track_group: bool) -> bool {
    let w: Vec<&str> = toks.iter().map(|t| t.text).collect();
    let at = |i: usize| w.get(i).copied().unwrap_or("");
    let mut fam: Family = 0;
    let mut i = 0;
    let mut dest: Option<String> = None;
    let mut dst_ok = false;
    let mut oif = false;
    let mut dont_track = false;
    let mut proto: Option<u32> = None;
    let mut have_or = false;
    let mut nexthop = false;
    const MIX: &str = "Cannot mix IPv4 and IPv6 addresses for route";
    while i < w.len() {
        let s = w[i];
        match s {
            "inet" | "inet6" => {
                let f = if s == "inet" { 4 } else { 6 };
                if fam != 0 && fam != f {
                    err(
                        ctx,
                        format!("{s} specified for IPv{} route", if f == 4 { 6 } else { 4 }),
                    );
                    return false;
                }
                fam = f;
            }
            "src" => {
                i += 1;
                let Some(f) = parse_ip(ctx, at(i), false) else {
                    err(ctx, format!("invalid route src address {}", at(i)));
                    return false;
                };
                if !family_ok(ctx, &mut fam, f, MIX) {
                    return false;
                }
            }
            "as" => {
                i += 1;
                if at(i) == "to" {
                    i += 1;
                }
                err(ctx, "\"as to\" for MPLS only - ignoring");
            }
            "via" | "gw" => {
                if s == "gw" {
                    err(ctx, "\"gw\" for routes is deprecated. Please use \"via\"");
                }
                i += 1;
                let mut f = fam;
                if at(i) == "inet" || at(i) == "inet6" {
                    f = if at(i) == "inet" { 4 } else { 6 };
                    i += 1;
                }
                if !family_ok(ctx, &mut fam, f, MIX) {
                    return false;
                }
                let Some(f) = parse_ip(ctx, at(i), false) else {
                    err(ctx, format!("invalid route via address {}", at(i)));
                    return false;
                };
                if !family_ok(ctx, &mut fam, f, MIX) {
                    return false;
                }
            }
            "from" => {
                i += 1;
                let Some(f) = parse_route(ctx, at(i)) else {
                    err(ctx, format!("invalid route from address {}", at(i)));
                    return false;
                };
                if f != 6 {
                    err(
                        ctx,
                        format!("route from address only supported with IPv6 ({})", at(i)),
                    );
                    return false;
                }
                if !family_ok(ctx, &mut fam, f, MIX) {
                    return false;
                }
            }
            "table" => {
                i += 1;
                if table(at(i)).is_none() {
                    err(ctx, format!("Routing table {} not found for route", at(i)));
                    return false;
                }
            }
            "protocol" => {
                i += 1;
                match protocol(at(i)) {
                    Some(p) => proto = Some(p),
                    None => {
                        err(
                            ctx,
                            format!("Protocol {} not found or invalid for route", at(i)),
                        );
                        return false;
                    }
                }
            }
            "scope" => {
                i += 1;
                let ok = matches!(at(i), "global" | "nowhere" | "host" | "link" | "site")
                    || number(at(i), 255).is_some();
                if !ok {
                    err(
                        ctx,
                        format!("Scope {} not found or invalid for route", at(i)),
                    );
                    return false;
                }
            }
            "metric" | "priority" | "preference" => {
                i += 1;
                if number(at(i), u32::MAX as u64).is_none() {
                    err(ctx, format!("Invalid metric {} specified for route", at(i)));
                    return false;
                }
            }
            "dev" | "oif" => {
                i += 1;
                let name = at(i).to_string();
                if !interface(ctx, &name) {
                    err(
                        ctx,
                        format!("WARNING - interface {name} for VROUTE nexthop doesn't exist"),
                    );
                    return false;
                }
                oif = true;
            }
            "onlink" | "add" | "prepend" | "append" => {}
            "no_track" => dont_track = true,
            "mtu" | "advmss" | "rtt" | "rttvar" | "reordering" | "cwnd" | "ssthresh"
            | "rto_min" => {
                i += 1;
                if at(i) == "lock" {
                    i += 1;
                }
                if s == "rtt" || s == "rttvar" || s == "rto_min" {
                    // get_time_rtt: a decimal number of seconds (or NNms), at most 960000.
                    let v = at(i).trim_end_matches("ms").trim_end_matches('s');
                    let ok = v
                        .parse::<f64>()
                        .is_ok_and(|x| (0.0..=960000.0).contains(&x));
                    if !ok {
                        if v.parse::<f64>().is_ok() {
                            err(
                                ctx,
                                format!("number '{}' outside range [0., 960000.]", at(i)),
                            );
                        }
                        let what = if s == "rto_min" {
                            format!("Invalid rto_min value {} specified for route", at(i))
                        } else {
                            format!("Invalid {s} {} for route", at(i))
                        };
                        err(ctx, what);
                        return false;
                    }
                } else if number(at(i), u32::MAX as u64).is_none() {
                    let what = match s {
                        "mtu" => "MTU",
                        "reordering" => "reordering value",
                        "cwnd" => "cwnd value",
                        "ssthresh" => "ssthresh value",
                        _ => s,
                    };
                    err(ctx, format!("Invalid {what} {} specified for route", at(i)));
                    return false;
                }
            }
            "hoplimit" | "window" | "initcwnd" | "initrwnd" | "expires" | "quickack"
            | "fastopen_no_cookie" => {
                i += 1;
                let max = match s {
                    "hoplimit" => 255,
                    "quickack" | "fastopen_no_cookie" => 1,
                    _ => u32::MAX as u64,
                };
                if number(at(i), max).is_none() {
                    let what = match s {
                        "hoplimit" => s.to_string(),
                        "expires" => "expires time".to_string(),
                        _ => format!("{s} value"),
                    };
                    err(ctx, format!("Invalid {what} {} specified for route", at(i)));
                    return false;
                }
            }
            "tos" | "dsfield" | "realms" | "features" | "congctl" | "pref" | "ttl-propagate"
            | "vrf" | "encap" => {
                i += 1;
                if s == "congctl" && at(i) == "lock" {
                    i += 1;
                }
            }
            "or" => {
                err(
                    ctx,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                );
                if have_or {
                    err(ctx, "\"or\" route already specified - ignoring subsequent");
                    i += 2;
                    continue;
                }
                have_or = true;
                i += 1;
                if parse_ip(ctx, at(i), false).is_none() {
                    err(ctx, format!("Invalid \"or\" address {}", at(i)));
                    return false;
                }
            }
            "nexthop" => {
                if have_or {
                    err(ctx, "Cannot specify nexthops with \"or\" route");
                } else {
                    nexthop = true;
                }
                break;
            }
            "track_group" if allow_track_group => {
                i += 1;
            }
            _ => {
                if s == "to" {
                    i += 1;
                }
                if RTN_TYPES.contains(&s) {
                    i += 1;
                }
                let d = at(i).to_string();
                let Some(f) = parse_route(ctx, &d) else {
                    err(ctx, format!("unknown route keyword {d}"));
                    return false;
                };
                if !family_ok(ctx, &mut fam, f, &format!("{MIX} ({d})")) {
                    return false;
                }
                dest = Some(d);
                dst_ok = true;
            }
        }
        i += 1;
    }
    if nexthop {
        nexthops(ctx, &w, i);
    } else if i < w.len() {
        err(ctx, format!("Route has trailing nonsense - {}", w[i]));
        return false;
    }
    if !dst_ok {
        err(ctx, "Route must have a destination");
        return false;
    }
    if !dont_track {
        if proto.is_some_and(|p| p != RTPROT_KEEPALIVED) {
            err(
                ctx,
                "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
            );
        }
        if !oif {
            err(
                ctx,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking",
                    dest.unwrap_or_default()
                ),
            );
        }
    }
    true
}

/// keepalived's `parse_nexthops` (a bad nexthop is dropped; the route is kept).
fn nexthops(ctx: &mut C<'_, '_>, w: &[&str], mut i: usize) {
    let at = |i: usize| w.get(i).copied().unwrap_or("");
    while i < w.len() && w[i] == "nexthop" {
        i += 1;
        while i < w.len() {
            match w[i] {
                "via" => {
                    i += 1;
                    if at(i) == "inet" || at(i) == "inet6" {
                        i += 1;
                    }
                    if parse_ip(ctx, at(i), false).is_none() {
                        err(ctx, format!("invalid nexthop address {}", at(i)));
                        return;
                    }
                }
                "dev" => {
                    i += 1;
                    let name = at(i).to_string();
                    if !interface(ctx, &name) {
                        err(
                            ctx,
                            format!("WARNING - interface {name} for VROUTE nexthop doesn't exist"),
                        );
                        return;
                    }
                }
                "weight" | "realms" | "encap" => i += 1,
                "onlink" => {}
                _ => break,
            }
            i += 1;
        }
    }
    if i < w.len() {
        err(
            ctx,
            format!("Route has trailing nonsense after nexthops - {}", w[i]),
        );
    }
}

/// One rule line; `false` = keepalived rejects it.
pub(super) fn rule(ctx: &mut C<'_, '_>, toks: &[Tok], allow_track_group: bool) -> bool {
    let w: Vec<&str> = toks.iter().map(|t| t.text).collect();
    let at = |i: usize| w.get(i).copied().unwrap_or("");
    let mut fam: Family = 0;
    let mut i = 0;
    let mut action = false;
    let mut priority = false;
    let mut proto: Option<u32> = None;
    let mut dont_track = false;
    const MIX: &str = "rule specification has mixed IPv4 and IPv6";
    const MORE: &str =
        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule";
    while i < w.len() {
        let s = w[i];
        match s {
            "inet" | "inet6" => {
                let f = if s == "inet" { 4 } else { 6 };
                if fam != 0 && fam != f {
                    err(
                        ctx,
                        format!("{s} specified for IPv{} rule", if f == 4 { 6 } else { 4 }),
                    );
                    return false;
                }
                fam = f;
            }
            "from" | "to" => {
                i += 1;
                let Some(f) = parse_route(ctx, at(i)) else {
                    err(ctx, format!("Invalid rule {s} address {}", at(i)));
                    return false;
                };
                if !family_ok(ctx, &mut fam, f, MIX) {
                    return false;
                }
            }
            "table" | "lookup" => {
                i += 1;
                match table(at(i)) {
                    None => {
                        err(ctx, format!("Routing table {} not found for rule", at(i)));
                        return false;
                    }
                    Some(0) => {
                        err(ctx, "Table 0 is not valid");
                        return false;
                    }
                    Some(_) => {}
                }
                if action {
                    err(ctx, MORE);
                    return false;
                }
                action = true;
            }
            "not" | "l3mdev" => {
                if s == "l3mdev" {
                    action = true;
                }
            }
            "no_track" => dont_track = true,
            "preference" | "order" | "priority" => {
                i += 1;
                if number(at(i), u32::MAX as u64).is_none() {
                    err(ctx, format!("Invalid rule preference {s} specified"));
                    return false;
                }
                priority = true;
            }
            "dev" | "iif" | "oif" => {
                i += 1;
                let name = at(i).to_string();
                if !interface(ctx, &name) {
                    err(
                        ctx,
                        format!("WARNING - interface {name} for rule doesn't exist"),
                    );
                    return false;
                }
            }
            "protocol" => {
                i += 1;
                match protocol(at(i)) {
                    Some(p) => proto = Some(p),
                    None => {
                        err(ctx, format!("Invalid protocol {}", at(i)));
                        return false;
                    }
                }
            }
            "tos"
            | "dsfield"
            | "fwmark"
            | "realms"
            | "suppress_prefixlength"
            | "sup_pl"
            | "suppress_ifgroup"
            | "sup_group"
            | "tunnel-id"
            | "uidrange"
            | "ipproto"
            | "sport"
            | "dport" => i += 1,
            "track_group" if allow_track_group => i += 1,
            _ => {
                let mut a = s;
                if a == "type" {
                    i += 1;
                    a = at(i);
                }
                match a {
                    "goto" => {
                        i += 1;
                        if number(at(i), u32::MAX as u64).is_none() {
                            err(ctx, format!("Invalid target {a} specified"));
                            return false;
                        }
                    }
                    "nop" | "blackhole" | "unreachable" | "prohibit" => {}
                    _ if RTN_TYPES.contains(&a) => {
                        err(ctx, format!("Invalid rule action {a}"));
                        return false;
                    }
                    _ => {
                        err(ctx, format!("Unknown rule option {a}"));
                        return false;
                    }
                }
                if action {
                    err(
                        ctx,
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule",
                    );
                    return false;
                }
                action = true;
            }
        }
        i += 1;
    }
    if !action {
        err(ctx, "No action specified for rule - ignoring");
        return false;
    }
    if !dont_track && proto.is_some_and(|p| p != RTPROT_KEEPALIVED) {
        err(
            ctx,
            "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
        );
    }
    if !priority {
        let v6 = fam == 6;
        let next = if v6 {
            &mut ctx.b.next_rule_priority.1
        } else {
            &mut ctx.b.next_rule_priority.0
        };
        let p = *next;
        *next -= 1;
        err(
            ctx,
            format!(
                "Rule has no preference specified - setting to {p}. This is probably not what you want."
            ),
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::config::diag::Severity;
    use crate::config::host::MemHost;
    use crate::config::{load_with, LoadOptions};
    use std::path::Path;

    fn msgs(conf: &str) -> (u8, Vec<(u32, String)>, crate::model::Config) {
        let h = MemHost::new(&[("/c/k.conf", conf)], &["eth0", "eth1"]);
        let l = load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &h);
        let m = l
            .diagnostics
            .iter()
            .filter(|d| d.severity > Severity::Note)
            .map(|d| (d.span.map_or(0, |s| s.line), d.message.clone()))
            .collect();
        (l.exit_status(), m, l.model)
    }

    /// keepalived 2.2.7's own doc/samples/keepalived.conf.vrrp.routes lines, with the
    /// messages 2.2.7 prints for them.
    #[test]
    fn static_routes_like_keepalived() {
        let (rc, m, model) = msgs(
            "static_routes {\n 192.168.110.0/24 via 192.168.200.254 dev eth1\n 192.168.112.0/24 via 192.168.100.254\n 192.168.113.0/24 via 192.168.100.252 or 192.168.100.253\n 0.0.0.0/0 gw 192.168.0.1 table 100\n 10.0.0.0/8 dev eth9\n 10.1.0.0/16 protocol static dev eth0\n track 10.2.0.0/16 dev eth0\n}\n",
        );
        assert_eq!(rc, 5);
        let cannot = |r: &str| {
            format!("Warning - cannot track route {r} with no interface specified, not tracking")
        };
        assert_eq!(
            m,
            [
                (3, cannot("192.168.112.0/24")),
                (4, "\"or\" for routes is deprecated. Please use \"nexthop\"".into()),
                (4, cannot("192.168.113.0/24")),
                (5, "\"gw\" for routes is deprecated. Please use \"via\"".into()),
                (5, cannot("0.0.0.0/0")),
                (6, "WARNING - interface eth9 for VROUTE nexthop doesn't exist".into()),
                (7, "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol".into()),
                (8, "VRRP parsed invalid IP track. skipping IP...".into()),
                (8, "unknown route keyword track".into()),
                (0, "Non-existent interface specified in configuration".into()),
            ]
        );
        // Rejected lines are not kept.
        assert_eq!(model.static_routes.len(), 5);
    }

    /// keepalived's doc/samples/keepalived.conf.vrrp.rules: rules without a preference get
    /// 16384, 16383, ... (one counter per family); `192.168.100./24` is rejected.
    #[test]
    fn static_rules_like_keepalived() {
        let (rc, m, model) = msgs(
            "static_rules {\n from 192.168.100.0/24 table 1\n to 192.168.100./24 table 1\n from 10.0.0.1 table main priority 100\n from 2001:db8::/32 lookup 5\n iif eth9 table 1 pref 5\n from 1.2.3.4 track\n}\n",
        );
        assert_eq!(rc, 5);
        assert_eq!(
            m,
            [
                (2, "Rule has no preference specified - setting to 16384. This is probably not what you want.".to_string()),
                (3, "VRRP parsed invalid IP 192.168.100./24. skipping IP...".into()),
                (3, "Invalid rule to address 192.168.100./24".into()),
                (5, "Rule has no preference specified - setting to 16384. This is probably not what you want.".into()),
                (6, "WARNING - interface eth9 for rule doesn't exist".into()),
                (7, "Unknown rule option track".into()),
                (0, "Non-existent interface specified in configuration".into()),
            ]
        );
        assert_eq!(model.static_rules.len(), 3);
    }
}
