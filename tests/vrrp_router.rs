//! One `Router` driven by hand: advert validation and its counters, timers, actions.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use keepalived_rs::vrrp::{
    Action, Destination, Event, FaultCause, InitialState, InstanceConfig, NotifyEvent, Router,
    State, UnicastPeer, VirtualAddress,
};
use keepalived_rs::wire::vrrp::{Auth, Repr, Version};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn cfg() -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_1", 51);
    c.source_addr = Some(ip(1));
    c.interface = Some("eth0".into());
    c.vips = vec![VirtualAddress::host(ip(100))];
    c
}

fn advert(prio: u8) -> Repr {
    Repr {
        version: Version::V2,
        vrid: 51,
        priority: prio,
        advert_int_cs: 100,
        auth: Auth::None,
        addrs: vec![ip(100)],
    }
}

fn rx(repr: Repr) -> Event {
    Event::Advert {
        src: ip(2),
        ttl: Some(255),
        repr,
    }
}

/// A started router (BACKUP) and its start time; actions drained.
fn started(c: InstanceConfig) -> (Router, Instant) {
    let t0 = keepalived_rs::sys::clock::now();
    let mut r = Router::new(c);
    r.handle(t0, Event::Start);
    drain(&mut r);
    (r, t0)
}

fn drain(r: &mut Router) -> Vec<Action> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn logs(actions: &[Action]) -> Vec<(String, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some((l.text.clone(), l.detail)),
            _ => None,
        })
        .collect()
}

#[test]
fn start_removes_vips_and_enters_backup_with_notify() {
    let t0 = keepalived_rs::sys::clock::now();
    let mut r = Router::new(cfg());
    r.handle(t0, Event::Start);
    let a = drain(&mut r);
    assert_eq!(
        logs(&a),
        vec![
            ("(VI_1) removing VIPs.".to_string(), true),
            ("(VI_1) Entering BACKUP STATE (init)".to_string(), false)
        ]
    );
    assert!(matches!(a[1], Action::DelVips(_)));
    assert!(a.iter().any(|x| matches!(x, Action::Notify(n) if n.event == NotifyEvent::State(State::Backup) && n.priority == 100)));
    assert_eq!(r.poll_timeout(), Some(t0 + us(3_609_375)));
}

#[test]
fn fault_before_start_gives_fault_init_and_clearing_gives_backup() {
    let t0 = keepalived_rs::sys::clock::now();
    let mut r = Router::new(cfg());
    let cause = FaultCause::Interface("eth0".into());
    r.handle(
        t0,
        Event::Fault {
            active: true,
            cause: cause.clone(),
        },
    );
    r.handle(t0, Event::Start);
    let a = drain(&mut r);
    assert!(logs(&a).contains(&("(VI_1) Entering FAULT STATE (init)".into(), false)));
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.poll_timeout(), None);
    r.handle(t0 + us(5), rx(advert(100)));
    assert_eq!(r.stats().advert_rcvd, 0, "FAULT ignores adverts");
    r.handle(
        t0 + us(10),
        Event::Fault {
            active: false,
            cause,
        },
    );
    let a = drain(&mut r);
    assert!(logs(&a).contains(&("(VI_1) Entering BACKUP STATE".into(), false)));
    assert_eq!(r.poll_timeout(), Some(t0 + us(10 + 3_609_375)));
}

#[test]
fn timeout_logs_then_master_actions_in_keepalived_order() {
    let (mut r, t0) = started(cfg());
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    let a = drain(&mut r);
    let kinds: Vec<&str> = a
        .iter()
        .map(|x| match x {
            Action::Log(l) if l.text.contains("timeout") => "timeout-log",
            Action::Log(l) if l.text.contains("Entering MASTER") => "entering-log",
            Action::Log(l) if l.text.contains("setting VIPs") => "setting-log",
            Action::Log(l) if l.text.contains("gratuitous") => "garp-log",
            Action::SendAdvert { .. } => "advert",
            Action::StateChanged { .. } => "state",
            Action::AddVips(_) => "add-vips",
            Action::SendGarp { .. } => "garp",
            Action::Notify(_) => "notify",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "timeout-log",
            "advert",
            "entering-log",
            "state",
            "setting-log",
            "add-vips",
            "garp-log",
            "garp",
            "notify"
        ]
    );
    assert!(logs(&a).contains(&("(VI_1) Receive advertisement timeout".into(), true)));
    assert_eq!(r.stats().become_master, 1);
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + us(3_609_375) + Duration::from_secs(1))
    );
}

#[test]
fn advert_carries_state_at_send_time() {
    let mut c = cfg();
    c.auth = Auth::Pass(*b"secret\0\0");
    c.unicast_peers = vec![UnicastPeer::new(ip(2)), UnicastPeer::new(ip(3))];
    c.unicast_ttl = 64;
    let (mut r, t0) = started(c);
    r.handle(t0, Event::PriorityChanged(120));
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    let adv = drain(&mut r)
        .into_iter()
        .find_map(|a| match a {
            Action::SendAdvert {
                repr,
                src,
                dst,
                ttl,
            } => Some((repr, src, dst, ttl)),
            _ => None,
        })
        .unwrap();
    assert_eq!(adv.0.priority, 120);
    assert_eq!(adv.0.auth, Auth::Pass(*b"secret\0\0"));
    assert_eq!(adv.0.addrs, vec![ip(100)]);
    assert_eq!(adv.0.advert_int_cs, 100);
    assert_eq!(adv.1, Some(ip(1)));
    assert_eq!(adv.2, Destination::Unicast(vec![ip(2), ip(3)]));
    assert_eq!(adv.3, 64);
}

#[test]
fn multicast_destination_defaults_to_vrrp_group() {
    let (mut r, _) = started(cfg());
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    assert!(drain(&mut r).iter().any(|a| matches!(a,
        Action::SendAdvert { dst: Destination::Multicast(g), ttl: 255, .. }
            if *g == IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)))));
}

#[test]
fn auth_type_mismatch_and_bad_password_are_counted_and_dropped() {
    let mut c = cfg();
    c.auth = Auth::Pass(*b"pw\0\0\0\0\0\0");
    let (mut r, t0) = started(c);
    let deadline = r.poll_timeout();
    r.handle(t0 + us(1), rx(advert(200)));
    let mut bad = advert(200);
    bad.auth = Auth::Pass(*b"other\0\0\0");
    r.handle(t0 + us(2), rx(bad));
    let a = drain(&mut r);
    assert_eq!(
        logs(&a),
        vec![
            ("(VI_1) received a 0 auth, expecting 1!".to_string(), false),
            ("(VI_1) received an invalid passwd!".to_string(), false)
        ]
    );
    assert_eq!(r.stats().authtype_mismatch, 1);
    assert_eq!(r.stats().auth_failure, 1);
    assert_eq!(r.stats().advert_rcvd, 0);
    assert_eq!(
        r.poll_timeout(),
        deadline,
        "dropped adverts do not reset the down timer"
    );
}

#[test]
fn v2_interval_mismatch_is_dropped() {
    let (mut r, t0) = started(cfg());
    let deadline = r.poll_timeout();
    let mut a = advert(200);
    a.advert_int_cs = 200;
    r.handle(t0 + us(1), rx(a));
    assert_eq!(
        logs(&drain(&mut r)),
        vec![(
            "(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec".to_string(),
            false
        )]
    );
    assert_eq!(r.stats().advert_interval_err, 1);
    assert_eq!(r.poll_timeout(), deadline);
}

#[test]
fn vip_list_mismatch_unless_skip_check_adv_addr_for_the_known_master() {
    let (mut r, t0) = started(cfg());
    let mut two = advert(200);
    two.addrs.push(ip(101));
    r.handle(t0 + us(1), rx(two));
    let mut other = advert(200);
    other.addrs = vec![ip(99)];
    r.handle(t0 + us(2), rx(other.clone()));
    assert_eq!(
        logs(&drain(&mut r)),
        vec![
            ("(VI_1) received an unexpected ip number count 2, expected 1!".to_string(), false),
            (
                "(VI_1) ip address associated with VRID 51 not present in MASTER advert: 10.0.0.100"
                    .to_string(),
                false
            )
        ]
    );
    assert_eq!(r.stats().addr_list_err, 2);
    assert_eq!(r.stats().advert_rcvd, 1, "counted once the count matched");

    let mut c = cfg();
    c.skip_check_adv_addr = true;
    let (mut r, t0) = started(c);
    r.handle(t0 + us(1), rx(other.clone()));
    assert_eq!(
        r.stats().addr_list_err,
        1,
        "first advert from a new master is checked"
    );
    r.handle(t0 + us(2), rx(advert(200)));
    r.handle(t0 + us(3), rx(other));
    assert_eq!(
        r.stats().addr_list_err,
        1,
        "later ones from the same master are not"
    );
    assert_eq!(r.poll_timeout(), Some(t0 + us(3 + 3_609_375)));
}

#[test]
fn ttl_vrid_and_version_checks() {
    let (mut r, t0) = started(cfg());
    r.handle(
        t0,
        Event::Advert {
            src: ip(2),
            ttl: Some(64),
            repr: advert(200),
        },
    );
    let mut v = advert(200);
    v.vrid = 52;
    r.handle(t0, rx(v));
    let mut v3 = advert(200);
    v3.version = Version::V3;
    r.handle(t0, rx(v3));
    let l = logs(&drain(&mut r));
    assert_eq!(l[0].0, "(VI_1) invalid TTL/HL. Received 64 and expect 255");
    assert_eq!(l[1].0, "(VI_1) wrong version. Received 3 and expect 2");
    let s = r.stats();
    assert_eq!(
        (s.ip_ttl_err, s.vrid_err, s.vers_err, s.advert_rcvd),
        (1, 1, 1, 0)
    );

    // Unicast instances do not check the TTL.
    let mut c = cfg();
    c.unicast_peers = vec![UnicastPeer::new(ip(2))];
    let (mut r, t0) = started(c);
    r.handle(
        t0,
        Event::Advert {
            src: ip(2),
            ttl: Some(64),
            repr: advert(200),
        },
    );
    assert_eq!(r.stats().advert_rcvd, 1);
}

#[test]
fn check_unicast_src_drops_non_peers() {
    let mut c = cfg();
    let mut peer = UnicastPeer::new(ip(2));
    peer.min_ttl = 250;
    c.unicast_peers = vec![peer];
    c.check_unicast_src = true;
    let (mut r, t0) = started(c);
    r.handle(
        t0,
        Event::Advert {
            src: ip(9),
            ttl: Some(255),
            repr: advert(200),
        },
    );
    r.handle(
        t0,
        Event::Advert {
            src: ip(2),
            ttl: Some(64),
            repr: advert(200),
        },
    );
    let l = logs(&drain(&mut r));
    assert_eq!(
        l[0].0,
        "(VI_1) unicast source address 10.0.0.9 not a unicast peer"
    );
    assert_eq!(l[1].0, "(VI_1) TTL/HL 64 not in range 250 - 255");
    assert_eq!(r.stats().ip_ttl_err, 1);
}

#[test]
fn priority_zero_sets_the_down_timer_to_skew() {
    let (mut r, t0) = started(cfg());
    r.handle(t0 + us(100), rx(advert(0)));
    assert_eq!(r.stats().pri_zero_rcvd, 1);
    assert_eq!(r.poll_timeout(), Some(t0 + us(100 + 609_375)));
    assert!(logs(&drain(&mut r)).contains(&(
        "(VI_1) Backup received priority 0 advertisement".into(),
        true
    )));
}

#[test]
fn priority_change_moves_the_running_down_timer() {
    let mut c = cfg();
    c.notify_priority_changes = true;
    let (mut r, t0) = started(c);
    r.handle(t0 + us(5), Event::PriorityChanged(70));
    let a = drain(&mut r);
    assert!(logs(&a).contains(&(
        "(VI_1) Changing effective priority from 100 to 70".into(),
        false
    )));
    assert!(a.iter().any(|x| matches!(x, Action::Notify(n) if n.event == NotifyEvent::BackupPriority && n.priority == 70)));
    // skew(70) − skew(100) = 30/256 s = 117187 µs (rounded per value).
    assert_eq!(r.poll_timeout(), Some(t0 + us(3_726_562)));
    assert_eq!(r.master_down_interval(), us(3_726_562));
}

#[test]
fn owner_ignores_priority_changes() {
    let mut c = cfg();
    c.priority = 255;
    c.initial_state = InitialState::Master;
    let (mut r, t0) = started(c);
    r.handle(t0, Event::PriorityChanged(10));
    assert_eq!(r.effective_priority(), 255);
}

#[test]
fn master_answers_lower_priority_with_advert_and_garp() {
    let (mut r, _) = started(cfg());
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    drain(&mut r);
    r.handle(t + us(10), rx(advert(50)));
    let a = drain(&mut r);
    assert_eq!(
        logs(&a)[0].0,
        "(VI_1) Received advert from 10.0.0.2 with lower priority 50, ours 100, forcing new election"
    );
    assert!(matches!(a[1], Action::SendAdvert { ref repr, .. } if repr.priority == 100));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::SendGarp { repeat: 5, .. })));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Notify(n) if n.event == NotifyEvent::MasterRxLowerPri)));
    // The advert timer restarts from the extra advert.
    assert_eq!(r.poll_timeout(), Some(t + us(10) + Duration::from_secs(1)));
}

#[test]
fn master_answers_priority_zero_with_an_advert_and_stays() {
    let (mut r, _) = started(cfg());
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    drain(&mut r);
    r.handle(t + us(10), rx(advert(0)));
    let a = drain(&mut r);
    assert!(matches!(a[0], Action::SendAdvert { ref repr, .. } if repr.priority == 100));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn stop_from_backup_sends_nothing_but_notifies_stop() {
    let (mut r, t0) = started(cfg());
    r.handle(t0, Event::Stop);
    let a = drain(&mut r);
    assert!(!a.iter().any(|x| matches!(x, Action::SendAdvert { .. })));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Notify(n) if n.event == NotifyEvent::State(State::Stop))));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn strict_mode_normalisation() {
    let mut c = cfg();
    c.strict_mode = true;
    c.initial_state = InitialState::Master;
    c.auth = Auth::Pass(*b"pw\0\0\0\0\0\0");
    c.preempt_delay = Duration::from_secs(3);
    c.down_timer_adverts = 5;
    c.unicast_peers = vec![UnicastPeer::new(ip(2))];
    let w = c.normalize();
    assert_eq!(c.initial_state, InitialState::Backup);
    assert_eq!(c.auth, Auth::None);
    assert!(c.unicast_peers.is_empty());
    assert_eq!(c.preempt_delay, Duration::ZERO);
    assert_eq!(c.down_timer_adverts, 3);
    assert!(c.lower_prio_no_advert);
    assert!(!c.higher_prio_send_advert);
    assert_eq!(c.garp_lower_prio_repeat, 0);
    assert!(!c.accept);
    assert!(w.contains(&"(VI_1) State MASTER must match being address owner".to_string()));
    assert!(
        w.contains(&"(VI_1) Strict mode does not support authentication. Ignoring.".to_string())
    );
}

#[test]
fn invalid_packets_do_not_delay_the_masters_adverts() {
    let (mut r, _) = started(cfg());
    let t = r.poll_timeout().unwrap();
    r.handle_timeout(t);
    drain(&mut r);
    let mut bad = advert(200);
    bad.advert_int_cs = 300;
    r.handle(t + us(500_000), rx(bad));
    assert_eq!(r.poll_timeout(), Some(t + Duration::from_secs(1)));
}

#[test]
fn sync_group_siblings_send_their_lower_priority_garps_too() {
    use keepalived_rs::vrrp::{Source, SyncGroupConfig, Vrrp};
    let mut a = cfg();
    a.name = "VI_1".into();
    let mut b = cfg();
    b.name = "VI_2".into();
    b.vrid = 52;
    b.vips = vec![VirtualAddress::host(ip(101))];
    let g = SyncGroupConfig {
        name: "SG1".into(),
        members: vec!["VI_1".into(), "VI_2".into()],
    };
    let (mut v, warnings) = Vrrp::new(vec![a, b], vec![g]);
    assert!(warnings.is_empty());
    let t0 = keepalived_rs::sys::clock::now();
    v.start(t0);
    let t = v.poll_timeout().unwrap();
    v.handle_timeout(t);
    assert_eq!(v.router(0).state(), State::Master);
    assert_eq!(v.router(1).state(), State::Master);
    while v.poll_action().is_some() {}
    v.handle(t + us(10), 0, rx(advert(50)));
    let garps: Vec<Source> = std::iter::from_fn(|| v.poll_action())
        .filter(|o| matches!(o.action, Action::SendGarp { .. }))
        .map(|o| o.source)
        .collect();
    assert_eq!(garps, vec![Source::Instance(0), Source::Instance(1)]);
}
