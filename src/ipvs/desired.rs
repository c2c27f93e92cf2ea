//! The configuration model turned into what the LVS side works with (pure): for every
//! `virtual_server`, the kernel services it stands for (a group expands to one service per
//! address and per fwmark), the service settings, its real servers as IPVS dests with their
//! health checkers, the sorry server and the quorum settings. Defaults and corrections are
//! keepalived 2.2.7's (`check_data.c: validate_check_config`), and each correction that
//! keepalived reports is returned as a warning in keepalived's words.

use std::net::{IpAddr, SocketAddr};

use crate::check::spec::{self, CheckSpec};
use crate::model::{self, Config, LbKind, Script, VsAddr, VsgEntry};

use super::types::*;

/// keepalived's `IPVS_SVC_PERSISTENT_TIMEOUT` (a bare `persistence_timeout`, or a port-less
/// service).
pub const DEFAULT_PERSISTENCE: u32 = 360;
/// keepalived's default scheduler.
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// Everything the LVS driver needs, derived from the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LvsConfig {
    pub virtual_servers: Vec<VsSpec>,
    /// `no_checker_emails`: checker mails only when the real server as a whole changes.
    pub no_checker_emails: bool,
    /// keepalived-style messages about corrections and unsupported features, in config order.
    pub warnings: Vec<String>,
}

/// One `virtual_server` block.
#[derive(Debug, Clone, PartialEq)]
pub struct VsSpec {
    /// keepalived's `FMT_VS`: `[10.0.0.1]:tcp:80`, `FWM 5`, `[GROUP]:0`.
    pub label: String,
    /// The kernel services this block programs (several for a group).
    pub keys: Vec<ServiceKey>,
    /// `virtual_server group NAME`: the group's name.
    pub group: Option<String>,
    /// Settings shared by all of `keys` (its own `key` is `keys[0]`).
    pub service: Service,
    /// The real servers, in config order.
    pub reals: Vec<RsSpec>,
    pub sorry: Option<RsSpec>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub omega: bool,
    pub ha_suspend: bool,
    /// Quorum mails (`smtp_alert`, else `smtp_alert_checker`, else `smtp_alert`, else off).
    pub smtp_alert: bool,
}

/// A real server (or the sorry server).
#[derive(Debug, Clone, PartialEq)]
pub struct RsSpec {
    /// keepalived's `FMT_RS`: `[192.168.1.2]:tcp:80`.
    pub label: String,
    pub addr: IpAddr,
    /// Configured port; `None` takes the port of each service (0 for fwmark).
    pub port: Option<u16>,
    pub forward: Forward,
    /// Configured weight (`iweight`).
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub inhibit: bool,
    pub alpha: bool,
    /// Boxed as in the model: rarely set, and one of thousands.
    pub notify_up: Option<Box<Script>>,
    pub notify_down: Option<Box<Script>>,
    pub checkers: Vec<CheckSpec>,
    /// Checker mails (`smtp_alert`, else `smtp_alert_checker`, else `smtp_alert`, else
    /// **on** - keepalived's real-server default).
    pub smtp_alert: bool,
}

impl RsSpec {
    /// The dest for service `key` with this weight.
    pub fn dest(&self, key: &ServiceKey, weight: u32) -> Dest {
        let port = match (key, self.forward) {
            (ServiceKey::Fwmark { .. }, Forward::Nat) => self.port.unwrap_or(0),
            (ServiceKey::Fwmark { .. }, _) => 0,
            (ServiceKey::Addr { port, .. }, Forward::Nat) => self.port.unwrap_or(*port),
            // DR/TUN cannot change the port: keepalived resets it to the service's.
            (ServiceKey::Addr { port, .. }, _) => *port,
        };
        Dest {
            addr: self.addr,
            port,
            forward: self.forward,
            weight,
            u_threshold: self.u_threshold,
            l_threshold: self.l_threshold,
        }
    }
}

fn proto_str(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        Some(Protocol::Other(_)) => "?",
        None => "none",
    }
}

/// keepalived's `inet_sockaddrtotrio` (one implementation, shared with validation).
pub use crate::model::trio;

/// A decoded `lvs_method` line as the kernel's forwarding method.
fn forward_of_method(m: model::LvsMethod) -> Forward {
    match m.kind {
        LbKind::Nat => Forward::Nat,
        LbKind::Dr => Forward::Dr,
        LbKind::Tun => Forward::Tun(Tunnel {
            kind: match m.tunnel.kind {
                model::TunnelType::Ipip => TunnelKind::Ipip,
                model::TunnelType::Gue => TunnelKind::Gue,
                model::TunnelType::Gre => TunnelKind::Gre,
            },
            port: m.tunnel.port,
            csum: match m.tunnel.csum {
                model::TunnelCsum::NoCsum => TunnelCsum::NoCsum,
                model::TunnelCsum::Csum => TunnelCsum::Csum,
                model::TunnelCsum::RemCsum => TunnelCsum::RemCsum,
            },
        }),
    }
}

fn forward_of(kind: LbKind) -> Forward {
    forward_of_method(model::LvsMethod {
        kind,
        tunnel: Default::default(),
    })
}

fn granularity(s: &str, family: Family) -> Option<u32> {
    match family {
        Family::V6 => s.parse::<u32>().ok().filter(|v| (1..=128).contains(v)),
        Family::V4 => s.parse::<std::net::Ipv4Addr>().ok().map(u32::from),
    }
}

/// Expands a group into its service keys (one per address of a range, one per fwmark).
fn expand_group(
    g: &model::VirtualServerGroup,
    proto: Protocol,
    fwmark_family: Family,
    warnings: &mut Vec<String>,
) -> Vec<(ServiceKey, bool)> {
    let mut keys = Vec::new();
    for e in &g.entries {
        match e {
            VsgEntry::Fwmark(m) => keys.push((
                ServiceKey::Fwmark {
                    family: fwmark_family,
                    mark: *m,
                },
                true,
            )),
            VsgEntry::Range { first, last, port } => {
                let port = port.unwrap_or(0);
                let last = last.unwrap_or(*first);
                match (first, last) {
                    (IpAddr::V4(a), IpAddr::V4(b)) if u32::from(*a) <= u32::from(b) => {
                        let (a, b) = (u32::from(*a), u32::from(b));
                        if b - a > 65535 {
                            warnings.push(format!(
                                "Virtual server group {}: range {first}-{last} too large - skipping",
                                g.name
                            ));
                            continue;
                        }
                        for x in a..=b {
                            let addr = IpAddr::V4(x.into());
                            keys.push((
                                ServiceKey::Addr {
                                    protocol: proto,
                                    addr,
                                    port,
                                },
                                port == 0,
                            ));
                        }
                    }
                    (IpAddr::V6(a), IpAddr::V6(b)) if u128::from(*a) <= u128::from(b) => {
                        let (a, b) = (u128::from(*a), u128::from(b));
                        if b - a > 65535 {
                            warnings.push(format!(
                                "Virtual server group {}: range {first}-{last} too large - skipping",
                                g.name
                            ));
                            continue;
                        }
                        for x in a..=b {
                            let addr = IpAddr::V6(x.into());
                            keys.push((
                                ServiceKey::Addr {
                                    protocol: proto,
                                    addr,
                                    port,
                                },
                                port == 0,
                            ));
                        }
                    }
                    _ => warnings.push(format!(
                        "Virtual server group {}: invalid range {first}-{last} - skipping",
                        g.name
                    )),
                }
            }
        }
    }
    keys
}

/// Builds the LVS configuration from the model.
pub fn build(cfg: &Config) -> LvsConfig {
    let mut out = LvsConfig {
        no_checker_emails: spec::parsed_bool(&cfg.global.parsed, "global_defs/no_checker_emails")
            .unwrap_or(false),
        virtual_servers: Vec::with_capacity(cfg.virtual_servers.len()),
        ..Default::default()
    };
    for vs in &cfg.virtual_servers {
        if let Some(v) = build_vs(cfg, vs, &mut out.warnings) {
            out.virtual_servers.push(v);
        }
    }
    out
}

fn build_vs(cfg: &Config, vs: &model::VirtualServer, w: &mut Vec<String>) -> Option<VsSpec> {
    let scheduler = vs
        .lb_algo
        .clone()
        .unwrap_or_else(|| DEFAULT_SCHEDULER.to_string());
    // A fwmark service's family: `ip_family`, else that of its real servers.
    let rs_family = vs
        .real_servers
        .first()
        .map(|r| Family::of(&r.addr))
        .unwrap_or(Family::V4);
    let fwmark_family = match vs.ip_family {
        Some(model::IpFamily::Inet6) => Family::V6,
        Some(model::IpFamily::Inet) => Family::V4,
        None => rs_family,
    };

    let mut persistence = vs.persistence_timeout.map(|d| d.as_secs() as u32);
    let proto_cfg = vs.protocol.map(|p| match p {
        model::Protocol::Tcp => Protocol::Tcp,
        model::Protocol::Udp => Protocol::Udp,
        model::Protocol::Sctp => Protocol::Sctp,
    });

    // keys, and whether the VS is address based (protocol matters) or fwmark only
    let (label_base, keys_ports): (Option<String>, Vec<(ServiceKey, bool)>) = match &vs.addr {
        VsAddr::Ip { addr, port } => {
            let proto = proto_cfg.unwrap_or(Protocol::Udp);
            let port = port.unwrap_or(0);
            (
                None,
                vec![(
                    ServiceKey::Addr {
                        protocol: proto,
                        addr: *addr,
                        port,
                    },
                    port == 0,
                )],
            )
        }
        VsAddr::Fwmark(m) => (
            Some(format!("FWM {m}")),
            vec![(
                ServiceKey::Fwmark {
                    family: fwmark_family,
                    mark: *m,
                },
                false,
            )],
        ),
        VsAddr::Group(name) => {
            let Some(g) = cfg.virtual_server_groups.iter().find(|g| &g.name == name) else {
                w.push(format!(
                    "Virtual server group {name} not found - skipping virtual server"
                ));
                return None;
            };
            let proto = proto_cfg.unwrap_or(Protocol::Udp);
            (
                Some(format!("[{name}]:0")),
                expand_group(g, proto, fwmark_family, w),
            )
        }
    };
    let address_based = keys_ports
        .iter()
        .any(|(k, _)| matches!(k, ServiceKey::Addr { .. }));
    let fwmark_only = !address_based;
    let vs_proto = if fwmark_only {
        None
    } else {
        Some(proto_cfg.unwrap_or(Protocol::Udp))
    };
    let label = label_base.unwrap_or_else(|| match &keys_ports[0].0 {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => trio(addr, proto_str(Some(*protocol)), *port),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    });

    if vs.real_servers.is_empty() {
        w.push(format!(
            "Virtual server {label} has no real servers - ignoring"
        ));
        return None;
    }
    if keys_ports.is_empty() {
        w.push(format!("Virtual server {label} has no services - ignoring"));
        return None;
    }
    let mut ha_suspend = vs.ha_suspend;
    if ha_suspend
        && keys_ports
            .iter()
            .any(|(k, _)| matches!(k, ServiceKey::Fwmark { .. }))
    {
        w.push(format!(
            "Virtual server {label}: cannot use ha_suspend with fwmarks - clearing ha_suspend"
        ));
        ha_suspend = false;
    }
    if address_based && proto_cfg.is_none() {
        w.push(format!(
            "Virtual server {label}: no protocol set - defaulting to UDP"
        ));
    }
    if fwmark_only && proto_cfg.is_some() {
        w.push(format!("Warning: Virtual server {label}: protocol specified for fwmark - protocol will be ignored"));
    }
    if vs.lb_algo.is_none() {
        w.push(format!(
            "Virtual server {label}: no scheduler set, setting default '{DEFAULT_SCHEDULER}'"
        ));
    }
    if persistence.is_none() && keys_ports.iter().any(|(_, zero)| *zero) {
        w.push(format!(
            "Virtual server {label}: zero port only valid for persistent services - setting"
        ));
        persistence = Some(DEFAULT_PERSISTENCE);
    }

    // flags
    let mut flags = 0u32;
    if vs.ops {
        if vs_proto.is_some() && vs_proto != Some(Protocol::Udp) {
            w.push(format!(
                "Virtual server {label}: one packet scheduling requires UDP - resetting"
            ));
        } else {
            flags |= ServiceFlags::ONEPACKET;
        }
    }
    // keepalived already dropped the sh-/mh- flags of another scheduler while parsing.
    let sf = vs.sched_flags;
    for (on, bit) in [
        (sf.flag_1, ServiceFlags::SCHED1),
        (sf.flag_2, ServiceFlags::SCHED2),
        (sf.flag_3, ServiceFlags::SCHED3),
        (sf.sh_port, ServiceFlags::SH_PORT),
        (sf.sh_fallback, ServiceFlags::SH_FALLBACK),
        (sf.mh_port, ServiceFlags::MH_PORT),
        (sf.mh_fallback, ServiceFlags::MH_FALLBACK),
    ] {
        if on {
            flags |= bit;
        }
    }

    let svc_family = keys_ports[0].0.family();
    let mut service = Service::new(keys_ports[0].0, &scheduler);
    service.flags = ServiceFlags(flags);
    if let Some(t) = persistence {
        service = service.persistent(t);
        if let Some(g) = &vs.persistence_granularity {
            match granularity(g, svc_family) {
                Some(m) => service.netmask = m,
                None => w.push(format!(
                    "Invalid {} persistence_granularity specified - {g}",
                    if svc_family == Family::V6 {
                        "IPv6"
                    } else {
                        "IPv4"
                    }
                )),
            }
        }
        service.pe_name = vs.persistence_engine.clone();
    }

    // forwarding
    let vs_forward = match vs
        .lvs_method
        .map(forward_of_method)
        .or(vs.lb_kind.map(forward_of))
    {
        Some(f) => f,
        None => {
            w.push(format!(
                "Virtual server {label}: no forwarding method set, setting default NAT"
            ));
            Forward::Nat
        }
    };
    let rs_proto = proto_str(vs_proto);
    let vs_weight = vs.weight.unwrap_or(1);
    let vs_inhibit = vs.options.inhibit_on_failure.unwrap_or(false);
    let vs_alpha = vs.options.alpha.unwrap_or(false);
    let first_port = keys_ports.iter().find_map(|(k, _)| match k {
        ServiceKey::Addr { port, .. } => Some(*port),
        _ => None,
    });
    let single_port = match (&vs.addr, first_port) {
        (VsAddr::Ip { .. }, Some(p)) => Some(p),
        _ => None,
    };

    let mut reals: Vec<RsSpec> = Vec::with_capacity(vs.real_servers.len());
    let mut weight_sum: u64 = 0;
    for rs in &vs.real_servers {
        let forward = rs
            .method
            .map(forward_of_method)
            .or(rs.lvs_method.map(forward_of))
            .unwrap_or(vs_forward);
        // the port keepalived shows and checks: a single-address service fills it in
        let shown_port = match (single_port, forward) {
            (Some(sp), Forward::Nat) => Some(rs.port.unwrap_or(sp)),
            (Some(sp), _) => {
                if let Some(p) = rs.port {
                    if p != sp {
                        w.push(format!("WARNING - virtual server {label} and real server {} ports don't match - resetting", trio(&rs.addr, rs_proto, p)));
                    }
                }
                Some(sp)
            }
            (None, Forward::Nat) => rs.port,
            (None, _) if fwmark_only => {
                if rs.port.is_some_and(|p| p != 0) {
                    w.push(format!("WARNING - fwmark virtual server {label}, real server {} has port specified - clearing", trio(&rs.addr, rs_proto, rs.port.unwrap_or(0))));
                }
                Some(0)
            }
            (None, _) => rs.port,
        };
        let rs_label = trio(&rs.addr, rs_proto, shown_port.unwrap_or(0));
        if reals
            .iter()
            .any(|r| r.addr == rs.addr && r.port == shown_port)
        {
            w.push(format!(
                "VS {label}: real server {rs_label} is duplicated - removing second rs"
            ));
            continue;
        }
        let weight = rs.weight.unwrap_or(vs_weight);
        weight_sum += weight as u64;
        let inhibit = rs.options.inhibit_on_failure.unwrap_or(vs_inhibit);
        let alpha = rs.options.alpha.unwrap_or(vs_alpha);
        let mut checkers = Vec::with_capacity(rs.checkers.len());
        for ck in &rs.checkers {
            match spec::build(
                cfg,
                vs,
                rs,
                ck,
                shown_port.unwrap_or(0),
                alpha,
                &rs_label,
                &label,
                w,
            ) {
                Ok(c) => checkers.push(c),
                Err(msg) => w.push(msg),
            }
        }
        reals.push(RsSpec {
            label: rs_label,
            addr: rs.addr,
            port: shown_port,
            forward,
            weight,
            u_threshold: rs.uthreshold.unwrap_or(0),
            l_threshold: rs.lthreshold.unwrap_or(0),
            inhibit,
            alpha,
            notify_up: rs.notify_up.clone(),
            notify_down: rs.notify_down.clone(),
            checkers,
            smtp_alert: crate::notify::smtp::real_server_alerts_enabled(rs.smtp_alert, &cfg.global),
        });
    }

    let sorry = vs.sorry_server.map(|(addr, port)| {
        let forward = vs
            .sorry_server_lvs_method
            .map(forward_of_method)
            .unwrap_or(vs_forward);
        let shown_port = match (single_port, forward) {
            (Some(sp), Forward::Nat) => Some(port.unwrap_or(sp)),
            (Some(sp), _) => Some(sp),
            (None, Forward::Nat) => port,
            (None, _) if fwmark_only => Some(0),
            (None, _) => port,
        };
        let mut inhibit = vs.sorry_server_inhibit;
        if let Some(r) = reals
            .iter()
            .find(|r| r.addr == addr && r.port == shown_port)
        {
            if r.inhibit != inhibit {
                w.push(format!("Virtual server {label}: real server {} matches sorry server, but inhibit setting differs, {}ing on sorry server", r.label, if r.inhibit { "sett" } else { "clear" }));
                inhibit = r.inhibit;
            }
        }
        RsSpec {
            label: trio(&addr, rs_proto, shown_port.unwrap_or(0)),
            addr,
            port: shown_port,
            forward,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            inhibit,
            alpha: false,
            notify_up: None,
            notify_down: None,
            checkers: Vec::new(),
            smtp_alert: false,
        }
    });

    let mut quorum = vs.quorum.max(1);
    if quorum as u64 > weight_sum {
        w.push(format!("Warning - quorum {quorum} for {label} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}"));
        quorum = weight_sum as u32;
    }
    let mut hysteresis = vs.hysteresis;
    if hysteresis >= quorum && hysteresis > 0 {
        let h = quorum.saturating_sub(1);
        w.push(format!(
            "Virtual server {label}: hysteresis {hysteresis} >= quorum {quorum}; setting hysteresis to {h}"
        ));
        hysteresis = h;
    }

    Some(VsSpec {
        label,
        keys: keys_ports.into_iter().map(|(k, _)| k).collect(),
        group: match &vs.addr {
            VsAddr::Group(name) => Some(name.clone()),
            _ => None,
        },
        service,
        reals,
        sorry,
        quorum,
        hysteresis,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        omega: vs.omega,
        ha_suspend,
        smtp_alert: crate::notify::smtp::virtual_server_alerts_enabled(vs.smtp_alert, &cfg.global),
    })
}

impl VsSpec {
    /// The service for one of this block's keys.
    pub fn service_for(&self, key: ServiceKey) -> Service {
        let mut s = self.service.clone();
        s.key = key;
        if key.family() != self.service.family() && !s.flags.contains(ServiceFlags::PERSISTENT) {
            s.netmask = default_netmask(key.family());
        }
        s
    }
}

/// The table keepalived programs at start-up when every checker starts up (no `alpha`, no
/// failure yet): every real server at its weight, no sorry server (unless inhibited, at 0).
pub fn initial_table(cfg: &LvsConfig) -> super::plan::Table {
    let mut t = super::plan::Table::new();
    for vs in &cfg.virtual_servers {
        for key in &vs.keys {
            t.insert_service(vs.service_for(*key));
            for rs in &vs.reals {
                t.insert_dest(key, rs.dest(key, rs.weight));
            }
            if let Some(s) = &vs.sorry {
                if s.inhibit
                    && !vs
                        .reals
                        .iter()
                        .any(|r| r.addr == s.addr && r.port == s.port)
                {
                    t.insert_dest(key, s.dest(key, 0));
                }
            }
        }
    }
    t
}

/// A socket address for a checker target.
pub fn sock(addr: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(addr, port)
}
