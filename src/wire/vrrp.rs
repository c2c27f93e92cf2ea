//! VRRP advertisement (RFC 3768 v2, RFC 5798 v3).
//!
//! `Repr` is the owned, validated form the `vrrp` core consumes and produces; the codec
//! (zero-copy view, parse, emit, checksums) lives beside it.
//!
//! Three layers, smoltcp style:
//! * [`Packet`]: a view over the bytes of one VRRP message (no IP header) with field getters
//!   and setters; [`Packet::new_checked`] guarantees the fixed 8-byte header is present so the
//!   fixed-field getters cannot go out of bounds.
//! * [`Repr`]: the decoded advert. [`Repr::parse`] validates a message given the IP facts it
//!   arrived with; [`Repr::emit`] writes one, checksum included.
//! * [`parse_ipv4`] / [`parse_ipv6`]: entry points for what the raw sockets hand over (IPv4:
//!   the whole datagram, header included; IPv6: the payload, with addresses and hop limit from
//!   the ancillary data).
//!
//! The checks done here are the wire-level ones of RFC 3768 §7.1 / RFC 5798 §7.1, in
//! keepalived's order (length, TTL, version, auth type, type, IP total length, checksum,
//! multicast-vs-unicast). Whether the VRID is ours, a v2 interval mismatch, the password and
//! the VIP list belong to the VRRP core; [`Repr::check_addrs`] and [`Error::counter`] give it
//! what it needs to count them in keepalived's statistics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::ipv4::{HeaderError, Ipv4Header, PROTO_AH, TOS_INTERNETWORK_CONTROL};

/// IP protocol number of VRRP (both versions, both families).
pub const PROTO_VRRP: u8 = 112;
/// TTL / hop limit adverts are sent with and (multicast) must arrive with.
pub const TTL: u8 = 255;
/// IPv4 multicast group of VRRP.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Fixed part of a VRRP message.
pub const HEADER_LEN: usize = 8;
/// Authentication data trailing a VRRPv2 message over IPv4.
pub const AUTH_DATA_LEN: usize = 8;
/// The only message type VRRP defines.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// v3 Max Adver Int is 12 bits of centiseconds.
pub const MAX_ADVER_INT_V3: u16 = 0x0fff;
/// Length of the IPsec AH header keepalived puts before VRRP with `auth_type AH`.
const AH_HEADER_LEN: usize = 24;

/// VRRP protocol version carried in the version nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    /// The value of the version nibble.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    pub const fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// Authentication carried by a VRRPv2 advert (v3 has none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Auth type 0.
    None,
    /// Auth type 1: simple text password, exactly 8 bytes on the wire (NUL padded).
    Pass([u8; 8]),
    /// Auth type 2 (IPsec AH): recognised, not supported.
    Ah,
}

impl Auth {
    /// A PASS auth from a configured `auth_pass`: keepalived keeps the first 8 bytes and pads
    /// shorter passwords with NULs.
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        let n = password.len().min(AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::Pass(data)
    }

    /// The auth type byte of a v2 header.
    pub const fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Ah => 2,
        }
    }
}

/// Address family of the IP layer an advert travels in (and of its address list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// How a VRRPv3 checksum over IPv4 is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumMode {
    /// RFC 5798 §5.2.8: the IPv4 pseudo-header is included (v2 never includes one; IPv6
    /// always does, because the kernel computes it with `IPV6_CHECKSUM`).
    #[default]
    Rfc,
    /// keepalived's `v3_checksum_as_v2` (after 2.2.7; RFC 9568 interop with some vendors):
    /// v3 over IPv4 summed like v2, without the pseudo-header.
    ///
    /// keepalived's other variant, `old_unicast_checksum` (1.3.6 and earlier unicast), keeps
    /// the pseudo-header but puts 224.0.0.18 in it instead of the real destination: use `Rfc`
    /// and pass [`MCAST_V4`] as the destination.
    V3AsV2,
}

/// The IP addresses a message is (or was) carried between: the checksum depends on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoints {
    pub src: IpAddr,
    pub dst: IpAddr,
}

impl Endpoints {
    /// The family of the IP layer, or `None` if src and dst disagree.
    pub fn family(&self) -> Option<Family> {
        let f = Family::of(&self.src);
        (f == Family::of(&self.dst)).then_some(f)
    }
}

/// keepalived's per-instance statistics counters (`vrrp_stats`; names as in its JSON dump and
/// SNMP code). A rejected advert bumps at most one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    AdvertRcvd,
    AdvertSent,
    BecomeMaster,
    ReleaseMaster,
    PacketLenErr,
    AdvertIntervalErr,
    IpTtlErr,
    InvalidTypeRcvd,
    AddrListErr,
    InvalidAuthtype,
    AuthtypeMismatch,
    AuthFailure,
    PriZeroRcvd,
    PriZeroSent,
    /// Checksum errors (kept by keepalived for SNMP, `vrrpStatsChecksumErrors`).
    ChkErr,
    /// Version errors (SNMP `vrrpStatsVersionErrors`).
    VersErr,
    /// VRID errors (SNMP `vrrpStatsVrIdErrors`).
    VridErr,
}

impl Counter {
    /// keepalived's field name, e.g. `"packet_len_err"`.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::AdvertRcvd => "advert_rcvd",
            Counter::AdvertSent => "advert_sent",
            Counter::BecomeMaster => "become_master",
            Counter::ReleaseMaster => "release_master",
            Counter::PacketLenErr => "packet_len_err",
            Counter::AdvertIntervalErr => "advert_interval_err",
            Counter::IpTtlErr => "ip_ttl_err",
            Counter::InvalidTypeRcvd => "invalid_type_rcvd",
            Counter::AddrListErr => "addr_list_err",
            Counter::InvalidAuthtype => "invalid_authtype",
            Counter::AuthtypeMismatch => "authtype_mismatch",
            Counter::AuthFailure => "auth_failure",
            Counter::PriZeroRcvd => "pri_zero_rcvd",
            Counter::PriZeroSent => "pri_zero_sent",
            Counter::ChkErr => "chk_err",
            Counter::VersErr => "vers_err",
            Counter::VridErr => "vrid_err",
        }
    }
}

/// Why a received message was rejected: one variant per cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The IPv4 header itself is unreadable (shorter than 20 bytes or than IHL, version not 4,
    /// IHL < 5). keepalived drops these before it knows the instance.
    #[error("malformed IPv4 header: {0:?}")]
    BadIpHeader(HeaderError),
    /// The IP protocol is neither VRRP nor AH.
    #[error("IP protocol {0} is not VRRP (112)")]
    NotVrrp(u8),
    /// Shorter than the fixed VRRP header (keepalived: "IPv4 VRRP packet too short").
    #[error("VRRP packet too short - {len} bytes")]
    Truncated { len: usize },
    /// The received length differs from the one implied by version and address count.
    #[error("vrrp packet too {}, length {actual} and expect {expected}", if .actual > .expected { "long" } else { "short" })]
    LengthMismatch { expected: usize, actual: usize },
    /// IPv4 total length disagrees with what was received.
    #[error("ip_tot_len mismatch against received length. {total_len} and received {actual}")]
    IpTotalLength { total_len: u16, actual: usize },
    /// Multicast adverts must arrive with TTL / hop limit 255.
    #[error("invalid TTL/HL. Received {0} and expect 255")]
    BadTtl(u8),
    /// Version nibble neither 2 nor 3.
    #[error("wrong version. Received {0}")]
    UnknownVersion(u8),
    /// v2 auth type other than 0 (none), 1 (PASS) or 2 (AH).
    #[error("Invalid auth type: {0}")]
    InvalidAuthType(u8),
    /// IPsec AH (IP protocol 51, or v2 auth type 2): recognised, not supported.
    #[error("IPsec AH authentication is not supported")]
    AhUnsupported,
    /// Message type other than 1 (advertisement).
    #[error("Invalid packet type. {0} and expect 1")]
    InvalidType(u8),
    /// The checksum does not verify.
    #[error(
        "Invalid VRRPv{version} checksum (received {received:#06x}, computed {computed:#06x})"
    )]
    BadChecksum {
        version: u8,
        received: u16,
        computed: u16,
    },
    /// Sent to a multicast address while we expect unicast, or the other way round.
    #[error("Expected {}icast packet but received {}icast packet", if *.expected_multicast { "mult" } else { "un" }, if *.expected_multicast { "un" } else { "mult" })]
    CastMismatch { expected_multicast: bool },
    /// (Core check via [`Repr::check_addrs`].) Address count differs from our VIP count.
    #[error("received an unexpected ip number count {received}, expected {expected}!")]
    AddrCountMismatch { expected: usize, received: usize },
    /// (Core check via [`Repr::check_addrs`].) One of our VIPs is not in the advert.
    #[error("ip address associated with VRID not present in MASTER advert: {0}")]
    AddrMissing(IpAddr),
}

impl Error {
    /// The keepalived counter this rejection bumps, if any. `None` for packets keepalived
    /// drops before it has matched them to an instance.
    pub const fn counter(&self) -> Option<Counter> {
        match self {
            Error::BadIpHeader(_) | Error::NotVrrp(_) | Error::Truncated { .. } => None,
            Error::LengthMismatch { .. } | Error::IpTotalLength { .. } => {
                Some(Counter::PacketLenErr)
            }
            Error::BadTtl(_) => Some(Counter::IpTtlErr),
            Error::UnknownVersion(_) => Some(Counter::VersErr),
            Error::InvalidAuthType(_) => Some(Counter::InvalidAuthtype),
            Error::AhUnsupported => Some(Counter::AuthtypeMismatch),
            Error::InvalidType(_) => Some(Counter::InvalidTypeRcvd),
            Error::BadChecksum { .. } => Some(Counter::ChkErr),
            Error::CastMismatch { .. }
            | Error::AddrCountMismatch { .. }
            | Error::AddrMissing(_) => Some(Counter::AddrListErr),
        }
    }
}

/// Why a `Repr` cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("buffer of {have} bytes, need {need}")]
    BufferTooSmall { need: usize, have: usize },
    #[error("source and destination addresses are of different families")]
    MixedEndpoints,
    #[error("virtual address {0} is not of the advert's address family")]
    AddrFamily(IpAddr),
    #[error("{0} virtual addresses do not fit the 8-bit count")]
    TooManyAddrs(usize),
    #[error("advert interval {0} cs cannot be carried by this version")]
    Interval(u16),
    #[error("authentication is not carried by VRRPv3 or over IPv6")]
    AuthNotCarried,
    #[error("IPsec AH authentication is not supported")]
    AhUnsupported,
}

mod field {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2: auth type; v3: rsvd (high nibble) + Max Adver Int (12 bits) over bytes 4..6.
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT_V2: usize = 5;
    pub const ADVER_INT_V3: core::ops::Range<usize> = 4..6;
    pub const CHECKSUM: core::ops::Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

/// A zero-copy view of one VRRP message (no IP header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks: fixed-field getters panic if it is shorter than
    /// [`HEADER_LEN`]. Use [`Packet::new_checked`] on anything received.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the fixed header is present.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Whether the fixed header is present. Addresses and auth data are checked against the
    /// family by [`Packet::check_len_for`] (the message alone does not say its family).
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            Err(Error::Truncated { len })
        } else {
            Ok(())
        }
    }

    /// Whether the length is exactly what version and address count imply for `family`.
    pub fn check_len_for(&self, family: Family) -> Result<(), Error> {
        self.check_len()?;
        let expected = self.expected_len(family);
        let actual = self.buffer.as_ref().len();
        if actual != expected {
            return Err(Error::LengthMismatch { expected, actual });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version nibble, raw.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type nibble, raw (1 = advertisement).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// "Count IP Addrs" / "Count IPvX Addr".
    pub fn count_addrs(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 only: the auth type byte.
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2 only: Adver Int, whole seconds.
    pub fn adver_int(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }

    /// v3 only: the 4 reserved bits (sent as 0, ignored on receipt).
    pub fn rsvd(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE] >> 4
    }

    /// v3 only: Max Adver Int, centiseconds (12 bits; the reserved bits are masked off).
    pub fn max_adver_int(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([
            b[field::ADVER_INT_V3.start],
            b[field::ADVER_INT_V3.start + 1],
        ]) & MAX_ADVER_INT_V3
    }

    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[field::CHECKSUM.start], b[field::CHECKSUM.start + 1]])
    }

    /// Whether this message carries auth data: only v2 over IPv4 (as keepalived sends it; over
    /// IPv6 v2 has no auth data).
    pub fn has_auth_data(&self, family: Family) -> bool {
        family == Family::Ipv4 && self.version() == 2
    }

    /// The length the header implies (keepalived's `expected_vrrp_pkt_len`).
    pub fn expected_len(&self, family: Family) -> usize {
        let auth = if self.has_auth_data(family) {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + usize::from(self.count_addrs()) * family.addr_len() + auth
    }

    /// The address list bytes, if all present.
    pub fn addr_bytes(&self, family: Family) -> Option<&[u8]> {
        let n = usize::from(self.count_addrs()) * family.addr_len();
        self.buffer
            .as_ref()
            .get(field::ADDRS..field::ADDRS.checked_add(n)?)
    }

    /// The addresses, decoded (empty if the message is too short for them).
    pub fn addrs(&self, family: Family) -> Vec<IpAddr> {
        let Some(bytes) = self.addr_bytes(family) else {
            return Vec::new();
        };
        match family {
            Family::Ipv4 => bytes
                .chunks_exact(4)
                .map(|c| IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])))
                .collect(),
            Family::Ipv6 => bytes
                .chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok())
                .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
                .collect(),
        }
    }

    /// v2 over IPv4: the 8 bytes of authentication data after the addresses.
    pub fn auth_data(&self, family: Family) -> Option<[u8; AUTH_DATA_LEN]> {
        if !self.has_auth_data(family) {
            return None;
        }
        let start = field::ADDRS + usize::from(self.count_addrs()) * family.addr_len();
        self.buffer
            .as_ref()
            .get(start..start + AUTH_DATA_LEN)
            .and_then(|s| s.try_into().ok())
    }

    /// The checksum this message should carry (its own checksum field treated as zero).
    /// Never panics, even on a view made with `new_unchecked` over too few bytes.
    pub fn compute_checksum(&self, ep: &Endpoints, mode: ChecksumMode) -> u16 {
        let b = self.buffer.as_ref();
        let acc = pseudo_sum(self.version(), b.len(), ep, mode);
        // `get`: also safe on an unchecked, truncated view.
        let acc = checksum::accumulate(acc, b.get(..field::CHECKSUM.start).unwrap_or(b));
        let acc = checksum::accumulate(acc, b.get(field::CHECKSUM.end..).unwrap_or_default());
        checksum::finish(acc)
    }

    /// Whether the checksum field is right for these endpoints.
    pub fn verify_checksum(&self, ep: &Endpoints, mode: ChecksumMode) -> bool {
        self.compute_checksum(ep, mode) == self.checksum()
    }
}

/// The pseudo-header part of the checksum sum for a message of `len` bytes.
fn pseudo_sum(version: u8, len: usize, ep: &Endpoints, mode: ChecksumMode) -> u64 {
    match (ep.src, ep.dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            checksum::pseudo_header_v6(s, d, PROTO_VRRP, u32::try_from(len).unwrap_or(u32::MAX))
        }
        (IpAddr::V4(s), IpAddr::V4(d)) if version == 3 && mode == ChecksumMode::Rfc => {
            checksum::pseudo_header_v4(s, d, PROTO_VRRP, u16::try_from(len).unwrap_or(u16::MAX))
        }
        _ => 0,
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    pub fn set_vrid(&mut self, v: u8) {
        self.buffer.as_mut()[field::VRID] = v;
    }

    pub fn set_priority(&mut self, v: u8) {
        self.buffer.as_mut()[field::PRIORITY] = v;
    }

    pub fn set_count_addrs(&mut self, v: u8) {
        self.buffer.as_mut()[field::COUNT] = v;
    }

    pub fn set_auth_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = v;
    }

    pub fn set_adver_int(&mut self, secs: u8) {
        self.buffer.as_mut()[field::ADVER_INT_V2] = secs;
    }

    /// v3: writes Max Adver Int with the reserved bits zero.
    pub fn set_max_adver_int(&mut self, cs: u16) {
        self.buffer.as_mut()[field::ADVER_INT_V3]
            .copy_from_slice(&(cs & MAX_ADVER_INT_V3).to_be_bytes());
    }

    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    /// Computes and stores the checksum.
    pub fn fill_checksum(&mut self, ep: &Endpoints, mode: ChecksumMode) {
        let c = self.compute_checksum(ep, mode);
        self.set_checksum(c);
    }

    /// The bytes after the fixed header (addresses, then v2 auth data).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::ADDRS..]
    }
}

/// An advertisement, independent of its encoding.
///
/// Two things on the wire are not kept, because receivers ignore them: the v3 reserved bits
/// (emitted as 0) and the auth data of a v2 advert with auth type 0 (emitted as zeros, as
/// keepalived does). `Auth::Ah` never comes out of `parse` (AH is rejected as unsupported).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repr {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds. v2 carries whole seconds (1..=255) and is stored
    /// here as seconds * 100; v3 carries 12 bits of centiseconds.
    pub advert_int_cs: u16,
    pub auth: Auth,
    /// The virtual addresses, all of one family.
    pub addrs: Vec<IpAddr>,
}

/// What the receive path is told about the socket the message came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RxOptions {
    /// RFC 3768/5798: multicast adverts must arrive with TTL 255. keepalived skips the check
    /// for unicast instances (its `min_ttl`/`max_ttl` are a core matter).
    pub check_ttl: bool,
    /// `Some(true)` for a multicast instance, `Some(false)` for a unicast one: a message sent
    /// the other way is rejected (keepalived counts it in `addr_list_err`). `None`: no check.
    pub expect_multicast: Option<bool>,
    pub checksum: ChecksumMode,
}

impl Default for RxOptions {
    /// A multicast instance with RFC checksums.
    fn default() -> RxOptions {
        RxOptions {
            check_ttl: true,
            expect_multicast: Some(true),
            checksum: ChecksumMode::Rfc,
        }
    }
}

/// A message that passed the wire-level checks, with the IP facts the core needs (the source
/// breaks priority ties; the TTL feeds unicast `min_ttl`/`max_ttl`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Received {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL / hop limit if the socket reported it.
    pub ttl: Option<u8>,
    pub repr: Repr,
}

/// A rejected message. `vrid` is set once the VRRP header could be read, so the core can
/// charge the error to the instance keepalived would (it counts per instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejected {
    pub vrid: Option<u8>,
    pub error: Error,
}

impl Repr {
    /// The family of the address list, `None` if it is empty.
    pub fn family(&self) -> Option<Family> {
        self.addrs.first().map(Family::of)
    }

    /// Encoded length for a message whose IP layer is `family`.
    pub fn buffer_len_in(&self, family: Family) -> usize {
        let auth = if family == Family::Ipv4 && self.version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + self.addrs.len() * family.addr_len() + auth
    }

    /// Encoded length, for the family of the address list (IPv4 if the list is empty; use
    /// [`Repr::buffer_len_in`] when that matters).
    pub fn buffer_len(&self) -> usize {
        self.buffer_len_in(self.family().unwrap_or(Family::Ipv4))
    }

    /// Validates one VRRP message (no IP header) and decodes it. `ep` is the IP source and
    /// destination it travelled between (for the checksum and multicast check), `ttl` the
    /// TTL / hop limit if known.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        ep: &Endpoints,
        ttl: Option<u8>,
        opts: &RxOptions,
    ) -> Result<Repr, Error> {
        Repr::parse_checked(packet, ep, ttl, opts, None)
    }

    /// `parse`, with the IPv4 total-length check (`ip_total`: header field, bytes received)
    /// slotted in where keepalived does it, so the first failing check is the one it reports.
    fn parse_checked<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        ep: &Endpoints,
        ttl: Option<u8>,
        opts: &RxOptions,
        ip_total: Option<(u16, usize)>,
    ) -> Result<Repr, Error> {
        packet.check_len()?;
        let family = Family::of(&ep.src);
        if Family::of(&ep.dst) != family {
            return Err(Error::CastMismatch {
                expected_multicast: opts.expect_multicast.unwrap_or(true),
            });
        }
        packet.check_len_for(family)?;
        if let (true, Some(t)) = (opts.check_ttl, ttl) {
            if t != TTL {
                return Err(Error::BadTtl(t));
            }
        }
        let version = Version::from_number(packet.version())
            .ok_or(Error::UnknownVersion(packet.version()))?;
        let auth = match version {
            Version::V3 => Auth::None,
            Version::V2 => match packet.auth_type() {
                0 => Auth::None,
                1 => match packet.auth_data(family) {
                    Some(data) => Auth::Pass(data),
                    // v2 over IPv6 has no room for a password.
                    None => return Err(Error::InvalidAuthType(1)),
                },
                2 => return Err(Error::AhUnsupported),
                t => return Err(Error::InvalidAuthType(t)),
            },
        };
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(Error::InvalidType(packet.msg_type()));
        }
        if let Some((total_len, actual)) = ip_total {
            if usize::from(total_len) != actual {
                return Err(Error::IpTotalLength { total_len, actual });
            }
        }
        let computed = packet.compute_checksum(ep, opts.checksum);
        if computed != packet.checksum() {
            return Err(Error::BadChecksum {
                version: version.number(),
                received: packet.checksum(),
                computed,
            });
        }
        if let Some(expected_multicast) = opts.expect_multicast {
            if ep.dst.is_multicast() != expected_multicast {
                return Err(Error::CastMismatch { expected_multicast });
            }
        }
        let advert_int_cs = match version {
            Version::V2 => u16::from(packet.adver_int()) * 100,
            Version::V3 => packet.max_adver_int(),
        };
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            advert_int_cs,
            auth,
            addrs: packet.addrs(family),
        })
    }

    /// Writes this advert into `packet`, checksum included, and returns the length written.
    /// The family is the endpoints'; every address must be of it.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        ep: &Endpoints,
        mode: ChecksumMode,
    ) -> Result<usize, EmitError> {
        let family = ep.family().ok_or(EmitError::MixedEndpoints)?;
        if let Some(a) = self.addrs.iter().find(|a| Family::of(a) != family) {
            return Err(EmitError::AddrFamily(*a));
        }
        let count = u8::try_from(self.addrs.len())
            .map_err(|_| EmitError::TooManyAddrs(self.addrs.len()))?;
        let (auth_type, auth_data) = match (&self.auth, self.version, family) {
            (Auth::Ah, _, _) => return Err(EmitError::AhUnsupported),
            (Auth::None, Version::V2, Family::Ipv4) => (0, Some([0; AUTH_DATA_LEN])),
            (Auth::Pass(p), Version::V2, Family::Ipv4) => (1, Some(*p)),
            (Auth::None, _, _) => (0, None),
            (Auth::Pass(_), _, _) => return Err(EmitError::AuthNotCarried),
        };
        let need = self.buffer_len_in(family);
        let have = packet.as_bytes().len();
        if have < need {
            return Err(EmitError::BufferTooSmall { need, have });
        }
        let mut p = Packet::new_unchecked(&mut packet.buffer.as_mut()[..need]);
        p.set_version_type(self.version.number(), TYPE_ADVERTISEMENT);
        p.set_vrid(self.vrid);
        p.set_priority(self.priority);
        p.set_count_addrs(count);
        match self.version {
            Version::V2 => {
                if self.advert_int_cs % 100 != 0 {
                    return Err(EmitError::Interval(self.advert_int_cs));
                }
                let secs = u8::try_from(self.advert_int_cs / 100)
                    .map_err(|_| EmitError::Interval(self.advert_int_cs))?;
                p.set_auth_type(auth_type);
                p.set_adver_int(secs);
            }
            Version::V3 => {
                if self.advert_int_cs > MAX_ADVER_INT_V3 {
                    return Err(EmitError::Interval(self.advert_int_cs));
                }
                p.set_max_adver_int(self.advert_int_cs);
            }
        }
        p.set_checksum(0);
        let payload = p.payload_mut();
        let mut off = 0;
        for a in &self.addrs {
            match a {
                IpAddr::V4(v4) => payload[off..off + 4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => payload[off..off + 16].copy_from_slice(&v6.octets()),
            }
            off += family.addr_len();
        }
        if let Some(data) = auth_data {
            payload[off..off + AUTH_DATA_LEN].copy_from_slice(&data);
        }
        p.fill_checksum(ep, mode);
        Ok(need)
    }

    /// The message as a fresh buffer.
    pub fn to_bytes(&self, ep: &Endpoints, mode: ChecksumMode) -> Result<Vec<u8>, EmitError> {
        let family = ep.family().ok_or(EmitError::MixedEndpoints)?;
        let mut buf = vec![0u8; self.buffer_len_in(family)];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]), ep, mode)?;
        Ok(buf)
    }

    /// A whole IPv4 datagram as keepalived builds it for an `IP_HDRINCL` raw socket: 20-byte
    /// header, TOS 0xc0, no fragmentation, protocol 112, header checksum filled (the kernel
    /// would fill it and an identification of 0 too).
    pub fn to_ipv4_datagram(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        ident: u16,
        mode: ChecksumMode,
    ) -> Result<Vec<u8>, EmitError> {
        let ep = Endpoints {
            src: src.into(),
            dst: dst.into(),
        };
        let vrrp = self.to_bytes(&ep, mode)?;
        let hl = super::ipv4::MIN_HEADER_LEN;
        let total = hl + vrrp.len();
        let mut buf = vec![0u8; total];
        let header = Ipv4Header {
            header_len: hl,
            tos: TOS_INTERNETWORK_CONTROL,
            total_len: u16::try_from(total)
                .map_err(|_| EmitError::TooManyAddrs(self.addrs.len()))?,
            ident,
            frag: 0,
            ttl,
            protocol: PROTO_VRRP,
            checksum: 0,
            src,
            dst,
        };
        header.emit(&mut buf);
        buf[hl..].copy_from_slice(&vrrp);
        Ok(buf)
    }

    /// The core's VIP-list check (RFC "MAY verify"; keepalived unless `skip_check_adv_addr`):
    /// same count, and every one of our addresses present.
    pub fn check_addrs(&self, ours: &[IpAddr]) -> Result<(), Error> {
        if self.addrs.len() != ours.len() {
            return Err(Error::AddrCountMismatch {
                expected: ours.len(),
                received: self.addrs.len(),
            });
        }
        match ours.iter().find(|a| !self.addrs.contains(a)) {
            Some(a) => Err(Error::AddrMissing(*a)),
            None => Ok(()),
        }
    }
}

/// Parses what an IPv4 raw socket (protocol 112) returns: the IP header (IHL honoured, options
/// skipped), then the VRRP message.
pub fn parse_ipv4(datagram: &[u8], opts: &RxOptions) -> Result<Received, Rejected> {
    let no_vrid = |error| Rejected { vrid: None, error };
    let ip = Ipv4Header::parse(datagram).map_err(|e| no_vrid(Error::BadIpHeader(e)))?;
    let payload = datagram.get(ip.header_len..).unwrap_or_default();
    match ip.protocol {
        PROTO_VRRP => {}
        PROTO_AH => {
            // Charge it to the instance whose VRID sits behind the AH header, as keepalived does.
            let vrid = payload
                .get(AH_HEADER_LEN + field::VRID)
                .copied()
                .filter(|_| payload.first() == Some(&PROTO_VRRP));
            return Err(Rejected {
                vrid,
                error: Error::AhUnsupported,
            });
        }
        p => return Err(no_vrid(Error::NotVrrp(p))),
    }
    let packet = Packet::new_checked(payload).map_err(no_vrid)?;
    let ep = Endpoints {
        src: ip.src.into(),
        dst: ip.dst.into(),
    };
    let ip_total = Some((ip.total_len, datagram.len()));
    let repr =
        Repr::parse_checked(&packet, &ep, Some(ip.ttl), opts, ip_total).map_err(|error| {
            Rejected {
                vrid: Some(packet.vrid()),
                error,
            }
        })?;
    Ok(Received {
        src: ep.src,
        dst: ep.dst,
        ttl: Some(ip.ttl),
        repr,
    })
}

/// Parses what an IPv6 raw socket returns: the VRRP message alone. The kernel strips the IPv6
/// header, so its source and destination (`IPV6_PKTINFO`) and hop limit (`IPV6_HOPLIMIT`,
/// `None` if not delivered) come as arguments. The checksum is verified here too, although a
/// socket with `IPV6_CHECKSUM` set already has the kernel drop bad ones.
pub fn parse_ipv6(
    payload: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: Option<u8>,
    opts: &RxOptions,
) -> Result<Received, Rejected> {
    let packet = Packet::new_checked(payload).map_err(|error| Rejected { vrid: None, error })?;
    let ep = Endpoints {
        src: src.into(),
        dst: dst.into(),
    };
    let repr = Repr::parse(&packet, &ep, hop_limit, opts).map_err(|error| Rejected {
        vrid: Some(packet.vrid()),
        error,
    })?;
    Ok(Received {
        src: ep.src,
        dst: ep.dst,
        ttl: hop_limit,
        repr,
    })
}
