//! IPVS against a real kernel: our client programs the table, ipvsadm (the oracle) reads it.
//!
//! These tests change the kernel's IPVS table, so they run only inside the throw-away VM
//! (`tests/vm/run-ipvs-tests.sh`, which sets IPVSVM=1) or when KA_VM=1 says the machine is
//! disposable. Anywhere else they pass with a "skipped" message.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use keepalived_rs::ipvs::*;

#[path = "support/ipvs_vm.rs"]
mod ipvs_vm;
use ipvs_vm::{in_vm, ipvsadm, save};

/// The tests share one kernel table.
static KERNEL: Mutex<()> = Mutex::new(());

fn client() -> Client {
    // Inside the VM IPVS must work: a failure here is a failure, not a skip.
    Client::connect().expect("IPVS generic netlink family (ip_vs loaded?)")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn table_of(vss: Vec<(Service, Vec<Dest>)>) -> Table {
    let mut t = Table::new();
    for (s, ds) in vss {
        let key = s.key;
        t.insert_service(s);
        for d in ds {
            t.insert_dest(&key, d);
        }
    }
    t
}

/// NAT/wlc with persistence, DR/rr, fwmark, IPv6, TUN (IPIP and GUE).
fn lab_table() -> Table {
    let web = ServiceKey::tcp(ip("192.168.100.1"), 80);
    let dns = ServiceKey::udp(ip("192.168.100.2"), 53);
    let fwm = ServiceKey::Fwmark {
        family: Family::V4,
        mark: 7,
    };
    let v6 = ServiceKey::tcp(ip("2001:db8::100"), 443);
    let tun = ServiceKey::tcp(ip("192.168.100.3"), 80);
    let mut web_svc = Service::new(web, "wlc").persistent(300);
    web_svc.netmask = 0xFFFF_FF00;
    let mut fwm_svc = Service::new(fwm, "sh");
    fwm_svc.flags = ServiceFlags(ServiceFlags::SH_PORT);
    table_of(vec![
        (
            web_svc,
            vec![
                Dest::new(ip("10.1.0.1"), 8080, Forward::Nat, 1),
                Dest {
                    u_threshold: 1000,
                    l_threshold: 100,
                    ..Dest::new(ip("10.1.0.2"), 8080, Forward::Nat, 2)
                },
            ],
        ),
        (
            Service::new(dns, "rr"),
            vec![
                Dest::new(ip("10.1.0.3"), 53, Forward::Dr, 1),
                Dest::new(ip("10.1.0.4"), 53, Forward::Dr, 1),
            ],
        ),
        (fwm_svc, vec![Dest::new(ip("10.1.0.5"), 0, Forward::Dr, 1)]),
        (
            Service::new(v6, "wrr"),
            vec![Dest::new(ip("2001:db8::5"), 443, Forward::Dr, 3)],
        ),
        (
            Service::new(tun, "lc"),
            vec![
                Dest::new(ip("10.1.0.6"), 80, Forward::Tun(Tunnel::default()), 1),
                Dest::new(
                    ip("10.1.0.7"),
                    80,
                    Forward::Tun(Tunnel {
                        kind: TunnelKind::Gue,
                        port: 6080,
                        csum: TunnelCsum::Csum,
                    }),
                    1,
                ),
            ],
        ),
    ])
}

/// `ipvsadm -S -n` for `lab_table()`, as ipvsadm 1.31 prints it (lines sorted for the
/// comparison: ipvsadm lists in hash order).
const LAB_SAVE: &str = "\
-A -t 192.168.100.1:80 -s wlc -p 300 -M 255.255.255.0
-a -t 192.168.100.1:80 -r 10.1.0.1:8080 -m -w 1
-a -t 192.168.100.1:80 -r 10.1.0.2:8080 -m -w 2
-A -u 192.168.100.2:53 -s rr
-a -u 192.168.100.2:53 -r 10.1.0.3:53 -g -w 1
-a -u 192.168.100.2:53 -r 10.1.0.4:53 -g -w 1
-A -f 7 -s sh -b sh-port
-a -f 7 -r 10.1.0.5:0 -g -w 1
-A -t [2001:db8::100]:443 -s wrr
-a -t [2001:db8::100]:443 -r [2001:db8::5]:443 -g -w 3
-A -t 192.168.100.3:80 -s lc
-a -t 192.168.100.3:80 -r 10.1.0.6:80 -i -w 1 --tun-type ipip
-a -t 192.168.100.3:80 -r 10.1.0.7:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
";

#[test]
fn programs_the_table_ipvsadm_sees() {
    if !in_vm("programs_the_table_ipvsadm_sees") {
        return;
    }
    let _g = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = client();
    c.flush().unwrap();

    let desired = lab_table();
    let ops = plan(&desired, &c.table().unwrap(), &BTreeSet::new());
    assert_eq!(ops.len(), 5 + 8, "5 services + 8 dests: {ops:#?}");
    c.apply_all(&ops)
        .map_err(|(i, e)| (ops[i].clone(), e))
        .unwrap();

    assert_eq!(save(), sorted_lines(LAB_SAVE));
    // the thresholds ipvsadm -S leaves out
    let thr = ipvsadm(&["-L", "-n", "--thresholds", "-t", "192.168.100.1:80"]);
    assert!(
        thr.lines()
            .any(|l| l.contains("10.1.0.2:8080") && l.contains("1000") && l.contains("100")),
        "{thr}"
    );

    // what we read back is what we wrote, so the next plan is empty on a real kernel too
    let actual = c.table().unwrap();
    assert_eq!(actual, desired);
    assert_eq!(plan(&desired, &actual, &BTreeSet::new()), vec![]);

    // removing a service we own, keeping one we do not
    let owned: BTreeSet<ServiceKey> = desired.services.keys().copied().collect();
    let mut smaller = desired.clone();
    let dns = ServiceKey::udp(ip("192.168.100.2"), 53);
    smaller.services.remove(&dns);
    ipvsadm(&["-A", "-t", "192.168.100.9:22", "-s", "rr"]); // an operator's service
    let ops = plan(&smaller, &c.table().unwrap(), &owned);
    assert_eq!(ops, vec![Op::DelService(dns)]);
    c.apply_all(&ops).map_err(|(_, e)| e).unwrap();
    let save = ipvsadm(&["-S", "-n"]);
    assert!(!save.contains("192.168.100.2:53"), "{save}");
    assert!(save.contains("-A -t 192.168.100.9:22 -s rr"), "{save}");

    c.flush().unwrap();
    assert_eq!(ipvsadm(&["-S", "-n"]), "");
}

/// Makes a few connections through the virtual service (IPVS schedules locally originated
/// connections too), so that there are counters to lose.
fn make_traffic(vip: SocketAddr, n: usize) {
    for _ in 0..n {
        let _ = TcpStream::connect_timeout(&vip, Duration::from_secs(2));
    }
}

fn dest_entry(c: &mut Client, key: &ServiceKey, addr: IpAddr) -> DestEntry {
    c.dests(key)
        .unwrap()
        .into_iter()
        .find(|d| d.dest.addr == addr)
        .expect("dest present")
}

#[test]
fn edits_keep_counters() {
    if !in_vm("edits_keep_counters") {
        return;
    }
    let _g = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = client();
    c.flush().unwrap();

    // one real server that answers, one that is only configured
    let listener = TcpListener::bind("127.0.0.11:8080").unwrap();
    let key = ServiceKey::tcp(ip("127.0.0.10"), 80);
    let a = Dest::new(ip("127.0.0.11"), 8080, Forward::Nat, 1);
    let b = Dest::new(ip("127.0.0.12"), 8080, Forward::Nat, 0);
    let desired = table_of(vec![(Service::new(key, "wlc"), vec![a, b])]);
    let owned = BTreeSet::from([key]);
    let ops = plan(&desired, &c.table().unwrap(), &owned);
    c.apply_all(&ops).map_err(|(_, e)| e).unwrap();

    make_traffic("127.0.0.10:80".parse().unwrap(), 5);
    // The kernel folds per-CPU counters into the dumped ones from its estimator, every 2 s.
    let mut tries = 0;
    let (svc_before, a_before) = loop {
        let s = c.service(&key).unwrap();
        let a = dest_entry(&mut c, &key, a.addr);
        tries += 1;
        if (s.stats.conns >= 5 && a.stats.conns >= 5) || tries == 40 {
            break (s, a);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        svc_before.stats.conns >= 5 && a_before.stats.conns >= 5,
        "traffic was counted: {svc_before:?} {a_before:?}"
    );
    assert!(a_before.active_conns + a_before.inactive_conns > 0);

    // weight of b up, scheduler changed: a SET dest and a SET service, nothing re-created
    let mut desired2 = desired.clone();
    desired2.insert_dest(&key, Dest { weight: 5, ..b });
    desired2.insert_service(Service::new(key, "rr"));
    let ops = plan(&desired2, &c.table().unwrap(), &owned);
    assert_eq!(
        ops,
        vec![
            Op::EditService(Service::new(key, "rr")),
            Op::EditDest(key, Dest { weight: 5, ..b })
        ]
    );
    c.apply_all(&ops).map_err(|(_, e)| e).unwrap();

    let svc_after = c.service(&key).unwrap();
    let a_after = dest_entry(&mut c, &key, a.addr);
    let b_after = dest_entry(&mut c, &key, b.addr);
    assert_eq!(svc_after.service.scheduler, "rr");
    assert_eq!(b_after.dest.weight, 5);
    assert!(
        svc_after.stats.conns >= svc_before.stats.conns,
        "{svc_after:?}"
    );
    assert_eq!(a_after.stats.conns, a_before.stats.conns);
    assert_eq!(
        a_after.active_conns + a_after.inactive_conns,
        a_before.active_conns + a_before.inactive_conns
    );
    assert_eq!(a_after.dest, a);
    drop(listener);
    c.flush().unwrap();
}

#[test]
fn kernel_errors_are_typed() {
    if !in_vm("kernel_errors_are_typed") {
        return;
    }
    let _g = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = client();
    c.flush().unwrap();
    let key = ServiceKey::tcp(ip("192.168.100.50"), 80);
    let svc = Service::new(key, "rr");
    c.apply(&Op::AddService(svc.clone())).unwrap();
    assert!(matches!(
        c.apply(&Op::AddService(svc.clone())),
        Err(Error::Exists { .. })
    ));
    let d = Dest::new(ip("10.2.0.1"), 80, Forward::Dr, 1);
    c.apply(&Op::AddDest(key, d)).unwrap();
    assert!(matches!(
        c.apply(&Op::AddDest(key, d)),
        Err(Error::Exists { .. })
    ));
    let missing = ServiceKey::tcp(ip("192.168.100.51"), 80);
    assert!(matches!(
        c.apply(&Op::DelService(missing)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.apply(&Op::AddDest(missing, d)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        c.apply(&Op::DelDest(
            key,
            Dest::new(ip("10.2.0.2"), 80, Forward::Dr, 1).key()
        )),
        Err(Error::NotFound { .. })
    ));
    // an unknown scheduler: the kernel cannot load ip_vs_nosuch
    let e = c
        .apply(&Op::AddService(Service::new(
            ServiceKey::tcp(ip("192.168.100.52"), 80),
            "nosuch",
        )))
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    // refused before sending, with a reason
    let mut bad = Service::new(ServiceKey::tcp(ip("2001:db8::52"), 80), "rr");
    bad.netmask = 129;
    assert!(matches!(
        c.apply(&Op::AddService(bad)),
        Err(Error::Invalid(_))
    ));
    let mut low = Dest::new(ip("10.2.0.3"), 80, Forward::Dr, 1);
    low.l_threshold = 10; // with no upper threshold the kernel says ERANGE
    assert!(matches!(
        c.apply(&Op::AddDest(key, low)),
        Err(Error::Invalid(_))
    ));
    // the socket is still in step after errors
    assert_eq!(c.services().unwrap().len(), 1);
    c.flush().unwrap();
}

#[test]
fn timeouts_and_sync_daemon() {
    if !in_vm("timeouts_and_sync_daemon") {
        return;
    }
    let _g = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = client();
    let info = c.info().unwrap();
    assert!(info.version >= 0x010201, "{info:?}");

    let orig = c.timeouts().unwrap();
    let t = Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    };
    c.set_timeouts(t).unwrap();
    assert_eq!(c.timeouts().unwrap(), t);
    assert!(ipvsadm(&["-L", "--timeout"]).contains("901 121 301"));
    c.set_timeouts(orig).unwrap();

    let d = SyncDaemon {
        maxlen: Some(1400),
        group: Some(ip("224.0.0.81")),
        port: Some(8848),
        ttl: Some(2),
        ..SyncDaemon::new(SyncState::Master, "lo", 7)
    };
    c.start_daemon(&d).unwrap();
    assert_eq!(c.daemons().unwrap(), vec![d.clone()]);
    assert!(ipvsadm(&["-L", "--daemon"]).contains("master sync daemon (mcast=lo, syncid=7"));
    assert!(matches!(c.start_daemon(&d), Err(Error::Exists { .. })));
    c.stop_daemon(SyncState::Master).unwrap();
    assert_eq!(c.daemons().unwrap(), vec![]);
}

/// A big table (keepalived #2318 died reloading 2,284 services): dumps span many datagrams,
/// and a reload-sized change is still a handful of ops.
#[test]
fn large_table_round_trips() {
    if !in_vm("large_table_round_trips") {
        return;
    }
    let _g = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = client();
    c.flush().unwrap();
    let mut vss = Vec::new();
    for i in 0..1000u32 {
        let addr = IpAddr::from([10, 100, (i / 250) as u8, (i % 250) as u8 + 1]);
        let key = ServiceKey::tcp(addr, 80);
        let dests = (0..3u8)
            .map(|j| {
                Dest::new(
                    IpAddr::from([10, 200, (i % 250) as u8, j + 1]),
                    8080,
                    Forward::Nat,
                    1,
                )
            })
            .collect();
        vss.push((Service::new(key, "wlc"), dests));
    }
    let desired = table_of(vss);
    let owned: BTreeSet<ServiceKey> = desired.services.keys().copied().collect();
    let ops = plan(&desired, &c.table().unwrap(), &owned);
    assert_eq!(ops.len(), 4000);
    c.apply_all(&ops)
        .map_err(|(i, e)| (ops[i].clone(), e))
        .unwrap();
    assert_eq!(c.services().unwrap().len(), 1000);
    let actual = c.table().unwrap();
    assert_eq!(actual, desired);

    // one dest's weight changes and one service goes: two ops, not a rebuild
    let mut next = desired.clone();
    let first = *next.services.keys().next().unwrap();
    let last = *next.services.keys().last().unwrap();
    next.services.remove(&last);
    let d = *next.services[&first].dests.values().next().unwrap();
    next.insert_dest(&first, Dest { weight: 9, ..d });
    let ops = plan(&next, &actual, &owned);
    assert_eq!(
        ops,
        vec![
            Op::DelService(last),
            Op::EditDest(first, Dest { weight: 9, ..d })
        ]
    );
    c.apply_all(&ops).map_err(|(_, e)| e).unwrap();
    assert_eq!(c.table().unwrap(), next);
    c.flush().unwrap();
}

/// Batched ops (many requests per send, answers matched by sequence number): each op gets its
/// own result, exactly as when sent alone, failures in the middle included; and a batch far
/// larger than the window loses no answer.
#[test]
fn batches_report_each_ops_own_result() {
    if !in_vm("batches_report_each_ops_own_result") {
        return;
    }
    let _g = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = client();
    c.flush().unwrap();
    assert!(c.window() > 1, "window {}", c.window());
    let a = ServiceKey::tcp(ip("192.168.101.1"), 80);
    let missing = ServiceKey::tcp(ip("192.168.101.2"), 80);
    let d1 = Dest::new(ip("10.3.0.1"), 80, Forward::Dr, 1);
    let d2 = Dest::new(ip("10.3.0.2"), 80, Forward::Dr, 2);
    let mut bad = Dest::new(ip("10.3.0.4"), 80, Forward::Dr, 1);
    bad.l_threshold = 5;
    let ops = vec![
        Op::AddService(Service::new(a, "rr")),
        Op::AddDest(a, d1),
        Op::AddService(Service::new(a, "rr")),
        Op::AddDest(missing, d1),
        Op::AddDest(a, d1),
        Op::AddDest(a, bad),
        Op::AddDest(a, d2),
        Op::DelDest(a, Dest::new(ip("10.3.0.3"), 80, Forward::Dr, 1).key()),
        Op::AddService(Service::new(missing, "nosuch")),
        Op::EditDest(a, Dest { weight: 7, ..d2 }),
    ];
    let r = c.apply_batch(&ops);
    assert_eq!(r.len(), ops.len());
    let kind = |r: &Result<(), Error>| match r {
        Ok(()) => "ok",
        Err(Error::Exists { .. }) => "exists",
        Err(Error::NotFound { .. }) => "not found",
        Err(Error::Invalid(_)) => "invalid",
        Err(_) => "other",
    };
    assert_eq!(
        r.iter().map(kind).collect::<Vec<_>>(),
        vec![
            "ok",
            "ok",
            "exists",
            "not found",
            "exists",
            "invalid",
            "ok",
            "not found",
            "not found",
            "ok"
        ],
        "{r:#?}"
    );
    assert_eq!(
        save(),
        sorted_lines(
            "-A -t 192.168.101.1:80 -s rr\n\
             -a -t 192.168.101.1:80 -r 10.3.0.1:80 -g -w 1\n\
             -a -t 192.168.101.1:80 -r 10.3.0.2:80 -g -w 7\n"
        )
    );

    // many windows' worth in one call: every answer arrives and is matched
    let ops: Vec<Op> = (0..3000u32)
        .map(|i| {
            Op::AddDest(
                a,
                Dest::new(
                    IpAddr::from([10, 4, (i / 250) as u8, (i % 250) as u8 + 1]),
                    80,
                    Forward::Dr,
                    1,
                ),
            )
        })
        .collect();
    let r = c.apply_batch(&ops);
    assert!(
        r.iter().all(Result::is_ok),
        "{:?}",
        r.iter().find(|r| r.is_err())
    );
    assert_eq!(c.dests(&a).unwrap().len(), 3002);
    // and the socket is in step afterwards
    assert!(matches!(
        c.apply(&Op::AddService(Service::new(a, "rr"))),
        Err(Error::Exists { .. })
    ));
    c.flush().unwrap();
}
