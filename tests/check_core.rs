//! The pure LVS core on a virtual clock: configuration -> IPVS table, keepalived's retry
//! counting, up/down log lines, inhibit_on_failure, quorum + sorry server, MISC dynamic
//! weights, alpha, FIFO lines. No sockets, no kernel.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keepalived_rs::check::core::{Action, Lvs, MiscExit, Outcome};
use keepalived_rs::config::{load, LoadOptions};
use keepalived_rs::ipvs::desired::{self, LvsConfig};
use keepalived_rs::ipvs::*;

fn cfg(name: &str, text: &str) -> keepalived_rs::model::Config {
    let dir = std::env::temp_dir().join(format!("lvs-core-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    let l = load(&p, &LoadOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    l.model
}

fn lvs(name: &str, text: &str) -> LvsConfig {
    desired::build(&cfg(name, text))
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

/// Drains actions: (logs, fifo lines, scripts run, probes started).
fn drain(l: &mut Lvs) -> (Vec<String>, Vec<String>, Vec<Vec<String>>, Vec<usize>) {
    let (mut logs, mut fifo, mut runs, mut probes) = (vec![], vec![], vec![], vec![]);
    while let Some(a) = l.poll_action() {
        match a {
            Action::Log(s) => logs.push(s),
            Action::Fifo(s) => fifo.push(s),
            Action::Run(s) => runs.push(s.args),
            Action::Probe(id) => probes.push(id),
            Action::Alert(_) => {}
        }
    }
    (logs, fifo, runs, probes)
}

const SEED002: &str = r#"
virtual_server 10.0.0.1 80 {
    delay_loop 6
    lb_algo wlc
    lb_kind NAT
    persistence_timeout 50
    protocol TCP
    real_server 192.168.1.2 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 2
            delay_before_retry 1
        }
    }
    real_server 192.168.1.3 8080 {
        weight 2
        inhibit_on_failure
        TCP_CHECK { connect_timeout 3 }
    }
    real_server 192.168.1.4 {
        weight 3
        TCP_CHECK { connect_timeout 3 }
    }
}
"#;

#[test]
fn model_to_table_nat_persistence_ports() {
    let c = lvs("seed", SEED002);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let t = desired::initial_table(&c);
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let vs = &t.services[&key];
    assert_eq!(vs.service, Service::new(key, "wlc").persistent(50));
    let dests: Vec<Dest> = vs.dests.values().copied().collect();
    assert_eq!(
        dests,
        vec![
            Dest::new(ip("192.168.1.2"), 8080, Forward::Nat, 1),
            Dest::new(ip("192.168.1.3"), 8080, Forward::Nat, 2),
            // NAT real server without a port takes the service's
            Dest::new(ip("192.168.1.4"), 80, Forward::Nat, 3),
        ]
    );
    assert_eq!(c.virtual_servers[0].label, "[10.0.0.1]:tcp:80");
    assert_eq!(c.virtual_servers[0].reals[2].label, "[192.168.1.4]:tcp:80");
    let ck = &c.virtual_servers[0].reals[0].checkers[0];
    assert_eq!(ck.retry, 2);
    assert_eq!(ck.delay_loop, Duration::from_secs(6));
    assert_eq!(ck.warmup, Duration::from_secs(6)); // warmup defaults to delay_loop
    assert_eq!(ck.connect_timeout, Duration::from_secs(3));
    assert_eq!(ck.target, "192.168.1.2:8080".parse().unwrap());
}

#[test]
fn defaults_and_keepalived_corrections() {
    let c = lvs(
        "defaults",
        r#"
virtual_server 10.0.0.2 0 {
    real_server 10.1.0.1 25 {
        HTTP_GET {
            url {
                path /
            }
        }
    }
}
virtual_server fwmark 7 {
    lb_kind DR
    protocol TCP
    lb_algo sh
    sh-port
    real_server 10.1.0.5 80 {
        weight 4
    }
}
virtual_server_group G1 {
    10.0.1.1-3 443
    fwmark 9
}
virtual_server group G1 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.1.0.9 443 { }
}
virtual_server 2001:db8::1 443 {
    lb_algo wrr
    lb_kind TUN
    protocol TCP
    persistence_timeout
    persistence_granularity 64
    real_server 2001:db8::5 443 {
        weight 3
    }
}
"#,
    );
    let w = c.warnings.join("\n");
    for expected in [
        "Virtual server [10.0.0.2]:udp:0: no protocol set - defaulting to UDP",
        "Virtual server [10.0.0.2]:udp:0: no scheduler set, setting default 'wlc'",
        "Virtual server [10.0.0.2]:udp:0: zero port only valid for persistent services - setting",
        "Virtual server [10.0.0.2]:udp:0: no forwarding method set, setting default NAT",
        "Warning: Virtual server FWM 7: protocol specified for fwmark - protocol will be ignored",
        "WARNING - fwmark virtual server FWM 7, real server [10.1.0.5]:none:80 has port specified - clearing",
    ] {
        assert!(w.contains(expected), "missing {expected:?} in:\n{w}");
    }
    let t = desired::initial_table(&c);
    let udp = ServiceKey::udp(ip("10.0.0.2"), 0);
    assert_eq!(
        t.services[&udp].service,
        Service::new(udp, "wlc").persistent(360)
    );
    let fwm = ServiceKey::Fwmark {
        family: Family::V4,
        mark: 7,
    };
    assert_eq!(
        t.services[&fwm].service.flags,
        ServiceFlags(ServiceFlags::SH_PORT)
    );
    assert_eq!(
        t.services[&fwm].dests.values().copied().collect::<Vec<_>>(),
        vec![Dest::new(ip("10.1.0.5"), 0, Forward::Dr, 4)]
    );
    // the group: 3 addresses + 1 fwmark, each with the real server
    for a in ["10.0.1.1", "10.0.1.2", "10.0.1.3"] {
        let k = ServiceKey::tcp(ip(a), 443);
        assert_eq!(t.services[&k].service.scheduler, "rr");
        assert_eq!(t.services[&k].dests.len(), 1);
    }
    assert!(t.services.contains_key(&ServiceKey::Fwmark {
        family: Family::V4,
        mark: 9
    }));
    assert_eq!(c.virtual_servers[2].label, "[G1]:0");
    let v6 = ServiceKey::tcp(ip("2001:db8::1"), 443);
    let s = &t.services[&v6].service;
    assert_eq!((s.timeout, s.netmask), (360, 64));
    assert_eq!(
        t.services[&v6].dests.values().next().unwrap().forward,
        Forward::Tun(Tunnel::default())
    );
    assert_eq!(t.services.len(), 1 + 1 + 4 + 1);
}

#[test]
fn only_bfd_check_is_unsupported() {
    use keepalived_rs::check::spec::unsupported;
    use keepalived_rs::model::CheckerKind;
    assert!(unsupported(CheckerKind::Bfd));
    assert!(!unsupported(CheckerKind::File));
    let c = lvs(
        "unsupported",
        r#"
track_file f1 {
    file /nonexistent/ka-rs/f1
}
virtual_server 10.0.0.3 25 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.1 25 {
        FILE_CHECK {
            track_file f1
        }
    }
    real_server 10.1.0.2 25 {
        SMTP_CHECK {
        }
    }
}
"#,
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // FILE_CHECK and SMTP_CHECK are run now
    assert_eq!(c.virtual_servers[0].reals[0].checkers.len(), 1);
    assert_eq!(c.virtual_servers[0].reals[1].checkers.len(), 1);
}

const DGRAM: &str = r#"
virtual_server 10.0.0.1 53 {
    delay_loop 5
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 10.1.0.1 53 {
        UDP_CHECK {
            retry 2
            delay_before_retry 1
        }
    }
    real_server 10.1.0.2 53 {
        PING_CHECK {
            retry 1
            delay_before_retry 1
            log_all_failures
        }
    }
    real_server 10.1.0.3 53 {
        DNS_CHECK {
            name example.com
        }
    }
    real_server 10.1.0.4 53 {
        SMTP_CHECK {
            retry 1
            delay_before_retry 2
        }
    }
}
"#;

#[test]
fn udp_ping_dns_smtp_epilogs_follow_keepalived() {
    let c = lvs("dgram", DGRAM);
    let ck = |i: usize| &c.virtual_servers[0].reals[i].checkers[0];
    // DNS_CHECK defaults: retry 3, delay_before_retry = delay_loop
    assert_eq!(ck(2).retry, 3);
    assert_eq!(ck(2).delay_before_retry, Duration::from_secs(5));
    assert_eq!(
        ck(2).probe,
        keepalived_rs::check::spec::Probe::Dns(keepalived_rs::check::spec::DnsSpec {
            qtype: 6,
            name: "example.com".into()
        })
    );
    let (mut l, t0) = start(c);
    let smtp_fail =
        |_: usize| Outcome::Failure("Bad greeting banner from server [10.1.0.4]:53".into());
    let all_fail = |id: usize| match id {
        1 => Outcome::Failure("timeout".into()),
        2 => Outcome::Failure("read timeout from socket".into()),
        3 => smtp_fail(id),
        _ => fail(),
    };
    // first round: everything fails; the first failure of a fresh checker is decisive
    let mut now = t0 + Duration::from_secs(7);
    let mut logs = step(&mut l, now, &all_fail);
    logs.sort();
    assert_eq!(
        logs,
        vec![
            "DNS_CHECK ([10.1.0.3]:udp:53) read timeout from socket".to_string(),
            // (start-up: keepalived's quorum starts down, all four up bring it)
            "Gained quorum 1+0=1 <= 4 for VS [10.0.0.1]:udp:53".to_string(),
            "ICMP CHECK on service [10.1.0.2]:udp:53 failed.".to_string(),
            "ICMP connection to address [10.1.0.2]:udp:53 timeout.".to_string(),
            "Lost quorum 1-0=1 > 0 for VS [10.0.0.1]:udp:53".to_string(),
            "Removing service [10.1.0.1]:udp:53 from VS [10.0.0.1]:udp:53".to_string(),
            "Removing service [10.1.0.2]:udp:53 from VS [10.0.0.1]:udp:53".to_string(),
            "Removing service [10.1.0.3]:udp:53 from VS [10.0.0.1]:udp:53".to_string(),
            "Removing service [10.1.0.4]:udp:53 from VS [10.0.0.1]:udp:53".to_string(),
            "SMTP_CHECK Bad greeting banner from server [10.1.0.4]:53".to_string(),
            "UDP_CHECK on service [10.1.0.1]:udp:53 failed.".to_string(),
        ]
    );
    // down checkers keep failing quietly, every delay_loop (no retries while down)
    for _ in 0..2 {
        assert_eq!(l.poll_timeout(), Some(now + Duration::from_secs(5)));
        now += Duration::from_secs(5);
        assert!(step(&mut l, now, &all_fail).is_empty());
    }

    // recovery lines
    now += Duration::from_secs(6);
    let logs = step(&mut l, now, &|_| ok());
    for want in [
        "UDP connection to [10.1.0.1]:udp:53 success.",
        "ICMP connection to [10.1.0.2]:udp:53 success.",
        "Remote SMTP server [10.1.0.4]:udp:53 succeed on service.",
        "Adding service [10.1.0.3]:udp:53 to VS [10.0.0.1]:udp:53",
    ] {
        assert!(logs.contains(&want.to_string()), "missing {want}: {logs:?}");
    }
    assert!(
        !logs.iter().any(|s| s.contains("DNS_CHECK")),
        "DNS logs no success line"
    );

    // DNS up, retry 3: three silent retries delay_before_retry (5 s) apart, then the
    // decisive failure "after 3 retries"
    let dns_only = |id: usize| {
        if id == 2 {
            Outcome::Failure("read error occurred. (rcode = 2)".into())
        } else {
            ok()
        }
    };
    for _ in 0..3 {
        now += Duration::from_secs(5);
        assert!(step(&mut l, now, &dns_only).is_empty());
    }
    now += Duration::from_secs(5);
    assert_eq!(
        step(&mut l, now, &dns_only),
        vec![
            "DNS_CHECK ([10.1.0.3]:udp:53) read error occurred. (rcode = 2) after 3 retries"
                .to_string(),
            "Removing service [10.1.0.3]:udp:53 from VS [10.0.0.1]:udp:53".to_string(),
        ]
    );

    // UDP up, retry 2: two silent retries 1 s apart, then "failed after 2 retries."
    now += Duration::from_secs(5);
    // (DNS stays down, quietly)
    let udp_only = |id: usize| if id == 0 || id == 2 { fail() } else { ok() };
    assert!(step(&mut l, now, &udp_only).is_empty());
    now += Duration::from_secs(1);
    assert!(step(&mut l, now, &udp_only).is_empty());
    now += Duration::from_secs(1);
    assert_eq!(
        step(&mut l, now, &udp_only),
        vec![
            "UDP_CHECK on service [10.1.0.1]:udp:53 failed after 2 retries.".to_string(),
            "Removing service [10.1.0.1]:udp:53 from VS [10.0.0.1]:udp:53".to_string(),
        ]
    );
}

fn start(c: LvsConfig) -> (Lvs, Instant) {
    let t0 = keepalived_rs::sys::clock::now();
    let l = Lvs::new(c, t0, 42);
    (l, t0)
}

/// Runs the due timers and answers every probe with `f(id)`.
fn step(l: &mut Lvs, now: Instant, f: &dyn Fn(usize) -> Outcome) -> Vec<String> {
    l.handle_timeout(now);
    let (mut logs, _, _, probes) = drain(l);
    for id in probes {
        l.handle_result(now, id, f(id));
        logs.extend(drain(l).0);
    }
    logs
}

fn fail() -> Outcome {
    Outcome::Failure("failed".into())
}
fn ok() -> Outcome {
    Outcome::Success(vec![])
}

#[test]
fn first_failure_is_decisive_then_retry_plus_one_failures() {
    let (mut l, t0) = start(lvs("retry", SEED002));
    assert!(l.poll_timeout().unwrap() >= t0 + Duration::from_secs(1));
    assert!(l.poll_timeout().unwrap() <= t0 + Duration::from_secs(7));
    // first round: rs0 fails -> removed at once (retry_it starts at retry)
    let now = t0 + Duration::from_secs(8);
    let logs = step(&mut l, now, &|id| if id == 0 { fail() } else { ok() });
    assert!(
        logs.contains(&"TCP_CHECK on service [192.168.1.2]:tcp:8080 failed.".to_string()),
        "{logs:?}"
    );
    assert!(
        logs.contains(
            &"Removing service [192.168.1.2]:tcp:8080 from VS [10.0.0.1]:tcp:80".to_string()
        ),
        "{logs:?}"
    );
    assert!(
        logs.contains(&"TCP connection to [192.168.1.3]:tcp:8080 success.".to_string()),
        "{logs:?}"
    );
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    assert_eq!(l.table().services[&key].dests.len(), 2);

    // recovery: one success
    let now = now + Duration::from_secs(6);
    let logs = step(&mut l, now, &|_| ok());
    assert!(logs.contains(&"TCP connection to [192.168.1.2]:tcp:8080 success.".to_string()));
    assert!(
        logs.contains(&"Adding service [192.168.1.2]:tcp:8080 to VS [10.0.0.1]:tcp:80".to_string())
    );
    assert_eq!(l.table().services[&key].dests.len(), 3);

    // now up: retry 2 -> two silent retries (delay_before_retry 1 s), the third failure counts
    let mut now = now + Duration::from_secs(6);
    let logs = step(&mut l, now, &|id| if id == 0 { fail() } else { ok() });
    assert!(logs.is_empty(), "{logs:?}");
    assert_eq!(l.poll_timeout(), Some(now + Duration::from_secs(1)));
    now += Duration::from_secs(1);
    assert!(step(&mut l, now, &|_| fail()).is_empty());
    now += Duration::from_secs(1);
    let logs = step(&mut l, now, &|_| fail());
    assert_eq!(
        logs,
        vec![
            "TCP_CHECK on service [192.168.1.2]:tcp:8080 failed after 2 retries.".to_string(),
            "Removing service [192.168.1.2]:tcp:8080 from VS [10.0.0.1]:tcp:80".to_string()
        ]
    );
}

#[test]
fn inhibit_on_failure_sets_weight_zero_and_back() {
    let (mut l, t0) = start(lvs("inhibit", SEED002));
    let key = ServiceKey::tcp(ip("10.0.0.1"), 80);
    let now = t0 + Duration::from_secs(8);
    let logs = step(&mut l, now, &|id| if id == 1 { fail() } else { ok() });
    assert!(
        logs.contains(
            &"Disabling service [192.168.1.3]:tcp:8080 of VS [10.0.0.1]:tcp:80".to_string()
        ),
        "{logs:?}"
    );
    let d = l.table().services[&key].dests[&DestKey {
        addr: ip("192.168.1.3"),
        port: 8080,
    }];
    assert_eq!(d.weight, 0);
    let logs = step(&mut l, now + Duration::from_secs(6), &|_| ok());
    assert!(
        logs.contains(
            &"Enabling service [192.168.1.3]:tcp:8080 of VS [10.0.0.1]:tcp:80".to_string()
        ),
        "{logs:?}"
    );
    let d = l.table().services[&key].dests[&DestKey {
        addr: ip("192.168.1.3"),
        port: 8080,
    }];
    assert_eq!(d.weight, 2);
}

const QUORUM: &str = r#"
virtual_server 10.0.0.5 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 3
    hysteresis 1
    sorry_server 10.9.9.9 80
    quorum_up "/bin/echo up"
    quorum_down "/bin/echo down"
    real_server 10.1.0.1 80 {
        weight 2
        notify_down "/bin/echo rs1down"
        TCP_CHECK {
            retry 0
        }
    }
    real_server 10.1.0.2 80 {
        weight 2
        TCP_CHECK {
            retry 0
        }
    }
}
"#;

#[test]
fn quorum_loss_brings_in_the_sorry_server_and_back() {
    let (mut l, t0) = start(lvs("quorum", QUORUM));
    let key = ServiceKey::tcp(ip("10.0.0.5"), 80);
    let mut now = t0 + Duration::from_secs(4);
    let logs = step(&mut l, now, &|_| ok());
    assert_eq!(
        logs[0], "Gained quorum 3+1=4 <= 4 for VS [10.0.0.5]:tcp:80",
        "keepalived starts with the quorum down and gains it at once"
    );
    assert!(
        logs[1..].iter().all(|s| s.starts_with("TCP connection to")),
        "{logs:?}"
    );
    // one down: 2 >= 3-1 still quorum
    now += Duration::from_secs(2);
    let logs = step(&mut l, now, &|id| if id == 0 { fail() } else { ok() });
    assert!(!logs.iter().any(|s| s.contains("quorum")), "{logs:?}");
    // both down: lost
    now += Duration::from_secs(2);
    l.handle_timeout(now);
    let (_, _, _, probes) = drain(&mut l);
    let mut logs = vec![];
    let mut fifo = vec![];
    let mut runs = vec![];
    for id in probes {
        l.handle_result(now, id, fail());
        let (a, b, c, _) = drain(&mut l);
        logs.extend(a);
        fifo.extend(b);
        runs.extend(c);
    }
    assert!(
        logs.contains(&"Lost quorum 3-1=2 > 0 for VS [10.0.0.5]:tcp:80".to_string()),
        "{logs:?}"
    );
    assert!(
        logs.contains(&"Adding sorry server [10.9.9.9]:tcp:80 to VS [10.0.0.5]:tcp:80".to_string()),
        "{logs:?}"
    );
    assert!(
        fifo.contains(&"VS [10.0.0.5]:tcp:80 DOWN\n".to_string()),
        "{fifo:?}"
    );
    assert!(
        fifo.contains(&"RS [10.1.0.2]:tcp:80 [10.0.0.5]:tcp:80 DOWN\n".to_string()),
        "{fifo:?}"
    );
    assert!(
        runs.contains(&vec!["/bin/echo".to_string(), "down".to_string()]),
        "{runs:?}"
    );
    let dests: Vec<Dest> = l.table().services[&key].dests.values().copied().collect();
    assert_eq!(dests, vec![Dest::new(ip("10.9.9.9"), 80, Forward::Dr, 1)]);

    // one back: 2 < 3+1, still down; both back: gained
    now += Duration::from_secs(2);
    let logs = step(&mut l, now, &|id| if id == 0 { ok() } else { fail() });
    assert!(!logs.iter().any(|s| s.contains("Gained")), "{logs:?}");
    assert_eq!(
        l.table().services[&key].dests.len(),
        1,
        "still the sorry server only"
    );
    now += Duration::from_secs(2);
    let logs = step(&mut l, now, &|_| ok());
    assert!(
        logs.contains(&"Gained quorum 3+1=4 <= 4 for VS [10.0.0.5]:tcp:80".to_string()),
        "{logs:?}"
    );
    assert!(
        logs.contains(
            &"Removing sorry server [10.9.9.9]:tcp:80 from VS [10.0.0.5]:tcp:80".to_string()
        ),
        "{logs:?}"
    );
    let dests: Vec<IpAddr> = l.table().services[&key]
        .dests
        .values()
        .map(|d| d.addr)
        .collect();
    assert_eq!(dests, vec![ip("10.1.0.1"), ip("10.1.0.2")]);
}

use std::net::IpAddr;

#[test]
fn alpha_starts_down_and_sorry_server_at_start() {
    let text = QUORUM.replace("quorum 3", "quorum 3\n    alpha");
    let (mut l, t0) = start(lvs("alpha", &text));
    let (logs, _, _, _) = drain(&mut l);
    assert!(
        logs.contains(&"Starting with quorum down 3-1=4 > 0 for VS [10.0.0.5]:tcp:80".to_string()),
        "{logs:?}"
    );
    let key = ServiceKey::tcp(ip("10.0.0.5"), 80);
    assert_eq!(l.table().services[&key].dests.len(), 1);
    let logs = step(&mut l, t0 + Duration::from_secs(4), &|_| ok());
    assert!(
        logs.contains(&"Gained quorum 3+1=4 <= 4 for VS [10.0.0.5]:tcp:80".to_string()),
        "{logs:?}"
    );
    assert_eq!(l.table().services[&key].dests.len(), 2);
}

#[test]
fn misc_dynamic_weight_and_messages() {
    let c = lvs(
        "misc",
        r#"
virtual_server 10.0.0.6 80 {
    delay_loop 5
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.1 80 {
        weight 1
        MISC_CHECK {
            misc_path "/bin/true arg"
            misc_dynamic
            retry 1
        }
    }
}
"#,
    );
    let (mut l, t0) = start(c);
    let key = ServiceKey::tcp(ip("10.0.0.6"), 80);
    let now = t0 + Duration::from_secs(7);
    // exit 12 -> weight 10
    let logs = step(&mut l, now, &|_| Outcome::Misc(MiscExit::Status(12)));
    assert!(logs.contains(&"Changing weight from 1 to 10 for active service [10.1.0.1]:tcp:80 of VS [10.0.0.6]:tcp:80".to_string()), "{logs:?}");
    assert!(
        logs.contains(
            &"Misc check for [[10.1.0.1]:tcp:80 VS [10.0.0.6]:tcp:80] by [/bin/true] succeeded."
                .to_string()
        ),
        "{logs:?}"
    );
    assert_eq!(
        l.table().services[&key]
            .dests
            .values()
            .next()
            .unwrap()
            .weight,
        10
    );
    // exit 1 once: retry 1 -> silent, then decisive
    let now = now + Duration::from_secs(5);
    let logs = step(&mut l, now, &|_| Outcome::Misc(MiscExit::Status(1)));
    assert!(logs.is_empty(), "{logs:?}");
    let logs = step(&mut l, now + Duration::from_secs(1), &|_| {
        Outcome::Misc(MiscExit::Status(1))
    });
    assert!(logs.contains(&"Misc check for [[10.1.0.1]:tcp:80 VS [10.0.0.6]:tcp:80] by [/bin/true] failed after 1 retry (exited with status 1).".to_string()), "{logs:?}");
    assert!(l.table().services[&key].dests.is_empty());
}

#[test]
fn http_failure_and_success_lines() {
    let c = lvs(
        "http",
        r#"
virtual_server 10.0.0.7 80 {
    delay_loop 3
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.1.0.1 80 {
        HTTP_GET {
            url {
                path /health
                digest 0123456789abcdef0123456789abcdef
            }
            retry 0
            log_all_failures
        }
    }
}
"#,
    );
    let (mut l, t0) = start(c);
    let now = t0 + Duration::from_secs(5);
    let logs = step(&mut l, now, &|_| {
        Outcome::Failure("MD5 digest error to".into())
    });
    assert_eq!(
        logs,
        vec![
            // start-up (keepalived logs it for every virtual server that has its quorum)
            "Gained quorum 1+0=1 <= 1 for VS [10.0.0.7]:tcp:80".to_string(),
            "MD5 digest error to server [10.1.0.1]:tcp:80.".to_string(),
            "HTTP_CHECK on service [10.1.0.1]:tcp:80 failed.".to_string(),
            "Removing service [10.1.0.1]:tcp:80 from VS [10.0.0.7]:tcp:80".to_string(),
            // keepalived says so even without a sorry server (default quorum 1)
            "Lost quorum 1-0=1 > 0 for VS [10.0.0.7]:tcp:80".to_string(),
        ]
    );
    // keepalived: the failed url passing first only re-arms the check of every url...
    let good = |_: usize| Outcome::Success(vec![("MD5 digest", "/health".into())]);
    let logs = step(&mut l, now + Duration::from_secs(3), &good);
    assert_eq!(
        logs,
        vec!["MD5 digest success to [10.1.0.1]:tcp:80 url(/health)".to_string()]
    );
    // ... and the server is up once all urls passed
    let logs = step(&mut l, now + Duration::from_secs(6), &good);
    assert_eq!(
        logs,
        vec![
            "MD5 digest success to [10.1.0.1]:tcp:80 url(/health)".to_string(),
            "Remote Web server [10.1.0.1]:tcp:80 succeed on service.".to_string(),
            "Adding service [10.1.0.1]:tcp:80 to VS [10.0.0.7]:tcp:80".to_string(),
            "Gained quorum 1+0=1 <= 1 for VS [10.0.0.7]:tcp:80".to_string(),
        ]
    );
}

#[test]
fn http_urls_are_checked_one_per_delay_loop_in_turn() {
    let c = lvs(
        "urls",
        r#"
virtual_server 10.0.0.7 80 {
    delay_loop 10
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.1.0.1 80 {
        HTTP_GET {
            url { path /a }
            url { path /b }
            url { path /c }
            retry 1
            delay_before_retry 2
        }
    }
}
"#,
    );
    let (mut l, t0) = start(c);
    let path = |l: &Lvs| match &l.probe_spec(0).probe {
        keepalived_rs::check::spec::Probe::Http(h) => {
            assert_eq!(h.urls.len(), 1);
            h.urls[0].path.clone()
        }
        p => panic!("{p:?}"),
    };
    let mut now = t0 + Duration::from_secs(12);
    let mut seen = vec![];
    // first check: /a passes, the checker counts as run and stays up
    for _ in 0..4 {
        seen.push(path(&l));
        step(&mut l, now, &|_| ok());
        now = l.poll_timeout().unwrap();
    }
    assert_eq!(seen, vec!["/a", "/b", "/c", "/a"]);
    // /b fails: retried once delay_before_retry later, then down; the same url is then
    // checked every max(delay_before_retry, delay_loop)
    assert_eq!(path(&l), "/b");
    let t = now;
    assert!(step(&mut l, now, &|_| fail()).is_empty());
    assert_eq!(l.poll_timeout(), Some(t + Duration::from_secs(2)));
    now = t + Duration::from_secs(2);
    assert_eq!(path(&l), "/b");
    let logs = step(&mut l, now, &|_| fail());
    assert_eq!(
        logs[0],
        "HTTP_CHECK on service [10.1.0.1]:tcp:80 failed after 1 retries."
    );
    assert_eq!(l.poll_timeout(), Some(now + Duration::from_secs(10)));
    now += Duration::from_secs(10);
    assert_eq!(path(&l), "/b");
    // /b passes: every url again from /a, and up after /c
    step(&mut l, now, &|_| ok());
    let mut seen = vec![];
    let mut logs = vec![];
    for _ in 0..3 {
        now = l.poll_timeout().unwrap();
        seen.push(path(&l));
        logs.extend(step(&mut l, now, &|_| ok()));
    }
    assert_eq!(seen, vec!["/a", "/b", "/c"]);
    assert_eq!(
        logs[0],
        "Remote Web server [10.1.0.1]:tcp:80 succeed on service."
    );
}

#[test]
fn many_checkers_are_spread_by_warmup_and_never_starve() {
    let mut text = String::from(
        "virtual_server 10.0.0.8 80 {\n delay_loop 10\n lb_algo rr\n lb_kind DR\n protocol TCP\n",
    );
    for i in 0..2000u32 {
        text.push_str(&format!(
            " real_server 10.2.{}.{} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    text.push_str("}\n");
    let (mut l, t0) = start(lvs("many", &text));
    assert_eq!(l.checkers(), 2000);
    // warmup = delay_loop: first checks spread over [1 s, 11 s]
    l.handle_timeout(t0 + Duration::from_secs(6));
    let n = drain(&mut l).3.len();
    assert!(
        (600..1400).contains(&n),
        "{n} of 2000 due in the first half"
    );
}
