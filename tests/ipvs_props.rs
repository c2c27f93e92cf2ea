//! Properties of the pure IPVS layer: `plan` reconciles (checked against the in-memory model
//! `Table::apply`, which has the kernel's EEXIST/ENOENT semantics), and the codec round-trips.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::ipvs::msg::{emit_attrs, parse_dest, parse_reply, parse_service, Attr};
use keepalived_rs::ipvs::*;
use proptest::prelude::*;

// ------------------------------------------------------------------ a small universe

fn small_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (1u8..4).prop_map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))),
        (1u16..3).prop_map(|i| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))),
    ]
}

fn small_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (
            prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)],
            small_addr(),
            prop_oneof![Just(80u16), Just(443)]
        )
            .prop_map(|(protocol, addr, port)| ServiceKey::Addr {
                protocol,
                addr,
                port
            }),
        (prop_oneof![Just(Family::V4), Just(Family::V6)], 1u32..3)
            .prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

fn small_service(key: ServiceKey) -> impl Strategy<Value = Service> {
    (
        prop_oneof![Just("rr"), Just("wlc"), Just("sh")],
        any::<bool>(),
        prop_oneof![Just(0u32), Just(300)],
        any::<bool>(),
        prop_oneof![Just(None), Just(Some("sip".to_string()))],
    )
        .prop_map(move |(sched, ops, timeout, narrow, pe)| {
            let mut s = Service::new(key, sched);
            if ops {
                s.flags = s.flags.with(ServiceFlags::ONEPACKET);
            }
            if timeout > 0 {
                s = s.persistent(timeout);
            }
            if narrow {
                s.netmask = match key.family() {
                    Family::V4 => 0xFFFF_FF00,
                    Family::V6 => 64,
                };
            }
            s.pe_name = pe;
            s
        })
}

fn small_dest() -> impl Strategy<Value = Dest> {
    (
        small_addr(),
        prop_oneof![Just(0u16), Just(8080)],
        prop_oneof![
            Just(Forward::Nat),
            Just(Forward::Dr),
            Just(Forward::Tun(Tunnel::default()))
        ],
        0u32..4,
        prop_oneof![Just((0u32, 0u32)), Just((100, 10))],
    )
        .prop_map(|(addr, port, forward, weight, (u, l))| Dest {
            u_threshold: u,
            l_threshold: l,
            ..Dest::new(addr, port, forward, weight)
        })
}

fn small_vs() -> impl Strategy<Value = VirtualService> {
    small_key().prop_flat_map(|key| {
        (
            small_service(key),
            proptest::collection::vec(small_dest(), 0..4),
        )
            .prop_map(|(service, dests)| VirtualService {
                service,
                dests: dests.into_iter().map(|d| (d.key(), d)).collect(),
            })
    })
}

fn small_table() -> impl Strategy<Value = Table> {
    proptest::collection::vec(small_vs(), 0..5).prop_map(|vss| Table {
        services: vss.into_iter().map(|vs| (vs.service.key, vs)).collect(),
    })
}

/// actual, desired, and which of actual's services we own.
fn scenario() -> impl Strategy<Value = (Table, Table, BTreeSet<ServiceKey>)> {
    (small_table(), small_table()).prop_flat_map(|(actual, desired)| {
        let keys: Vec<ServiceKey> = actual.services.keys().copied().collect();
        let n = keys.len();
        (
            Just(actual),
            Just(desired),
            proptest::collection::vec(any::<bool>(), n),
        )
            .prop_map(move |(a, d, mask)| {
                let owned = keys
                    .iter()
                    .zip(mask)
                    .filter(|(_, m)| *m)
                    .map(|(k, _)| *k)
                    .collect();
                (a, d, owned)
            })
    })
}

fn apply_all(t: &Table, ops: &[Op]) -> Table {
    let mut t = t.clone();
    for op in ops {
        t.apply(op)
            .unwrap_or_else(|e| panic!("op {op} refused: {e:?}"));
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn plan_reaches_desired_and_is_idempotent((actual, desired, owned) in scenario()) {
        let ops = plan(&desired, &actual, &owned);
        let after = apply_all(&actual, &ops);

        // every desired service is exactly as desired
        for (k, want) in &desired.services {
            prop_assert_eq!(after.services.get(k), Some(want));
        }
        // undesired services: gone if ours, untouched if not
        for (k, have) in &actual.services {
            if desired.services.contains_key(k) {
                continue;
            }
            if owned.contains(k) {
                prop_assert!(!after.services.contains_key(k));
            } else {
                prop_assert_eq!(after.services.get(k), Some(have));
            }
        }
        // nothing else appeared
        for k in after.services.keys() {
            prop_assert!(desired.services.contains_key(k) || actual.services.contains_key(k));
        }
        // a second plan has nothing to do
        prop_assert_eq!(plan(&desired, &after, &owned), vec![]);
    }

    #[test]
    fn plan_edits_in_place((actual, desired, owned) in scenario()) {
        let ops = plan(&desired, &actual, &owned);
        for op in &ops {
            match op {
                // a service in both tables is never deleted or re-added (counters survive)
                Op::DelService(k) => prop_assert!(!desired.services.contains_key(k)),
                Op::AddService(s) => prop_assert!(!actual.services.contains_key(&s.key)),
                Op::EditService(s) => {
                    let have = &actual.services[&s.key].service;
                    prop_assert!(!have.same_settings(s));
                }
                // a dest in both is edited, never deleted and re-added
                Op::AddDest(k, d) => prop_assert!(
                    !matches!(actual.services.get(k), Some(vs) if vs.dests.contains_key(&d.key()))
                ),
                Op::DelDest(k, dk) => prop_assert!(!desired.services[k].dests.contains_key(dk)),
                Op::EditDest(k, d) => prop_assert_ne!(actual.services[k].dests.get(&d.key()), Some(d)),
            }
        }
    }

    #[test]
    fn plan_of_equal_tables_is_empty(t in small_table()) {
        let owned = t.services.keys().copied().collect();
        prop_assert_eq!(plan(&t, &t, &owned), vec![]);
    }
}

#[test]
fn weight_change_is_one_set_dest() {
    let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    let d1 = Dest::new("10.0.0.11".parse().unwrap(), 80, Forward::Nat, 1);
    let d2 = Dest::new("10.0.0.12".parse().unwrap(), 80, Forward::Nat, 1);
    let mut actual = Table::new();
    actual.insert_service(Service::new(key, "wlc"));
    actual.insert_dest(&key, d1);
    actual.insert_dest(&key, d2);
    let mut desired = actual.clone();
    desired.insert_dest(&key, Dest { weight: 5, ..d1 });
    let owned = BTreeSet::from([key]);
    assert_eq!(
        plan(&desired, &actual, &owned),
        vec![Op::EditDest(key, Dest { weight: 5, ..d1 })]
    );
    // and a scheduler change is one SET service
    let mut desired2 = actual.clone();
    desired2.insert_service(Service::new(key, "rr"));
    assert_eq!(
        plan(&desired2, &actual, &owned),
        vec![Op::EditService(Service::new(key, "rr"))]
    );
}

// ------------------------------------------------------------------------ codec

fn any_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn any_service() -> impl Strategy<Value = Service> {
    let key = prop_oneof![
        (
            prop_oneof![
                Just(Protocol::Tcp),
                Just(Protocol::Udp),
                Just(Protocol::Sctp)
            ],
            any_addr(),
            any::<u16>()
        )
            .prop_map(|(protocol, addr, port)| ServiceKey::Addr {
                protocol,
                addr,
                port
            }),
        (prop_oneof![Just(Family::V4), Just(Family::V6)], 1u32..)
            .prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ];
    (
        key,
        "[a-z]{1,15}",
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of("[a-z]{1,15}"),
    )
        .prop_map(|(key, sched, flags, timeout, mask, pe)| Service {
            key,
            scheduler: sched,
            flags: ServiceFlags(flags).user(),
            timeout,
            netmask: match key.family() {
                Family::V4 => mask,
                Family::V6 => 1 + mask % 128,
            },
            pe_name: pe,
        })
}

fn any_dest() -> impl Strategy<Value = Dest> {
    let forward = prop_oneof![
        Just(Forward::Nat),
        Just(Forward::Dr),
        Just(Forward::Local),
        Just(Forward::Bypass),
        (0u8..3, any::<u16>(), 0u16..3).prop_map(|(k, port, c)| Forward::Tun(Tunnel {
            kind: TunnelKind::from_number(k),
            port,
            csum: TunnelCsum::from_number(c),
        })),
    ];
    (
        any_addr(),
        any::<u16>(),
        forward,
        0..=i32::MAX as u32,
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(addr, port, forward, weight, u, l)| Dest {
            addr,
            port,
            forward,
            weight,
            u_threshold: u,
            l_threshold: l,
        })
}

fn nested(attrs: &[Attr], i: usize) -> Vec<u8> {
    match &attrs[i] {
        Attr::Nested(_, inner) => emit_attrs(inner),
        other => panic!("not nested: {other:?}"),
    }
}

proptest! {
    #[test]
    fn service_round_trips(s in any_service()) {
        let req = Request::NewService(s.clone());
        prop_assert!(req.validate().is_ok());
        let back = parse_service(&nested(&req.attrs(), 0)).unwrap();
        prop_assert_eq!(back.service, s);
    }

    #[test]
    fn dest_round_trips(d in any_dest(), svc in any_service()) {
        let req = Request::NewDest(svc.key, d);
        let attrs = req.attrs();
        let back = parse_dest(&nested(&attrs, 1), None).unwrap();
        prop_assert_eq!(back.dest, d);
    }

    #[test]
    fn random_replies_never_panic(cmd in 0u8..20, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_reply(cmd, &bytes);
        let _ = parse_service(&bytes);
        let _ = parse_dest(&bytes, None);
    }
}
