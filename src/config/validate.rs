//! Checks keepalived makes once a whole configuration has been read (its `*_complete_*` and
//! `validate_config` steps, and the script-security checks). Their messages carry no line
//! number in keepalived's output.

use super::decode::script_ids;
use super::diag::{Diagnostic, Severity};
use super::host::Host;
use crate::model::{AuthType, Config, InitialState, Script, ScriptSecurity, VsAddr, VsgEntry};
use std::path::{Path, PathBuf};

fn e(msg: impl Into<String>) -> Diagnostic {
    Diagnostic::new(Severity::Error, "invalid-config", msg)
}

/// Post-parse checks of the checker and VRRP parts, in keepalived's order (the checker
/// process validates first). `missing_interface`: the VRRP pass met an interface that does not
/// exist, so keepalived's VRRP process stops before its own checks. Scripts keepalived would
/// not run are marked in the model (and dropped from the track lists, as keepalived does).
pub fn validate(cfg: &mut Config, host: &dyn Host, missing_interface: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    validate_check(cfg, host, &mut out);
    validate_vrrp(cfg, host, missing_interface, &mut out);
    out
}

fn validate_check(cfg: &mut Config, host: &dyn Host, out: &mut Vec<Diagnostic>) {
    if cfg.virtual_servers.is_empty() {
        return;
    }
    check_virtual_servers(cfg, out);
    for vs in &cfg.virtual_servers {
        let fwmark = match &vs.addr {
            VsAddr::Fwmark(_) => true,
            VsAddr::Group(g) => cfg
                .virtual_server_groups
                .iter()
                .find(|x| &x.name == g)
                .is_some_and(|x| {
                    x.entries.iter().all(|e| matches!(e, VsgEntry::Fwmark(_)))
                        && !x.entries.is_empty()
                }),
            VsAddr::Ip { .. } => false,
        };
        if fwmark && vs.protocol.is_some() {
            let what = match &vs.addr {
                VsAddr::Fwmark(n) => format!("FWM {n}"),
                VsAddr::Group(g) => format!("[{g}]:0"),
                VsAddr::Ip { .. } => String::new(),
            };
            out.push(e(format!(
                "Warning: Virtual server {what}: protocol specified for fwmark - protocol will be ignored"
            )));
        }
    }
    let ctx = SecCtx::new(cfg, host);
    let mut flags = 0;
    let mut vss = std::mem::take(&mut cfg.virtual_servers);
    for vs in &mut vss {
        for rs in &mut vs.real_servers {
            for ck in &mut rs.checkers {
                flags |= ctx.check_opt(ck.misc_path.as_deref_mut());
            }
        }
    }
    for vs in &mut vss {
        flags |= ctx.check_opt(vs.quorum_up.as_mut());
        flags |= ctx.check_opt(vs.quorum_down.as_mut());
        for rs in &mut vs.real_servers {
            flags |= ctx.check_opt(rs.notify_up.as_deref_mut());
            flags |= ctx.check_opt(rs.notify_down.as_deref_mut());
        }
    }
    cfg.virtual_servers = vss;
    flags |= ctx.check_opt(cfg.global.notify_fifo_script.as_mut());
    flags |= ctx.check_opt(cfg.global.lvs_notify_fifo_script.as_mut());
    if !cfg.global.enable_script_security && flags & SC_ISSCRIPT != 0 {
        out.push(violation("check ", flags));
    }
}

/// keepalived's FMT_VS.
fn fmt_vs(vs: &crate::model::VirtualServer) -> String {
    fmt_vs_as(&vs.addr, vs.protocol)
}

/// keepalived's FMT_VS for a virtual server at `addr` with protocol `proto`.
fn fmt_vs_as(addr: &VsAddr, proto: Option<crate::model::Protocol>) -> String {
    match addr {
        VsAddr::Group(g) => format!("[{g}]:0"),
        VsAddr::Fwmark(n) => format!("FWM {n}"),
        VsAddr::Ip { addr, port } => trio(*addr, proto, port.unwrap_or(0)),
    }
}

/// keepalived's `inet_sockaddrtotrio`: `[ADDR]:PROTO:PORT`.
fn trio(addr: std::net::IpAddr, proto: Option<crate::model::Protocol>, port: u16) -> String {
    crate::model::trio(&addr, crate::model::Protocol::label(proto), port)
}

/// The parts of keepalived's `validate_check_config` that report or correct: virtual servers
/// without real servers are dropped, duplicate real servers removed, defaults announced
/// (protocol UDP, scheduler wlc, forwarding NAT: the model keeps `None`, which the IPVS layer
/// maps to those defaults), a quorum above the real servers' total weight and a hysteresis
/// not below the quorum reduced, and, except for NAT, real/sorry server ports that differ
/// from the virtual server's reset to it.
fn check_virtual_servers(cfg: &mut Config, out: &mut Vec<Diagnostic>) {
    use crate::model::{LbKind, Protocol};
    // A real server's own lvs_method (typed, or still kept verbatim).
    fn rs_method(rs: &crate::model::RealServer) -> Option<LbKind> {
        rs.lvs_method.or_else(|| {
            let m = rs
                .parsed
                .get("virtual_server/real_server/lvs_method")?
                .last()?
                .first()?;
            match m.as_str() {
                "NAT" => Some(LbKind::Nat),
                "DR" => Some(LbKind::Dr),
                "TUN" => Some(LbKind::Tun),
                _ => None,
            }
        })
    }
    let groups = cfg.virtual_server_groups.clone();
    cfg.virtual_servers.retain_mut(|vs| {
        if vs.real_servers.is_empty() {
            out.push(e(format!(
                "Virtual server {} has no real servers - ignoring",
                fmt_vs(vs)
            )));
            return false;
        }
        let group = match &vs.addr {
            VsAddr::Group(g) => groups.iter().find(|x| &x.name == g),
            _ => None,
        };
        let group_has_addr = group.is_some_and(|g| {
            g.entries
                .iter()
                .any(|e| matches!(e, VsgEntry::Range { .. }))
        });
        let by_addr = matches!(vs.addr, VsAddr::Ip { .. }) || group_has_addr;
        let mut proto = vs.protocol;
        if by_addr && proto.is_none() {
            out.push(e(format!(
                "Virtual server {}: no protocol set - defaulting to UDP",
                fmt_vs(vs)
            )));
            proto = Some(Protocol::Udp);
        }
        if vs.lb_algo.is_none() {
            out.push(e(format!(
                "Virtual server {}: no scheduler set, setting default 'wlc'",
                fmt_vs_as(&vs.addr, proto)
            )));
        }
        let rs_proto = if by_addr { proto } else { None };
        let label = fmt_vs_as(&vs.addr, rs_proto);
        // Duplicates (same address and port) after the first are removed.
        let mut seen = Vec::new();
        vs.real_servers.retain(|rs| {
            let key = (rs.addr, rs.port.unwrap_or(0));
            if seen.contains(&key) {
                out.push(e(format!(
                    "VS {label}: real server {} is duplicated - removing second rs",
                    trio(rs.addr, rs_proto, key.1)
                )));
                false
            } else {
                seen.push(key);
                true
            }
        });
        let mut kind = vs.lb_kind;
        let mut weight_sum: u64 = 0;
        for rs in &vs.real_servers {
            if rs_method(rs).is_none() && kind.is_none() {
                out.push(e(format!(
                    "Virtual server {label}: no forwarding method set, setting default NAT"
                )));
                kind = Some(LbKind::Nat);
            }
            weight_sum += u64::from(rs.weight.unwrap_or(vs.weight.unwrap_or(1)));
        }
        let sorry_kind = vs
            .parsed
            .get("virtual_server/sorry_server_lvs_method")
            .and_then(|v| v.last())
            .and_then(|a| a.first())
            .and_then(|m| match m.as_str() {
                "NAT" => Some(LbKind::Nat),
                "DR" => Some(LbKind::Dr),
                "TUN" => Some(LbKind::Tun),
                _ => None,
            });
        if vs.sorry_server.is_some() && sorry_kind.is_none() && kind.is_none() {
            out.push(e(format!(
                "Virtual server {label}: no forwarding method set, setting default NAT"
            )));
            kind = Some(LbKind::Nat);
        }
        let weight_sum = weight_sum.min(u64::from(u32::MAX)) as u32;
        if vs.quorum > weight_sum {
            out.push(e(format!(
                "Warning - quorum {} for {label} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}",
                vs.quorum
            )));
            vs.quorum = weight_sum;
        }
        if vs.hysteresis >= vs.quorum {
            let h = vs.quorum.saturating_sub(1);
            out.push(e(format!(
                "Virtual server {label}: hysteresis {} >= quorum {}; setting hysteresis to {h}",
                vs.hysteresis, vs.quorum
            )));
            vs.hysteresis = h;
        }
        // A group's address entries: non-NAT real servers with a port must match each
        // entry's port (reported only).
        if let Some(g) = group {
            for entry in &g.entries {
                let VsgEntry::Range { first, last, port } = entry else {
                    continue;
                };
                let eport = port.unwrap_or(0);
                let ge = match last {
                    Some(l) if l != first => format!("{first}-{l},{eport}"),
                    _ => format!("{first},{eport}"),
                };
                for rs in &vs.real_servers {
                    if rs_method(rs).or(kind) == Some(LbKind::Nat) {
                        continue;
                    }
                    if let Some(p) = rs.port.filter(|p| *p != 0 && *p != eport) {
                        out.push(e(format!(
                            "virtual server {label}:[{ge}] and real server {} ports don't match",
                            trio(rs.addr, vs.protocol, p)
                        )));
                    }
                }
            }
        }
        // Ports of a virtual server given by address are corrected.
        if let VsAddr::Ip { port, .. } = vs.addr {
            let vport = port.unwrap_or(0);
            for rs in &mut vs.real_servers {
                let nat = rs_method(rs).or(kind) == Some(LbKind::Nat);
                match rs.port {
                    None | Some(0) => rs.port = Some(vport),
                    Some(p) if p != vport && !nat => {
                        out.push(e(format!(
                            "WARNING - virtual server {label} and real server {} ports don't match - resetting",
                            trio(rs.addr, rs_proto, p)
                        )));
                        rs.port = Some(vport);
                    }
                    _ => {}
                }
            }
            let nat = sorry_kind.or(kind) == Some(LbKind::Nat);
            if let Some((_, sp)) = &mut vs.sorry_server {
                if !nat {
                    match *sp {
                        None | Some(0) => *sp = Some(vport),
                        Some(p) if p != vport => {
                            out.push(e(format!(
                                "WARNING - virtual server {label} and sorry server ports don't match - resetting"
                            )));
                            *sp = Some(vport);
                        }
                        _ => {}
                    }
                }
            }
        }
        true
    });
}

fn violation(what: &str, flags: u32) -> Diagnostic {
    Diagnostic::new(
        Severity::Security,
        "script-security",
        format!(
            "SECURITY VIOLATION - {what}scripts are being executed but script_security not enabled.{}",
            if flags & SC_INSECURE != 0 {
                " There are insecure scripts."
            } else {
                ""
            }
        ),
    )
}

fn validate_vrrp(cfg: &mut Config, host: &dyn Host, missing_if: bool, out: &mut Vec<Diagnostic>) {
    if missing_if {
        out.push(Diagnostic::new(
            Severity::Fatal,
            "interface-missing",
            "Non-existent interface specified in configuration",
        ));
        return;
    }
    vrrp_script_security(cfg, host, out);
    // keepalived's chk_min_cfg: the first instance without a VRID stops the VRRP checks.
    if let Some(i) = cfg
        .vrrp_instances
        .iter()
        .find(|i| i.virtual_router_id.is_none())
    {
        out.push(e(format!("({}) the virtual router id must be set", i.name)));
        return;
    }
    // vrrp_sync_set_group: members must exist and be in one group only; groups left empty
    // are removed. `sync_of`: instance name -> whether its group keeps tracker weights.
    let sync_of = sync_groups(cfg, out);
    let script_weight: std::collections::HashMap<String, i32> = cfg
        .vrrp_scripts
        .iter()
        .map(|s| (s.name.clone(), s.weight))
        .collect();
    let file_weight: std::collections::HashMap<String, i32> = cfg
        .track_files
        .iter()
        .map(|f| (f.name.clone(), f.weight))
        .collect();
    let g = &cfg.global;
    for i in &mut cfg.vrrp_instances {
        let name = i.name.clone();
        let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
        let prio = i
            .priority
            .unwrap_or(if i.state == Some(InitialState::Master) {
                255
            } else {
                100
            });
        if i.nopreempt && i.state == Some(InitialState::Master) {
            out.push(e(format!(
                "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
            )));
        }
        if strict {
            if i.virtual_ipaddress.is_empty() {
                out.push(e(format!(
                    "({name}) No VIP specified; at least one is required"
                )));
            }
            if i.state == Some(InitialState::Master) && prio != 255 {
                out.push(e(format!(
                    "({name}) State MASTER must match being address owner"
                )));
            }
            if i.authentication.is_some() {
                out.push(e(format!(
                    "({name}) Strict mode does not support authentication. Ignoring."
                )));
            }
        } else if i.virtual_ipaddress.is_empty() {
            out.push(Diagnostic::new(
                Severity::Warning,
                "no-vip",
                format!("({name}) No VIP specified; at least one is sensible"),
            ));
        }
        // An AH instance must hear an advert (for the sequence number) before taking over.
        let ah = i
            .authentication
            .as_ref()
            .is_some_and(|a| a.auth_type == Some(AuthType::Ah));
        if ah && i.state == Some(InitialState::Master) && prio != 255 {
            out.push(e(format!(
                "({name}) Initial state master is incompatible with AH authentication - clearing"
            )));
            i.state = Some(InitialState::Backup);
        }
        // Any unicast keyword without peers falls back to multicast (deprecated since 2.2.4),
        // unless unicast_fault_no_peer asks for the fault state instead.
        if i.unicast_configured
            && i.unicast_peer.is_empty()
            && !i.parsed.contains_key("vrrp_instance/unicast_fault_no_peer")
        {
            out.push(e(format!(
                "({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."
            )));
        }
        // vrrp_complete_instance: tracking the instance's own interface is dropped.
        if let Some(own) = i.interface.clone() {
            i.track_interface.retain(|t| {
                if t.name == own {
                    out.push(e(format!(
                        "({name}) Ignoring track_interface {own} since own interface"
                    )));
                    false
                } else {
                    true
                }
            });
        }
        // In a sync group (without sync_group_tracking_weight) an instance's own trackers
        // cannot change its priority, and an address owner ignores weights altogether.
        let sync_no_weight = sync_of.get(&name) == Some(&false);
        if sync_no_weight || prio == 255 {
            unweight_trackers(i, sync_no_weight, &script_weight, &file_weight, out);
        }
    }
}

/// keepalived's `vrrp_sync_set_group` over every sync group, in order. Returns, for each
/// instance in a group, whether that group keeps tracker weights.
fn sync_groups(
    cfg: &mut Config,
    out: &mut Vec<Diagnostic>,
) -> std::collections::HashMap<String, bool> {
    let mut member_of = std::collections::HashMap::new();
    let instances: std::collections::HashSet<String> =
        cfg.vrrp_instances.iter().map(|i| i.name.clone()).collect();
    cfg.vrrp_sync_groups.retain_mut(|g| {
        if g.group.is_empty() {
            out.push(e(format!(
                "Sync group {} has no virtual router(s). removing",
                g.name
            )));
            return false;
        }
        let mut kept = Vec::new();
        for m in std::mem::take(&mut g.group) {
            if !instances.contains(&m) {
                out.push(e(format!(
                    "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                    g.name
                )));
            } else if member_of.contains_key(&m) {
                out.push(e(format!(
                    "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                    g.name
                )));
            } else {
                member_of.insert(m.clone(), g.sync_group_tracking_weight);
                kept.push(m);
            }
        }
        g.group = kept;
        match g.group.len() {
            0 => {
                out.push(e(format!(
                    "Sync group {}, no matching virtual router found in group declaration - removing",
                    g.name
                )));
                false
            }
            1 => {
                out.push(e(format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                    g.name
                )));
                true
            }
            _ => true,
        }
    });
    member_of
}

/// The weight rule of keepalived's `vrrp_complete_instance` for an instance in a sync group
/// without `sync_group_tracking_weight` (`sync`), or an address owner: weighted tracked
/// interfaces get weight 0 (sync) or are no longer tracked (owner), weighted scripts are
/// dropped, files with the default weight 1 get weight 0 and other weighted files are dropped.
fn unweight_trackers(
    i: &mut crate::model::VrrpInstance,
    sync: bool,
    script_weight: &std::collections::HashMap<String, i32>,
    file_weight: &std::collections::HashMap<String, i32>,
    out: &mut Vec<Diagnostic>,
) {
    let name = i.name.clone();
    let (why, why_if) = if sync {
        ("SYNC group", "SYNC group")
    } else {
        ("address_owner", "address owner")
    };
    i.track_interface.retain_mut(|t| {
        if t.weight.unwrap_or(0) == 0 {
            return true;
        }
        out.push(e(format!(
            "({name}) ignoring {} tracked interface {}due to {why_if}",
            t.name,
            if sync { "weight " } else { "" }
        )));
        t.weight = Some(0);
        sync
    });
    i.track_script.retain(|t| {
        let w = t
            .weight
            .unwrap_or_else(|| script_weight.get(&t.name).copied().unwrap_or(0));
        if w == 0 {
            return true;
        }
        out.push(e(format!(
            "({name}) ignoring tracked script {} with weights due to {why}",
            t.name
        )));
        false
    });
    i.track_file.retain_mut(|t| {
        let w = t
            .weight
            .unwrap_or_else(|| file_weight.get(&t.name).copied().unwrap_or(1));
        match w {
            0 => true,
            1 => {
                out.push(e(format!(
                    "({name}) ignoring weight from tracked file {} due to {why}. specify weight 0",
                    t.name
                )));
                t.weight = Some(0);
                true
            }
            w => {
                out.push(e(format!(
                    "({name}) ignoring tracked file {} with weight {w} due to {why}",
                    t.name
                )));
                false
            }
        }
    });
}

/// keepalived's `check_vrrp_script_security`: only when there is a VRRP instance.
fn vrrp_script_security(cfg: &mut Config, host: &dyn Host, out: &mut Vec<Diagnostic>) {
    if cfg.vrrp_instances.is_empty() {
        return;
    }
    let ctx = SecCtx::new(cfg, host);
    let mut flags = 0;
    let mut disabled = Vec::new();
    for s in &mut cfg.vrrp_scripts {
        let Some(sc) = s.script.as_mut() else {
            continue;
        };
        let f = ctx.check(sc);
        flags |= f;
        if f & SC_INHIBIT != 0 {
            out.push(e(format!(
                "Disabling track script {} due to insecure",
                s.name
            )));
        } else if f & SC_NOTFOUND != 0 {
            out.push(e(format!(
                "Disabling track script {} since not found/accessible",
                s.name
            )));
        }
        if !sc.runnable() {
            disabled.push(s.name.clone());
        }
    }
    for i in &mut cfg.vrrp_instances {
        for n in [
            &mut i.notify_backup,
            &mut i.notify_master,
            &mut i.notify_fault,
            &mut i.notify_stop,
            &mut i.notify,
        ] {
            flags |= ctx.check_opt(n.as_mut());
        }
        i.track_script.retain(|t| !disabled.contains(&t.name));
    }
    for g in &mut cfg.vrrp_sync_groups {
        for n in [
            &mut g.notify_backup,
            &mut g.notify_master,
            &mut g.notify_fault,
            &mut g.notify_stop,
            &mut g.notify,
        ] {
            flags |= ctx.check_opt(n.as_mut());
        }
        g.track_script.retain(|t| !disabled.contains(&t.name));
    }
    flags |= ctx.check_opt(cfg.global.notify_fifo_script.as_mut());
    flags |= ctx.check_opt(cfg.global.vrrp_notify_fifo_script.as_mut());
    if !cfg.global.enable_script_security && flags & SC_ISSCRIPT != 0 {
        out.push(violation("", flags));
    }
}

// keepalived's script check flags (lib/notify.h), as bits of our own.
const SC_ISSCRIPT: u32 = 1;
const SC_INSECURE: u32 = 2;
const SC_NOTFOUND: u32 = 4;
const SC_INHIBIT: u32 = 8;
const SC_EXECUTABLE: u32 = 16;
const SC_SYSTEM: u32 = 32;

/// What the script checks need to know: the machine, `enable_script_security` and the
/// default script user.
struct SecCtx<'h> {
    host: &'h dyn Host,
    security: bool,
    script_user: Option<(String, Option<String>)>,
    /// Looked up at the first script that runs as the default user: a user database lookup
    /// (NSS, systemd's userdb directories) is not free, and most big configurations (LVS with
    /// TCP_CHECK only) have no script at all.
    default_ids: std::cell::OnceCell<(u32, u32)>,
}

impl<'h> SecCtx<'h> {
    fn new(cfg: &Config, host: &'h dyn Host) -> Self {
        let g = &cfg.global;
        SecCtx {
            host,
            security: g.enable_script_security,
            script_user: g.script_user.clone(),
            default_ids: std::cell::OnceCell::new(),
        }
    }

    /// The global `script_user`, else `keepalived_script`, else ourselves.
    fn default_ids(&self) -> (u32, u32) {
        *self.default_ids.get_or_init(|| {
            self.script_user
                .as_ref()
                .and_then(|(u, gr)| script_ids(self.host, u, gr.as_deref()))
                .or_else(|| self.host.user("keepalived_script"))
                .unwrap_or_else(|| self.host.euid())
        })
    }

    fn check_opt(&self, s: Option<&mut Script>) -> u32 {
        s.map_or(0, |s| self.check(s))
    }

    /// keepalived's `check_script_secure`, recording the verdict in `s.security`.
    fn check(&self, s: &mut Script) -> u32 {
        let ids = match &s.user {
            Some(u) => {
                script_ids(self.host, u, s.group.as_deref()).unwrap_or_else(|| self.default_ids())
            }
            None => self.default_ids(),
        };
        let f = check_script_secure(self.host, &s.args, ids, self.security);
        s.security = if f & SC_SYSTEM != 0 {
            ScriptSecurity::FileTest
        } else if f & SC_INHIBIT != 0 {
            ScriptSecurity::Insecure
        } else if f & SC_NOTFOUND != 0 {
            ScriptSecurity::NotFound
        } else if f & SC_EXECUTABLE == 0 {
            ScriptSecurity::NotExecutable
        } else {
            ScriptSecurity::Runnable
        };
        f
    }
}

fn is_executable(mode: u32, owner: (u32, u32), (uid, gid): (u32, u32)) -> bool {
    (uid == 0 && mode & 0o111 != 0)
        || (uid == owner.0 && mode & 0o100 != 0)
        || (uid != owner.0
            && ((gid == owner.1 && mode & 0o010 != 0) || (gid != owner.1 && mode & 0o001 != 0)))
}

fn check_script_secure(host: &dyn Host, args: &[String], ids: (u32, u32), security: bool) -> u32 {
    let Some(prog) = args.first() else {
        return 0;
    };
    if let Some(rest) = prog.strip_prefix('<') {
        if rest.trim_start_matches([' ', '\t']).starts_with('/') {
            return SC_SYSTEM;
        }
    }
    let mut path = PathBuf::from(prog);
    if !prog.contains('/') {
        // A bare name: the first regular file in PATH executable by the script's user.
        let found = host.path_dirs().into_iter().find_map(|d| {
            let p = if d.as_os_str().is_empty() {
                PathBuf::from(prog)
            } else {
                d.join(prog)
            };
            let st = host.stat(&p)?;
            (st.is_file && is_executable(st.mode, (st.uid, st.gid), ids)).then_some(p)
        });
        match found {
            Some(p) => path = p,
            None => return SC_NOTFOUND,
        }
    }
    let abs = if path.is_absolute() {
        path
    } else {
        host.cwd().join(path)
    };
    let Some(real) = host.realpath(&abs) else {
        return SC_NOTFOUND;
    };
    let Some(st) = host.stat(&real) else {
        return SC_NOTFOUND;
    };
    let mut flags = SC_ISSCRIPT;
    let mut protect = false;
    if is_executable(st.mode, (st.uid, st.gid), ids) {
        flags |= SC_EXECUTABLE;
        protect = ids.0 == 0
            || ids.1 == 0
            || (st.uid == 0 && st.mode & 0o100 != 0 && st.mode & 0o4000 != 0)
            || (st.gid == 0 && st.mode & 0o010 != 0 && st.mode & 0o2000 != 0);
    }
    if protect {
        flags |= check_security(host, &real, security);
    }
    flags
}

/// keepalived's `check_security`: `/`, every directory on the way and the file itself must be
/// owned by root and not writable by a non-root group or by others (sticky directories may be
/// group/world writable).
fn check_security(host: &dyn Host, file: &Path, security: bool) -> u32 {
    let s = file.to_string_lossy();
    let mut prefixes: Vec<&str> = vec!["/"];
    for (i, _) in s.match_indices('/').skip(1) {
        prefixes.push(&s[..i]);
    }
    prefixes.push(&s);
    let last = prefixes.len() - 1;
    for (n, p) in prefixes.iter().enumerate() {
        let Some(st) = host.lstat(Path::new(p)) else {
            return SC_NOTFOUND;
        };
        let is_last = n == last;
        if (!is_last && !st.is_dir) || (is_last && !st.is_file && !st.is_symlink) {
            return SC_INHIBIT;
        }
        let sticky = st.mode & 0o1000 != 0;
        if st.uid != 0
            || (((st.is_dir && !sticky) || st.is_file)
                && ((st.gid != 0 && st.mode & 0o020 != 0) || st.mode & 0o002 != 0))
        {
            return SC_INSECURE | if security { SC_INHIBIT } else { 0 };
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::host::{FileStat, MemHost};
    use crate::config::{load_with, LoadOptions};
    use std::time::Duration;

    fn stat(dir: bool, mode: u32, uid: u32, gid: u32) -> FileStat {
        FileStat {
            is_file: !dir,
            is_dir: dir,
            mode,
            uid,
            gid,
            is_symlink: false,
        }
    }

    const VI: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n track_script {\n  chk\n }\n}\n";

    fn run(host: &MemHost, conf: &str) -> crate::config::Loaded {
        let mut h = MemHost::new(&[("/c/k.conf", conf)], &["eth0"]);
        h.files.extend(host.files.clone());
        h.stats.extend(host.stats.clone());
        h.users.extend(host.users.clone());
        h.path = host.path.clone();
        load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &h)
    }

    fn msgs(l: &crate::config::Loaded) -> Vec<(u32, String)> {
        l.diagnostics
            .iter()
            .filter(|d| d.severity > Severity::Note)
            .map(|d| (d.span.map_or(0, |s| s.line), d.message.clone()))
            .collect()
    }

    fn scripted(script: &str) -> String {
        format!("vrrp_script chk {{\n script \"{script}\"\n}}\n{VI}")
    }

    /// keepalived 2.2.7: an existing executable script without enable_script_security is a
    /// security violation (-t exits 6); the script itself stays runnable.
    #[test]
    fn existing_script_without_script_security_is_a_violation() {
        let mut h = MemHost::default();
        h.files
            .insert("/usr/bin/chk.sh".into(), "#!/bin/sh\n".into());
        h.stats
            .insert("/usr/bin/chk.sh".into(), stat(false, 0o100755, 0, 0));
        let l = run(&h, &scripted("/usr/bin/chk.sh"));
        assert_eq!(l.exit_status(), 6, "{:?}", msgs(&l));
        assert!(msgs(&l).contains(&(
            0,
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled."
                .into()
        )));
        assert!(l.model.vrrp_scripts[0].script.as_ref().unwrap().runnable());
        assert_eq!(l.model.vrrp_instances[0].track_script.len(), 1);
    }

    /// A bare program name is looked up in PATH; a missing one disables the track script
    /// (exit 5, no violation) and drops it from the instance.
    #[test]
    fn missing_script_is_disabled() {
        let mut h = MemHost {
            path: vec!["/bin".into()],
            ..Default::default()
        };
        let l = run(&h, &scripted("nothere -x"));
        assert_eq!(l.exit_status(), 5, "{:?}", msgs(&l));
        assert!(msgs(&l).contains(&(
            0,
            "Disabling track script chk since not found/accessible".into()
        )));
        assert_eq!(
            l.model.vrrp_scripts[0].script.as_ref().unwrap().security,
            ScriptSecurity::NotFound
        );
        assert!(l.model.vrrp_instances[0].track_script.is_empty());

        h.files.insert("/bin/nothere".into(), String::new());
        h.stats
            .insert("/bin/nothere".into(), stat(false, 0o100755, 0, 0));
        let l = run(&h, &scripted("nothere -x"));
        assert_eq!(l.exit_status(), 6, "{:?}", msgs(&l));
    }

    /// The default script user is looked up only when a script needs it: a configuration
    /// without scripts (a big LVS one, reloaded) makes no user database lookup.
    #[test]
    fn no_script_no_user_lookup() {
        // user lookups made while loading a virtual server whose real server has `rs_extra`
        let lookups = |rs_extra: &str| {
            let conf = format!(
                "virtual_server 10.0.0.1 80 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.1.1 80 {{\n{rs_extra}  TCP_CHECK {{\n  }}\n }}\n}}\n"
            );
            let h = MemHost::new(&[("/c/k.conf", &conf)], &["eth0"]);
            let l = load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &h);
            assert_eq!(l.exit_status(), 0, "{:?}", msgs(&l));
            h.user_lookups.load(std::sync::atomic::Ordering::Relaxed)
        };
        assert_eq!(lookups(""), 0);
        // with a script, keepalived_script is looked up
        assert_ne!(
            lookups("  notify_up /bin/true\n  notify_down /bin/true\n"),
            0
        );
    }

    /// With enable_script_security a group-writable directory on the path makes the script
    /// insecure; keepalived disables it. keepalived_script must exist, else every script
    /// fails to get its default user.
    #[test]
    fn insecure_path_with_script_security() {
        let mut h = MemHost::default();
        h.users.insert("keepalived_script".into(), (0, 0));
        h.files.insert("/opt/s/chk.sh".into(), String::new());
        h.stats
            .insert("/opt/s/chk.sh".into(), stat(false, 0o100755, 0, 0));
        h.stats.insert("/opt/s".into(), stat(true, 0o40775, 0, 10));
        let conf = format!(
            "global_defs {{\n enable_script_security\n}}\n{}",
            scripted("/opt/s/chk.sh")
        );
        let l = run(&h, &conf);
        assert_eq!(
            msgs(&l),
            [(0, "Disabling track script chk due to insecure".to_string())]
        );
        assert_eq!(
            l.model.vrrp_scripts[0].script.as_ref().unwrap().security,
            ScriptSecurity::Insecure
        );
        // Sticky (like /tmp) is fine for a directory; a non-root owner never is.
        h.stats.insert("/opt/s".into(), stat(true, 0o41777, 0, 0));
        assert_eq!(run(&h, &conf).exit_status(), 0);
        h.stats
            .insert("/opt/s/chk.sh".into(), stat(false, 0o100755, 1000, 0));
        assert_eq!(run(&h, &conf).exit_status(), 5);
    }

    /// Observed on 2.2.7 (corpus 051/079/097): enable_script_security without a
    /// keepalived_script user removes every vrrp_script at its closing line, and its track
    /// references are then "not found" at their own line.
    #[test]
    fn no_default_script_user_removes_scripts() {
        let conf = format!(
            "global_defs {{\n enable_script_security\n}}\n{}",
            scripted("/bin/true")
        );
        let l = run(&MemHost::default(), &conf);
        assert_eq!(
            msgs(&l),
            [
                (
                    6,
                    "Unable to set default user keepalived_script for script".into()
                ),
                (
                    6,
                    "Unable to set default user for vrrp script chk - removing".into()
                ),
                (14, "(VI_1) track script chk not found, ignoring...".into()),
            ]
        );
        assert!(l.model.vrrp_scripts.is_empty());
    }

    /// `user` in a vrrp_script with an unknown user removes the script (message at the `user`
    /// line, quoting the command as keepalived's cmd_str does).
    #[test]
    fn vrrp_script_unknown_user() {
        let conf = format!(
            "vrrp_script chk {{\n script \"/sbin/pidof nginx\"\n user nobody_here\n}}\n{VI}"
        );
        let l = run(&MemHost::default(), &conf);
        assert_eq!(
            msgs(&l)[0],
            (
                3,
                "Unable to set uid/gid for script '/sbin/pidof' 'nginx'".to_string()
            )
        );
        assert!(l.model.vrrp_scripts.is_empty());
    }

    /// Single quotes group the command on a `script` line (keepalived splits the whole line
    /// shell-like first).
    #[test]
    fn single_quoted_script_line() {
        let conf = format!("vrrp_script chk {{\n script 'killall -0 haproxy' # c\n}}\n{VI}");
        let l = run(&MemHost::default(), &conf);
        assert_eq!(
            l.model.vrrp_scripts[0].script.as_ref().unwrap().args,
            ["killall", "-0", "haproxy"]
        );
    }

    #[test]
    fn missing_interface_skips_vrrp_checks() {
        let conf = "vrrp_instance VI_1 {\n interface eth9\n virtual_router_id 1\n}\n";
        let l = run(&MemHost::default(), conf);
        // No "No VIP specified": keepalived's VRRP process stops first.
        assert_eq!(
            msgs(&l),
            [
                (
                    2,
                    "WARNING - interface eth9 for vrrp_instance VI_1 doesn't exist".to_string()
                ),
                (
                    0,
                    "Non-existent interface specified in configuration".to_string()
                )
            ]
        );
    }

    #[test]
    fn own_track_interface_is_reported_without_line() {
        let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n track_interface {\n  eth0\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [(
                0,
                "(VI_1) Ignoring track_interface eth0 since own interface".to_string()
            )]
        );
        assert!(l.model.vrrp_instances[0].track_interface.is_empty());
    }

    /// keepalived's SSL_GET sample: AH with state MASTER below priority 255 is cleared (exit 5).
    #[test]
    fn ah_with_initial_master_is_cleared() {
        let conf = "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 1\n priority 100\n authentication {\n  auth_type AH\n  auth_pass x\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [(
                0,
                "(VI_1) Initial state master is incompatible with AH authentication - clearing"
                    .to_string()
            )]
        );
        assert_eq!(l.model.vrrp_instances[0].state, Some(InitialState::Backup));
    }

    /// keepalived's fwmark sample: a protocol on a fwmark virtual server is ignored, with a
    /// warning (exit 5).
    #[test]
    fn protocol_on_fwmark_virtual_server() {
        // Checked with 2.2.7: without a real server the virtual server is dropped first
        // ("has no real servers - ignoring") and the protocol is not mentioned.
        let conf = "virtual_server fwmark 1 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 {\n }\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [(
                0,
                "Warning: Virtual server FWM 1: protocol specified for fwmark - protocol will be ignored"
                    .to_string()
            )]
        );
    }

    /// Corpus 144: a second notify_master is ignored at its line; corpus 149: an IPv6 VIP in an
    /// instance whose first VIP is IPv4 is ignored at its line.
    #[test]
    fn duplicate_notify_and_mixed_vip_family() {
        let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n notify_master \"/a.sh master\"\n notify_master \"/a.sh backup\"\n virtual_ipaddress {\n  10.0.0.1\n  fd00::1/64\n }\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [
                (
                    5,
                    "(VI_1) notify_master script already specified - ignoring /a.sh backup"
                        .to_string()
                ),
                (
                    8,
                    "(VI_1): address family must match VRRP instance [fd00::1/64] - ignoring"
                        .to_string()
                ),
            ]
        );
        assert_eq!(l.model.vrrp_instances[0].virtual_ipaddress.len(), 1);
        assert_eq!(
            l.model.vrrp_instances[0]
                .notify_master
                .as_ref()
                .unwrap()
                .args,
            ["/a.sh", "master"]
        );
    }

    /// Corpus 081 under 2.2.7: unicast addresses go through inet_stosockaddr, which ignores a
    /// `/prefix` (no message).
    #[test]
    fn unicast_addresses_ignore_a_prefix() {
        let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n unicast_src_ip 10.0.0.2/24\n unicast_peer {\n  10.0.0.3/24\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(msgs(&l), []);
        let i = &l.model.vrrp_instances[0];
        assert_eq!(i.unicast_src_ip, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(
            i.unicast_peer[0].addr,
            "10.0.0.3".parse::<std::net::IpAddr>().unwrap()
        );
    }

    /// keepalived 2.2.7 (Debian: nftables, no iptables, no ipset): `vrrp_iptables` is
    /// reported and selects nftables table "keepalived"; `vrrp_ipsets` is an unknown keyword;
    /// a second `nftables` is ignored.
    #[test]
    fn vrrp_iptables_means_nftables() {
        let l = run(
            &MemHost::default(),
            "global_defs {\n vrrp_iptables\n vrrp_ipsets foo\n}\n",
        );
        assert_eq!(
            msgs(&l),
            [
                (2, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option".to_string()),
                (3, "Unknown keyword 'vrrp_ipsets'".to_string()),
            ]
        );
        assert_eq!(l.exit_status(), 5);
        assert_eq!(l.model.global.nftables.as_deref(), Some("keepalived"));
        let l = run(
            &MemHost::default(),
            "global_defs {\n nftables kv\n nftables other\n}\n",
        );
        assert_eq!(
            msgs(&l),
            [(3, "nftables already specified - ignoring".to_string())]
        );
        assert_eq!(l.model.global.nftables.as_deref(), Some("kv"));
    }

    /// Checked against keepalived 2.2.7 -t: bfd_end_handler's checks, each at the line of the
    /// block's `}`; a malformed neighbor drops the instance at once. Disabled instances are not
    /// in the model. (2.2.7 prints the source address twice in the family message, a static
    /// buffer reused by inet_sockaddrtos; we print both addresses.)
    #[test]
    fn bfd_instances_without_usable_neighbor_are_disabled() {
        let conf = "bfd_instance a {\n  weight 10\n}\nbfd_instance b {\n  neighbor_ip 10.0.0.1\n  source_ip fe80::1\n}\nbfd_instance c {\n  neighbor_ip 10.0.0.2\n}\nbfd_instance d {\n  neighbor_ip 10.0.0.2\n}\nbfd_instance e {\n  neighbor_ip 10.0.0.x\n  min_rx 10\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [
                (3, "Configuration error: BFD instance a has no neighbor address set, disabling instance".to_string()),
                (7, "Configuration error: BFD instance b source address fe80::1 and neighbor address 10.0.0.1 are not of the same family, disabling instance".to_string()),
                (13, "Configuration error: BFD instance d has duplicate neighbor address 10.0.0.2, ignoring instance".to_string()),
                (15, "Configuration error: BFD instance e has malformed neighbor address 10.0.0.x, ignoring instance".to_string()),
            ]
        );
        assert_eq!(l.exit_status(), 5);
        let names: Vec<_> = l
            .model
            .bfd_instances
            .iter()
            .map(|b| b.name.as_str())
            .collect();
        assert_eq!(names, ["c"]);
        assert_eq!(
            l.model.bfd_instances[0].neighbor_ip,
            Some("10.0.0.2".parse().unwrap())
        );
        assert!(l.model.bfd_instances[0].parsed.is_empty());
    }

    /// Checked against keepalived 2.2.7 -t: an unknown linkbeat interface is CONFIG_FATAL
    /// (alone it makes -t exit 4) unless dynamic_interfaces is set; a bad polling type is
    /// reported but the interface kept.
    #[test]
    fn linkbeat_interfaces_must_exist() {
        let conf = "linkbeat_interfaces {\n eth0 MII\n eth9\n eth0 FOO\n eth0 IOCTL x\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [
                (
                    3,
                    "unknown interface eth9 specified for linkbeat interface".to_string()
                ),
                (4, "extra characters FOO in linkbeat interface".to_string()),
                (
                    5,
                    "extra characters IOCTL in linkbeat interface".to_string()
                ),
            ]
        );
        assert_eq!(l.exit_status(), 5);
        let lb = &l.model.linkbeat_interfaces;
        assert_eq!(lb.len(), 3);
        assert_eq!(lb[0].kind, Some(crate::model::LinkbeatKind::Mii));
        let l = run(&MemHost::default(), "linkbeat_interfaces {\n eth9\n}\n");
        assert_eq!(l.exit_status(), 4);
        let l = run(
            &MemHost::default(),
            "global_defs {\n dynamic_interfaces\n}\nlinkbeat_interfaces {\n eth9\n}\n",
        );
        assert_eq!(l.exit_status(), 0, "{:?}", msgs(&l));
        assert_eq!(l.model.linkbeat_interfaces[0].name, "eth9");
    }

    /// Checked against keepalived 2.2.7 -t (vrrp_end_handler at the closing line, then the
    /// unicast-without-peers note from vrrp_complete_instance without a line).
    #[test]
    fn unicast_with_vmac_and_unicast_ttl() {
        let conf = "vrrp_instance A {\n  interface eth1\n  virtual_router_id 1\n  use_vmac\n  unicast_peer {\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  use_vmac\n  unicast_src_ip 192.168.200.1\n  unicast_ttl 3\n  virtual_ipaddress {\n    10.0.0.2\n  }\n}\nvrrp_instance C {\n  interface eth0\n  virtual_router_id 3\n  use_vmac\n  vmac_xmit_base\n  unicast_peer {\n    192.168.200.5\n  }\n  virtual_ipaddress {\n    10.0.0.3\n  }\n}\n";
        let mut h = MemHost::new(&[], &["eth0", "eth1"]);
        h.files.insert("/c/k.conf".into(), conf.into());
        let l = load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &h);
        assert_eq!(
            msgs(&l),
            [
                (10, "(A) unicast with use_vmac requires vmac_xmit_base - setting".to_string()),
                (20, "(B) unicast with use_vmac requires vmac_xmit_base - setting".to_string()),
                (20, "(B): Cannot use unicast_ttl without unicast peers - resetting".to_string()),
                (0, "(A) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.".to_string()),
                (0, "(B) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.".to_string()),
            ]
        );
        let v = &l.model.vrrp_instances;
        assert!(v.iter().all(|i| i.vmac_xmit_base && i.use_vmac.is_some()));
        assert_eq!(v[1].unicast_ttl, None);
        // Without the interface the VMAC is dropped instead.
        let l = run(&MemHost::default(), &conf.replace("eth1", "eth9"));
        assert!(msgs(&l).contains(&(
            10,
            "(A): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"
                .to_string()
        )));
        assert_eq!(l.model.vrrp_instances[0].use_vmac, None);
        assert!(!l.model.vrrp_instances[0].vmac_xmit_base);
    }

    /// Checked against keepalived 2.2.7 -t: with `net_namespace` naming a namespace that does
    /// not exist, only the parent's messages are printed and -t exits 0 (the VRRP pass, which
    /// would report line 7 and the missing VRID, never runs); once the namespace exists the
    /// other passes run. A duplicate is reported; a missing name is an ordinary error.
    #[test]
    fn missing_net_namespace_stops_after_the_parent() {
        let conf = "net_namespace c2none\nnet_namespace other\nglobal_defs {\n  bogus\n}\nvrrp_instance X {\n  bogus2\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [
                (
                    2,
                    "Duplicate net_namespace definition other - ignoring".to_string()
                ),
                (4, "Unknown keyword 'bogus'".to_string()),
            ]
        );
        assert_eq!(l.exit_status(), 0);
        assert_eq!(l.missing_net_namespace.as_deref(), Some("c2none"));
        assert_eq!(l.model.global.net_namespace.as_deref(), Some("c2none"));
        assert!(l.model.vrrp_instances.is_empty());

        let mut h = MemHost::default();
        h.stats
            .insert("/run/netns/c2none".into(), stat(false, 0o100444, 0, 0));
        let l = run(&h, conf);
        assert_eq!(l.exit_status(), 5);
        assert!(msgs(&l).contains(&(7, "Unknown keyword 'bogus2'".to_string())));
        assert!(msgs(&l).contains(&(0, "(X) the virtual router id must be set".to_string())));

        let l = run(&MemHost::default(), "net_namespace\n");
        assert_eq!(
            msgs(&l),
            [(1, "net_namespace name missing - ignoring".to_string())]
        );
        assert_eq!(l.exit_status(), 5);
    }

    /// Checked against keepalived 2.2.7 -t: garp_group handlers and end handler (a group
    /// without any delay is removed, numbered by its interfaces block; an invalid number
    /// that reads as 0 still counts as a delay).
    #[test]
    fn garp_groups() {
        let conf = "garp_group {\n  interfaces { eth0 eth9 }\n}\ngarp_group {\n  garp_interval 0.005\n  interface eth0\n  interfaces {\n    eth1\n    eth0\n  }\n}\ngarp_group {\n  gna_interval x\n  interfaces {\n  }\n}\n";
        let mut h = MemHost::new(&[], &["eth0", "eth1"]);
        h.files.insert("/c/k.conf".into(), conf.into());
        let l = load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &h);
        assert_eq!(
            msgs(&l),
            [
                (
                    2,
                    "WARNING - interface eth9 specified for garp_group doesn't exist".to_string()
                ),
                (
                    3,
                    "garp group 1 does not have any delay set - removing".to_string()
                ),
                (
                    10,
                    "garp_group already specified for eth0 - ignoring".to_string()
                ),
                (13, "invalid number 'x'".to_string()),
                (
                    15,
                    "Warning - empty garp_group interfaces block".to_string()
                ),
                (
                    0,
                    "Non-existent interface specified in configuration".to_string()
                ),
            ]
        );
        let g = &l.model.garp_groups;
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].interfaces, ["eth0", "eth1"]);
        assert_eq!(g[0].garp_interval, Some(Duration::from_millis(5)));
        assert_eq!(g[0].aggregation_group, 1);
        assert_eq!(g[1].gna_interval, Some(Duration::ZERO));

        let l = run(
            &MemHost::default(),
            "garp_group {\n  gna_interval 3\n  interfaces {\n  }\n}\ngarp_group {\n  interface eth0\n}\n",
        );
        assert_eq!(
            msgs(&l),
            [
                (4, "Warning - empty garp_group interfaces block".to_string()),
                (
                    8,
                    "garp group 0 does not have any delay set - removing".to_string()
                ),
            ]
        );
    }

    /// Checked against keepalived 2.2.7 -t: a track_file without `file` is dropped at its
    /// closing line, so a reference to it is "not found"; a duplicate reference is ignored.
    /// (2.2.7 segfaults when another track_file follows a file-less one; we carry on.)
    #[test]
    fn track_file_needs_a_file() {
        let conf = "vrrp_track_file tf {\n  weight 3\n}\nvrrp_track_file ok {\n  file /tmp/x\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  track_file {\n    tf\n    ok\n    ok\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n";
        let l = run(&MemHost::default(), conf);
        assert_eq!(
            msgs(&l),
            [
                (3, "No file set for track_file tf - ignoring".to_string()),
                (11, "(A) track file tf not found, ignoring...".to_string()),
                (13, "(A) duplicate track_file ok - ignoring".to_string()),
            ]
        );
        assert_eq!(l.model.track_files.len(), 1);
        let refs: Vec<_> = l.model.vrrp_instances[0]
            .track_file
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(refs, ["ok"]);
    }

    /// The config /tmp/c2/w.conf run through keepalived 2.2.7 -t (messages below are its
    /// output, in its order): sync group membership checks, then
    /// vrrp_complete_instance's weight rule for members of a group without
    /// sync_group_tracking_weight (A) and for an address owner (C); B's only script has weight
    /// 0, so nothing changes for it.
    #[test]
    fn weighted_trackers_in_sync_groups_and_on_address_owners() {
        let conf = "vrrp_script s1 {\n  script /bin/true\n  weight 10\n}\nvrrp_script s0 {\n  script /bin/true\n}\nvrrp_track_file f1 {\n  file /tmp/c2f1\n}\nvrrp_track_file f5 {\n  file /tmp/c2f5\n  weight 5\n}\nvrrp_sync_group G {\n  group {\n    A\n    B\n    NOPE\n  }\n}\nvrrp_sync_group H {\n  group {\n    B\n  }\n  sync_group_tracking_weight\n}\nvrrp_sync_group E {\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  track_interface {\n    eth1 weight 5\n    eth2\n  }\n  track_script {\n    s1\n    s0\n  }\n  track_file {\n    f1\n    f5\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 2\n  track_script {\n    s1 weight 0\n  }\n  virtual_ipaddress {\n    10.0.0.2\n  }\n}\nvrrp_instance C {\n  interface eth0\n  virtual_router_id 3\n  priority 255\n  track_interface {\n    eth1 weight 5\n  }\n  track_script {\n    s1\n  }\n  track_file {\n    f1\n    f5 weight 0\n  }\n  virtual_ipaddress {\n    10.0.0.3\n  }\n}\n";
        let mut h = MemHost::new(&[], &["eth0", "eth1", "eth2"]);
        h.files.insert("/c/k.conf".into(), conf.into());
        h.files.insert("/bin/true".into(), "".into());
        h.stats
            .insert("/bin/true".into(), stat(false, 0o100755, 0, 0));
        let l = load_with(Path::new("/c/k.conf"), &LoadOptions::default(), &h);
        let got: Vec<String> = msgs(&l).into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            got,
            [
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
                "Virtual router NOPE specified in sync group G doesn't exist - ignoring",
                "Virtual router B cannot exist in more than one sync group; ignoring H",
                "Sync group H, no matching virtual router found in group declaration - removing",
                "Sync group E has no virtual router(s). removing",
                "(A) ignoring eth1 tracked interface weight due to SYNC group",
                "(A) ignoring tracked script s1 with weights due to SYNC group",
                "(A) ignoring weight from tracked file f1 due to SYNC group. specify weight 0",
                "(A) ignoring tracked file f5 with weight 5 due to SYNC group",
                "(C) ignoring eth1 tracked interface due to address owner",
                "(C) ignoring tracked script s1 with weights due to address_owner",
                "(C) ignoring weight from tracked file f1 due to address_owner. specify weight 0",
            ]
        );
        let m = &l.model;
        let groups: Vec<_> = m
            .vrrp_sync_groups
            .iter()
            .map(|g| (g.name.as_str(), g.group.clone()))
            .collect();
        assert_eq!(groups, [("G", vec!["A".to_string(), "B".to_string()])]);
        let a = &m.vrrp_instances[0];
        let ti: Vec<_> = a
            .track_interface
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(ti, [("eth1", Some(0)), ("eth2", None)]);
        let ts: Vec<_> = a.track_script.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(ts, ["s0"]);
        let tf: Vec<_> = a
            .track_file
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(tf, [("f1", Some(0))]);
        assert_eq!(m.vrrp_instances[1].track_script.len(), 1);
        let c = &m.vrrp_instances[2];
        assert!(c.track_interface.is_empty());
        assert!(c.track_script.is_empty());
        let tf: Vec<_> = c
            .track_file
            .iter()
            .map(|t| (t.name.as_str(), t.weight))
            .collect();
        assert_eq!(tf, [("f1", Some(0)), ("f5", Some(0))]);

        // With sync_group_tracking_weight the members keep their weights.
        let l = run(
            &h,
            &conf.replace(
                "    NOPE\n  }\n}",
                "    NOPE\n  }\n  sync_group_tracking_weight\n}",
            ),
        );
        assert!(!msgs(&l).iter().any(|(_, m)| m.starts_with("(A) ignoring")));
        assert_eq!(l.model.vrrp_instances[0].track_script.len(), 2);
    }

    /// Checked against keepalived 2.2.7 -t: a MISC_CHECK without misc_path is dropped and
    /// reported at its closing line (also for `MISC_CHECK {}` on one line).
    #[test]
    fn misc_check_without_path_is_skipped() {
        let conf = "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_timeout 3\n    }\n    MISC_CHECK {}\n    TCP_CHECK {\n    }\n  }\n}\n";
        let l = run(&MemHost::default(), conf);
        let m = msgs(&l);
        for line in [5, 6] {
            assert!(
                m.contains(&(
                    line,
                    "No script path has been specified for MISC_CHECKER - skipping".to_string()
                )),
                "{m:?}"
            );
        }
        let checkers = &l.model.virtual_servers[0].real_servers[0].checkers;
        assert_eq!(checkers.len(), 1);
        assert_eq!(checkers[0].kind, crate::model::CheckerKind::Tcp);
    }

    /// keepalived 2.2.7 -t on this config prints exactly these lines (in this order):
    /// validate_check_config's defaults, duplicate removal, quorum reduction and port resets.
    #[test]
    fn virtual_server_post_parse_checks() {
        let l = run(&MemHost::default(), "virtual_server 10.0.0.1 80 {\n  lb_kind TUN\n  protocol TCP\n  quorum 5\n  sorry_server 10.0.0.9 81\n  real_server 10.0.0.2 8080 {\n  }\n  real_server 10.0.0.3 8080 {\n    lvs_method NAT\n  }\n  real_server 10.0.0.2 8080 {\n  }\n}\nvirtual_server 10.0.0.5 53 {\n  real_server 10.0.0.6 53 {\n  }\n}\nvirtual_server 10.0.0.7 80 {\n}\n");
        let got: Vec<String> = msgs(&l).into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            got,
            [
                "Virtual server [10.0.0.1]:tcp:80: no scheduler set, setting default 'wlc'",
                "VS [10.0.0.1]:tcp:80: real server [10.0.0.2]:tcp:8080 is duplicated - removing second rs",
                "Warning - quorum 5 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 2, reducing quorum to 2",
                "WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.0.2]:tcp:8080 ports don't match - resetting",
                "WARNING - virtual server [10.0.0.1]:tcp:80 and sorry server ports don't match - resetting",
                "Virtual server [10.0.0.5]:none:53: no protocol set - defaulting to UDP",
                "Virtual server [10.0.0.5]:udp:53: no scheduler set, setting default 'wlc'",
                "Virtual server [10.0.0.5]:udp:53: no forwarding method set, setting default NAT",
                "Virtual server [10.0.0.7]:none:80 has no real servers - ignoring",
            ]
        );
        let vs = &l.model.virtual_servers;
        assert_eq!(vs.len(), 2);
        assert_eq!(vs[0].quorum, 2);
        let ports: Vec<_> = vs[0].real_servers.iter().map(|r| r.port).collect();
        assert_eq!(ports, [Some(80), Some(8080)]);
        assert_eq!(vs[0].sorry_server.map(|s| s.1), Some(Some(80)));
    }

    /// keepalived 2.2.7 -t: words after a vrrp_script's command are ignored (not a user), so
    /// B keeps its script with `user root`; A, without a user and with a broken default user,
    /// is removed at its closing line.
    #[test]
    fn vrrp_script_extra_words_are_not_a_user() {
        let conf = "global_defs {\n  script_user nobodyxx\n}\nvrrp_script A {\n  script \"/bin/true x\" extra words\n}\nvrrp_script B {\n  script /bin/true scr1\n  user root\n}\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 1\n  track_script {\n    A\n    B\n  }\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n";
        let mut h = MemHost::default();
        h.users.insert("root".into(), (0, 0));
        h.files.insert("/bin/true".into(), "".into());
        h.stats
            .insert("/bin/true".into(), stat(false, 0o100755, 0, 0));
        let l = run(&h, conf);
        assert_eq!(
            msgs(&l),
            [
                (2, "Error setting global script uid/gid".to_string()),
                (6, "Unable to set default user for vrrp script A - removing".to_string()),
                (15, "(V) track script A not found, ignoring...".to_string()),
                (0, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.".to_string()),
            ]
        );
        let b = &l.model.vrrp_scripts[0];
        assert_eq!(b.name, "B");
        let sc = b.script.as_ref().unwrap();
        assert_eq!(sc.args, ["/bin/true"]);
        assert_eq!(sc.user.as_deref(), Some("root"));
    }

    /// keepalived 2.2.7 -t on this config prints exactly these lines: persistence_timeout is
    /// limited to 31 days; MISC_CHECK's `user` that cannot be set removes the checker at its
    /// line, and without `user` a broken default script user removes it at the block's end;
    /// words after misc_path's command are ignored.
    #[test]
    fn misc_check_users_and_persistence_range() {
        let mut h = MemHost::default();
        h.users.insert("root".into(), (0, 0));
        h.files.insert("/bin/true".into(), "".into());
        h.stats
            .insert("/bin/true".into(), stat(false, 0o100755, 0, 0));
        let l = run(&h, "global_defs {\n  script_user nobodyxx\n}\nvirtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  persistence_timeout 123134134\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path \"/bin/true a\" more\n      user nouserxx\n    }\n    MISC_CHECK {\n      misc_path /bin/true\n    }\n    MISC_CHECK {\n      misc_path /bin/true\n      user root\n    }\n  }\n}\n");
        assert_eq!(
            msgs(&l),
            [
                (2, "Error setting global script uid/gid".to_string()),
                (8, "number '123134134' outside range [1, 2678400]".to_string()),
                (8, "persistence_timeout invalid".to_string()),
                (12, "Failed to set uid/gid for misc checker script '/bin/true' 'a' - removing".to_string()),
                (16, "Unable to set default user for misc script '/bin/true' - removing".to_string()),
                (0, "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.".to_string()),
            ]
        );
        let vs = &l.model.virtual_servers[0];
        assert_eq!(vs.persistence_timeout, None);
        let ck = &vs.real_servers[0].checkers;
        assert_eq!(ck.len(), 1);
        let sc = ck[0].misc_path.as_ref().unwrap();
        assert_eq!(
            (sc.args.as_slice(), sc.user.as_deref()),
            (&["/bin/true".to_string()][..], Some("root"))
        );
    }
}
