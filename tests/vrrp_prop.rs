//! Property: whatever loss and partitions happen first, once the LAN heals and stops losing
//! packets, two masters of one VRID never coexist for longer than
//! Master_Down_Interval + the largest link delay, and exactly one master remains.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keepalived_rs::vrrp::sim::{Lan, SimOp};
use keepalived_rs::vrrp::{Action, InstanceConfig, State, VirtualAddress};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Partition(Vec<u8>),
    Loss(u32),
    Heal,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::vec(0u8..3, 3).prop_map(Op::Partition),
        (0u32..=700_000).prop_map(Op::Loss),
        Just(Op::Heal),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn healed_lan_converges_to_one_master(
        prios in prop::collection::vec(prop_oneof![Just(100u8), 1u8..=254], 3),
        delays_ms in prop::collection::vec(0u64..=40, 9),
        ops in prop::collection::vec((0u64..30_000, op()), 0..10),
        starts_ms in prop::collection::vec(0u64..5_000, 3),
        seed in any::<u64>(),
    ) {
        let mut lan = Lan::new(keepalived_rs::sys::clock::now());
        lan.seed(seed);
        for (n, &p) in prios.iter().enumerate() {
            let mut c = InstanceConfig::new("VI_1", 51);
            c.priority = p;
            c.vips = vec![VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)))];
            let addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, n as u8 + 1));
            lan.add_node(&format!("R{n}"), addr, vec![c], vec![]);
        }
        let mut max_delay = Duration::ZERO;
        for from in 0..3 {
            for to in 0..3 {
                let d = Duration::from_millis(delays_ms[from * 3 + to]);
                max_delay = max_delay.max(d);
                lan.set_delay(from, to, d);
            }
        }
        for (n, &ms) in starts_ms.iter().enumerate() {
            lan.schedule(Duration::from_millis(ms), SimOp::Start(n));
        }
        for (ms, op) in ops {
            let at = Duration::from_millis(ms);
            match op {
                Op::Partition(comp) => {
                    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); 3];
                    for (n, c) in comp.iter().enumerate() {
                        parts[*c as usize].push(n);
                    }
                    lan.schedule(at, SimOp::Partition(parts));
                }
                Op::Loss(ppm) => lan.schedule(at, SimOp::Loss(ppm)),
                Op::Heal => lan.schedule(at, SimOp::Heal),
            }
        }
        let heal = Duration::from_secs(30);
        lan.schedule(heal, SimOp::Heal);
        lan.schedule(heal, SimOp::Loss(0));
        lan.run_until(lan.at(Duration::from_secs(50)));

        let min_prio = *prios.iter().min().unwrap();
        let mdi = Duration::from_secs(3)
            + Duration::from_micros(u64::from(256 - u32::from(min_prio)) * 1_000_000 / 256);
        let bound = heal + mdi + max_delay;

        let mut masters: BTreeSet<usize> = BTreeSet::new();
        let mut since = Duration::ZERO;
        let trace = lan.trace();
        let mut i = 0;
        while i < trace.len() {
            let t = trace[i].at;
            if masters.len() >= 2 && t > bound {
                prop_assert!(false, "masters {:?} from {:?} until {:?} (bound {:?})", masters, since, t, bound);
            }
            while i < trace.len() && trace[i].at == t {
                if let Action::StateChanged { to, .. } = trace[i].action {
                    if to == State::Master {
                        masters.insert(trace[i].node);
                    } else {
                        masters.remove(&trace[i].node);
                    }
                }
                i += 1;
            }
            since = t;
        }
        prop_assert_eq!(lan.masters("VI_1").len(), 1, "masters at the end: {:?}", lan.masters("VI_1"));
    }
}
