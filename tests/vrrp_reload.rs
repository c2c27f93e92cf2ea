//! Reload (SIGHUP) in the core: instances keep their state and only what changed is touched,
//! as keepalived 2.2.7's clear_diff_vrrp / restore_vrrp_state do, minus the flaps.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keepalived_rs::vrrp::sim::{Lan, SimOp, TraceEntry};
use keepalived_rs::vrrp::{
    Action, InstanceConfig, NotifyEvent, Removed, State, VirtualAddress, Vrrp,
};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn inst(name: &str, vrid: u8, prio: u8, vips: &[u8]) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, vrid);
    c.priority = prio;
    c.interface = Some("eth0".into());
    c.vips = vips.iter().map(|&v| VirtualAddress::host(ip(v))).collect();
    c.source_addr = Some(ip(1));
    c
}

/// A single router that has become MASTER (nobody else on the LAN).
fn master(c: InstanceConfig) -> (Vrrp, std::time::Instant) {
    let t0 = keepalived_rs::sys::clock::now();
    let (mut v, _) = Vrrp::new(vec![c], vec![]);
    v.start(t0);
    let t = t0 + s(4);
    v.handle_timeout(t);
    assert_eq!(v.router(0).state(), State::Master);
    while v.poll_action().is_some() {}
    (v, t)
}

fn actions(v: &mut Vrrp) -> Vec<Action> {
    std::iter::from_fn(|| v.poll_action().map(|o| o.action)).collect()
}

fn addrs(list: &[VirtualAddress]) -> Vec<IpAddr> {
    list.iter().map(|a| a.addr).collect()
}

#[test]
fn a_master_keeps_its_role_and_touches_only_the_changed_vips() {
    let (mut v, t) = master(inst("VI_1", 51, 150, &[100, 101]));
    let sent = v.router(0).stats().advert_sent;
    let t = t + Duration::from_millis(300);
    let (removed, _) = v.reload(t, vec![inst("VI_1", 51, 150, &[101, 102])], vec![]);
    assert!(removed.is_empty());
    let a = actions(&mut v);
    let dels: Vec<_> = a
        .iter()
        .filter_map(|x| match x {
            Action::DelVips(l) => Some(addrs(l)),
            _ => None,
        })
        .collect();
    let adds: Vec<_> = a
        .iter()
        .filter_map(|x| match x {
            Action::AddVips(l) => Some(addrs(l)),
            _ => None,
        })
        .collect();
    assert_eq!(dels, vec![vec![ip(100)]], "{a:?}");
    assert_eq!(adds, vec![vec![ip(102)]], "{a:?}");
    // An address was added: keepalived sends a GARP burst for all of them.
    assert!(a.iter().any(
        |x| matches!(x, Action::SendGarp { addrs: l, repeat: 5 } if addrs(l) == vec![ip(101), ip(102)])
    ));
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::StateChanged { .. } | Action::Notify(_))));
    assert_eq!(v.router(0).state(), State::Master);
    assert!(v.router(0).vipset());
    // The reloaded master advertises at once, and its counters carry on.
    assert_eq!(v.poll_timeout(), Some(t));
    v.handle_timeout(t);
    let a = actions(&mut v);
    assert!(a.iter().any(|x| matches!(x, Action::SendAdvert { repr, .. } if repr.priority == 150 && repr.addrs == vec![ip(101), ip(102)])));
    assert_eq!(v.router(0).stats().advert_sent, sent + 1);
}

#[test]
fn an_unchanged_reload_does_nothing_but_advertise() {
    let (mut v, t) = master(inst("VI_1", 51, 150, &[100]));
    v.reload(t, vec![inst("VI_1", 51, 150, &[100])], vec![]);
    let a = actions(&mut v);
    assert!(a.is_empty(), "{a:?}");
    v.handle_timeout(t);
    let a = actions(&mut v);
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(matches!(a[0], Action::SendAdvert { .. }));
}

#[test]
fn a_backup_stays_backup_with_a_fresh_down_timer_and_no_notify() {
    let t0 = keepalived_rs::sys::clock::now();
    let (mut v, _) = Vrrp::new(vec![inst("VI_1", 51, 100, &[100])], vec![]);
    v.start(t0);
    actions(&mut v);
    let t = t0 + s(2);
    v.reload(t, vec![inst("VI_1", 51, 100, &[100])], vec![]);
    assert!(actions(&mut v).is_empty());
    assert_eq!(v.router(0).state(), State::Backup);
    // 3 s + 156/256 s from the reload.
    assert_eq!(v.poll_timeout(), Some(t + Duration::from_micros(3_609_375)));
}

#[test]
fn instances_are_matched_by_vrid_and_interface_not_by_name() {
    let (mut v, t) = master(inst("VI_1", 51, 150, &[100]));
    let (removed, _) = v.reload(t, vec![inst("renamed", 51, 150, &[100])], vec![]);
    assert!(removed.is_empty());
    assert_eq!(v.router(0).name(), "renamed");
    assert_eq!(v.router(0).state(), State::Master);
    assert!(actions(&mut v).is_empty());
}

#[test]
fn a_removed_master_releases_and_reports_deleted_and_a_new_one_starts() {
    let (mut v, t) = master(inst("VI_1", 51, 150, &[100]));
    let (removed, _) = v.reload(t, vec![inst("VI_2", 52, 100, &[110])], vec![]);
    let [Removed { config, actions: a }] = removed.as_slice() else {
        panic!("{removed:?}")
    };
    assert_eq!(config.name, "VI_1");
    assert!(matches!(&a[0], Action::SendAdvert { repr, .. } if repr.priority == 0));
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::DelVips(l) if addrs(l) == vec![ip(100)])));
    assert!(
        matches!(a.last(), Some(Action::Notify(n)) if n.event == NotifyEvent::Deleted && n.name == "VI_1")
    );
    // The new instance starts as at daemon start.
    let a = actions(&mut v);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::StateChanged {
            from: State::Init,
            to: State::Backup,
            ..
        }
    )));
    assert_eq!(v.router(0).name(), "VI_2");
}

/// The scenario on the simulated LAN: fifty reloads (half of them editing the VIP list)
/// while a backup listens. Nobody changes state, the unchanged VIP is never removed, the
/// backup never times out.
#[test]
fn fifty_reloads_never_flap_the_master() {
    let mut lan = Lan::new(keepalived_rs::sys::clock::now());
    lan.add_node("A", ip(1), vec![inst("VI_1", 51, 150, &[100])], vec![]);
    lan.add_node("B", ip(2), vec![inst("VI_1", 51, 100, &[100])], vec![]);
    lan.start_all();
    for k in 0..50u64 {
        let vips: &[u8] = if k % 2 == 0 { &[100, 101] } else { &[100] };
        lan.schedule(
            Duration::from_millis(5_000 + 137 * k),
            SimOp::Reload {
                node: 0,
                instances: vec![inst("VI_1", 51, 150, vips)],
                groups: vec![],
            },
        );
    }
    lan.run_until(lan.at(s(30)));
    let changes: Vec<&TraceEntry> = lan
        .trace()
        .iter()
        .filter(|e| matches!(e.action, Action::StateChanged { .. }))
        .collect();
    // Start-up only: both INIT->BACKUP, then A BACKUP->MASTER once.
    assert_eq!(changes.len(), 3, "{changes:#?}");
    assert_eq!(lan.masters("VI_1"), vec!["A".to_string()]);
    let removed_100 = lan.trace().iter().any(|e| {
        matches!(&e.action, Action::DelVips(l) if l.iter().any(|a| a.addr == ip(100)))
            && e.at > s(1)
    });
    assert!(!removed_100, "the unchanged VIP was removed");
    let notifies_after_start = lan
        .trace()
        .iter()
        .filter(|e| e.at > s(4) && matches!(e.action, Action::Notify(_)))
        .count();
    assert_eq!(notifies_after_start, 0);
}
