//! `InstanceConfig`: everything one VRRP `Router` needs, in RFC terms, with keepalived 2.2.7's
//! defaults. The config model (keepalived keyword names) is converted into this in exactly one
//! place (the lead's conversion); the core never sees keepalived.conf.
//!
//! Values here are *resolved*: global defaults (`vrrp_garp_master_delay`, `vrrp_strict`, ...)
//! already applied. [`InstanceConfig::normalize`] applies keepalived's config-time resets
//! (strict mode, nopreempt with owner, ...) and returns the warnings keepalived would log.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub use crate::wire::vrrp::{Auth, Version};

/// Address family of the instance (of its VIPs and adverts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// RFC 3768 / 5798 multicast group: 224.0.0.18 or ff02::12.
    pub fn default_multicast(self) -> IpAddr {
        match self {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        }
    }
}

/// The state the instance is configured to want (`state MASTER|BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// Default unless priority is 255.
    Backup,
    /// On an owner (priority 255): MASTER at once. On a non-owner: only changes the first down
    /// timer of a sync-group member (see `Router`), otherwise nothing.
    Master,
}

/// A virtual address (VIP or excluded VIP). The core reads `addr` (adverts, GARP/NA, the
/// interface name in log lines); everything else is carried to the driver untouched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualAddress {
    pub addr: IpAddr,
    /// Prefix length; keepalived's default is /32 (/128).
    pub prefix_len: u8,
    /// `dev IFNAME`; `None` = the instance's interface.
    pub dev: Option<String>,
    /// Remaining options of the config line (`brd`, `label`, `scope`, `no_track`, ...), opaque
    /// to the core.
    pub options: String,
}

impl VirtualAddress {
    /// A plain host address (/32 or /128) on the instance's interface.
    pub fn host(addr: IpAddr) -> Self {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        VirtualAddress {
            addr,
            prefix_len,
            dev: None,
            options: String::new(),
        }
    }
}

/// A `virtual_routes` line, opaque to the core (the netlink driver parses it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualRoute(pub String);

/// A `virtual_rules` line, opaque to the core.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VirtualRule(pub String);

/// One `unicast_peer` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    /// `min_ttl`, default 0. Only checked with `check_unicast_src`.
    pub min_ttl: u8,
    /// `max_ttl`, default 255. Only checked with `check_unicast_src`.
    pub max_ttl: u8,
}

impl UnicastPeer {
    pub fn new(addr: IpAddr) -> Self {
        UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        }
    }
}

/// One VRRP instance (`vrrp_instance NAME { ... }`), resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Instance name, used in every log line as `(NAME)`.
    pub name: String,
    /// `virtual_router_id`, 1..=255 (required).
    pub vrid: u8,
    /// `version`; default `vrrp_version` global (2), 3 for IPv6.
    pub version: Version,
    /// Family of the VIPs (keepalived derives it from the first VIP).
    pub family: Family,
    /// `interface`; used for log lines (`Sending/queueing gratuitous ARPs on IF ...`).
    pub interface: Option<String>,
    /// `priority`, 1..=255; default 100 (255 if `state MASTER` and no priority). 255 = address
    /// owner: never changed by trackers.
    pub priority: u8,
    /// `advert_int`; default 1 s. v2: whole seconds 1..=255; v3: centiseconds 0.01..=40.95 s.
    pub advert_interval: Duration,
    /// `state`; default BACKUP (MASTER when priority is 255).
    pub initial_state: InitialState,
    /// `nopreempt`; default off (preempt).
    pub nopreempt: bool,
    /// `preempt_delay`; default 0 (none). 0..=1000 s.
    pub preempt_delay: Duration,
    /// The primary address: `unicast_src_ip` / `mcast_src_ip`, else the interface's primary
    /// address. Source of our adverts and our side of the equal-priority tie-break. `None`:
    /// unknown (tie-break compares as equal, like keepalived with no address).
    pub source_addr: Option<IpAddr>,
    /// `unicast_peer { ... }`; empty = multicast.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `mcast_dst_ip`; default 224.0.0.18 / ff02::12.
    pub mcast_dst: Option<IpAddr>,
    /// `unicast_ttl`; default 255. Multicast adverts always use 255.
    pub unicast_ttl: u8,
    /// `check_unicast_src` (or the global); default off.
    pub check_unicast_src: bool,
    /// `authentication { auth_type PASS|AH; auth_pass .. }`; default none. v2 only; the password
    /// is the first 8 bytes, NUL padded.
    pub auth: Auth,
    /// `virtual_ipaddress`: carried in adverts, added on MASTER.
    pub vips: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`: added on MASTER, not advertised.
    pub evips: Vec<VirtualAddress>,
    /// `virtual_routes`.
    pub vroutes: Vec<VirtualRoute>,
    /// `virtual_rules`.
    pub vrules: Vec<VirtualRule>,
    /// `down_timer_adverts`, 1..=100; default 3 (the RFC value).
    pub down_timer_adverts: u32,
    /// `garp_master_delay`; default `vrrp_garp_master_delay` (5 s). 0 = no second burst.
    pub garp_master_delay: Duration,
    /// `garp_master_repeat`; default `vrrp_garp_master_repeat` (5).
    pub garp_master_repeat: u32,
    /// `garp_master_refresh`; default 0 (no periodic refresh).
    pub garp_master_refresh: Duration,
    /// `garp_master_refresh_repeat`; default 1.
    pub garp_master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`; default = garp_master_delay (0 with strict mode).
    pub garp_lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`; default = garp_master_repeat (0 with strict mode).
    pub garp_lower_prio_repeat: u32,
    /// `lower_prio_no_advert`; default off (on with strict mode).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`; default off (forced off with strict mode).
    pub higher_prio_send_advert: bool,
    /// `skip_check_adv_addr`; default off.
    pub skip_check_adv_addr: bool,
    /// `strict_mode` / global `vrrp_strict`; default off.
    pub strict_mode: bool,
    /// `accept` / `no_accept`; default accept unless strict (owners always accept). Carried
    /// for the driver (firewall rules); the election does not use it.
    pub accept: bool,
    /// `notify_priority_changes`; default off.
    pub notify_priority_changes: bool,
    /// `notify_deleted`: report removal by a reload as DELETED rather than FAULT.
    pub notify_deleted: bool,
}

impl InstanceConfig {
    /// keepalived's defaults for an IPv4 VRRPv2 instance.
    pub fn new(name: impl Into<String>, vrid: u8) -> Self {
        InstanceConfig {
            name: name.into(),
            vrid,
            version: Version::V2,
            family: Family::Ipv4,
            interface: None,
            priority: 100,
            advert_interval: Duration::from_secs(1),
            initial_state: InitialState::Backup,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            source_addr: None,
            unicast_peers: Vec::new(),
            mcast_dst: None,
            unicast_ttl: 255,
            check_unicast_src: false,
            auth: Auth::None,
            vips: Vec::new(),
            evips: Vec::new(),
            vroutes: Vec::new(),
            vrules: Vec::new(),
            down_timer_adverts: 3,
            garp_master_delay: Duration::from_secs(5),
            garp_master_repeat: 5,
            garp_master_refresh: Duration::ZERO,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay: Duration::from_secs(5),
            garp_lower_prio_repeat: 5,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            skip_check_adv_addr: false,
            strict_mode: false,
            accept: true,
            notify_priority_changes: false,
            notify_deleted: false,
        }
    }

    /// keepalived's identity of an instance across a reload (`vrrp_exist`): VRID, family,
    /// interface, unicast or not, and for unicast the source address. The name does not count.
    pub fn reload_key(&self) -> (u8, Family, Option<String>, bool, Option<IpAddr>) {
        let unicast = !self.unicast_peers.is_empty();
        (
            self.vrid,
            self.family,
            self.interface.clone(),
            unicast,
            if unicast { self.source_addr } else { None },
        )
    }

    /// Address owner: priority 255.
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }

    /// Advert interval as carried in `Repr::advert_int_cs` (v2: whole seconds × 100).
    pub fn advert_int_cs(&self) -> u16 {
        let cs = self.advert_interval.as_millis() / 10;
        match self.version {
            Version::V2 => ((cs / 100) * 100).min(25_500) as u16,
            Version::V3 => cs.min(4095) as u16,
        }
    }

    /// Apply keepalived 2.2.7's config-time resets (`vrrp_complete_instance()`), returning the
    /// messages it reports, worded as keepalived does. Idempotent.
    pub fn normalize(&mut self) -> Vec<String> {
        let n = self.name.clone();
        let mut w = Vec::new();
        let want_master = self.initial_state == InitialState::Master;
        if self.strict_mode && want_master != self.is_owner() {
            w.push(format!("({n}) State MASTER must match being address owner"));
            self.initial_state = if self.is_owner() {
                InitialState::Master
            } else {
                InitialState::Backup
            };
        }
        if self.strict_mode && self.auth != Auth::None {
            w.push(format!(
                "({n}) Strict mode does not support authentication. Ignoring."
            ));
            self.auth = Auth::None;
        } else if self.version == Version::V3 && self.auth != Auth::None {
            w.push(format!(
                "({n}) VRRP version 3 does not support authentication. Ignoring."
            ));
            self.auth = Auth::None;
        }
        if self.strict_mode && !self.unicast_peers.is_empty() {
            w.push(format!(
                "({n}) Unicast peers are not supported in strict mode"
            ));
            self.unicast_peers.clear();
        }
        if self.is_owner() && self.nopreempt {
            w.push(format!(
                "({n}) nopreempt is incompatible with priority 255. resetting nopreempt"
            ));
            self.nopreempt = false;
        }
        if self.initial_state == InitialState::Master {
            if self.nopreempt {
                w.push(format!(
                    "({n}) Warning - nopreempt will not work with initial state MASTER - clearing"
                ));
                self.nopreempt = false;
            }
            if !self.preempt_delay.is_zero() {
                w.push(format!(
                    "({n}) Warning - preempt delay will not work with initial state MASTER - clearing"
                ));
                self.preempt_delay = Duration::ZERO;
            }
        }
        if !self.preempt_delay.is_zero() {
            if self.strict_mode {
                w.push(format!(
                    "({n}) preempt_delay is incompatible with strict mode - resetting"
                ));
                self.preempt_delay = Duration::ZERO;
            } else if self.nopreempt {
                w.push(format!(
                    "({n}) preempt_delay is incompatible with nopreempt mode - resetting"
                ));
                self.preempt_delay = Duration::ZERO;
            }
        }
        if self.strict_mode && self.down_timer_adverts != 3 {
            w.push(format!(
                "({n}) down_timer_adverts is incompatible with strict mode - resetting"
            ));
            self.down_timer_adverts = 3;
        }
        if self.strict_mode {
            if self.garp_lower_prio_repeat != 0 || !self.garp_lower_prio_delay.is_zero() {
                self.garp_lower_prio_repeat = 0;
                self.garp_lower_prio_delay = Duration::ZERO;
            }
            self.lower_prio_no_advert = true;
            self.higher_prio_send_advert = false;
            if !self.is_owner() {
                self.accept = false;
            }
        }
        if self.is_owner() {
            self.accept = true;
        }
        self.down_timer_adverts = self.down_timer_adverts.clamp(1, 100);
        w
    }
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupConfig {
    pub name: String,
    /// Member instance names, in `group { }` order.
    pub members: Vec<String>,
}
