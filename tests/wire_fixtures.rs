//! VRRP adverts captured from real keepalived 2.2.7 (tests/fixtures/wire/capture.sh): every
//! field decodes to what the config said (and what tcpdump's decode in the .txt files says),
//! our checksum equals keepalived's, and re-encoding gives the same bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use keepalived_rs::wire::ipv4::Ipv4Header;
use keepalived_rs::wire::vrrp::{
    parse_ipv4, parse_ipv6, Auth, ChecksumMode, Counter, Endpoints, Error, Packet, Received, Repr,
    RxOptions, Version, MCAST_V4, MCAST_V6,
};

const ETH_LEN: usize = 14;
const IPV6_LEN: usize = 40;
/// The router's fixed MAC in capture.sh.
const MAC: [u8; 6] = [0x02, 0x00, 0x0a, 0x4d, 0x00, 0x01];
const SRC4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// Link-local address the kernel derived from MAC (EUI-64).
const SRC6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x0000, 0x0aff, 0xfe4d, 0x0001);

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire")
        .join(format!("{name}.frame"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// The IPv4 datagram of a captured frame, as an IPv4 raw socket would hand it over.
fn ipv4_datagram(frame: &[u8]) -> &[u8] {
    assert_eq!(&frame[12..14], &[0x08, 0x00], "ethertype IPv4");
    assert_eq!(&frame[6..12], &MAC, "source MAC");
    assert_eq!(
        &frame[..6],
        &[0x01, 0x00, 0x5e, 0x00, 0x00, 0x12],
        "224.0.0.18 group MAC"
    );
    &frame[ETH_LEN..]
}

/// (payload, src, dst, hop limit) of a captured IPv6 frame, as an IPv6 raw socket + cmsgs give it.
fn ipv6_parts(frame: &[u8]) -> (&[u8], Ipv6Addr, Ipv6Addr, u8) {
    assert_eq!(&frame[12..14], &[0x86, 0xdd], "ethertype IPv6");
    let ip = &frame[ETH_LEN..];
    assert_eq!(ip[6], 112, "next header VRRP");
    let src: [u8; 16] = ip[8..24].try_into().expect("16 bytes");
    let dst: [u8; 16] = ip[24..40].try_into().expect("16 bytes");
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    assert_eq!(ip.len(), IPV6_LEN + plen);
    (&ip[IPV6_LEN..], src.into(), dst.into(), ip[7])
}

/// Parses an IPv4 fixture, checks the IP-level facts keepalived sets, our checksum, and that
/// re-encoding reproduces the datagram byte for byte.
fn check_v4(name: &str, expect: &Repr) -> Received {
    let frame = fixture(name);
    let dgram = ipv4_datagram(&frame);
    let ip = Ipv4Header::parse(dgram).expect("IPv4 header");
    assert_eq!(ip.header_len, 20);
    assert_eq!(ip.tos, 0xc0, "{name}: TOS internetwork control");
    assert_eq!(ip.ttl, 255);
    assert_eq!(ip.protocol, 112);
    assert_eq!(ip.frag, 0);
    assert_eq!(usize::from(ip.total_len), dgram.len());

    let rx = parse_ipv4(dgram, &RxOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(rx.src, IpAddr::V4(SRC4));
    assert_eq!(rx.dst, IpAddr::V4(MCAST_V4));
    assert_eq!(rx.ttl, Some(255));
    assert_eq!(&rx.repr, expect, "{name}");

    let packet = Packet::new_checked(&dgram[20..]).expect("header");
    let ep = Endpoints {
        src: rx.src,
        dst: rx.dst,
    };
    assert_eq!(
        packet.compute_checksum(&ep, ChecksumMode::Rfc),
        packet.checksum(),
        "{name}: our checksum equals keepalived's"
    );
    assert_eq!(rx.repr.buffer_len(), dgram.len() - 20);

    let again = rx
        .repr
        .to_ipv4_datagram(SRC4, MCAST_V4, 255, ip.ident, ChecksumMode::Rfc)
        .expect("emit");
    assert_eq!(again, dgram, "{name}: emit(parse(x)) == x");
    rx
}

fn check_v6(name: &str, expect: &Repr) -> Received {
    let frame = fixture(name);
    assert_eq!(
        &frame[..6],
        &[0x33, 0x33, 0, 0, 0, 0x12],
        "ff02::12 group MAC"
    );
    let (payload, src, dst, hl) = ipv6_parts(&frame);
    assert_eq!(src, SRC6);
    assert_eq!(dst, MCAST_V6);
    assert_eq!(hl, 255);
    let rx = parse_ipv6(payload, src, dst, Some(hl), &RxOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&rx.repr, expect, "{name}");
    let ep = Endpoints {
        src: src.into(),
        dst: dst.into(),
    };
    let packet = Packet::new_checked(payload).expect("header");
    assert_eq!(
        packet.compute_checksum(&ep, ChecksumMode::Rfc),
        packet.checksum()
    );
    assert_eq!(rx.repr.buffer_len(), payload.len());
    assert_eq!(
        rx.repr.to_bytes(&ep, ChecksumMode::Rfc).expect("emit"),
        payload
    );
    rx
}

fn v2_noauth() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 51,
        priority: 150,
        advert_int_cs: 100,
        auth: Auth::None,
        addrs: vec![v4(10, 77, 0, 100)],
    }
}

#[test]
fn v2_no_auth() {
    check_v4("v2_noauth", &v2_noauth());
    let p = fixture("v2_noauth");
    let packet = Packet::new_checked(&p[34..]).expect("header");
    assert_eq!(packet.version(), 2);
    assert_eq!(packet.msg_type(), 1);
    assert_eq!(packet.auth_type(), 0);
    assert_eq!(packet.adver_int(), 1);
    assert_eq!(packet.checksum(), 0x3e19);
    assert_eq!(
        packet.auth_data(keepalived_rs::wire::vrrp::Family::Ipv4),
        Some([0; 8])
    );
}

#[test]
fn v2_priority_zero_on_shutdown() {
    let rx = check_v4(
        "v2_noauth_prio0",
        &Repr {
            priority: 0,
            ..v2_noauth()
        },
    );
    assert_eq!(rx.repr.priority, 0);
}

#[test]
fn v2_auth_pass_truncated_to_8_bytes() {
    // auth_pass s3cr3tpassw0rd: keepalived logs "Truncating auth_pass to 8 characters".
    let expect = Repr {
        version: Version::V2,
        vrid: 52,
        priority: 200,
        advert_int_cs: 200,
        auth: Auth::pass(b"s3cr3tpassw0rd"),
        addrs: vec![v4(10, 77, 0, 100)],
    };
    assert_eq!(expect.auth, Auth::Pass(*b"s3cr3tpa"));
    check_v4("v2_pass", &expect);
    check_v4(
        "v2_pass_prio0",
        &Repr {
            priority: 0,
            ..expect
        },
    );
}

#[test]
fn v2_several_vips_short_password() {
    let expect = Repr {
        version: Version::V2,
        vrid: 53,
        priority: 100,
        advert_int_cs: 100,
        auth: Auth::Pass(*b"abc\0\0\0\0\0"),
        addrs: vec![
            v4(10, 77, 0, 100),
            v4(10, 77, 0, 101),
            v4(10, 77, 1, 7),
            v4(10, 200, 3, 4),
        ],
    };
    let rx = check_v4("v2_multi", &expect);
    assert_eq!(rx.repr.check_addrs(&expect.addrs), Ok(()));
    check_v4(
        "v2_multi_prio0",
        &Repr {
            priority: 0,
            ..expect
        },
    );
}

#[test]
fn v3_ipv4_centiseconds_and_pseudo_header() {
    let expect = Repr {
        version: Version::V3,
        vrid: 54,
        priority: 120,
        advert_int_cs: 10,
        auth: Auth::None,
        addrs: vec![v4(10, 77, 0, 100), v4(10, 77, 0, 102)],
    };
    check_v4("v3_ipv4", &expect);
    check_v4(
        "v3_ipv4_prio0",
        &Repr {
            priority: 0,
            ..expect
        },
    );
    // keepalived 2.2.7 includes the pseudo-header: the v2-style sum does not verify.
    let frame = fixture("v3_ipv4");
    let opts = RxOptions {
        checksum: ChecksumMode::V3AsV2,
        ..RxOptions::default()
    };
    let err = parse_ipv4(ipv4_datagram(&frame), &opts).expect_err("wrong checksum mode");
    assert!(matches!(err.error, Error::BadChecksum { version: 3, .. }));
    assert_eq!(err.vrid, Some(54));
    assert_eq!(err.error.counter(), Some(Counter::ChkErr));
}

#[test]
fn v3_ipv6_link_local_and_global_vip() {
    let expect = Repr {
        version: Version::V3,
        vrid: 55,
        priority: 254,
        advert_int_cs: 100,
        auth: Auth::None,
        addrs: vec![
            "fe80::55".parse().expect("addr"),
            "fd00:77::100".parse().expect("addr"),
        ],
    };
    check_v6("v3_ipv6", &expect);
    check_v6(
        "v3_ipv6_prio0",
        &Repr {
            priority: 0,
            ..expect
        },
    );
}

// ---- each rejection cause, made from a real advert -------------------------------------

fn noauth_dgram() -> Vec<u8> {
    fixture("v2_noauth")[ETH_LEN..].to_vec()
}

/// Recomputes the IPv4 header checksum and the VRRPv2 checksum after an edit, so a test
/// exercises exactly one fault.
fn refresh(d: &mut [u8]) {
    let ip = Ipv4Header::parse(d).expect("header");
    let hl = ip.header_len;
    let mut p = Packet::new_unchecked(&mut d[hl..]);
    let ep = Endpoints {
        src: ip.src.into(),
        dst: ip.dst.into(),
    };
    p.fill_checksum(&ep, ChecksumMode::Rfc);
}

fn reject(d: &[u8], opts: &RxOptions) -> Error {
    parse_ipv4(d, opts).expect_err("must be rejected").error
}

#[test]
fn ttl_not_255_is_ip_ttl_err_unless_unicast() {
    let mut d = noauth_dgram();
    d[8] = 254;
    let e = reject(&d, &RxOptions::default());
    assert_eq!(e, Error::BadTtl(254));
    assert_eq!(e.counter(), Some(Counter::IpTtlErr));
    let unicast = RxOptions {
        check_ttl: false,
        expect_multicast: None,
        ..RxOptions::default()
    };
    assert!(parse_ipv4(&d, &unicast).is_ok());
}

#[test]
fn wrong_type_is_invalid_type_rcvd() {
    let mut d = noauth_dgram();
    d[20] = 0x22;
    refresh(&mut d);
    let e = reject(&d, &RxOptions::default());
    assert_eq!(e, Error::InvalidType(2));
    assert_eq!(e.counter().map(Counter::name), Some("invalid_type_rcvd"));
}

#[test]
fn unknown_version_is_vers_err() {
    // From a v3 advert: its length is the same under any version but 2.
    let mut d = fixture("v3_ipv4")[ETH_LEN..].to_vec();
    d[20] = 0x41;
    let e = reject(&d, &RxOptions::default());
    assert_eq!(e, Error::UnknownVersion(4));
    assert_eq!(e.counter(), Some(Counter::VersErr));
    // From a v2 advert, keepalived's first check already fails: the expected length counts
    // the 8 auth bytes only for version 2.
    let mut d = noauth_dgram();
    d[20] = 0x41;
    assert_eq!(
        reject(&d, &RxOptions::default()),
        Error::LengthMismatch {
            expected: 12,
            actual: 20
        }
    );
}

#[test]
fn auth_types() {
    let mut d = noauth_dgram();
    d[24] = 7;
    refresh(&mut d);
    let e = reject(&d, &RxOptions::default());
    assert_eq!(e, Error::InvalidAuthType(7));
    assert_eq!(e.counter().map(Counter::name), Some("invalid_authtype"));
    d[24] = 2;
    refresh(&mut d);
    let e = reject(&d, &RxOptions::default());
    assert_eq!(e, Error::AhUnsupported);
    assert_eq!(e.counter().map(Counter::name), Some("authtype_mismatch"));
}

#[test]
fn ip_protocol_ah_is_recognised_and_charged_to_its_vrid() {
    // IP proto 51, a 24-byte AH header whose next header is VRRP, then the VRRP message.
    let d = noauth_dgram();
    let mut ah = d[..20].to_vec();
    ah[9] = 51;
    ah.extend_from_slice(&[112, 4, 0, 0]);
    ah.extend_from_slice(&[0; 20]);
    ah.extend_from_slice(&d[20..]);
    let r = parse_ipv4(&ah, &RxOptions::default()).expect_err("AH");
    assert_eq!(r.error, Error::AhUnsupported);
    assert_eq!(r.vrid, Some(51));
}

#[test]
fn length_errors_are_packet_len_err() {
    let d = noauth_dgram();
    let e = reject(&d[..d.len() - 1], &RxOptions::default());
    assert_eq!(
        e,
        Error::LengthMismatch {
            expected: 20,
            actual: 19
        }
    );
    assert_eq!(e.counter(), Some(Counter::PacketLenErr));
    // One address more in the count than in the packet.
    let mut c = d.clone();
    c[23] = 2;
    assert_eq!(
        reject(&c, &RxOptions::default()),
        Error::LengthMismatch {
            expected: 24,
            actual: 20
        }
    );
    // IP total length disagreeing with what arrived.
    let mut t = d.clone();
    t[3] = 0x29;
    let e = reject(&t, &RxOptions::default());
    assert_eq!(
        e,
        Error::IpTotalLength {
            total_len: 41,
            actual: 40
        }
    );
    assert_eq!(e.counter(), Some(Counter::PacketLenErr));
    // Too short for the VRRP header: dropped before the instance is known.
    let r = parse_ipv4(&d[..25], &RxOptions::default()).expect_err("short");
    assert_eq!(r.vrid, None);
    assert_eq!(r.error, Error::Truncated { len: 5 });
    assert_eq!(r.error.counter(), None);
}

#[test]
fn corrupted_checksum_is_chk_err() {
    let mut d = noauth_dgram();
    d[27] ^= 0x01;
    let e = reject(&d, &RxOptions::default());
    assert_eq!(
        e,
        Error::BadChecksum {
            version: 2,
            received: 0x3e18,
            computed: 0x3e19
        }
    );
}

#[test]
fn ip_options_are_skipped() {
    let d = noauth_dgram();
    let mut o = d[..20].to_vec();
    o[0] = 0x46;
    o.extend_from_slice(&[1, 1, 1, 0]);
    o.extend_from_slice(&d[20..]);
    let total = u16::try_from(o.len()).expect("small");
    o[2..4].copy_from_slice(&total.to_be_bytes());
    let rx = parse_ipv4(&o, &RxOptions::default()).expect("options skipped");
    assert_eq!(rx.repr, v2_noauth());
}

#[test]
fn multicast_advert_on_unicast_instance_is_addr_list_err() {
    let d = noauth_dgram();
    let opts = RxOptions {
        expect_multicast: Some(false),
        check_ttl: false,
        ..RxOptions::default()
    };
    let e = reject(&d, &opts);
    assert_eq!(
        e,
        Error::CastMismatch {
            expected_multicast: false
        }
    );
    assert_eq!(e.counter(), Some(Counter::AddrListErr));
}

#[test]
fn vip_list_check_for_the_core() {
    let r = v2_noauth();
    assert_eq!(
        r.check_addrs(&[v4(10, 77, 0, 100), v4(10, 77, 0, 101)]),
        Err(Error::AddrCountMismatch {
            expected: 2,
            received: 1
        })
    );
    assert_eq!(
        r.check_addrs(&[v4(10, 77, 0, 9)]),
        Err(Error::AddrMissing(v4(10, 77, 0, 9)))
    );
}

#[test]
fn ipv6_hop_limit_and_checksum() {
    let frame = fixture("v3_ipv6");
    let (payload, src, dst, _) = ipv6_parts(&frame);
    let r = parse_ipv6(payload, src, dst, Some(64), &RxOptions::default()).expect_err("hl");
    assert_eq!(r.error, Error::BadTtl(64));
    assert_eq!(r.vrid, Some(55));
    // No hop limit delivered: keepalived skips the check (rx_ttl_hop_limit == -1).
    assert!(parse_ipv6(payload, src, dst, None, &RxOptions::default()).is_ok());
    // A different destination changes the pseudo-header.
    let other: Ipv6Addr = "ff02::1".parse().expect("addr");
    let r = parse_ipv6(payload, src, other, Some(255), &RxOptions::default()).expect_err("csum");
    assert!(matches!(r.error, Error::BadChecksum { version: 3, .. }));
}
