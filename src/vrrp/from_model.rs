//! The one conversion from the config model (keepalived's keyword names) to the VRRP core's
//! [`InstanceConfig`] (RFC names), with keepalived 2.2.7's defaults and global fallbacks
//! (`vrrp_complete_instance()`), then [`InstanceConfig::normalize`].
//!
//! Warnings come back worded as keepalived logs them; the daemon logs them at start-up.

use std::net::IpAddr;
use std::time::Duration;

use super::config::{
    Family, InitialState, InstanceConfig, SyncGroupConfig, UnicastPeer, VirtualAddress,
    VirtualRoute, VirtualRule,
};
use crate::model;
use crate::wire::vrrp::{Auth, Version};

/// Why an instance cannot run at all (keepalived drops it from the configuration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromModelError {
    #[error("({0}) the virtual router id must be set")]
    NoVrid(String),
    #[error("({0}) No VIP specified; at least one is required")]
    NoVipRequired(String),
    #[error("({0}) Unknown interface !")]
    NoInterface(String),
}

/// The VRRP part of a whole configuration, ready for [`super::Vrrp::new`].
#[derive(Debug, Clone, Default)]
pub struct VrrpConfig {
    pub instances: Vec<InstanceConfig>,
    pub groups: Vec<SyncGroupConfig>,
    /// keepalived's configuration messages (including instances dropped).
    pub warnings: Vec<String>,
}

/// Converts every `vrrp_instance` and `vrrp_sync_group`. Instances that cannot run are left
/// out with a warning, as keepalived does.
pub fn vrrp_config(cfg: &model::Config) -> VrrpConfig {
    let mut out = VrrpConfig::default();
    for inst in &cfg.vrrp_instances {
        match instance_config(inst, &cfg.global) {
            Ok((ic, w)) => {
                out.warnings.extend(w);
                out.instances.push(ic);
            }
            Err(e) => out.warnings.push(e.to_string()),
        }
    }
    for g in &cfg.vrrp_sync_groups {
        out.groups.push(SyncGroupConfig {
            name: g.name.clone(),
            members: g.group.clone(),
        });
    }
    out
}

/// The keyword's arguments from a `parsed` map (keys are keyword paths; only the last
/// component is compared).
fn parsed_arg<'a>(p: &'a model::Parsed, kw: &str) -> Option<&'a [String]> {
    p.iter()
        .find(|(k, _)| k.as_str() == kw || k.rsplit('/').next() == Some(kw))
        .and_then(|(_, v)| v.last())
        .map(Vec::as_slice)
}

fn parsed_flag(p: &model::Parsed, kw: &str) -> bool {
    parsed_arg(p, kw).is_some()
}

/// keepalived keeps the address options on the VIP line; the netlink driver reads them back
/// from [`VirtualAddress::options`] (`brd X scope Y label Z` then the rest verbatim).
fn vaddr(e: &model::AddrEntry) -> VirtualAddress {
    let mut opts: Vec<String> = Vec::new();
    if let Some(b) = &e.brd {
        opts.extend(["brd".into(), b.clone()]);
    }
    if let Some(s) = &e.scope {
        opts.extend(["scope".into(), s.clone()]);
    }
    if let Some(l) = &e.label {
        opts.extend(["label".into(), l.clone()]);
    }
    if let Some(p) = &e.peer {
        opts.extend(["peer".into(), p.clone()]);
    }
    opts.extend(e.options.iter().cloned());
    VirtualAddress {
        addr: e.addr,
        prefix_len: e.prefix,
        dev: e.dev.clone(),
        options: opts.join(" "),
    }
}

/// Converts one instance with the globals applied, then normalises it. Returns the config and
/// keepalived's warnings for it.
pub fn instance_config(
    inst: &model::VrrpInstance,
    g: &model::GlobalDefs,
) -> Result<(InstanceConfig, Vec<String>), FromModelError> {
    let name = inst.name.clone();
    let vrid = inst
        .virtual_router_id
        .filter(|v| *v != 0)
        .ok_or_else(|| FromModelError::NoVrid(name.clone()))?;
    let mut w = Vec::new();
    let mut c = InstanceConfig::new(name.clone(), vrid);

    c.interface = inst
        .interface
        .clone()
        .or_else(|| g.default_interface.clone());
    if c.interface.is_none() {
        return Err(FromModelError::NoInterface(name));
    }
    c.vips = inst.virtual_ipaddress.iter().map(vaddr).collect();
    c.evips = inst.virtual_ipaddress_excluded.iter().map(vaddr).collect();
    c.family = match c.vips.first().or(c.evips.first()) {
        Some(v) if v.addr.is_ipv6() => Family::Ipv6,
        _ => Family::Ipv4,
    };
    // keepalived only advertises VIPs of the instance's family; the others are treated as
    // excluded addresses.
    let fam_of = |a: &IpAddr| {
        if a.is_ipv6() {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    };
    let (same, other): (Vec<_>, Vec<_>) = std::mem::take(&mut c.vips)
        .into_iter()
        .partition(|v| fam_of(&v.addr) == c.family);
    c.vips = same;
    c.evips.extend(other);

    c.strict_mode = inst.strict_mode.unwrap_or(g.vrrp_strict);
    let version = inst.version.unwrap_or(0);
    c.version = match (c.family, version) {
        (Family::Ipv6, 2) if c.strict_mode => {
            w.push(format!(
                "({name}) cannot use IPv6 with VRRP version 2; setting version 3"
            ));
            Version::V3
        }
        (Family::Ipv6, 0) => Version::V3,
        (_, 0) => Version::from_number(g.vrrp_version).unwrap_or(Version::V2),
        (_, v) => Version::from_number(v).unwrap_or(Version::V2),
    };
    if c.vips.is_empty() {
        if c.version == Version::V3 || c.strict_mode {
            return Err(FromModelError::NoVipRequired(name));
        }
        w.push(format!(
            "({name}) No VIP specified; at least one is sensible"
        ));
    }

    let want_master = inst.state == Some(model::InitialState::Master);
    c.priority = inst.priority.unwrap_or(if want_master { 255 } else { 100 });
    c.initial_state = match inst.state {
        Some(model::InitialState::Master) => InitialState::Master,
        Some(model::InitialState::Backup) => InitialState::Backup,
        None if c.priority == 255 => InitialState::Master,
        None => InitialState::Backup,
    };

    // advert_int: v2 carries whole seconds 1..=255, v3 centiseconds up to 40.95 s.
    let mut adv = if inst.advert_int.is_zero() {
        Duration::from_secs(1)
    } else {
        inst.advert_int
    };
    match c.version {
        Version::V2 => {
            if adv >= Duration::from_secs(256) {
                w.push(format!(
                    "({name}) VRRPv2 advertisement interval {:.2}s is out of range. Must be less than 256s. Setting to 255s",
                    adv.as_secs_f64()
                ));
                adv = Duration::from_secs(255);
            } else if adv.subsec_nanos() != 0 {
                w.push(format!(
                    "({name}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                    adv.as_secs_f64()
                ));
                let secs = (adv + Duration::from_millis(500)).as_secs().max(1);
                adv = Duration::from_secs(secs);
            }
        }
        Version::V3 => {
            let cs = adv.as_millis() / 10;
            if cs > 4095 {
                w.push(format!(
                    "({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                    adv.as_secs_f64()
                ));
                adv = Duration::from_millis(40_950);
            } else {
                // Carried in centiseconds: what we time must equal what we send.
                adv = Duration::from_millis(cs.max(1) as u64 * 10);
            }
        }
    }
    c.advert_interval = adv;

    c.nopreempt = inst.nopreempt;
    c.preempt_delay = inst.preempt_delay;
    c.source_addr = inst.unicast_src_ip.or(inst.mcast_src_ip);
    c.unicast_peers = inst
        .unicast_peer
        .iter()
        .map(|p| UnicastPeer {
            addr: p.addr,
            min_ttl: p.min_ttl.unwrap_or(0),
            max_ttl: p.max_ttl.unwrap_or(255),
        })
        .collect();
    let mcast_dst: Option<IpAddr> = parsed_arg(&inst.parsed, "mcast_dst_ip")
        .and_then(|a| a.first())
        .and_then(|s| s.parse().ok());
    if c.unicast_peers.is_empty() {
        c.mcast_dst = mcast_dst.or(match c.family {
            Family::Ipv4 => g.vrrp_mcast_group4,
            Family::Ipv6 => g.vrrp_mcast_group6,
        });
    } else if mcast_dst.is_some() {
        w.push(format!(
            "({name}) multicast destination specified with unicast - ignoring"
        ));
    }
    c.unicast_ttl = inst.unicast_ttl.unwrap_or(255);
    c.check_unicast_src =
        g.vrrp_check_unicast_src || parsed_flag(&inst.parsed, "check_unicast_src");

    c.auth = match &inst.authentication {
        Some(model::Authentication {
            auth_type: Some(t),
            auth_pass,
        }) => {
            let pass = auth_pass.as_deref().unwrap_or("");
            if c.strict_mode || c.version == Version::V3 {
                // normalize() reports these.
                Auth::pass(pass.as_bytes())
            } else if pass.is_empty() {
                w.push(format!(
                    "({name}) Authentication specified but no password given. Ignoring"
                ));
                Auth::None
            } else if *t == model::AuthType::Ah {
                if c.family == Family::Ipv6 {
                    w.push(format!(
                        "({name}) Cannot use AH authentication with IPv6. ignoring"
                    ));
                } else {
                    w.push(format!(
                        "({name}) IPsec AH authentication is not supported by this build. Ignoring"
                    ));
                }
                Auth::None
            } else {
                Auth::pass(pass.as_bytes())
            }
        }
        _ => Auth::None,
    };

    c.vroutes = inst
        .virtual_routes
        .iter()
        .map(|r| VirtualRoute(r.join(" ")))
        .collect();
    c.vrules = inst
        .virtual_rules
        .iter()
        .map(|r| VirtualRule(r.join(" ")))
        .collect();
    if !c.vroutes.is_empty() {
        w.push(format!(
            "({name}) virtual_routes are not implemented by this build - ignoring"
        ));
        c.vroutes.clear();
    }
    if !c.vrules.is_empty() {
        w.push(format!(
            "({name}) virtual_rules are not implemented by this build - ignoring"
        ));
        c.vrules.clear();
    }
    // track_file is applied by the daemon's tracking (daemon::track).
    for (kw, refs) in [("track_process", &inst.track_process)] {
        for r in refs {
            w.push(format!(
                "({name}) {kw} {} is not implemented by this build - ignoring",
                r.name
            ));
        }
    }
    if inst.use_vmac.is_some() {
        w.push(format!(
            "({name}) use_vmac is not implemented by this build - using the interface's own MAC"
        ));
    }

    c.down_timer_adverts = inst.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts);
    c.garp_master_delay = inst.garp_master_delay.unwrap_or(g.vrrp_garp_master_delay);
    c.garp_master_repeat = inst.garp_master_repeat.unwrap_or(g.vrrp_garp_master_repeat);
    c.garp_master_refresh = inst
        .garp_master_refresh
        .unwrap_or(g.vrrp_garp_master_refresh);
    c.garp_master_refresh_repeat = inst
        .garp_master_refresh_repeat
        .unwrap_or(g.vrrp_garp_master_refresh_repeat);
    c.garp_lower_prio_delay = if c.strict_mode {
        Duration::ZERO
    } else {
        g.vrrp_garp_lower_prio_delay
            .unwrap_or(g.vrrp_garp_master_delay)
    };
    c.garp_lower_prio_repeat = if c.strict_mode {
        0
    } else {
        g.vrrp_garp_lower_prio_repeat
            .unwrap_or(g.vrrp_garp_master_repeat)
    };
    c.lower_prio_no_advert = inst
        .lower_prio_no_advert
        .unwrap_or(c.strict_mode || g.vrrp_lower_prio_no_advert);
    c.higher_prio_send_advert = inst
        .higher_prio_send_advert
        .unwrap_or(!c.strict_mode && g.vrrp_higher_prio_send_advert);
    c.skip_check_adv_addr = inst
        .skip_check_adv_addr
        .unwrap_or(g.vrrp_skip_check_adv_addr);
    c.accept = inst.accept.unwrap_or(!c.strict_mode);
    c.notify_priority_changes = parsed_flag(&inst.parsed, "notify_priority_changes");
    c.notify_deleted = inst.parsed.contains_key("vrrp_instance/notify_deleted");

    w.extend(c.normalize());
    Ok((c, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn entry(a: &str, prefix: u8) -> model::AddrEntry {
        model::AddrEntry {
            addr: a.parse().expect("addr"),
            prefix,
            dev: None,
            brd: None,
            scope: None,
            label: None,
            peer: None,
            options: Vec::new(),
        }
    }

    fn inst() -> model::VrrpInstance {
        let mut i = model::VrrpInstance::new("VI_1".into());
        i.interface = Some("eth0".into());
        i.virtual_router_id = Some(51);
        i.virtual_ipaddress = vec![entry("10.0.0.100", 24)];
        i
    }

    fn conv(i: &model::VrrpInstance, g: &model::GlobalDefs) -> (InstanceConfig, Vec<String>) {
        instance_config(i, g).expect("converts")
    }

    #[test]
    fn defaults_match_keepalived() {
        let (c, w) = conv(&inst(), &model::GlobalDefs::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.priority, 100);
        assert_eq!(c.initial_state, InitialState::Backup);
        assert_eq!(c.advert_interval, Duration::from_secs(1));
        assert_eq!(c.version, Version::V2);
        assert_eq!(c.family, Family::Ipv4);
        assert_eq!(c.interface.as_deref(), Some("eth0"));
        assert_eq!(c.vips[0].prefix_len, 24);
        assert_eq!(c.garp_master_delay, Duration::from_secs(5));
        assert_eq!(c.garp_master_repeat, 5);
        assert_eq!(c.garp_lower_prio_delay, Duration::from_secs(5));
        assert_eq!(c.unicast_ttl, 255);
        assert!(c.accept);
        assert!(c.mcast_dst.is_none());
    }

    #[test]
    fn state_master_without_priority_is_owner() {
        let mut i = inst();
        i.state = Some(model::InitialState::Master);
        let (c, _) = conv(&i, &model::GlobalDefs::default());
        assert_eq!(c.priority, 255);
        assert_eq!(c.initial_state, InitialState::Master);
        i.priority = Some(150);
        let (c, _) = conv(&i, &model::GlobalDefs::default());
        assert_eq!(c.priority, 150);
        assert_eq!(c.initial_state, InitialState::Master);
        // priority 255 and no state: MASTER
        let mut j = inst();
        j.priority = Some(255);
        assert_eq!(
            conv(&j, &model::GlobalDefs::default()).0.initial_state,
            InitialState::Master
        );
    }

    #[test]
    fn vip_options_are_carried_for_the_driver() {
        let mut i = inst();
        let mut e = entry("10.0.0.101", 32);
        e.dev = Some("eth1".into());
        e.brd = Some("10.0.0.255".into());
        e.scope = Some("link".into());
        e.label = Some("eth1:vip".into());
        i.virtual_ipaddress.push(e);
        let (c, _) = conv(&i, &model::GlobalDefs::default());
        assert_eq!(c.vips[1].dev.as_deref(), Some("eth1"));
        assert_eq!(
            c.vips[1].options,
            "brd 10.0.0.255 scope link label eth1:vip"
        );
        assert_eq!(
            crate::sys::addr::AddrOptions::parse(&c.vips[1].options),
            crate::sys::addr::AddrOptions {
                brd: Some(Ipv4Addr::new(10, 0, 0, 255)),
                scope: Some(253),
                label: Some("eth1:vip".into()),
            }
        );
    }

    #[test]
    fn unicast_peers_auth_and_source() {
        let mut i = inst();
        i.unicast_src_ip = Some("10.0.0.1".parse().expect("ip"));
        i.unicast_peer = vec![model::UnicastPeer {
            addr: "10.0.0.2".parse().expect("ip"),
            min_ttl: None,
            max_ttl: Some(64),
        }];
        i.unicast_ttl = Some(10);
        i.authentication = Some(model::Authentication {
            auth_type: Some(model::AuthType::Pass),
            auth_pass: Some("secret".into()),
        });
        let (c, w) = conv(&i, &model::GlobalDefs::default());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.source_addr, Some("10.0.0.1".parse().expect("ip")));
        assert_eq!(c.unicast_peers[0].max_ttl, 64);
        assert_eq!(c.unicast_peers[0].min_ttl, 0);
        assert_eq!(c.unicast_ttl, 10);
        assert_eq!(c.auth, Auth::pass(b"secret"));
    }

    #[test]
    fn version_from_globals_and_ipv6() {
        let mut g = model::GlobalDefs {
            vrrp_version: 3,
            ..Default::default()
        };
        let mut i = inst();
        i.advert_int = Duration::from_millis(100);
        i.authentication = Some(model::Authentication {
            auth_type: Some(model::AuthType::Pass),
            auth_pass: Some("pw".into()),
        });
        let (c, w) = conv(&i, &g);
        assert_eq!(c.version, Version::V3);
        assert_eq!(c.advert_interval, Duration::from_millis(100));
        assert_eq!(c.auth, Auth::None);
        assert_eq!(
            w,
            vec!["(VI_1) VRRP version 3 does not support authentication. Ignoring."]
        );
        // v2 rounds a fractional interval, as keepalived does.
        g.vrrp_version = 2;
        i.authentication = None;
        let (c, w) = conv(&i, &g);
        assert_eq!(c.advert_interval, Duration::from_secs(1));
        assert_eq!(
            w,
            vec!["(VI_1) VRRPv2 advertisement interval 0.100000s must be an integer. rounding"]
        );
        // IPv6 VIPs: v3 whatever the global says.
        let mut j = inst();
        j.virtual_ipaddress = vec![entry("fd00::100", 64)];
        let (c, _) = conv(&j, &g);
        assert_eq!(c.family, Family::Ipv6);
        assert_eq!(c.version, Version::V3);
    }

    #[test]
    fn garp_and_strict_globals() {
        let g = model::GlobalDefs {
            vrrp_garp_master_delay: Duration::from_secs(2),
            vrrp_garp_master_repeat: 3,
            vrrp_strict: true,
            ..Default::default()
        };
        let (c, _) = conv(&inst(), &g);
        assert_eq!(c.garp_master_delay, Duration::from_secs(2));
        assert_eq!(c.garp_master_repeat, 3);
        assert!(c.strict_mode);
        assert_eq!(c.garp_lower_prio_repeat, 0);
        assert!(c.lower_prio_no_advert);
        assert!(!c.accept);
        let mut i = inst();
        i.garp_master_repeat = Some(1);
        let (c, _) = conv(&i, &model::GlobalDefs::default());
        assert_eq!(c.garp_master_repeat, 1);
        assert_eq!(c.garp_lower_prio_repeat, 5);
    }

    #[test]
    fn missing_vrid_or_interface_drops_the_instance() {
        let mut i = inst();
        i.virtual_router_id = None;
        assert!(matches!(
            instance_config(&i, &model::GlobalDefs::default()),
            Err(FromModelError::NoVrid(_))
        ));
        let mut j = inst();
        j.interface = None;
        assert!(instance_config(&j, &model::GlobalDefs::default()).is_err());
        let cfg = model::Config {
            vrrp_instances: vec![i, inst()],
            ..Default::default()
        };
        let v = vrrp_config(&cfg);
        assert_eq!(v.instances.len(), 1);
        assert_eq!(v.warnings.len(), 1);
    }

    #[test]
    fn unimplemented_trackers_are_named() {
        let mut i = inst();
        i.track_file.push(model::TrackRef {
            name: "tf".into(),
            weight: None,
            reverse: false,
        });
        i.track_process.push(model::TrackRef {
            name: "tp".into(),
            weight: None,
            reverse: false,
        });
        let (_, w) = conv(&i, &model::GlobalDefs::default());
        assert_eq!(
            w,
            vec!["(VI_1) track_process tp is not implemented by this build - ignoring"]
        );
    }

    #[test]
    fn no_vip_is_a_warning_in_v2() {
        let mut i = inst();
        i.virtual_ipaddress.clear();
        let (_, w) = conv(&i, &model::GlobalDefs::default());
        assert_eq!(w, vec!["(VI_1) No VIP specified; at least one is sensible"]);
    }
}
