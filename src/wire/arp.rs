//! Gratuitous ARP frames for IPv4 VIPs, byte for byte as keepalived 2.2.7 sends them on an
//! Ethernet interface (vrrp_arp.c, checked against a capture: tests/fixtures/wire/garp.frame).
//!
//! Hand-written rather than built with pnet_packet: the frame is 42 fixed bytes, and the one
//! thing that matters is that every byte equals keepalived's, which a table of offsets shows
//! more plainly than a generic builder would.

use std::net::Ipv4Addr;

/// Ethernet header (14) + ARP for Ethernet/IPv4 (28). No padding: the NIC pads to 60.
pub const FRAME_LEN: usize = 42;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const BROADCAST: [u8; 6] = [0xff; 6];
const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// What keepalived sends: a request for the VIP, from the VIP.
    Request,
    /// A gratuitous reply (some switches only learn from replies). Same layout, op 2.
    Reply,
}

impl Op {
    const fn code(self) -> u16 {
        match self {
            Op::Request => 1,
            Op::Reply => 2,
        }
    }
}

/// A gratuitous ARP announcing that `vip` is at `mac`: Ethernet broadcast from `mac`; sender
/// and target protocol address both the VIP; sender hardware address `mac`; target hardware
/// address broadcast (keepalived copies the interface's broadcast address there).
pub fn gratuitous(op: Op, mac: [u8; 6], vip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
    f[16..18].copy_from_slice(&PTYPE_IPV4.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&op.code().to_be_bytes());
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&BROADCAST);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// keepalived's gratuitous ARP (a request).
pub fn garp(mac: [u8; 6], vip: Ipv4Addr) -> [u8; FRAME_LEN] {
    gratuitous(Op::Request, mac, vip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_differs_only_in_op() {
        let mac = [2, 0, 0, 0, 0, 1];
        let vip = Ipv4Addr::new(10, 0, 0, 1);
        let (rq, rp) = (garp(mac, vip), gratuitous(Op::Reply, mac, vip));
        let diff: Vec<usize> = (0..FRAME_LEN).filter(|&i| rq[i] != rp[i]).collect();
        assert_eq!(diff, vec![21]);
        assert_eq!(rp[21], 2);
    }
}
