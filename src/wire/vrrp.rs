//! VRRP advertisement (RFC 3768 v2, RFC 5798 v3).
//!
//! `Repr` is the owned, validated form the `vrrp` core consumes and produces; the codec
//! (zero-copy view, parse, emit, checksums) lives beside it.

use std::net::IpAddr;

/// VRRP protocol version carried in the version nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V2,
    V3,
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

/// An advertisement, independent of its encoding.
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
