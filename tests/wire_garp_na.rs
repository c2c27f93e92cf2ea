//! The gratuitous ARP and unsolicited NA builders reproduce, byte for byte, what keepalived
//! 2.2.7 sent when it became MASTER (tests/fixtures/wire/capture.sh: interface MAC
//! 02:00:0a:4d:00:01, VIPs 10.77.0.100 and fe80::55).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use keepalived_rs::wire::{arp, nd};

const MAC: [u8; 6] = [0x02, 0x00, 0x0a, 0x4d, 0x00, 0x01];

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(format!("{name}.frame"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn garp_matches_keepalived() {
    let captured = fixture("garp");
    let ours = arp::garp(MAC, Ipv4Addr::new(10, 77, 0, 100));
    assert_eq!(&ours[..], &captured[..]);
    // The fields the brief names, read from the capture itself.
    assert_eq!(&captured[0..6], &arp::BROADCAST, "Ethernet broadcast");
    assert_eq!(&captured[6..12], &MAC);
    assert_eq!(&captured[20..22], &[0, 1], "op request");
    assert_eq!(&captured[22..28], &MAC, "sender MAC = interface MAC");
    assert_eq!(&captured[28..32], &[10, 77, 0, 100], "sender IP = VIP");
    assert_eq!(&captured[32..38], &arp::BROADCAST, "target MAC broadcast");
    assert_eq!(&captured[38..42], &[10, 77, 0, 100], "target IP = VIP");
}

#[test]
fn unsolicited_na_matches_keepalived() {
    let captured = fixture("na");
    let vip: Ipv6Addr = "fe80::55".parse().expect("addr");
    // The namespace does not forward IPv6, so keepalived left the Router flag clear.
    let ours = nd::unsolicited_na(MAC, vip, false);
    assert_eq!(&ours[..], &captured[..]);
    assert_eq!(captured[54], 136, "ICMPv6 neighbour advertisement");
    assert_eq!(captured[58], 0x20, "Override only");
    assert_eq!(&captured[38..54], &nd::ALL_NODES.octets(), "to ff02::1");
    assert_eq!(&captured[80..86], &MAC, "target link-layer address option");
}
