//! The typed configuration model: keepalived's keyword names, keepalived's defaults, values with
//! units in their types. Built by `config`, consumed by every core.
//!
//! Keywords whose behaviour is not implemented yet are still kept, verbatim, in the `parsed`
//! map of the object they belong to (and `config` warns about them by name), so nothing a user
//! configured is lost.

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// Keywords kept verbatim: keyword path -> the argument lists of each occurrence.
pub type Parsed = BTreeMap<String, Vec<Vec<String>>>;

/// A whole keepalived.conf.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Config {
    pub global: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub vrrp_instances: Vec<VrrpInstance>,
    pub vrrp_sync_groups: Vec<SyncGroup>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub static_ipaddress: Vec<AddrEntry>,
    pub static_routes: Vec<Vec<String>>,
    pub static_rules: Vec<Vec<String>>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
    pub bfd_instances: Vec<BfdInstance>,
    pub ssl: Option<Ssl>,
    /// `linkbeat_interfaces { IF [MII|ETHTOOL|IOCTL] }`: interfaces whose link state is
    /// polled instead of taken from netlink (unknown interfaces are dropped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    /// `garp_group { ... }` blocks keepalived kept (a group without any delay is removed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub garp_groups: Vec<GarpGroup>,
    /// Root-level keywords kept verbatim.
    pub parsed: Parsed,
}

/// garp_group { garp_interval / gna_interval / interface / interfaces }: the minimum gap
/// between gratuitous ARPs / NAs sent on the listed interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GarpGroup {
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    /// Interfaces this group applies to (each interface belongs to at most one group).
    pub interfaces: Vec<String>,
    /// keepalived's aggregation group: groups with an `interfaces` block are numbered from 1
    /// in order (0 = none).
    pub aggregation_group: u32,
}

/// One line of `linkbeat_interfaces`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkbeatInterface {
    pub name: String,
    /// How the link is polled; `None` = keepalived's default (try each in turn).
    pub kind: Option<LinkbeatKind>,
}

/// The link polling method of a linkbeat interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinkbeatKind {
    Mii,
    Ethtool,
    Ioctl,
}

/// A program to run: argv (already split keepalived's way) plus an optional user/group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Script {
    pub args: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    /// What keepalived's script-security check concluded about this script. Only scripts with
    /// [`ScriptSecurity::Runnable`] may be run; keepalived disables the others.
    #[serde(skip_serializing_if = "ScriptSecurity::is_runnable")]
    pub security: ScriptSecurity,
}

impl Script {
    /// Whether keepalived would run this script.
    pub fn runnable(&self) -> bool {
        self.security.is_runnable()
    }
}

/// The outcome of keepalived's script checks (existence via `PATH` or the given path, the
/// executable bit for the user running it, ownership and write permissions of the file and of
/// every directory on its path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptSecurity {
    /// Not checked (keepalived does not check scripts of a process with nothing to run) or
    /// found, executable and acceptable.
    #[default]
    Runnable,
    /// `<` file-open test (e.g. `</dev/tcp/...`): nothing is executed, always runnable.
    FileTest,
    /// The program does not exist or is not reachable ("since not found/accessible").
    NotFound,
    /// The file is not executable by the user it would run as.
    NotExecutable,
    /// A non-root-owned or group/world-writable file or directory on the path while
    /// `enable_script_security` is set ("due to insecure"), or a path of the wrong file type.
    Insecure,
}

impl ScriptSecurity {
    pub fn is_runnable(&self) -> bool {
        matches!(self, ScriptSecurity::Runnable | ScriptSecurity::FileTest)
    }
}

/// `smtp_server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

/// global_defs { ... } (and the root-level global keywords).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    pub smtp_connect_timeout: Duration,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub script_user: Option<(String, Option<String>)>,
    pub enable_script_security: bool,
    pub notify_fifo: Option<Script>,
    pub notify_fifo_script: Option<Script>,
    pub vrrp_notify_fifo: Option<Script>,
    pub vrrp_notify_fifo_script: Option<Script>,
    pub lvs_notify_fifo: Option<Script>,
    pub lvs_notify_fifo_script: Option<Script>,
    pub vrrp_mcast_group4: Option<IpAddr>,
    pub vrrp_mcast_group6: Option<IpAddr>,
    pub vrrp_version: u8,
    pub vrrp_strict: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_garp_master_delay: Duration,
    pub vrrp_garp_master_repeat: u32,
    pub vrrp_garp_master_refresh: Duration,
    pub vrrp_garp_master_refresh_repeat: u32,
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    pub vrrp_garp_interval: Duration,
    pub vrrp_gna_interval: Duration,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_down_timer_adverts: u32,
    pub dynamic_interfaces: bool,
    pub default_interface: Option<String>,
    pub max_auto_priority: Option<i32>,
    pub lvs_flush: bool,
    /// `lvs_sync_daemon` (or the deprecated `vrrp_instance { lvs_sync_daemon_interface }`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// Root-level `net_namespace NAME`: keepalived runs its processes in that namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_namespace: Option<String>,
    /// nftables table for VRRP (`nftables [NAME]`, or `vrrp_iptables`, which 2.2.7 built
    /// without iptables maps to nftables); `None` = no firewall rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nftables: Option<String>,
    pub parsed: Parsed,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            script_user: None,
            enable_script_security: false,
            notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo: None,
            vrrp_notify_fifo_script: None,
            lvs_notify_fifo: None,
            lvs_notify_fifo_script: None,
            vrrp_mcast_group4: None,
            vrrp_mcast_group6: None,
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Duration::ZERO,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_gna_interval: Duration::ZERO,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_down_timer_adverts: 3,
            dynamic_interfaces: false,
            default_interface: None,
            max_auto_priority: None,
            lvs_flush: false,
            lvs_sync_daemon: None,
            net_namespace: None,
            nftables: None,
            parsed: Parsed::new(),
        }
    }
}

/// `lvs_sync_daemon IFACE [inst] VRRP_INSTANCE [id SYNCID] [maxlen LEN] [port PORT] [ttl TTL]
/// [group IP]`: the IPVS connection-sync daemon, run by the VRRP side (backup daemon while the
/// instance is not MASTER, master daemon while it is). Without an instance the checker side
/// runs both daemons. The optional settings left unset are the kernel's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    /// The VRRP instance that controls the daemons, as written (the VRRP side resolves it when
    /// it starts: `vrrp::syncd::Setting`, which treats an unknown name as keepalived does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `id` as written; unset means the instance's VRID, or 0 without an instance. The
    /// deprecated instance form sets 0 (keepalived gives it syncid 0, not the VRID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syncid: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
    /// Set by the deprecated `vrrp_instance { lvs_sync_daemon_interface }` (which keepalived's
    /// parent and checker processes do not see).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deprecated_form: bool,
}

/// vrrp_script NAME { ... }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: Option<Script>,
    pub interval: Duration,
    pub timeout: Option<Duration>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    pub parsed: Parsed,
}

impl VrrpScript {
    pub fn new(name: String) -> Self {
        VrrpScript {
            name,
            script: None,
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
            parsed: Parsed::new(),
        }
    }
}

/// `state` of a vrrp_instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InitialState {
    Master,
    Backup,
}

/// `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthType {
    Pass,
    Ah,
}

/// authentication { ... }
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Authentication {
    pub auth_type: Option<AuthType>,
    /// At most 8 bytes (keepalived truncates).
    pub auth_pass: Option<String>,
}

/// One line of virtual_ipaddress / virtual_ipaddress_excluded / static_ipaddress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddrEntry {
    pub addr: IpAddr,
    pub prefix: u8,
    pub dev: Option<String>,
    pub brd: Option<String>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<String>,
    /// Other options, verbatim (`no_track`, `preferred_lft`, `-nodad`, ...).
    pub options: Vec<String>,
}

/// One tracked object reference: `NAME [weight W [reverse|noreverse]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    pub name: String,
    pub weight: Option<i32>,
    pub reverse: bool,
}

/// One `unicast_peer` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// vrrp_instance NAME { ... }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub virtual_router_id: Option<u8>,
    /// Base priority; `None` = keepalived's default (100, or 255 with state MASTER).
    pub priority: Option<u8>,
    pub advert_int: Duration,
    pub version: Option<u8>,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddress: Vec<AddrEntry>,
    pub virtual_ipaddress_excluded: Vec<AddrEntry>,
    pub virtual_routes: Vec<Vec<String>>,
    pub virtual_rules: Vec<Vec<String>>,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_src_ip: Option<IpAddr>,
    pub mcast_src_ip: Option<IpAddr>,
    pub unicast_ttl: Option<u8>,
    pub track_interface: Vec<TrackRef>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub track_process: Vec<TrackRef>,
    pub dont_track_primary: bool,
    pub notify_master: Option<Script>,
    pub notify_backup: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    pub notify: Option<Script>,
    pub smtp_alert: Option<bool>,
    pub garp_master_delay: Option<Duration>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<Duration>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub strict_mode: Option<bool>,
    pub down_timer_adverts: Option<u32>,
    pub accept: Option<bool>,
    pub use_vmac: Option<Vec<String>>,
    /// `vmac_xmit_base` (set by keepalived itself for unicast with a VMAC).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub vmac_xmit_base: bool,
    /// keepalived's VRRP_FLAG_UNICAST_CONFIGURED: a unicast keyword was given
    /// (`unicast_peer`, even empty, `unicast_src_ip`, `unicast_fault_no_peer`,
    /// `check_unicast_src`, `old_unicast_checksum`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unicast_configured: bool,
    pub parsed: Parsed,
}

impl VrrpInstance {
    pub fn new(name: String) -> Self {
        VrrpInstance {
            name,
            state: None,
            interface: None,
            virtual_router_id: None,
            priority: None,
            advert_int: Duration::from_secs(1),
            version: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            unicast_peer: Vec::new(),
            unicast_src_ip: None,
            mcast_src_ip: None,
            unicast_ttl: None,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            dont_track_primary: false,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            smtp_alert: None,
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            skip_check_adv_addr: None,
            strict_mode: None,
            down_timer_adverts: None,
            accept: None,
            use_vmac: None,
            vmac_xmit_base: false,
            unicast_configured: false,
            parsed: Parsed::new(),
        }
    }
}

/// vrrp_sync_group NAME { ... }
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncGroup {
    pub name: String,
    pub group: Vec<String>,
    pub track_interface: Vec<TrackRef>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub notify_master: Option<Script>,
    pub notify_backup: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    pub notify: Option<Script>,
    pub smtp_alert: Option<bool>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): members keep the
    /// weights of their own trackers. Without it keepalived zeroes or drops them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sync_group_tracking_weight: bool,
    pub parsed: Parsed,
}

/// track_file / vrrp_track_file NAME { ... }
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub file: Option<String>,
    pub weight: i32,
    pub reverse: bool,
    pub parsed: Parsed,
}

/// vrrp_track_process NAME { ... } (kept verbatim for now).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrackProcess {
    pub name: String,
    pub parsed: Parsed,
}

/// bfd_instance NAME { ... } (addresses typed, the rest kept verbatim for now). Instances
/// keepalived disables (no neighbor, family mismatch, duplicate) are not in the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BfdInstance {
    pub name: String,
    pub neighbor_ip: Option<IpAddr>,
    pub source_ip: Option<IpAddr>,
    pub parsed: Parsed,
}

/// SSL { ... }
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ssl {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

/// One entry of a virtual_server_group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VsgEntry {
    /// `ADDR[-LAST] [PORT]` (a range of addresses when `last` is set).
    Range {
        first: IpAddr,
        last: Option<IpAddr>,
        port: Option<u16>,
    },
    Fwmark(u32),
}

/// virtual_server_group NAME { ... }
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<VsgEntry>,
}

/// What a virtual_server line names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VsAddr {
    Ip { addr: IpAddr, port: Option<u16> },
    Fwmark(u32),
    Group(String),
}

/// `lb_kind` / `lvs_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LbKind {
    Nat,
    Dr,
    Tun,
}

/// Tunnel encapsulation of `lvs_method TUN type ...`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

/// Checksum option of `lvs_method TUN ... nocsum|csum|remcsum`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
}

/// Tunnel options of `lvs_method TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TunnelOpts {
    pub kind: TunnelType,
    /// GUE destination port (0 otherwise).
    pub port: u16,
    pub csum: TunnelCsum,
}

/// A whole `lvs_method` / `lb_kind` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LvsMethod {
    pub kind: LbKind,
    /// Meaningful for TUN only (keepalived keeps the previous line's options otherwise).
    pub tunnel: TunnelOpts,
}

/// `ip_family` of a fwmark virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IpFamily {
    Inet,
    Inet6,
}

/// Scheduler flags (`flag-1..3`, `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`), as
/// keepalived accepted them (the sh/mh ones only when that scheduler was set before them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SchedFlags {
    pub flag_1: bool,
    pub flag_2: bool,
    pub flag_3: bool,
    pub sh_port: bool,
    pub sh_fallback: bool,
    pub mh_port: bool,
    pub mh_fallback: bool,
}

/// `http_protocol` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum HttpProtocol {
    #[default]
    Http10,
    /// 1.0 plus `Connection: close`.
    Http10Close,
    Http11,
}

/// `protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// keepalived's name in labels (`tcp`, `udp`, `sctp`); see [`trio`].
    pub fn label(proto: Option<Protocol>) -> &'static str {
        match proto {
            Some(Protocol::Tcp) => "tcp",
            Some(Protocol::Udp) => "udp",
            Some(Protocol::Sctp) => "sctp",
            None => "none",
        }
    }
}

/// keepalived's `inet_sockaddrtotrio`: `[ADDR]:PROTO:PORT`, the label of its log lines.
pub fn trio(addr: &IpAddr, proto: &str, port: u16) -> String {
    // Written by hand: one label per real server, and `format!` with the standard address
    // formatter was a tenth of planning a 10,000-server reload.
    let mut out = String::with_capacity(48);
    out.push('[');
    match addr {
        IpAddr::V4(a) => {
            for (i, o) in a.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(&mut out, u32::from(*o));
            }
        }
        IpAddr::V6(a) => {
            use std::fmt::Write;
            let _ = write!(out, "{a}");
        }
    }
    out.push_str("]:");
    out.push_str(proto);
    out.push(':');
    push_decimal(&mut out, u32::from(port));
    out
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &c in &buf[i..] {
        out.push(char::from(c));
    }
}

/// Options shared by virtual servers, real servers and checkers (each inherits from its parent).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckOptions {
    pub connect_timeout: Option<Duration>,
    pub retry: Option<u32>,
    pub delay_before_retry: Option<Duration>,
    pub warmup: Option<Duration>,
    pub delay_loop: Option<Duration>,
    pub alpha: Option<bool>,
    pub inhibit_on_failure: Option<bool>,
    pub virtualhost: Option<String>,
    pub log_all_failures: Option<bool>,
}

/// virtual_server ... { ... }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServer {
    pub addr: VsAddr,
    pub lb_algo: Option<String>,
    pub lb_kind: Option<LbKind>,
    pub protocol: Option<Protocol>,
    pub persistence_timeout: Option<Duration>,
    pub persistence_granularity: Option<String>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    pub sorry_server: Option<(IpAddr, Option<u16>)>,
    pub sorry_server_inhibit: bool,
    pub omega: bool,
    pub ha_suspend: bool,
    pub ops: bool,
    pub smtp_alert: Option<bool>,
    pub weight: Option<u32>,
    /// The whole `lb_kind`/`lvs_method` line (with tunnel options).
    pub lvs_method: Option<LvsMethod>,
    pub sched_flags: SchedFlags,
    pub persistence_engine: Option<String>,
    pub ip_family: Option<IpFamily>,
    pub snmp_name: Option<String>,
    /// `sorry_server_lvs_method` (the virtual server's method when unset).
    pub sorry_server_lvs_method: Option<LvsMethod>,
    pub options: CheckOptions,
    pub real_servers: Vec<RealServer>,
    pub parsed: Parsed,
}

/// real_server IP [PORT] { ... }
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealServer {
    pub addr: IpAddr,
    pub port: Option<u16>,
    pub weight: Option<u32>,
    pub lvs_method: Option<LbKind>,
    /// The whole `lvs_method` line (with tunnel options).
    pub method: Option<LvsMethod>,
    pub snmp_name: Option<String>,
    /// Boxed: rarely set, and a real server is one of thousands (an unboxed pair of
    /// scripts was 160 of its 392 bytes).
    pub notify_up: Option<Box<Script>>,
    pub notify_down: Option<Box<Script>>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    pub smtp_alert: Option<bool>,
    pub options: CheckOptions,
    pub checkers: Vec<Checker>,
    pub parsed: Parsed,
}

/// The kinds of health checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CheckerKind {
    Tcp,
    HttpGet,
    SslGet,
    Misc,
    Smtp,
    Dns,
    Udp,
    Ping,
    File,
    Bfd,
}

/// One `url { ... }` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Url {
    pub path: Option<String>,
    pub digest: Option<String>,
    /// Inclusive ranges of accepted status codes (empty = 200-299).
    pub status_code: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    /// `regex`: the pattern (keepalived compiles it with PCRE2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// `regex_no_match`: a match fails the check.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub regex_no_match: bool,
    /// `regex_options`: the PCRE2 option names keepalived knows, in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regex_options: Vec<String>,
    /// `regex_min_offset`: a match must start at or after this byte of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_min_offset: Option<usize>,
    /// `regex_max_offset`: a match must start at or before this byte of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_max_offset: Option<usize>,
    /// `regex_stack START MAX`: PCRE2 JIT stack sizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex_stack: Option<(u64, u64)>,
    /// What keepalived's checker process logs about this url's regex keywords while it reads
    /// the configuration (`log_message`, not configuration errors: `-t` does not show them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regex_log: Vec<String>,
    pub parsed: Parsed,
}

/// A checker block inside a real_server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checker {
    pub kind: CheckerKind,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    pub options: CheckOptions,
    pub urls: Vec<Url>,
    /// Boxed, as are `misc_user` and `udp_reply`: one checker kind's fields, in every checker
    /// (a 40,000-checker configuration carried 6 MB of them empty).
    pub misc_path: Option<Box<Script>>,
    pub misc_timeout: Option<Duration>,
    pub misc_dynamic: bool,
    /// MISC_CHECK `user USER [GROUP]`.
    pub misc_user: Option<Box<(String, Option<String>)>>,
    pub http_protocol: Option<HttpProtocol>,
    pub enable_sni: Option<bool>,
    pub fast_recovery: Option<bool>,
    /// UDP_CHECK `payload` (keepalived sends 32 bytes of "keepalived check - " without it).
    pub udp_payload: Option<Vec<u8>>,
    /// UDP_CHECK `require_reply`.
    pub udp_require_reply: bool,
    /// UDP_CHECK `require_reply HEX`: expected bytes and a mask of bits to ignore (`X`).
    pub udp_reply: Option<Box<(Vec<u8>, Vec<u8>)>>,
    pub udp_min_reply_length: Option<u16>,
    pub udp_max_reply_length: Option<u16>,
    /// DNS_CHECK `type` (record type code; SOA by default).
    pub dns_type: Option<u16>,
    /// DNS_CHECK `name` (the root by default).
    pub dns_name: Option<String>,
    /// SMTP_CHECK `helo_name`.
    pub helo_name: Option<String>,
    /// FILE_CHECK `track_file NAME` (a `track_file` block defined before it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_file: Option<String>,
    /// FILE_CHECK `weight N [reverse|noreverse]`; without it the track_file's own weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_weight: Option<(i32, bool)>,
    pub parsed: Parsed,
}

impl Checker {
    pub fn new(kind: CheckerKind) -> Self {
        Checker {
            kind,
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            options: CheckOptions::default(),
            urls: Vec::new(),
            misc_path: None,
            misc_timeout: None,
            misc_dynamic: false,
            misc_user: None,
            http_protocol: None,
            enable_sni: None,
            fast_recovery: None,
            udp_payload: None,
            udp_require_reply: false,
            udp_reply: None,
            udp_min_reply_length: None,
            udp_max_reply_length: None,
            dns_type: None,
            dns_name: None,
            helo_name: None,
            track_file: None,
            file_weight: None,
            parsed: Parsed::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trio_is_keepalived_s_bracketed_address_protocol_port() {
        for (addr, proto, port) in [
            ("0.0.0.0", "tcp", 0u16),
            ("10.100.1.244", "tcp", 80),
            ("255.255.255.255", "udp", 65535),
            ("192.168.5.1", "sctp", 8080),
            ("2001:db8::1", "tcp", 443),
            ("::", "none", 0),
        ] {
            let a: IpAddr = addr.parse().unwrap();
            assert_eq!(trio(&a, proto, port), format!("[{a}]:{proto}:{port}"));
        }
    }
}
