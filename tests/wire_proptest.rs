//! Property tests of the VRRP codec: every valid advert survives emit -> parse unchanged, a
//! single flipped bit is always rejected, and no input makes the decoder panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::wire::vrrp::{
    parse_ipv4, parse_ipv6, Auth, ChecksumMode, Endpoints, Family, Packet, Repr, RxOptions, Version,
};
use proptest::prelude::*;

fn any_v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn any_v6() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
}

fn any_mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![Just(ChecksumMode::Rfc), Just(ChecksumMode::V3AsV2)]
}

/// A valid advert together with the endpoints it travels between.
fn valid() -> impl Strategy<Value = (Repr, Endpoints)> {
    let family = prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)];
    (family, any::<bool>()).prop_flat_map(|(family, v3)| {
        let addr = move || match family {
            Family::Ipv4 => any_v4().boxed(),
            Family::Ipv6 => any_v6().boxed(),
        };
        let version = if v3 { Version::V3 } else { Version::V2 };
        let interval = if v3 {
            (0u16..=0x0fff).boxed()
        } else {
            (0u16..=255).prop_map(|s| s * 100).boxed()
        };
        let auth = if !v3 && family == Family::Ipv4 {
            prop_oneof![Just(Auth::None), any::<[u8; 8]>().prop_map(Auth::Pass)].boxed()
        } else {
            Just(Auth::None).boxed()
        };
        (
            any::<u8>(),
            any::<u8>(),
            interval,
            auth,
            proptest::collection::vec(addr(), 0..=24),
            addr(),
            addr(),
        )
            .prop_map(
                move |(vrid, priority, advert_int_cs, auth, addrs, src, dst)| {
                    (
                        Repr {
                            version,
                            vrid,
                            priority,
                            advert_int_cs,
                            auth,
                            addrs,
                        },
                        Endpoints { src, dst },
                    )
                },
            )
    })
}

fn lenient() -> RxOptions {
    RxOptions {
        check_ttl: true,
        expect_multicast: None,
        checksum: ChecksumMode::Rfc,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn emit_then_parse_is_identity((repr, ep) in valid(), mode in any_mode()) {
        let bytes = repr.to_bytes(&ep, mode).expect("valid repr emits");
        prop_assert_eq!(bytes.len(), repr.buffer_len_in(ep.family().expect("one family")));
        let opts = RxOptions { checksum: mode, ..lenient() };
        let packet = Packet::new_checked(&bytes[..]).expect("header");
        let parsed = Repr::parse(&packet, &ep, Some(255), &opts).expect("parses");
        prop_assert_eq!(&parsed, &repr);
        // And through the raw-socket entry points.
        match (ep.src, ep.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let dgram = repr.to_ipv4_datagram(s, d, 255, 7, mode).expect("emits");
                let rx = parse_ipv4(&dgram, &opts).expect("parses");
                prop_assert_eq!(rx.repr, repr);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let rx = parse_ipv6(&bytes, s, d, Some(255), &opts).expect("parses");
                prop_assert_eq!(rx.repr, repr);
            }
            _ => unreachable!("strategy keeps one family"),
        }
    }

    #[test]
    fn any_single_bit_flip_is_rejected((repr, ep) in valid(), bit in any::<prop::sample::Index>()) {
        let mut bytes = repr.to_bytes(&ep, ChecksumMode::Rfc).expect("emits");
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        let packet = Packet::new_checked(&bytes[..]).expect("header");
        prop_assert!(Repr::parse(&packet, &ep, Some(255), &lenient()).is_err());
    }

    #[test]
    fn decoders_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        src in any::<[u8; 16]>(),
        dst in any::<[u8; 16]>(),
        hl in proptest::option::of(any::<u8>()),
    ) {
        let _ = parse_ipv4(&bytes, &RxOptions::default());
        let _ = parse_ipv4(&bytes, &lenient());
        let _ = parse_ipv6(&bytes, src.into(), dst.into(), hl, &RxOptions::default());
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            for f in [Family::Ipv4, Family::Ipv6] {
                let _ = (p.addrs(f), p.auth_data(f), p.expected_len(f), p.max_adver_int(), p.rsvd());
            }
        }
    }

    /// Whatever parses re-encodes to something that parses to the same advert (bytes can
    /// differ only where the receiver ignores them: v3 reserved bits, v2 auth data with auth
    /// type 0).
    #[test]
    fn reencoding_a_parsed_packet_is_stable(
        head in any::<[u8; 8]>(),
        tail in proptest::collection::vec(any::<u8>(), 0..72),
        v3 in any::<bool>(),
    ) {
        let mut bytes = head.to_vec();
        bytes[0] = if v3 { 0x31 } else { 0x21 };
        bytes[3] %= 8;
        bytes.extend_from_slice(&tail);
        let need = 8 + usize::from(bytes[3]) * 4 + if v3 { 0 } else { 8 };
        bytes.resize(need, 0);
        if !v3 { bytes[4] %= 2; }
        let ep = Endpoints { src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)) };
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.fill_checksum(&ep, ChecksumMode::Rfc);
        let packet = Packet::new_checked(&bytes[..]).expect("header");
        let repr = Repr::parse(&packet, &ep, Some(255), &RxOptions::default()).expect("made valid");
        let again = repr.to_bytes(&ep, ChecksumMode::Rfc).expect("emits");
        let packet2 = Packet::new_checked(&again[..]).expect("header");
        prop_assert_eq!(Repr::parse(&packet2, &ep, Some(255), &RxOptions::default()).expect("parses"), repr);
        if v3 {
            bytes[4] &= 0x0f;
            let mut p = Packet::new_unchecked(&mut bytes[..]);
            p.fill_checksum(&ep, ChecksumMode::Rfc);
        }
        if v3 || bytes[4] == 1 {
            prop_assert_eq!(again, bytes);
        }
    }
}
