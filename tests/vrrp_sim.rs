//! VRRP behaviours on the simulated LAN, timed exactly on the virtual clock.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use keepalived_rs::vrrp::sim::{Lan, SimOp, TraceEntry};
use keepalived_rs::vrrp::{
    Action, Event, FaultCause, InitialState, InstanceConfig, NotifyEvent, Reason, State,
    SyncGroupConfig, VirtualAddress,
};
use keepalived_rs::wire::vrrp::Version;

fn origin() -> Instant {
    keepalived_rs::sys::clock::now()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn inst(name: &str, vrid: u8, prio: u8, vip: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, vrid);
    c.priority = prio;
    c.interface = Some("eth0".into());
    c.vips = vec![VirtualAddress::host(ip(vip))];
    c
}

/// Two nodes, A (10.0.0.1) and B (10.0.0.2), one instance VI_1 each.
fn pair(a: InstanceConfig, b: InstanceConfig) -> Lan {
    let mut lan = Lan::new(origin());
    lan.add_node("A", ip(1), vec![a], vec![]);
    lan.add_node("B", ip(2), vec![b], vec![]);
    lan
}

/// When `node`'s `instance` entered `to` (the n-th time, 0-based).
fn entered(lan: &Lan, node: usize, instance: &str, to: State, n: usize) -> Duration {
    lan.trace()
        .iter()
        .filter(|e| e.node == node && e.source == instance && !e.is_group)
        .filter(|e| matches!(e.action, Action::StateChanged { to: t, .. } if t == to))
        .nth(n)
        .unwrap_or_else(|| panic!("node {node} {instance} never entered {to} #{n}"))
        .at
}

/// Time of the last advert `node` sent before `before`.
fn last_advert(lan: &Lan, node: usize, before: Duration) -> Duration {
    lan.trace()
        .iter()
        .rev()
        .filter(|e| e.node == node && e.at <= before)
        .find(|e| matches!(e.action, Action::SendAdvert { .. }))
        .expect("no advert")
        .at
}

fn no_adverts(e: &TraceEntry) -> bool {
    !matches!(&e.action, Action::Log(l) if l.text.contains("received lower priority"))
}

#[test]
fn backup_takes_over_exactly_at_master_down_interval() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.schedule(us(10_500_000), SimOp::Crash(0));
    lan.run_until(lan.at(s(20)));
    // A: 3 × 1 s + (256 − 150)/256 s = 3.414062 s after start.
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(3_414_062));
    let last = last_advert(&lan, 0, us(10_500_000));
    assert_eq!(last, us(10_414_062));
    // B: 3 × 1 s + (256 − 100)/256 s = 3.609375 s after A's last advert.
    assert_eq!(
        entered(&lan, 1, "VI_1", State::Master, 0) - last,
        us(3_609_375)
    );
    assert_eq!(lan.masters("VI_1"), vec!["B"]);
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn priority_zero_on_stop_hands_over_after_skew() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.schedule(us(10_500_000), SimOp::Stop(0));
    lan.run_until(lan.at(s(12)));
    // skew(100) = 156/256 s = 0.609375 s after the priority-0 advert.
    assert_eq!(
        entered(&lan, 1, "VI_1", State::Master, 0),
        us(10_500_000 + 609_375)
    );
    let a = lan.nodes[0].vrrp.router(0).stats().clone();
    assert_eq!(a.pri_zero_sent, 1);
    let b = lan.nodes[1].vrrp.router(0).stats().clone();
    assert_eq!(b.pri_zero_rcvd, 1);
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn higher_priority_preempts_when_it_starts() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.apply_start(1);
    lan.schedule(s(10), SimOp::Start(0));
    lan.run_until(lan.at(s(16)));
    assert_eq!(entered(&lan, 1, "VI_1", State::Master, 0), us(3_609_375));
    // A discards B's lower adverts and takes over when its own down timer expires.
    assert_eq!(
        entered(&lan, 0, "VI_1", State::Master, 0),
        us(10_000_000 + 3_414_062)
    );
    assert_eq!(entered(&lan, 1, "VI_1", State::Backup, 1), us(13_414_062));
    assert_eq!(lan.masters("VI_1"), vec!["A"]);
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn nopreempt_keeps_the_running_master() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.nopreempt = true;
    let mut lan = pair(a, inst("VI_1", 51, 100, 100));
    lan.apply_start(1);
    lan.schedule(s(10), SimOp::Start(0));
    lan.run_until(lan.at(s(40)));
    assert_eq!(lan.masters("VI_1"), vec!["B"]);
    assert_eq!(lan.state(0, "VI_1"), State::Backup);
}

#[test]
fn preempt_delay_delays_preemption() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.preempt_delay = s(5);
    let mut lan = pair(a, inst("VI_1", 51, 100, 100));
    lan.apply_start(1);
    lan.schedule(s(10), SimOp::Start(0));
    lan.run_until(lan.at(s(25)));
    // B adverts at x.609375; the first one A hears (10.609375) starts the 5 s delay; adverts
    // are accepted until 15.609375, so the last accepted is 14.609375 and A takes over one
    // down interval (3.414062 s) later.
    assert_eq!(
        entered(&lan, 0, "VI_1", State::Master, 0),
        us(14_609_375 + 3_414_062)
    );
    assert_eq!(lan.masters("VI_1"), vec!["A"]);
}

#[test]
fn equal_priority_tie_breaks_by_higher_address() {
    let mut lan = pair(inst("VI_1", 51, 100, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.run_until(lan.at(s(6)));
    // Both time out together; A (10.0.0.1) hears B (10.0.0.2) with the same priority.
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(3_609_375));
    assert_eq!(entered(&lan, 0, "VI_1", State::Backup, 1), us(3_609_375));
    assert_eq!(lan.masters("VI_1"), vec!["B"]);
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn split_brain_heals_to_one_master_with_a_fresh_garp_burst() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.schedule(s(10), SimOp::Partition(vec![vec![0], vec![1]]));
    lan.schedule(s(20), SimOp::Heal);
    lan.run_until(lan.at(s(27)));
    // B's last advert heard from A was 9.414062.
    assert_eq!(
        entered(&lan, 1, "VI_1", State::Master, 0),
        us(9_414_062 + 3_609_375)
    );
    // B's first advert after the heal (20.023437) makes A force a new election.
    assert_eq!(entered(&lan, 1, "VI_1", State::Backup, 1), us(20_023_437));
    assert_eq!(lan.masters("VI_1"), vec!["A"]);
    let garps_after_heal: Vec<Duration> = lan
        .trace()
        .iter()
        .filter(|e| e.node == 0 && e.at >= s(20))
        .filter(|e| matches!(e.action, Action::SendGarp { .. }))
        .map(|e| e.at)
        .collect();
    // garp_lower_prio_repeat now, and again after garp_lower_prio_delay.
    assert_eq!(garps_after_heal, vec![us(20_023_437), us(25_023_437)]);
    let rx_lower = lan.trace().iter().any(
        |e| matches!(&e.action, Action::Notify(n) if n.event == NotifyEvent::MasterRxLowerPri),
    );
    assert!(rx_lower);
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn lower_prio_no_advert_lets_the_lower_master_time_out_instead() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.lower_prio_no_advert = true;
    a.garp_lower_prio_repeat = 0;
    let mut lan = pair(a, inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.schedule(s(10), SimOp::Partition(vec![vec![0], vec![1]]));
    lan.schedule(s(20), SimOp::Heal);
    lan.run_until(lan.at(s(27)));
    // No forced election: B steps down on A's next regular advert (20.414062).
    assert_eq!(entered(&lan, 1, "VI_1", State::Backup, 1), us(20_414_062));
    assert_eq!(lan.masters("VI_1"), vec!["A"]);
}

#[test]
fn fault_sends_priority_zero_and_backup_takes_over() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    let script = FaultCause::Script("chk".into());
    let ifdown = FaultCause::Interface("eth1".into());
    let ev = |active, cause: &FaultCause| SimOp::Event {
        node: 0,
        instance: "VI_1".into(),
        event: Event::Fault {
            active,
            cause: cause.clone(),
        },
    };
    lan.schedule(s(10), ev(true, &script));
    lan.schedule(s(12), ev(true, &ifdown));
    lan.schedule(s(14), ev(false, &script));
    lan.schedule(s(16), ev(false, &ifdown));
    lan.run_until(lan.at(s(22)));
    assert_eq!(entered(&lan, 0, "VI_1", State::Fault, 0), s(10));
    assert_eq!(entered(&lan, 1, "VI_1", State::Master, 0), us(10_609_375));
    // Still FAULT while one cause is active; BACKUP when both cleared; then preempts.
    assert_eq!(entered(&lan, 0, "VI_1", State::Backup, 1), s(16));
    assert_eq!(
        entered(&lan, 0, "VI_1", State::Master, 1),
        us(16_000_000 + 3_414_062)
    );
    let a = lan.nodes[0].vrrp.router(0).stats().clone();
    assert_eq!(a.pri_zero_sent, 1, "counted once, as keepalived");
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn sync_group_moves_together() {
    let group = || {
        vec![SyncGroupConfig {
            name: "SG1".into(),
            members: vec!["VI_1".into(), "VI_2".into()],
        }]
    };
    let mut lan = Lan::new(origin());
    lan.add_node(
        "A",
        ip(1),
        vec![inst("VI_1", 51, 150, 100), inst("VI_2", 52, 150, 101)],
        group(),
    );
    lan.add_node(
        "B",
        ip(2),
        vec![inst("VI_1", 51, 100, 100), inst("VI_2", 52, 100, 101)],
        group(),
    );
    lan.start_all();
    lan.schedule(
        s(10),
        SimOp::Event {
            node: 0,
            instance: "VI_2".into(),
            event: Event::Fault {
                active: true,
                cause: FaultCause::Interface("eth0".into()),
            },
        },
    );
    lan.run_until(lan.at(s(13)));
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(3_414_062));
    assert_eq!(entered(&lan, 0, "VI_2", State::Master, 0), us(3_414_062));
    assert_eq!(lan.state(0, "VI_1"), State::Fault);
    assert_eq!(lan.masters("VI_1"), vec!["B"]);
    assert_eq!(lan.masters("VI_2"), vec!["B"]);
    assert_eq!(entered(&lan, 1, "VI_2", State::Master, 0), us(10_609_375));
    insta::assert_snapshot!(lan.timeline_with(no_adverts));
}

#[test]
fn v3_learns_the_masters_interval() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.version = Version::V3;
    a.advert_interval = Duration::from_millis(100);
    let mut b = inst("VI_1", 51, 100, 100);
    b.version = Version::V3;
    b.advert_interval = s(1);
    let mut lan = pair(a, b);
    lan.start_all();
    lan.schedule(us(2_050_000), SimOp::Crash(0));
    lan.run_until(lan.at(s(2)));
    let b = lan.nodes[1].vrrp.router(0);
    assert_eq!(b.master_adver_int(), Duration::from_millis(100));
    assert_eq!(b.master_down_interval(), us(360_937));
    lan.run_until(lan.at(s(4)));
    // A: 3 × 0.1 s + 106 × 10 cs × 625 / 16 µs = 0.341406 s.
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(341_406));
    let last = last_advert(&lan, 0, us(2_050_000));
    // B: 3 × 0.1 s + 156 × 10 × 625 / 16 µs = 0.360937 s.
    assert_eq!(
        entered(&lan, 1, "VI_1", State::Master, 0) - last,
        us(360_937)
    );
    let learnt = lan.trace().iter().any(|e| {
        matches!(&e.action, Action::Log(l)
            if l.detail && l.text == "(VI_1) advertisement interval updated from 1000ms to 100ms by master")
    });
    assert!(learnt);
}

#[test]
fn owner_becomes_master_at_once() {
    let mut a = inst("VI_1", 51, 255, 100);
    a.initial_state = InitialState::Master;
    let mut lan = pair(a, inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.run_until(lan.at(s(5)));
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(1));
    assert_eq!(lan.masters("VI_1"), vec!["A"]);
    insta::assert_snapshot!(lan.timeline_with(|e| e.node == 0));
}

#[test]
fn state_master_on_a_non_owner_waits_the_full_down_timer() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.initial_state = InitialState::Master;
    let mut lan = Lan::new(origin());
    lan.add_node("A", ip(1), vec![a], vec![]);
    lan.start_all();
    lan.run_until(lan.at(s(5)));
    // keepalived baseline: 3.414 s with state MASTER and priority 150.
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(3_414_062));
}

#[test]
fn state_master_in_a_sync_group_waits_one_interval_plus_minimal_skew() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.initial_state = InitialState::Master;
    let mut b = inst("VI_2", 52, 150, 101);
    b.initial_state = InitialState::Master;
    let mut lan = Lan::new(origin());
    let g = SyncGroupConfig {
        name: "SG1".into(),
        members: vec!["VI_1".into(), "VI_2".into()],
    };
    lan.add_node("A", ip(1), vec![a, b], vec![g]);
    lan.start_all();
    lan.run_until(lan.at(s(5)));
    // 1 s + 1/256 s.
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(1_003_906));
    assert_eq!(entered(&lan, 0, "VI_2", State::Master, 0), us(1_003_906));
}

#[test]
fn garp_bursts_at_takeover_and_after_garp_master_delay() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.run_until(lan.at(s(12)));
    let garps: Vec<(Duration, u32)> = lan
        .trace()
        .iter()
        .filter_map(|e| match &e.action {
            Action::SendGarp { repeat, .. } => Some((e.at, *repeat)),
            _ => None,
        })
        .collect();
    assert_eq!(garps, vec![(us(3_414_062), 5), (us(8_414_062), 5)]);
}

#[test]
fn stale_delayed_garp_is_not_sent_after_leaving_master() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.apply_start(1);
    lan.schedule(s(4), SimOp::Start(0));
    lan.run_until(lan.at(s(15)));
    // B was master from 3.609375 to 7.414062; its delayed burst (8.609375) finds no VIPs.
    let b_garps = lan
        .trace()
        .iter()
        .filter(|e| e.node == 1 && matches!(e.action, Action::SendGarp { .. }))
        .count();
    assert_eq!(b_garps, 1);
}

#[test]
fn garp_master_refresh_repeats_on_advert_ticks() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.garp_master_delay = Duration::ZERO;
    a.garp_master_refresh = s(2);
    a.garp_master_refresh_repeat = 2;
    let mut lan = Lan::new(origin());
    lan.add_node("A", ip(1), vec![a], vec![]);
    lan.start_all();
    lan.run_until(lan.at(s(10)));
    let garps: Vec<(Duration, u32)> = lan
        .trace()
        .iter()
        .filter_map(|e| match &e.action {
            Action::SendGarp { repeat, .. } => Some((e.at, *repeat)),
            _ => None,
        })
        .collect();
    // Refresh is checked when an advert goes out and needs now > deadline (strictly).
    assert_eq!(
        garps,
        vec![(us(3_414_062), 5), (us(6_414_062), 2), (us(9_414_062), 2)]
    );
}

#[test]
fn higher_prio_send_advert_sends_one_more_advert_before_stepping_down() {
    let mut b = inst("VI_1", 51, 100, 100);
    b.higher_prio_send_advert = true;
    let mut lan = pair(inst("VI_1", 51, 150, 100), b);
    lan.apply_start(1);
    lan.schedule(s(10), SimOp::Start(0));
    lan.run_until(lan.at(s(14)));
    let at = us(13_414_062);
    assert_eq!(entered(&lan, 1, "VI_1", State::Backup, 1), at);
    let b_adverts_then = lan
        .trace()
        .iter()
        .filter(|e| e.node == 1 && e.at == at && matches!(e.action, Action::SendAdvert { .. }))
        .count();
    assert_eq!(b_adverts_then, 1);
}

#[test]
fn owner_conflict_steps_the_receiving_owner_down() {
    let mut a = inst("VI_1", 51, 255, 100);
    a.initial_state = InitialState::Master;
    let mut b = inst("VI_1", 51, 255, 100);
    b.initial_state = InitialState::Master;
    let mut lan = pair(a, b);
    lan.set_all_delays(Duration::from_millis(1));
    lan.apply_start(0);
    lan.schedule(s(5), SimOp::Start(1));
    lan.run_until(lan.at(s(20)));
    assert_eq!(lan.masters("VI_1").len(), 1);
    let conflict = lan.trace().iter().any(|e| {
        matches!(&e.action, Action::Log(l) if l.text.contains("CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner"))
    });
    assert!(conflict);
    insta::assert_snapshot!(lan.timeline());
}

#[test]
fn interface_down_on_a_master_gives_fault_and_two_priority_zero_adverts() {
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 100, 100));
    lan.start_all();
    lan.schedule(
        s(10),
        SimOp::Event {
            node: 0,
            instance: "VI_1".into(),
            event: Event::Fault {
                active: true,
                cause: FaultCause::Interface("eth0".into()),
            },
        },
    );
    lan.run_until(lan.at(s(11)));
    let prio0: Vec<Duration> = lan
        .trace()
        .iter()
        .filter(|e| e.node == 0)
        .filter(|e| matches!(&e.action, Action::SendAdvert { repr, .. } if repr.priority == 0))
        .map(|e| e.at)
        .collect();
    assert_eq!(prio0, vec![s(10), s(10)]);
    assert!(lan.trace().iter().any(|e| matches!(
        e.action,
        Action::StateChanged {
            from: State::Master,
            to: State::Fault,
            reason: Reason::Fault
        }
    )));
}

#[test]
fn unicast_adverts_reach_only_peers() {
    let mut a = inst("VI_1", 51, 150, 100);
    a.unicast_peers = vec![keepalived_rs::vrrp::UnicastPeer::new(ip(2))];
    let mut b = inst("VI_1", 51, 100, 100);
    b.unicast_peers = vec![keepalived_rs::vrrp::UnicastPeer::new(ip(1))];
    let mut lan = pair(a, b);
    // A multicast router with the same VRID on the LAN must not hear them.
    lan.add_node("C", ip(3), vec![inst("VI_1", 51, 50, 100)], vec![]);
    lan.start_all();
    lan.run_until(lan.at(s(8)));
    assert_eq!(lan.state(1, "VI_1"), State::Backup);
    assert_eq!(lan.state(2, "VI_1"), State::Master);
    assert_eq!(lan.nodes[2].vrrp.router(0).stats().advert_rcvd, 0);
}

trait StartOne {
    fn apply_start(&mut self, node: usize);
}

impl StartOne for Lan {
    fn apply_start(&mut self, node: usize) {
        let now = self.elapsed();
        self.schedule(now, SimOp::Start(node));
    }
}

/// Replays the two-node capture of keepalived 2.2.7 (runtime-capture/two-node-A): node A has
/// VI_1 alone and VI_2 + VI_3 in SG1, all priority 150; B (120) starts 7 s later; A's
/// weight -60 script fails (150 -> 90) and recovers; then A stops. The FIFO lines A writes
/// must be keepalived's, in keepalived's order.
#[test]
fn two_node_capture_fifo_sequence() {
    let g = || {
        vec![SyncGroupConfig {
            name: "SG1".into(),
            members: vec!["VI_2".into(), "VI_3".into()],
        }]
    };
    let node = |p| {
        vec![
            inst("VI_1", 51, p, 100),
            inst("VI_2", 52, p, 101),
            inst("VI_3", 53, p, 102),
        ]
    };
    let mut lan = Lan::new(origin());
    lan.add_node("A", ip(1), node(150), g());
    lan.add_node("B", ip(2), node(120), g());
    lan.apply_start(0);
    lan.schedule(s(7), SimOp::Start(1));
    let prio = |p| SimOp::Event {
        node: 0,
        instance: "VI_1".into(),
        event: Event::PriorityChanged(p),
    };
    lan.schedule(s(14), prio(90));
    lan.schedule(s(23), prio(150));
    lan.schedule(s(38), SimOp::Stop(0));
    lan.run_until(lan.at(s(40)));
    let fifo: Vec<String> = lan
        .trace()
        .iter()
        .filter(|e| e.node == 0)
        .filter_map(|e| match &e.action {
            Action::Notify(n) => Some(format!(
                "{} \"{}\" {} {}",
                n.kind.as_str(),
                n.name,
                n.event.as_str(),
                n.priority
            )),
            _ => None,
        })
        .collect();
    let expected = "GROUP \"SG1\" BACKUP 0
INSTANCE \"VI_1\" BACKUP 150
INSTANCE \"VI_2\" BACKUP 150
INSTANCE \"VI_3\" BACKUP 150
INSTANCE \"VI_1\" MASTER 150
INSTANCE \"VI_3\" MASTER 150
INSTANCE \"VI_2\" MASTER 150
GROUP \"SG1\" MASTER 0
INSTANCE \"VI_1\" BACKUP 90
INSTANCE \"VI_1\" MASTER 150
INSTANCE \"VI_1\" STOP 150
INSTANCE \"VI_2\" STOP 150
INSTANCE \"VI_3\" STOP 150
GROUP \"SG1\" STOP 0";
    assert_eq!(fifo.join("\n"), expected);
    if let Ok(captured) = std::fs::read_to_string(
        "/work/shared/corpus/keepalived-2.2.7-runtime-capture/two-node-A/fifo.log",
    ) {
        assert_eq!(fifo.join("\n"), captured.trim_end());
    }
    // B's priority 120 beats A's 90 after B's own down timer: 3 s + 136/256 s.
    assert_eq!(
        entered(&lan, 1, "VI_1", State::Master, 0),
        us(13_414_062 + 3_531_250)
    );
    insta::assert_snapshot!(lan.timeline_with(|e| e.source == "VI_1"));
}

/// A `vrrp_script` with `weight -60`, `fall 2`, `rise 2`, run every second on A (150): its
/// results go through the real streak logic (`ScriptState`) and priority arithmetic
/// (`effective_priority`) into the router. The second failure drops A to 90, below B's 120, so
/// A hands over at once (its next advert carries 90 and B, with preemption, takes over); the
/// second success after recovery brings A back to 150 and A preempts B.
#[test]
fn failing_weighted_script_hands_over_and_recovery_takes_it_back() {
    use keepalived_rs::vrrp::track::{
        effective_priority, Health, Observation, ScriptOutcome, ScriptState, Tracker, TrackerKind,
    };
    let mut lan = pair(inst("VI_1", 51, 150, 100), inst("VI_1", 51, 120, 100));
    lan.start_all();
    let mut script = ScriptState::new(2, 2, false);
    let mut tracker = Tracker {
        kind: TrackerKind::Script,
        name: "chk".into(),
        weight: -60,
        reverse: false,
        observation: Observation::Health(Health::Pending),
    };
    let mut prio = 150;
    let mut changes = Vec::new();
    for t in 1..=40u64 {
        lan.run_until(lan.at(s(t)));
        // The script fails from t=10 s to t=19 s.
        let outcome = if (10..20).contains(&t) {
            ScriptOutcome::Failure
        } else {
            ScriptOutcome::Success
        };
        if let Some(tr) = script.record(outcome) {
            tracker.observation = Observation::Health(script.health());
            let p = effective_priority(150, [&tracker]).expect("weighted script never faults");
            changes.push((t, tr.as_str(), p));
            if p != prio {
                prio = p;
                lan.schedule(
                    s(t),
                    SimOp::Event {
                        node: 0,
                        instance: "VI_1".into(),
                        event: Event::PriorityChanged(p),
                    },
                );
            }
        }
    }
    // The first result decides at once (no init_fail); then fall 2 and rise 2 apply.
    assert_eq!(
        changes,
        vec![
            (1, "succeeded", 150),
            (11, "failed", 90),
            (21, "succeeded", 150)
        ]
    );
    // A is master first, hands over after the second failure, preempts after the second
    // success.
    assert_eq!(entered(&lan, 0, "VI_1", State::Master, 0), us(3_414_062));
    // A keeps advertising as master with 90; B (120) does not accept a lower-priority master's
    // adverts, so it takes over one down interval (3 s + 136/256 s) after A's last advert at
    // 150, as keepalived does in the two-node capture.
    let handover = entered(&lan, 1, "VI_1", State::Master, 0);
    assert_eq!(handover - last_advert(&lan, 0, s(11)), us(3_531_250));
    assert!(handover > s(11), "B took over at {handover:?}");
    // Back at 150, A ignores B's 120 adverts and preempts one down interval (3 s + 106/256 s)
    // after the last advert it accepted from B.
    let back = entered(&lan, 0, "VI_1", State::Master, 1);
    assert_eq!(back - last_advert(&lan, 1, s(21)), us(3_414_062));
    assert_eq!(lan.masters("VI_1"), vec!["A".to_string()]);
    insta::assert_snapshot!(lan.timeline_with(|e| e.source == "VI_1"));
}
