//! IPVS generic-netlink messages: requests to attribute bytes, kernel replies back to values.
//! Pure: no sockets here. Byte orders follow the kernel (`ip_vs_ctl.c`): ports and addresses in
//! network order, everything else in host order, the IPv4 netmask as raw mask bytes and the
//! IPv6 one as a host-order prefix length. Attribute order follows ipvsadm 1.31 so that our
//! bytes can be compared with captures of it (`tests/fixtures/ipvs`).

use netlink_packet_core::{
    DecodeError, Emitable, Nla, NlaBuffer, NlasIterator, ParseableParametrized, NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::error::Error;
use super::types::*;

pub const IPVS_GENL_NAME: &str = "IPVS";
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const NEW_DAEMON: u8 = 9;
    pub const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*`, `IPVS_SVC_ATTR_*`, `IPVS_DEST_ATTR_*`, `IPVS_DAEMON_ATTR_*`,
/// `IPVS_STATS_ATTR_*`, `IPVS_INFO_ATTR_*`.
pub mod attr {
    pub const CMD_SERVICE: u16 = 1;
    pub const CMD_DEST: u16 = 2;
    pub const CMD_DAEMON: u16 = 3;
    pub const CMD_TIMEOUT_TCP: u16 = 4;
    pub const CMD_TIMEOUT_TCP_FIN: u16 = 5;
    pub const CMD_TIMEOUT_UDP: u16 = 6;

    pub const SVC_AF: u16 = 1;
    pub const SVC_PROTOCOL: u16 = 2;
    pub const SVC_ADDR: u16 = 3;
    pub const SVC_PORT: u16 = 4;
    pub const SVC_FWMARK: u16 = 5;
    pub const SVC_SCHED_NAME: u16 = 6;
    pub const SVC_FLAGS: u16 = 7;
    pub const SVC_TIMEOUT: u16 = 8;
    pub const SVC_NETMASK: u16 = 9;
    pub const SVC_STATS: u16 = 10;
    pub const SVC_PE_NAME: u16 = 11;
    pub const SVC_STATS64: u16 = 12;

    pub const DEST_ADDR: u16 = 1;
    pub const DEST_PORT: u16 = 2;
    pub const DEST_FWD_METHOD: u16 = 3;
    pub const DEST_WEIGHT: u16 = 4;
    pub const DEST_U_THRESH: u16 = 5;
    pub const DEST_L_THRESH: u16 = 6;
    pub const DEST_ACTIVE_CONNS: u16 = 7;
    pub const DEST_INACT_CONNS: u16 = 8;
    pub const DEST_PERSIST_CONNS: u16 = 9;
    pub const DEST_STATS: u16 = 10;
    pub const DEST_ADDR_FAMILY: u16 = 11;
    pub const DEST_STATS64: u16 = 12;
    pub const DEST_TUN_TYPE: u16 = 13;
    pub const DEST_TUN_PORT: u16 = 14;
    pub const DEST_TUN_FLAGS: u16 = 15;

    pub const DAEMON_STATE: u16 = 1;
    pub const DAEMON_MCAST_IFN: u16 = 2;
    pub const DAEMON_SYNC_ID: u16 = 3;
    pub const DAEMON_SYNC_MAXLEN: u16 = 4;
    pub const DAEMON_MCAST_GROUP: u16 = 5;
    pub const DAEMON_MCAST_GROUP6: u16 = 6;
    pub const DAEMON_MCAST_PORT: u16 = 7;
    pub const DAEMON_MCAST_TTL: u16 = 8;

    pub const INFO_VERSION: u16 = 1;
    pub const INFO_CONN_TAB_SIZE: u16 = 2;
}

/// Longest scheduler / persistence-engine / interface name the kernel takes, NUL excluded.
pub const NAME_MAX: usize = 15;

/// One attribute to send: bytes, or nested attributes (sent with NLA_F_NESTED, as libnl does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attr {
    Bytes(u16, Vec<u8>),
    Nested(u16, Vec<Attr>),
}

impl Attr {
    fn u8(kind: u16, v: u8) -> Attr {
        Attr::Bytes(kind, vec![v])
    }
    fn u16(kind: u16, v: u16) -> Attr {
        Attr::Bytes(kind, v.to_ne_bytes().to_vec())
    }
    fn be16(kind: u16, v: u16) -> Attr {
        Attr::Bytes(kind, v.to_be_bytes().to_vec())
    }
    fn u32(kind: u16, v: u32) -> Attr {
        Attr::Bytes(kind, v.to_ne_bytes().to_vec())
    }
    fn string(kind: u16, s: &str) -> Attr {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        Attr::Bytes(kind, v)
    }
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Bytes(_, v) => v.len(),
            Attr::Nested(_, attrs) => attrs.as_slice().buffer_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Attr::Bytes(k, _) => *k,
            Attr::Nested(k, _) => *k | NLA_F_NESTED,
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Attr::Bytes(_, v) => buffer[..v.len()].copy_from_slice(v),
            Attr::Nested(_, attrs) => attrs.as_slice().emit(buffer),
        }
    }
}

/// Serializes attributes into the bytes that follow the genl header.
pub fn emit_attrs(attrs: &[Attr]) -> Vec<u8> {
    let mut buf = vec![0u8; attrs.buffer_len()];
    attrs.emit(&mut buf);
    buf
}

/// A request to the IPVS family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    NewService(Service),
    SetService(Service),
    DelService(ServiceKey),
    GetService(ServiceKey),
    /// Dump every service.
    DumpServices,
    NewDest(ServiceKey, Dest),
    SetDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
    /// Dump the dests of one service.
    DumpDests(ServiceKey),
    NewDaemon(SyncDaemon),
    DelDaemon(SyncState),
    DumpDaemons,
    GetConfig,
    SetConfig(Timeouts),
    GetInfo,
    /// Zero the counters of one service, or of all.
    Zero(Option<ServiceKey>),
    Flush,
}

impl Request {
    pub fn command(&self) -> u8 {
        match self {
            Request::NewService(_) => cmd::NEW_SERVICE,
            Request::SetService(_) => cmd::SET_SERVICE,
            Request::DelService(_) => cmd::DEL_SERVICE,
            Request::GetService(_) | Request::DumpServices => cmd::GET_SERVICE,
            Request::NewDest(..) => cmd::NEW_DEST,
            Request::SetDest(..) => cmd::SET_DEST,
            Request::DelDest(..) => cmd::DEL_DEST,
            Request::DumpDests(_) => cmd::GET_DEST,
            Request::NewDaemon(_) => cmd::NEW_DAEMON,
            Request::DelDaemon(_) => cmd::DEL_DAEMON,
            Request::DumpDaemons => cmd::GET_DAEMON,
            Request::GetConfig => cmd::GET_CONFIG,
            Request::SetConfig(_) => cmd::SET_CONFIG,
            Request::GetInfo => cmd::GET_INFO,
            Request::Zero(_) => cmd::ZERO,
            Request::Flush => cmd::FLUSH,
        }
    }

    /// Whether the request is a dump (NLM_F_DUMP; answered by messages and NLMSG_DONE).
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::DumpServices | Request::DumpDests(_) | Request::DumpDaemons
        )
    }

    /// Checks what the kernel would refuse with a bare EINVAL, so the caller gets a reason.
    pub fn validate(&self) -> Result<(), Error> {
        let svc = |s: &Service| -> Result<(), Error> {
            if s.scheduler.len() > NAME_MAX || s.scheduler.contains('\0') {
                return Err(Error::invalid(format!("scheduler name {:?}", s.scheduler)));
            }
            if let Some(pe) = &s.pe_name {
                if pe.len() > NAME_MAX || pe.contains('\0') {
                    return Err(Error::invalid(format!("persistence engine {pe:?}")));
                }
            }
            if s.family() == Family::V6 && !(1..=128).contains(&s.netmask) {
                return Err(Error::invalid(format!(
                    "IPv6 granularity /{} (1..128)",
                    s.netmask
                )));
            }
            Ok(())
        };
        let dest = |d: &Dest| -> Result<(), Error> {
            if d.weight > i32::MAX as u32 {
                return Err(Error::invalid(format!("weight {}", d.weight)));
            }
            // ERANGE otherwise, also when there is no upper threshold (0)
            if d.l_threshold > d.u_threshold {
                return Err(Error::invalid(format!(
                    "lower threshold {} above upper threshold {} for {}",
                    d.l_threshold,
                    d.u_threshold,
                    d.key()
                )));
            }
            Ok(())
        };
        match self {
            Request::NewService(s) | Request::SetService(s) => svc(s),
            Request::NewDest(_, d) | Request::SetDest(_, d) => dest(d),
            Request::NewDaemon(d) if d.mcast_ifname.len() > NAME_MAX => Err(Error::invalid(
                format!("sync daemon interface {:?}", d.mcast_ifname),
            )),
            _ => Ok(()),
        }
    }

    /// The request's attributes (what follows the genl header).
    pub fn attrs(&self) -> Vec<Attr> {
        use attr::*;
        match self {
            Request::NewService(s) | Request::SetService(s) => {
                vec![Attr::Nested(CMD_SERVICE, service_attrs(s))]
            }
            Request::DelService(k) | Request::GetService(k) | Request::DumpDests(k) => {
                vec![Attr::Nested(CMD_SERVICE, service_key_attrs(k))]
            }
            Request::Zero(Some(k)) => vec![Attr::Nested(CMD_SERVICE, service_key_attrs(k))],
            Request::NewDest(k, d) | Request::SetDest(k, d) => vec![
                Attr::Nested(CMD_SERVICE, service_key_attrs(k)),
                Attr::Nested(CMD_DEST, dest_attrs(d)),
            ],
            Request::DelDest(k, d) => vec![
                Attr::Nested(CMD_SERVICE, service_key_attrs(k)),
                Attr::Nested(CMD_DEST, dest_key_attrs(d)),
            ],
            Request::NewDaemon(d) => vec![Attr::Nested(CMD_DAEMON, daemon_attrs(d))],
            Request::DelDaemon(state) => vec![Attr::Nested(
                CMD_DAEMON,
                vec![Attr::u32(DAEMON_STATE, state.number())],
            )],
            Request::SetConfig(t) => vec![
                Attr::u32(CMD_TIMEOUT_TCP, t.tcp),
                Attr::u32(CMD_TIMEOUT_TCP_FIN, t.tcp_fin),
                Attr::u32(CMD_TIMEOUT_UDP, t.udp),
            ],
            Request::DumpServices
            | Request::DumpDaemons
            | Request::GetConfig
            | Request::GetInfo
            | Request::Zero(None)
            | Request::Flush => vec![],
        }
    }

    /// The genl payload: header (cmd, version 1, reserved) followed by the attributes.
    pub fn to_genl_bytes(&self) -> Vec<u8> {
        let mut v = vec![self.command(), IPVS_GENL_VERSION, 0, 0];
        v.extend(emit_attrs(&self.attrs()));
        v
    }
}

fn service_key_attrs(k: &ServiceKey) -> Vec<Attr> {
    use attr::*;
    let mut v = vec![Attr::u16(SVC_AF, k.family().to_af())];
    match k {
        ServiceKey::Fwmark { mark, .. } => v.push(Attr::u32(SVC_FWMARK, *mark)),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            v.push(Attr::u16(SVC_PROTOCOL, protocol.number()));
            v.push(Attr::Bytes(SVC_ADDR, addr_bytes(addr).to_vec()));
            v.push(Attr::be16(SVC_PORT, *port));
        }
    }
    v
}

fn netmask_bytes(family: Family, netmask: u32) -> Vec<u8> {
    match family {
        // the kernel keeps the mask as a __be32 ...
        Family::V4 => netmask.to_be_bytes().to_vec(),
        // ... and compares that same field with 1..128 for IPv6
        Family::V6 => netmask.to_ne_bytes().to_vec(),
    }
}

fn service_attrs(s: &Service) -> Vec<Attr> {
    use attr::*;
    let mut v = service_key_attrs(&s.key);
    v.push(Attr::string(SVC_SCHED_NAME, &s.scheduler));
    if let Some(pe) = &s.pe_name {
        v.push(Attr::string(SVC_PE_NAME, pe));
    }
    let mut flags = s.flags.user().0.to_ne_bytes().to_vec();
    flags.extend(u32::MAX.to_ne_bytes()); // mask: set every flag to our value
    v.push(Attr::Bytes(SVC_FLAGS, flags));
    v.push(Attr::u32(SVC_TIMEOUT, s.timeout));
    v.push(Attr::Bytes(
        SVC_NETMASK,
        netmask_bytes(s.family(), s.netmask),
    ));
    v
}

fn dest_key_attrs(d: &DestKey) -> Vec<Attr> {
    use attr::*;
    vec![
        Attr::u16(DEST_ADDR_FAMILY, Family::of(&d.addr).to_af()),
        Attr::Bytes(DEST_ADDR, addr_bytes(&d.addr).to_vec()),
        Attr::be16(DEST_PORT, d.port),
    ]
}

fn dest_attrs(d: &Dest) -> Vec<Attr> {
    use attr::*;
    let mut v = dest_key_attrs(&d.key());
    let tun = d.forward.tunnel();
    v.extend([
        Attr::u32(DEST_FWD_METHOD, d.forward.method()),
        Attr::u32(DEST_WEIGHT, d.weight),
        // Sent for every method, as ipvsadm does; kernels before 5.2 ignore them.
        Attr::u8(DEST_TUN_TYPE, tun.kind.number()),
        Attr::be16(DEST_TUN_PORT, tun.port),
        Attr::u16(DEST_TUN_FLAGS, tun.csum.number()),
        Attr::u32(DEST_U_THRESH, d.u_threshold),
        Attr::u32(DEST_L_THRESH, d.l_threshold),
    ]);
    v
}

fn daemon_attrs(d: &SyncDaemon) -> Vec<Attr> {
    use attr::*;
    let mut v = vec![
        Attr::u32(DAEMON_STATE, d.state.number()),
        Attr::string(DAEMON_MCAST_IFN, &d.mcast_ifname),
        Attr::u32(DAEMON_SYNC_ID, d.syncid),
    ];
    if let Some(m) = d.maxlen {
        v.push(Attr::u16(DAEMON_SYNC_MAXLEN, m));
    }
    if let Some(p) = d.port {
        v.push(Attr::u16(DAEMON_MCAST_PORT, p));
    }
    if let Some(t) = d.ttl {
        v.push(Attr::u8(DAEMON_MCAST_TTL, t));
    }
    match d.group {
        Some(std::net::IpAddr::V4(g)) => {
            v.push(Attr::Bytes(DAEMON_MCAST_GROUP, g.octets().to_vec()))
        }
        Some(std::net::IpAddr::V6(g)) => {
            v.push(Attr::Bytes(DAEMON_MCAST_GROUP6, g.octets().to_vec()))
        }
        None => {}
    }
    v
}

// ------------------------------------------------------------------------------------ replies

/// One message of a kernel reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Service(ServiceEntry),
    Dest(DestEntry),
    Daemon(SyncDaemon),
    Config(Timeouts),
    Info(Info),
}

/// Decodes one IPVS reply message: `cmd` from its genl header, `attrs` the bytes after it.
pub fn parse_reply(cmd: u8, attrs: &[u8]) -> Result<Reply, Error> {
    let top = Attrs::parse(attrs, "reply")?;
    match cmd {
        cmd::NEW_SERVICE => {
            let nested = top.need(attr::CMD_SERVICE, "service reply")?;
            Ok(Reply::Service(parse_service(nested)?))
        }
        cmd::NEW_DEST => {
            let nested = top.need(attr::CMD_DEST, "dest reply")?;
            Ok(Reply::Dest(parse_dest(nested, None)?))
        }
        cmd::NEW_DAEMON => {
            let nested = top.need(attr::CMD_DAEMON, "daemon reply")?;
            Ok(Reply::Daemon(parse_daemon(nested)?))
        }
        cmd::SET_CONFIG => Ok(Reply::Config(Timeouts {
            tcp: top.u32_or(attr::CMD_TIMEOUT_TCP, 0)?,
            tcp_fin: top.u32_or(attr::CMD_TIMEOUT_TCP_FIN, 0)?,
            udp: top.u32_or(attr::CMD_TIMEOUT_UDP, 0)?,
        })),
        cmd::SET_INFO => Ok(Reply::Info(Info {
            version: top.u32_or(attr::INFO_VERSION, 0)?,
            conn_tab_size: top.u32_or(attr::INFO_CONN_TAB_SIZE, 0)?,
        })),
        other => Err(Error::Malformed(format!(
            "unexpected reply command {other}"
        ))),
    }
}

/// Decodes the nested SERVICE attribute of a reply.
pub fn parse_service(bytes: &[u8]) -> Result<ServiceEntry, Error> {
    use attr::*;
    let a = Attrs::parse(bytes, "service")?;
    let af = a.u16(SVC_AF, "service AF")?;
    let family = Family::from_af(af).ok_or_else(|| Error::Malformed(format!("service AF {af}")))?;
    let key = match a.get(SVC_FWMARK) {
        Some(_) if a.u32(SVC_FWMARK, "fwmark")? != 0 => ServiceKey::Fwmark {
            family,
            mark: a.u32(SVC_FWMARK, "fwmark")?,
        },
        _ => {
            let addr = a.need(SVC_ADDR, "service address")?;
            ServiceKey::Addr {
                protocol: Protocol::from_number(a.u16(SVC_PROTOCOL, "protocol")?),
                addr: addr_from(family, addr)
                    .ok_or_else(|| Error::Malformed("service address too short".into()))?,
                port: a.be16(SVC_PORT, "service port")?,
            }
        }
    };
    let flags = a.need(SVC_FLAGS, "service flags")?;
    let flags = flags
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or_else(|| Error::Malformed("service flags too short".into()))?;
    let netmask = a.need(SVC_NETMASK, "netmask")?;
    let netmask: [u8; 4] = netmask
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Malformed("netmask too short".into()))?;
    let netmask = match family {
        Family::V4 => u32::from_be_bytes(netmask),
        Family::V6 => u32::from_ne_bytes(netmask),
    };
    let stats = match (a.get(SVC_STATS64), a.get(SVC_STATS)) {
        (Some(s), _) => parse_stats(s, true)?,
        (None, Some(s)) => parse_stats(s, false)?,
        (None, None) => Stats::default(),
    };
    Ok(ServiceEntry {
        service: Service {
            key,
            scheduler: a.string(SVC_SCHED_NAME)?.unwrap_or_default(),
            flags: ServiceFlags(flags).user(),
            timeout: a.u32_or(SVC_TIMEOUT, 0)?,
            netmask,
            pe_name: a.string(SVC_PE_NAME)?.filter(|s| !s.is_empty()),
        },
        stats,
    })
}

/// Decodes the nested DEST attribute of a reply. `service_family` is used when the kernel
/// (before 3.18) sends no ADDR_FAMILY; with neither, the address length decides.
pub fn parse_dest(bytes: &[u8], service_family: Option<Family>) -> Result<DestEntry, Error> {
    use attr::*;
    let a = Attrs::parse(bytes, "dest")?;
    let addr = a.need(DEST_ADDR, "dest address")?;
    let family = match a.get(DEST_ADDR_FAMILY) {
        Some(_) => {
            let af = a.u16(DEST_ADDR_FAMILY, "dest AF")?;
            Family::from_af(af).ok_or_else(|| Error::Malformed(format!("dest AF {af}")))?
        }
        None => service_family.unwrap_or(if addr.len() == 4 {
            Family::V4
        } else {
            Family::V6
        }),
    };
    let addr =
        addr_from(family, addr).ok_or_else(|| Error::Malformed("dest address too short".into()))?;
    let method = a.u32(DEST_FWD_METHOD, "forwarding method")? & 0x7;
    let forward = match method {
        Forward::MASQ => Forward::Nat,
        Forward::LOCALNODE => Forward::Local,
        Forward::DROUTE => Forward::Dr,
        Forward::BYPASS => Forward::Bypass,
        Forward::TUNNEL => Forward::Tun(Tunnel {
            kind: TunnelKind::from_number(a.u8_or(DEST_TUN_TYPE, 0)?),
            port: match a.get(DEST_TUN_PORT) {
                Some(_) => a.be16(DEST_TUN_PORT, "tunnel port")?,
                None => 0,
            },
            csum: TunnelCsum::from_number(a.u16_or(DEST_TUN_FLAGS, 0)?),
        }),
        m => return Err(Error::Malformed(format!("forwarding method {m}"))),
    };
    let stats = match (a.get(DEST_STATS64), a.get(DEST_STATS)) {
        (Some(s), _) => parse_stats(s, true)?,
        (None, Some(s)) => parse_stats(s, false)?,
        (None, None) => Stats::default(),
    };
    Ok(DestEntry {
        dest: Dest {
            addr,
            port: a.be16(DEST_PORT, "dest port")?,
            forward,
            weight: a.u32_or(DEST_WEIGHT, 0)?,
            u_threshold: a.u32_or(DEST_U_THRESH, 0)?,
            l_threshold: a.u32_or(DEST_L_THRESH, 0)?,
        },
        active_conns: a.u32_or(DEST_ACTIVE_CONNS, 0)?,
        inactive_conns: a.u32_or(DEST_INACT_CONNS, 0)?,
        persistent_conns: a.u32_or(DEST_PERSIST_CONNS, 0)?,
        stats,
    })
}

fn parse_daemon(bytes: &[u8]) -> Result<SyncDaemon, Error> {
    use attr::*;
    let a = Attrs::parse(bytes, "daemon")?;
    let state = a.u32(DAEMON_STATE, "daemon state")?;
    let group = match (a.get(DAEMON_MCAST_GROUP6), a.get(DAEMON_MCAST_GROUP)) {
        (Some(g), _) => Some(
            addr_from(Family::V6, g)
                .ok_or_else(|| Error::Malformed("mcast group6 too short".into()))?,
        ),
        (None, Some(g)) => Some(
            addr_from(Family::V4, g)
                .ok_or_else(|| Error::Malformed("mcast group too short".into()))?,
        ),
        (None, None) => None,
    };
    Ok(SyncDaemon {
        state: SyncState::from_number(state)
            .ok_or_else(|| Error::Malformed(format!("daemon state {state}")))?,
        mcast_ifname: a.string(DAEMON_MCAST_IFN)?.unwrap_or_default(),
        syncid: a.u32_or(DAEMON_SYNC_ID, 0)?,
        maxlen: a.opt(DAEMON_SYNC_MAXLEN, |b| {
            fixed::<2>(b).map(u16::from_ne_bytes)
        })?,
        group,
        port: a.opt(DAEMON_MCAST_PORT, |b| fixed::<2>(b).map(u16::from_ne_bytes))?,
        ttl: a.opt(DAEMON_MCAST_TTL, |b| fixed::<1>(b).map(|b| b[0]))?,
    })
}

fn parse_stats(bytes: &[u8], wide: bool) -> Result<Stats, Error> {
    let a = Attrs::parse(bytes, "stats")?;
    // STATS: u32 counters except the byte counts (u64); STATS64: all u64.
    let n = |kind: u16, is_u64: bool| -> Result<u64, Error> {
        match a.get(kind) {
            None => Ok(0),
            Some(b) if is_u64 || wide => fixed::<8>(b).map(u64::from_ne_bytes),
            Some(b) => fixed::<4>(b).map(|b| u32::from_ne_bytes(b) as u64),
        }
    };
    Ok(Stats {
        conns: n(1, false)?,
        inpkts: n(2, false)?,
        outpkts: n(3, false)?,
        inbytes: n(4, true)?,
        outbytes: n(5, true)?,
        cps: n(6, false)?,
        inpps: n(7, false)?,
        outpps: n(8, false)?,
        inbps: n(9, false)?,
        outbps: n(10, false)?,
    })
}

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], Error> {
    b.get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Malformed(format!("attribute of {} bytes, want {N}", b.len())))
}

/// Attributes of one level, by type (the last one of a type wins, as in the kernel's parser).
struct Attrs<'a> {
    items: Vec<(u16, &'a [u8])>,
}

impl<'a> Attrs<'a> {
    fn parse(bytes: &'a [u8], what: &str) -> Result<Attrs<'a>, Error> {
        let mut items = Vec::new();
        for nla in NlasIterator::new(bytes) {
            let nla: NlaBuffer<&'a [u8]> =
                nla.map_err(|e| Error::Malformed(format!("{what}: {e}")))?;
            let kind = nla.kind();
            let len = nla.value_length();
            // value() borrows from the NlaBuffer; slice the underlying bytes instead.
            let inner: &'a [u8] = nla.into_inner();
            items.push((kind, &inner[4..4 + len]));
        }
        Ok(Attrs { items })
    }

    fn get(&self, kind: u16) -> Option<&'a [u8]> {
        self.items
            .iter()
            .rev()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
    }

    fn need(&self, kind: u16, what: &str) -> Result<&'a [u8], Error> {
        self.get(kind)
            .ok_or_else(|| Error::Malformed(format!("missing {what}")))
    }

    fn opt<T>(
        &self,
        kind: u16,
        f: impl FnOnce(&[u8]) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        self.get(kind).map(f).transpose()
    }

    fn u16(&self, kind: u16, what: &str) -> Result<u16, Error> {
        fixed::<2>(self.need(kind, what)?).map(u16::from_ne_bytes)
    }

    fn be16(&self, kind: u16, what: &str) -> Result<u16, Error> {
        fixed::<2>(self.need(kind, what)?).map(u16::from_be_bytes)
    }

    fn u32(&self, kind: u16, what: &str) -> Result<u32, Error> {
        fixed::<4>(self.need(kind, what)?).map(u32::from_ne_bytes)
    }

    fn u8_or(&self, kind: u16, default: u8) -> Result<u8, Error> {
        Ok(self
            .opt(kind, |b| fixed::<1>(b).map(|b| b[0]))?
            .unwrap_or(default))
    }

    fn u16_or(&self, kind: u16, default: u16) -> Result<u16, Error> {
        Ok(self
            .opt(kind, |b| fixed::<2>(b).map(u16::from_ne_bytes))?
            .unwrap_or(default))
    }

    fn u32_or(&self, kind: u16, default: u32) -> Result<u32, Error> {
        Ok(self
            .opt(kind, |b| fixed::<4>(b).map(u32::from_ne_bytes))?
            .unwrap_or(default))
    }

    /// A NUL-terminated string (the NUL and anything after it dropped).
    fn string(&self, kind: u16) -> Result<Option<String>, Error> {
        self.opt(kind, |b| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8(b[..end].to_vec())
                .map_err(|_| Error::Malformed(format!("attribute {kind}: not UTF-8")))
        })
    }
}

// ----------------------------------------------------------------- generic netlink framing

/// An IPVS generic-netlink payload for `netlink_packet_generic::GenlMessage`: the command and
/// the raw attribute bytes (typed by `Request::attrs` / `parse_reply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsGenl {
    pub cmd: u8,
    pub attrs: Vec<u8>,
}

impl IpvsGenl {
    pub fn request(req: &Request) -> IpvsGenl {
        IpvsGenl {
            cmd: req.command(),
            attrs: emit_attrs(&req.attrs()),
        }
    }
}

impl GenlFamily for IpvsGenl {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsGenl {
    fn buffer_len(&self) -> usize {
        self.attrs.len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        buffer[..self.attrs.len()].copy_from_slice(&self.attrs);
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsGenl {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(IpvsGenl {
            cmd: header.cmd,
            attrs: buf.to_vec(),
        })
    }
}

// ------------------------------------------------------------ netlink framing (both ways)

/// `NLMSG_*` message types and `NLM_F_*` flags (linux/netlink.h).
pub mod nl {
    pub const NOOP: u16 = 1;
    pub const ERROR: u16 = 2;
    pub const DONE: u16 = 3;
    pub const OVERRUN: u16 = 4;
    /// The generic-netlink controller's family id (`GENL_ID_CTRL`).
    pub const GENL_ID_CTRL: u16 = 0x10;
    pub const HDRLEN: usize = 16;

    pub const F_REQUEST: u16 = 0x1;
    pub const F_ACK: u16 = 0x4;
    pub const F_DUMP: u16 = 0x300;

    /// `CTRL_CMD_GETFAMILY`, `CTRL_ATTR_FAMILY_ID`, `CTRL_ATTR_FAMILY_NAME`.
    pub const CTRL_CMD_GETFAMILY: u8 = 3;
    pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
    pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
}

/// One whole netlink message: the 16-byte header, then `genl` (genl header and attributes),
/// padded to 4 bytes.
pub fn netlink_message(ty: u16, flags: u16, seq: u32, genl: &[u8]) -> Vec<u8> {
    let len = nl::HDRLEN + genl.len();
    let mut v = Vec::with_capacity((len + 3) & !3);
    v.extend((len as u32).to_ne_bytes());
    v.extend(ty.to_ne_bytes());
    v.extend(flags.to_ne_bytes());
    v.extend(seq.to_ne_bytes());
    v.extend(0u32.to_ne_bytes()); // port id: the kernel fills in ours
    v.extend(genl);
    v.resize((len + 3) & !3, 0);
    v
}

/// The netlink request that carries `req` to the IPVS family `family`, with `seq`.
pub fn request_message(req: &Request, family: u16, seq: u32) -> Vec<u8> {
    let flags = nl::F_REQUEST | nl::F_ACK | if req.is_dump() { nl::F_DUMP } else { 0 };
    netlink_message(family, flags, seq, &req.to_genl_bytes())
}

/// The controller request that asks for the id of the family `name` (`CTRL_CMD_GETFAMILY`).
pub fn family_request(name: &str, seq: u32) -> Vec<u8> {
    let mut genl = vec![nl::CTRL_CMD_GETFAMILY, 1, 0, 0];
    genl.extend(emit_attrs(&[Attr::string(nl::CTRL_ATTR_FAMILY_NAME, name)]));
    netlink_message(nl::GENL_ID_CTRL, nl::F_REQUEST | nl::F_ACK, seq, &genl)
}

/// The family id in the controller's answer to [`family_request`] (its attribute bytes).
pub fn parse_family_id(attrs: &[u8]) -> Result<u16, Error> {
    Attrs::parse(attrs, "controller reply")?.u16(nl::CTRL_ATTR_FAMILY_ID, "family id")
}

/// One netlink message of a datagram from the kernel, framed but not interpreted further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A generic-netlink message of family `ty`: its command and its attribute bytes.
    Genl {
        ty: u16,
        seq: u32,
        cmd: u8,
        attrs: &'a [u8],
    },
    /// NLMSG_ERROR with code 0: the request succeeded.
    Ack { seq: u32 },
    /// NLMSG_ERROR with a code: the kernel's errno (positive) for the request.
    Error { seq: u32, errno: i32 },
    /// NLMSG_DONE: the end of a dump; `errno` non-zero if the dump failed part-way.
    Done { seq: u32, errno: i32 },
    /// NLMSG_OVERRUN: the kernel dropped messages; what follows cannot be trusted.
    Overrun { seq: u32 },
    /// NLMSG_NOOP, or a reserved type (5..15): nothing to act on.
    Other { ty: u16, seq: u32 },
    /// A message whose length is right but whose content is not (an NLMSG_ERROR without its
    /// code, a genl message without its header): an error for its request, and the next
    /// message can still be read.
    Malformed { seq: u32, what: String },
}

impl Frame<'_> {
    pub fn seq(&self) -> u32 {
        match self {
            Frame::Genl { seq, .. }
            | Frame::Ack { seq }
            | Frame::Error { seq, .. }
            | Frame::Done { seq, .. }
            | Frame::Overrun { seq }
            | Frame::Other { seq, .. }
            | Frame::Malformed { seq, .. } => *seq,
        }
    }
}

/// The messages of one datagram, in order; a message that does not frame ends the iteration
/// with an error (nothing after it can be located).
pub fn frames(datagram: &[u8]) -> Frames<'_> {
    Frames {
        rest: datagram,
        failed: false,
    }
}

pub struct Frames<'a> {
    rest: &'a [u8],
    failed: bool,
}

fn ne_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> Frames<'a> {
    fn fail(&mut self, what: String) -> Option<Result<Frame<'a>, Error>> {
        self.failed = true;
        Some(Err(Error::Malformed(what)))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if b.len() < nl::HDRLEN {
            return self.fail(format!(
                "netlink header truncated: {} bytes left in the datagram, a header is {}",
                b.len(),
                nl::HDRLEN
            ));
        }
        let len = ne_u32(b, 0) as usize;
        let (ty, seq) = (ne_u16(b, 4), ne_u32(b, 8));
        if len < nl::HDRLEN || len > b.len() {
            return self.fail(format!(
                "netlink message (type {ty}, seq {seq}) says it is {len} bytes; {} are left in the datagram",
                b.len()
            ));
        }
        let payload = &b[nl::HDRLEN..len];
        // the next message starts at the 4-byte boundary; the last one may omit its padding
        self.rest = b.get((len + 3) & !3..).unwrap_or(&[]);
        let bad = |what: String| Frame::Malformed { seq, what };
        let status = |c: i32| -> Result<i32, Frame<'a>> {
            match c.checked_neg() {
                Some(e) if e >= 0 => Ok(e),
                _ => Err(bad(format!(
                    "netlink status {c} (seq {seq}) is not 0 or -errno"
                ))),
            }
        };
        let code = payload
            .get(..4)
            .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
        let frame = match (ty, code) {
            (nl::ERROR, None) => bad(format!(
                "netlink error (seq {seq}) of {} bytes has no error code",
                payload.len()
            )),
            (nl::ERROR, Some(c)) => match status(c) {
                Ok(0) => Frame::Ack { seq },
                Ok(errno) => Frame::Error { seq, errno },
                Err(f) => f,
            },
            // a dump ends with its status; an empty DONE (other netlink families) is a success
            (nl::DONE, None) if payload.is_empty() => Frame::Done { seq, errno: 0 },
            (nl::DONE, None) => bad(format!(
                "netlink done (seq {seq}) of {} bytes has no status",
                payload.len()
            )),
            (nl::DONE, Some(c)) => match status(c) {
                Ok(errno) => Frame::Done { seq, errno },
                Err(f) => f,
            },
            (nl::OVERRUN, _) => Frame::Overrun { seq },
            (ty, _) if ty < nl::GENL_ID_CTRL => Frame::Other { ty, seq },
            (ty, _) => match payload.get(4..) {
                Some(attrs) => Frame::Genl {
                    ty,
                    seq,
                    cmd: payload[0],
                    attrs,
                },
                None => bad(format!(
                    "generic netlink message (type {ty}, seq {seq}) of {} bytes has no genl header",
                    payload.len()
                )),
            },
        };
        Some(Ok(frame))
    }
}
