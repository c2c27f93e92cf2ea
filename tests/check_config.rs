//! LVS keywords decoded into the typed model: every `virtual_server` / `real_server` / checker
//! option the LVS code uses is read with keepalived 2.2.7's value checks. Messages and exit
//! status are compared with Debian's real keepalived 2.2.7 (`-t`, skipped without it), and the
//! model fields are checked directly.

use keepalived_rs::config::host::SystemHost;
use keepalived_rs::config::{load_with, LoadOptions};
use keepalived_rs::ipvs::desired;
use keepalived_rs::ipvs::types::{Forward, ServiceFlags, Tunnel, TunnelKind};
use keepalived_rs::model::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ORACLE: &str = "/usr/sbin/keepalived";

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvs2-check-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn ours(p: &Path) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(["-t", "-l", "-f"])
        .arg(p)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into())
}

fn theirs(p: &Path) -> Option<(Option<i32>, String)> {
    if !Path::new(ORACLE).exists() {
        eprintln!("skipping oracle comparison: {ORACLE} (keepalived 2.2.7) is not installed");
        return None;
    }
    let o = Command::new(ORACLE)
        .args(["-t", "-l", "-f"])
        .arg(p)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    Some((o.status.code(), String::from_utf8_lossy(&o.stderr).into()))
}

/// Configs exercising the value checks of the LVS keywords (bad and good values).
const CASES: &[(&str, &str)] = &[
    (
        "flags",
        "virtual_server 10.0.0.1 80 {\n  hashed\n  sh-port\n  flag-1\n  lb_algo sh\n  sh-port\n  sh-fallback\n  mh-port\n  lb_algo mh\n  mh-fallback\n  hashed\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    weight 1\n  }\n}\n",
    ),
    (
        "tunnel",
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_method TUN type gue\n  lvs_method TUN type gue port 0\n  lvs_method TUN type ipip csum\n  lvs_method TUN type gre remcsum\n  lvs_method TUN type foo\n  lvs_method TUN type\n  lvs_method TUN bogus\n  lvs_method TUN port\n  lvs_method dr\n  lvs_method TUN type gue port 6080 remcsum\n  sorry_server_lvs_method DR\n  sorry_server 10.0.0.9 80\n  sorry_server_lvs_method TUN type gre csum\n  real_server 10.0.0.2 80 {\n    lvs_method TUN type gre nocsum\n    lvs_method NAT\n    lvs_method XX\n  }\n}\n",
    ),
    (
        "engine-family",
        "virtual_server fwmark 5 {\n  persistence_engine sip\n  persistence_engine abcdefghijklmnopqrstuvwxyz\n  ip_family inet7\n  ip_family inet6\n  ip_family inet\n  snmp_name a b\n  snmp_name vs1\n  real_server 2001:db8::2 80 {\n    snmp_name rs1\n    snmp_name\n  }\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  ip_family inet6\n  real_server 10.0.0.2 80 {\n  }\n}\n",
    ),
    (
        "timers",
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  delay_loop 0\n  delay_loop x\n  delay_loop 2.5\n  connect_timeout 0\n  retry 0\n  retry 3\n  delay_before_retry -1\n  warmup 1.1234567\n  real_server 10.0.0.2 80 {\n    delay_loop 0\n    warmup abc\n    retry 0\n    connect_timeout 5000\n    delay_before_retry z\n    alpha maybe\n    alpha no\n    virtualhost example.org\n    TCP_CHECK {\n      retry 0\n      retry -2\n      delay_loop 0\n      warmup q\n      delay_before_retry q\n      connect_timeout 0\n      fwmark 7\n      fwmark x\n      alpha\n      log_all_failures yes\n      log_all_failures perhaps\n      connect_port 0\n      bind_port 70000\n    }\n  }\n}\n",
    ),
    (
        "http",
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      http_protocol 2.0\n      http_protocol 1.0c\n      http_protocol 1.1\n      enable_sni\n      enable_sni nope\n      fast_recovery off\n      fast_recovery 1\n      virtualhost web.example\n      url {\n        path /\n      }\n    }\n    SSL_GET {\n      http_protocol 1.0C\n      enable_sni yes\n      url {\n        path /x\n      }\n    }\n  }\n}\n",
    ),
    (
        "misc",
        "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path /bin/true\n      connect_timeout 3\n      fwmark 5\n      user nosuchuser\n      retry 2\n    }\n    MISC_CHECK {\n      user root\n      misc_path /bin/true\n      retry 0\n      warmup 0\n    }\n  }\n}\n",
    ),
    (
        "udp-dns-smtp",
        "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  real_server 10.0.0.2 53 {\n    UDP_CHECK {\n      payload\n      payload zz\n      payload 01 02 0a\n      require_reply 01 X2\n      require_reply 0q\n      min_reply_length 70000\n      max_reply_length -1\n      min_reply_length 10\n      max_reply_length 5\n    }\n    DNS_CHECK {\n      type MX\n      type BOGUS\n      type aaaa\n      name .example\n      name a..b\n      name example.com\n      name again.example\n    }\n    SMTP_CHECK {\n      helo_name me.example\n    }\n  }\n}\n",
    ),
];

#[test]
fn lvs_keyword_messages_match_keepalived() {
    for (name, text) in CASES {
        let p = write(&format!("{name}.conf"), text);
        let Some(t) = theirs(&p) else { return };
        let o = ours(&p);
        // The keyword messages (post-parse validation lines carry no line number and are
        // the LVS start-up warnings' business, not the decoder's).
        let lined = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.contains(": Line "))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(lined(&o.1), lined(&t.1), "messages for case {name}");
        assert_eq!(o.0, t.0, "exit status for case {name}");
    }
}

fn load(text: &str) -> keepalived_rs::config::Loaded {
    let p = write("model.conf", text);
    load_with(&p, &LoadOptions::default(), &SystemHost)
}

#[test]
fn lvs_keywords_are_typed_and_not_reported_as_unimplemented() {
    let l = load(
        "virtual_server fwmark 5 {\n  lb_algo sh\n  sh-port\n  sh-fallback\n  flag-3\n  persistence_timeout 30\n  persistence_engine sip\n  ip_family inet6\n  snmp_name vs1\n  lvs_method TUN type gue port 6080 csum\n  sorry_server 2001:db8::9 80\n  sorry_server_lvs_method TUN type gre csum\n  delay_loop 7\n  warmup 0\n  retry 4\n  real_server 2001:db8::2 80 {\n    lvs_method TUN type gre\n    alpha\n    delay_loop 3\n    warmup 1\n    virtualhost rs.example\n    snmp_name rs1\n    TCP_CHECK {\n      retry 0\n      delay_loop 2\n      warmup 0.5\n      fwmark 9\n      alpha no\n      log_all_failures\n    }\n    HTTP_GET {\n      http_protocol 1.0C\n      enable_sni\n      fast_recovery\n      url {\n        path /\n      }\n    }\n  }\n}\n",
    );
    let notes: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.code == "not-implemented")
        .map(|d| d.message.clone())
        .collect();
    assert!(notes.is_empty(), "unexpected notes: {notes:?}");
    let vs = &l.model.virtual_servers[0];
    assert_eq!(
        vs.sched_flags,
        SchedFlags {
            flag_3: true,
            sh_port: true,
            sh_fallback: true,
            ..Default::default()
        }
    );
    assert_eq!(vs.persistence_engine.as_deref(), Some("sip"));
    assert_eq!(vs.ip_family, Some(IpFamily::Inet6));
    assert_eq!(vs.snmp_name.as_deref(), Some("vs1"));
    assert_eq!(
        vs.lvs_method,
        Some(LvsMethod {
            kind: LbKind::Tun,
            tunnel: TunnelOpts {
                kind: TunnelType::Gue,
                port: 6080,
                csum: TunnelCsum::Csum
            }
        })
    );
    assert_eq!(vs.options.retry, Some(4));
    assert_eq!(vs.options.warmup, Some(Duration::ZERO));
    let rs = &vs.real_servers[0];
    assert_eq!(rs.options.alpha, Some(true));
    assert_eq!(rs.options.delay_loop, Some(Duration::from_secs(3)));
    assert_eq!(rs.options.virtualhost.as_deref(), Some("rs.example"));
    let tcp = &rs.checkers[0];
    assert_eq!(tcp.fwmark, Some(9));
    assert_eq!(tcp.options.retry, Some(0));
    assert_eq!(tcp.options.alpha, Some(false));
    assert_eq!(tcp.options.log_all_failures, Some(true));
    assert_eq!(tcp.options.warmup, Some(Duration::from_millis(500)));
    let http = &rs.checkers[1];
    assert_eq!(http.http_protocol, Some(HttpProtocol::Http10Close));
    assert_eq!(http.enable_sni, Some(true));
    assert_eq!(http.fast_recovery, Some(true));

    // ... and the LVS side uses them.
    let lvs = desired::build(&l.model);
    let v = &lvs.virtual_servers[0];
    assert_eq!(
        v.service.flags,
        ServiceFlags(
            ServiceFlags::SCHED3
                | ServiceFlags::SH_PORT
                | ServiceFlags::SH_FALLBACK
                | ServiceFlags::PERSISTENT
        )
    );
    assert_eq!(v.service.pe_name.as_deref(), Some("sip"));
    assert!(matches!(
        v.keys[0],
        keepalived_rs::ipvs::types::ServiceKey::Fwmark {
            family: keepalived_rs::ipvs::types::Family::V6,
            mark: 5
        }
    ));
    assert_eq!(
        v.reals[0].forward,
        Forward::Tun(Tunnel {
            kind: TunnelKind::Gre,
            port: 0,
            csum: keepalived_rs::ipvs::types::TunnelCsum::NoCsum
        })
    );
    assert_eq!(
        v.sorry.as_ref().unwrap().forward,
        Forward::Tun(Tunnel {
            kind: TunnelKind::Gre,
            port: 0,
            csum: keepalived_rs::ipvs::types::TunnelCsum::Csum
        })
    );
    let c = &v.reals[0].checkers;
    assert_eq!(c[0].retry, 0);
    assert_eq!(c[0].delay_loop, Duration::from_secs(2));
    assert_eq!(c[0].fwmark, Some(9));
    assert!(c[0].log_all_failures);
    assert!(!c[0].alpha);
    // the HTTP checker inherits delay_loop / warmup / alpha from the real server
    assert_eq!(c[1].delay_loop, Duration::from_secs(3));
    assert_eq!(c[1].warmup, Duration::from_secs(1));
    assert!(c[1].alpha);
    assert_eq!(c[1].retry, 4);
    match &c[1].probe {
        keepalived_rs::check::spec::Probe::Http(h) => {
            assert_eq!(h.protocol, HttpProtocol::Http10Close);
            assert!(h.enable_sni);
            assert_eq!(h.virtualhost.as_deref(), Some("rs.example"));
        }
        p => panic!("not http: {p:?}"),
    }
}
