//! The body of the `vrrp_decode` fuzz target, shared with the regression test that replays
//! saved inputs (tests/fuzz_regressions.rs), so the two cannot drift apart.

use std::net::{IpAddr, Ipv6Addr};

use super::ipv4::Ipv4Header;
use super::vrrp::{
    parse_ipv4, parse_ipv6, ChecksumMode, Endpoints, Family, Packet, Repr, RxOptions,
};

fn reencode(repr: &Repr, ep: &Endpoints, opts: &RxOptions) {
    let bytes = repr
        .to_bytes(ep, opts.checksum)
        .expect("a parsed advert re-encodes");
    let p = Packet::new_checked(&bytes[..]).expect("header present");
    let again = Repr::parse(&p, ep, Some(255), opts).expect("re-encoded advert parses");
    assert_eq!(&again, repr);
}

/// A blind fuzzer rarely guesses a checksum, which would hide everything behind that check:
/// also try each IPv4 input with its total length and VRRP checksum made right.
fn fixed_up_v4(data: &[u8], mode: ChecksumMode) -> Option<Vec<u8>> {
    let ip = Ipv4Header::parse(data).ok()?;
    let mut d = data.to_vec();
    let total = u16::try_from(d.len()).ok()?;
    d[2..4].copy_from_slice(&total.to_be_bytes());
    let ep = Endpoints {
        src: ip.src.into(),
        dst: ip.dst.into(),
    };
    let mut p = Packet::new_checked(d.get_mut(ip.header_len..)?).ok()?;
    p.fill_checksum(&ep, mode);
    Some(d)
}

fn fixed_up_v6(payload: &[u8], ep: &Endpoints) -> Option<Vec<u8>> {
    let mut d = payload.to_vec();
    let mut p = Packet::new_checked(&mut d[..]).ok()?;
    p.fill_checksum(ep, ChecksumMode::Rfc);
    Some(d)
}

/// The fuzz target's checks: never panics except on a broken invariant (a parsed advert
/// that does not re-encode to itself).
pub fn check_decode(data: &[u8]) {
    for opts in [
        RxOptions::default(),
        RxOptions {
            check_ttl: false,
            expect_multicast: None,
            checksum: ChecksumMode::V3AsV2,
        },
    ] {
        let fixed = fixed_up_v4(data, opts.checksum);
        for d in std::iter::once(data).chain(fixed.as_deref()) {
            if let Ok(rx) = parse_ipv4(d, &opts) {
                reencode(
                    &rx.repr,
                    &Endpoints {
                        src: rx.src,
                        dst: rx.dst,
                    },
                    &opts,
                );
            }
        }
    }
    if data.len() >= 33 {
        let src: [u8; 16] = data[..16].try_into().expect("16 bytes");
        let dst: [u8; 16] = data[16..32].try_into().expect("16 bytes");
        let hl = Some(data[32]).filter(|h| h % 2 == 1);
        let opts = RxOptions {
            check_ttl: true,
            expect_multicast: None,
            checksum: ChecksumMode::Rfc,
        };
        let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
        let ep = Endpoints {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
        };
        let fixed = fixed_up_v6(&data[33..], &ep);
        for d in std::iter::once(&data[33..]).chain(fixed.as_deref()) {
            if let Ok(rx) = parse_ipv6(d, src, dst, hl, &opts) {
                reencode(&rx.repr, &ep, &opts);
            }
        }
    }
    if let Ok(p) = Packet::new_checked(data) {
        for f in [Family::Ipv4, Family::Ipv6] {
            let _ = (
                p.addrs(f),
                p.auth_data(f),
                p.expected_len(f),
                p.check_len_for(f),
            );
        }
        let _ = (
            p.version(),
            p.msg_type(),
            p.vrid(),
            p.priority(),
            p.count_addrs(),
        );
        let _ = (
            p.auth_type(),
            p.adver_int(),
            p.rsvd(),
            p.max_adver_int(),
            p.checksum(),
        );
    }
}
