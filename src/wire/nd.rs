//! Unsolicited IPv6 Neighbour Advertisements for IPv6 VIPs (RFC 4861 §7.2.6), byte for byte as
//! keepalived 2.2.7 sends them on an Ethernet packet socket (vrrp_ndisc.c, checked against a
//! capture: tests/fixtures/wire/na.frame). Hand-written for the same reason as `arp`.
//!
//! Layout: Ethernet to 33:33:00:00:00:01; IPv6 with traffic class and flow label 0, hop limit
//! 255, source = the VIP itself, destination ff02::1; ICMPv6 type 136 code 0 with the Override
//! flag (and Router if the interface forwards), target = VIP, one Target Link-Layer Address
//! option carrying the MAC.

use std::net::Ipv6Addr;

use super::checksum;

pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ICMPv6 NA (24) + target link-layer address option (8).
pub const MESSAGE_LEN: usize = 32;
/// Ethernet (14) + IPv6 (40) + message.
pub const FRAME_LEN: usize = 14 + 40 + MESSAGE_LEN;
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
const NEXT_HEADER_ICMPV6: u8 = 58;
const HOP_LIMIT: u8 = 255;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_OVERRIDE: u8 = 0x20;
const OPT_TARGET_LL_ADDR: u8 = 2;

/// The ICMPv6 part (what an ICMPv6 raw socket would send), checksum computed for `src` ->
/// `dst`. Solicited flag clear: nobody asked.
pub fn message(
    mac: [u8; 6],
    target: Ipv6Addr,
    router: bool,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) -> [u8; MESSAGE_LEN] {
    let mut m = [0u8; MESSAGE_LEN];
    m[0] = ICMPV6_NEIGHBOR_ADVERT;
    m[4] = FLAG_OVERRIDE | if router { FLAG_ROUTER } else { 0 };
    m[8..24].copy_from_slice(&target.octets());
    m[24] = OPT_TARGET_LL_ADDR;
    m[25] = 1; // in units of 8 bytes
    m[26..32].copy_from_slice(&mac);
    let acc = checksum::pseudo_header_v6(src, dst, NEXT_HEADER_ICMPV6, MESSAGE_LEN as u32);
    let c = checksum::finish(checksum::accumulate(acc, &m));
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// keepalived's unsolicited NA for `vip` as a whole Ethernet frame, sent from the VIP to
/// all-nodes. `router`: set the R flag (keepalived does when the interface forwards IPv6).
pub fn unsolicited_na(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    let ip = &mut f[14..54];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&(MESSAGE_LEN as u16).to_be_bytes());
    ip[6] = NEXT_HEADER_ICMPV6;
    ip[7] = HOP_LIMIT;
    ip[8..24].copy_from_slice(&vip.octets());
    ip[24..40].copy_from_slice(&ALL_NODES.octets());
    f[54..].copy_from_slice(&message(mac, vip, router, vip, ALL_NODES));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_checksum_verifies() {
        let vip: Ipv6Addr = "fd00::1".parse().expect("addr");
        let m = message([2, 0, 0, 0, 0, 1], vip, true, vip, ALL_NODES);
        assert_eq!(m[4], 0xa0);
        let acc = checksum::pseudo_header_v6(vip, ALL_NODES, 58, 32);
        assert_eq!(checksum::finish(checksum::accumulate(acc, &m)), 0);
    }
}
