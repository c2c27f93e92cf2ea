//! What an IPVS table holds: virtual services, their real servers (dests), the connection-sync
//! daemon and the protocol timeouts. Plain values, no I/O; `msg` turns them into netlink bytes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of a service (and of a dest; IPVS allows a v4 dest behind a v6 service only
/// for tunnelling, so a dest carries its own family, taken from its address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const AF_INET: u16 = 2;
    pub const AF_INET6: u16 = 10;

    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    pub fn to_af(self) -> u16 {
        match self {
            Family::V4 => Self::AF_INET,
            Family::V6 => Self::AF_INET6,
        }
    }

    pub fn from_af(af: u16) -> Option<Family> {
        match af {
            Self::AF_INET => Some(Family::V4),
            Self::AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-based service. `Other` keeps a dump of a table made by
/// someone else readable; we never create one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Other(u16),
}

impl Protocol {
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }

    pub fn from_number(n: u16) -> Protocol {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(n) => write!(f, "proto-{n}"),
        }
    }
}

/// What identifies a virtual service in the kernel: protocol + address + port, or a firewall
/// mark (per family). Everything else about a service can be changed in place (SET_SERVICE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        family: Family,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn tcp(addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }

    pub fn udp(addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }

    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// keepalived's log spelling: `[10.0.0.1]:tcp:80`, `FWM 42`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(
                f,
                "[{addr}]:{}:{port}",
                protocol.to_string().to_ascii_lowercase()
            ),
            ServiceKey::Fwmark { family, mark } => match family {
                Family::V4 => write!(f, "FWM {mark}"),
                Family::V6 => write!(f, "FWM {mark} (IPv6)"),
            },
        }
    }
}

/// `IP_VS_SVC_F_*` service flags. The scheduler flags SCHED1..3 are shared: `sh` reads SCHED1
/// as fallback and SCHED2 as port, `mh` the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    pub const PERSISTENT: u32 = 0x1;
    /// Kernel-internal ("this service is in the hash table"). Shown in dumps, refused on add:
    /// the decoder drops it and the encoder never sends it.
    pub const HASHED: u32 = 0x2;
    pub const ONEPACKET: u32 = 0x4;
    pub const SCHED1: u32 = 0x8;
    pub const SCHED2: u32 = 0x10;
    pub const SCHED3: u32 = 0x20;
    pub const SH_FALLBACK: u32 = Self::SCHED1;
    pub const SH_PORT: u32 = Self::SCHED2;
    pub const MH_FALLBACK: u32 = Self::SCHED1;
    pub const MH_PORT: u32 = Self::SCHED2;

    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    pub fn with(self, bits: u32) -> ServiceFlags {
        ServiceFlags(self.0 | bits)
    }

    /// The flags as user space sets them (HASHED removed).
    pub fn user(self) -> ServiceFlags {
        ServiceFlags(self.0 & !Self::HASHED)
    }
}

/// A virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler module name without the `ip_vs_` prefix: rr, wrr, lc, wlc, sh, mh, ...
    pub scheduler: String,
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `ServiceFlags::PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity. IPv4: the mask as a number (`u32::from(Ipv4Addr)`, so
    /// 255.255.255.0 is 0xFFFF_FF00); IPv6: a prefix length 1..=128.
    pub netmask: u32,
    /// Persistence engine (e.g. `sip`), if any.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with no persistence and the kernel's default granularity.
    pub fn new(key: ServiceKey, scheduler: &str) -> Service {
        Service {
            key,
            scheduler: scheduler.to_string(),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: default_netmask(key.family()),
            pe_name: None,
        }
    }

    /// Turns on persistence for `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Service {
        self.flags = self.flags.with(ServiceFlags::PERSISTENT);
        self.timeout = timeout;
        self
    }

    pub fn family(&self) -> Family {
        self.key.family()
    }

    /// Equal in everything the kernel lets us set (HASHED ignored).
    pub fn same_settings(&self, other: &Service) -> bool {
        self.key == other.key
            && self.scheduler == other.scheduler
            && self.flags.user() == other.flags.user()
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.pe_name == other.pe_name
    }
}

/// The kernel's default granularity: a whole address.
pub fn default_netmask(family: Family) -> u32 {
    match family {
        Family::V4 => u32::MAX,
        Family::V6 => 128,
    }
}

/// Tunnel encapsulation for `Forward::Tun` (Linux 5.2+; GRE 5.3+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TunnelKind {
    #[default]
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

impl TunnelKind {
    pub fn number(self) -> u8 {
        match self {
            TunnelKind::Ipip => 0,
            TunnelKind::Gue => 1,
            TunnelKind::Gre => 2,
            TunnelKind::Other(n) => n,
        }
    }

    pub fn from_number(n: u8) -> TunnelKind {
        match n {
            0 => TunnelKind::Ipip,
            1 => TunnelKind::Gue,
            2 => TunnelKind::Gre,
            n => TunnelKind::Other(n),
        }
    }
}

/// `IP_VS_TUNNEL_ENCAP_FLAG_*`: checksum handling of GUE/GRE tunnels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TunnelCsum {
    #[default]
    NoCsum,
    Csum,
    RemCsum,
    Other(u16),
}

impl TunnelCsum {
    pub fn number(self) -> u16 {
        match self {
            TunnelCsum::NoCsum => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::RemCsum => 2,
            TunnelCsum::Other(n) => n,
        }
    }

    pub fn from_number(n: u16) -> TunnelCsum {
        match n {
            0 => TunnelCsum::NoCsum,
            1 => TunnelCsum::Csum,
            2 => TunnelCsum::RemCsum,
            n => TunnelCsum::Other(n),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// UDP port of a GUE tunnel (0 otherwise).
    pub port: u16,
    pub csum: TunnelCsum,
}

/// Forwarding method (`IP_VS_CONN_F_*` & 0x7): keepalived's `lb_kind NAT|DR|TUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Forward {
    /// Masquerading (NAT).
    Nat,
    /// Direct routing ("gatewaying").
    Dr,
    /// IP-in-IP / GUE / GRE tunnelling.
    Tun(Tunnel),
    /// Local node (kernel-chosen for local real servers).
    Local,
    /// Bypass.
    Bypass,
}

impl Forward {
    pub const MASQ: u32 = 0;
    pub const LOCALNODE: u32 = 1;
    pub const TUNNEL: u32 = 2;
    pub const DROUTE: u32 = 3;
    pub const BYPASS: u32 = 4;

    pub fn method(self) -> u32 {
        match self {
            Forward::Nat => Self::MASQ,
            Forward::Local => Self::LOCALNODE,
            Forward::Tun(_) => Self::TUNNEL,
            Forward::Dr => Self::DROUTE,
            Forward::Bypass => Self::BYPASS,
        }
    }

    pub fn tunnel(self) -> Tunnel {
        match self {
            Forward::Tun(t) => t,
            _ => Tunnel::default(),
        }
    }
}

/// What identifies a dest inside its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.addr, self.port)
    }
}

/// A real server behind a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dest {
    pub addr: IpAddr,
    /// Ignored by the kernel for DR/TUN forwarding; 0 for fwmark services.
    pub port: u16,
    pub forward: Forward,
    /// 0 quiesces the server (keepalived's `inhibit_on_failure`). The kernel refuses > i32::MAX.
    pub weight: u32,
    /// Upper connection threshold, 0 = none.
    pub u_threshold: u32,
    /// Lower connection threshold, 0 = none.
    pub l_threshold: u32,
}

impl Dest {
    pub fn new(addr: IpAddr, port: u16, forward: Forward, weight: u32) -> Dest {
        Dest {
            addr,
            port,
            forward,
            weight,
            u_threshold: 0,
            l_threshold: 0,
        }
    }

    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }

    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// Traffic counters (`IPVS_STATS_ATTR_*`), from STATS64 when the kernel sends it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A service as dumped by the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEntry {
    pub service: Service,
    pub stats: Stats,
}

/// A dest as dumped by the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestEntry {
    pub dest: Dest,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: Stats,
}

/// Role of the IPVS connection-sync daemon (keepalived `lvs_sync_daemon`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SyncState {
    Master,
    Backup,
}

impl SyncState {
    pub fn number(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }

    pub fn from_number(n: u32) -> Option<SyncState> {
        match n {
            1 => Some(SyncState::Master),
            2 => Some(SyncState::Backup),
            _ => None,
        }
    }
}

/// The connection-sync daemon. The optional fields are sent only when set (the kernel picks
/// defaults) and are always present in a dump from Linux 4.7+.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyncDaemon {
    pub state: SyncState,
    pub mcast_ifname: String,
    pub syncid: u32,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    pub fn new(state: SyncState, mcast_ifname: &str, syncid: u32) -> SyncDaemon {
        SyncDaemon {
            state,
            mcast_ifname: mcast_ifname.to_string(),
            syncid,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        }
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`). 0 leaves a value as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// `IPVS_CMD_GET_INFO`: the IPVS version (0x010201 = 1.2.1) and connection-table size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Info {
    pub version: u32,
    pub conn_tab_size: u32,
}

pub(crate) fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    // nf_inet_addr: IPv4 in the first 4 bytes, zero padded (never the ::ffff: mapped form).
    match addr {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

pub(crate) fn addr_from(family: Family, b: &[u8]) -> Option<IpAddr> {
    match family {
        Family::V4 => {
            let o: [u8; 4] = b.get(..4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(o)))
        }
        Family::V6 => {
            let o: [u8; 16] = b.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
    }
}
