//! SMTP alerts from the health-check core: which checker and quorum events mail, with
//! keepalived 2.2.7's subjects and bodies per checker type (`check_tcp.c`, `check_http.c`,
//! `check_misc.c`, `ipwrapper.c: do_vs_notifies`), real servers alerting by default,
//! `smtp_alert` / `smtp_alert_checker` switches and `no_checker_emails`; then end to end: real
//! TCP probes against a loopback listener, the core, and the mailer delivering to a real SMTP
//! server (aiosmtpd).

#[path = "support/smtp.rs"]
mod smtp;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use keepalived_rs::check::core::{Action, Lvs, MiscExit, Outcome};
use keepalived_rs::config::{load, LoadOptions};
use keepalived_rs::ipvs::desired;
use keepalived_rs::notify::smtp::{Mailer, SmtpSettings};

fn model(name: &str, text: &str) -> keepalived_rs::model::Config {
    let dir = std::env::temp_dir().join(format!("lvs2-alerts-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    let l = load(&p, &LoadOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    l.model
}

fn core(name: &str, text: &str) -> (Lvs, Instant) {
    let t0 = keepalived_rs::sys::clock::now();
    (Lvs::new(desired::build(&model(name, text)), t0, 7), t0)
}

/// Runs due timers, answers each probe with `f(id)`, returns the alerts raised.
fn step(l: &mut Lvs, now: Instant, f: &dyn Fn(usize) -> Outcome) -> Vec<(String, String)> {
    l.handle_timeout(now);
    let mut probes = vec![];
    let mut alerts = vec![];
    let take = |l: &mut Lvs, probes: &mut Vec<usize>, alerts: &mut Vec<(String, String)>| {
        while let Some(a) = l.poll_action() {
            match a {
                Action::Probe(id) => probes.push(id),
                Action::Alert(a) => alerts.push((a.subject("R"), a.body())),
                _ => {}
            }
        }
    };
    take(l, &mut probes, &mut alerts);
    for id in std::mem::take(&mut probes) {
        l.handle_result(now, id, f(id));
        take(l, &mut probes, &mut alerts);
    }
    alerts
}

fn ok() -> Outcome {
    Outcome::Success(vec![])
}
fn fail() -> Outcome {
    Outcome::Failure("failed".into())
}

fn pair(s: &str, b: &str) -> (String, String) {
    (s.to_string(), b.to_string())
}

const TWO_TCP: &str = r#"
virtual_server 10.0.0.1 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.1 80 {
        TCP_CHECK { retry 0 }
    }
    real_server 10.1.0.2 80 {
        smtp_alert off
        TCP_CHECK { retry 0 }
    }
}
"#;

#[test]
fn tcp_check_mails_down_and_up_and_real_servers_alert_by_default() {
    let (mut l, t0) = core("tcp", TWO_TCP);
    // first round: all succeed - checkers start up, so nothing is mailed
    let mut now = t0 + Duration::from_secs(4);
    assert!(step(&mut l, now, &|_| ok()).is_empty());
    now += Duration::from_secs(2);
    let a = step(&mut l, now, &|_| fail());
    // only the first real server alerts (the second says smtp_alert off)
    assert_eq!(
        a,
        vec![pair(
            "[R] Realserver [10.1.0.1]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN",
            "=> TCP CHECK failed on service <="
        )]
    );
    // still failing: no new mail (only changes mail)
    now += Duration::from_secs(2);
    assert!(step(&mut l, now, &|_| fail()).is_empty());
    now += Duration::from_secs(2);
    assert_eq!(
        step(&mut l, now, &|_| ok()),
        vec![pair(
            "[R] Realserver [10.1.0.1]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - UP",
            "=> TCP CHECK succeed on service <="
        )]
    );
}

#[test]
fn smtp_alert_checker_off_silences_real_servers_but_their_own_setting_wins() {
    let text = format!(
        "global_defs {{\n  smtp_alert_checker off\n}}\n{}",
        TWO_TCP.replace("smtp_alert off", "smtp_alert on")
    );
    let (mut l, t0) = core("checker-off", &text);
    let now = t0 + Duration::from_secs(4);
    let a = step(&mut l, now, &|_| fail());
    // checkers start up (keepalived's is_up = true), so the first, decisive failure mails -
    // here only for the real server whose own `smtp_alert on` beats `smtp_alert_checker off`
    assert_eq!(
        a,
        vec![pair(
            "[R] Realserver [10.1.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN",
            "=> TCP CHECK failed on service <="
        )]
    );
}

const TWO_CHECKERS: &str = r#"
virtual_server 10.0.0.1 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.1 80 {
        TCP_CHECK { retry 0 }
        HTTP_GET {
            retry 0
            url { path / }
        }
    }
}
"#;

/// Checker 0 (TCP) fails, then checker 1 (HTTP) fails, then TCP recovers, then HTTP (which,
/// like keepalived's, needs its failed url to pass and then every url to pass: two rounds).
fn two_checker_run(text: &str) -> Vec<Vec<(String, String)>> {
    let (mut l, t0) = core("two", text);
    let mut now = t0 + Duration::from_secs(4);
    let mut out = vec![step(&mut l, now, &|_| ok())];
    for f in [
        |id: usize| if id == 0 { fail() } else { ok() },
        |_| fail(),
        |id: usize| if id == 0 { ok() } else { fail() },
        |_| ok(),
        |_| ok(),
    ] {
        now += Duration::from_secs(3);
        out.push(step(&mut l, now, &f));
    }
    out
}

#[test]
fn every_checker_change_mails_unless_no_checker_emails() {
    let subject = |e: &str| {
        format!("[R] Realserver [10.1.0.1]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - {e}")
    };
    let all = two_checker_run(TWO_CHECKERS);
    assert_eq!(
        all,
        vec![
            vec![],
            vec![(subject("DOWN"), "=> TCP CHECK failed on service <=".into())],
            // the real server was already down: the subject says DOWN
            vec![(
                subject("DOWN"),
                "=> CHECK failed on service : HTTP request failed <=".into()
            )],
            // TCP is back but HTTP is not: still DOWN
            vec![(subject("DOWN"), "=> TCP CHECK succeed on service <=".into())],
            vec![],
            vec![(subject("UP"), "=> CHECK succeed on service <=".into())],
        ]
    );
    let quiet = two_checker_run(&format!(
        "global_defs {{\n  no_checker_emails\n}}\n{TWO_CHECKERS}"
    ));
    assert_eq!(
        quiet,
        vec![
            vec![],
            vec![(subject("DOWN"), "=> TCP CHECK failed on service <=".into())],
            vec![],
            vec![],
            vec![],
            vec![(subject("UP"), "=> CHECK succeed on service <=".into())],
        ]
    );
}

#[test]
fn misc_check_mails_its_exit_type() {
    let (mut l, t0) = core(
        "misc",
        r#"
virtual_server 10.0.0.1 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.1 80 {
        MISC_CHECK {
            misc_path /bin/true
        }
    }
}
"#,
    );
    let subject = |e: &str| {
        format!("[R] Realserver [10.1.0.1]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - {e}")
    };
    let mut now = t0 + Duration::from_secs(4);
    // MISC mails on every checker state report, even the first success (check_misc.c has no
    // checker_was_up test)
    assert_eq!(
        step(&mut l, now, &|_| Outcome::Misc(MiscExit::Status(0))),
        vec![(
            subject("UP"),
            "=> MISC CHECK succeeded on service <=".into()
        )]
    );
    now += Duration::from_secs(3);
    assert_eq!(
        step(&mut l, now, &|_| Outcome::Misc(MiscExit::TimedOut)),
        vec![(
            subject("DOWN"),
            "=> MISC CHECK timed out on service <=".into()
        )]
    );
    now += Duration::from_secs(3);
    assert_eq!(
        step(&mut l, now, &|_| Outcome::Misc(MiscExit::Status(0))),
        vec![(
            subject("UP"),
            "=> MISC CHECK succeeded on service <=".into()
        )]
    );
    now += Duration::from_secs(3);
    assert_eq!(
        step(&mut l, now, &|_| Outcome::Misc(MiscExit::Status(1))),
        vec![(subject("DOWN"), "=> MISC CHECK failed on service <=".into())]
    );
}

const QUORUM: &str = r#"
virtual_server 10.0.0.5 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 3
    hysteresis 1
    smtp_alert
    sorry_server 10.9.9.9 80
    real_server 10.1.0.1 80 {
        weight 2
        smtp_alert no
        TCP_CHECK { retry 0 }
    }
    real_server 10.1.0.2 80 {
        weight 2
        smtp_alert no
        TCP_CHECK { retry 0 }
    }
}
"#;

#[test]
fn quorum_mails_use_keepalived_s_body_for_both_directions() {
    let (mut l, t0) = core("quorum", QUORUM);
    let mut now = t0 + Duration::from_secs(4);
    // keepalived starts every virtual server with its quorum down (no real server is alive
    // while the configuration is read), so the start-up brings "Gained quorum" and its mail
    assert_eq!(
        step(&mut l, now, &|_| ok()),
        vec![pair(
            "[R] Virtualserver [10.0.0.5]:tcp:80 - UP",
            "=> Starting with quorum up 3+1=4 <= 4 <="
        )]
    );
    now += Duration::from_secs(3);
    assert_eq!(
        step(&mut l, now, &|_| fail()),
        vec![pair(
            "[R] Virtualserver [10.0.0.5]:tcp:80 - DOWN",
            // do_vs_notifies prints "q+h=threshold <= sum" even when quorum is lost
            "=> Lost quorum 3+1=2 <= 0 <="
        )]
    );
    now += Duration::from_secs(3);
    assert_eq!(
        step(&mut l, now, &|_| ok()),
        vec![pair(
            "[R] Virtualserver [10.0.0.5]:tcp:80 - UP",
            "=> Gained quorum 3+1=4 <= 4 <="
        )]
    );
    // virtual servers do not mail by default
    let (mut l, t0) = core("quorum-default", &QUORUM.replace("    smtp_alert\n", ""));
    let now = t0 + Duration::from_secs(4);
    assert!(step(&mut l, now, &|_| fail()).is_empty());
}

#[test]
fn omega_shutdown_mails_shutting_down() {
    let text = QUORUM
        .replace("hysteresis 1", "hysteresis 1\n    omega")
        .replace("smtp_alert no", "smtp_alert yes");
    let (mut l, t0) = core("omega", &text);
    let now = t0 + Duration::from_secs(4);
    assert_eq!(
        step(&mut l, now, &|_| ok()).len(),
        1,
        "the start-up quorum mail"
    );
    l.shutdown();
    let mut alerts = vec![];
    while let Some(a) = l.poll_action() {
        if let Action::Alert(a) = a {
            alerts.push((a.subject("R"), a.body()));
        }
    }
    assert_eq!(
        alerts,
        vec![
            pair(
                "[R] Realserver [10.1.0.1]:tcp:80 of virtual server [10.0.0.5]:tcp:80 - DOWN",
                "=> Shutting down <="
            ),
            pair(
                "[R] Realserver [10.1.0.2]:tcp:80 of virtual server [10.0.0.5]:tcp:80 - DOWN",
                "=> Shutting down <="
            ),
            pair(
                "[R] Virtualserver [10.0.0.5]:tcp:80 - DOWN",
                "=> Shutting down <="
            ),
        ]
    );
}

// ---- end to end: real probes, real SMTP server ----

#[test]
fn a_real_server_going_down_and_up_is_mailed_to_a_real_smtp_server() {
    let Some(srv) = smtp::server() else { return };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let rs_port = listener.local_addr().unwrap().port();
    let text = format!(
        r#"
global_defs {{
    router_id lvs2
    notification_email {{
        ops@example.com
    }}
    notification_email_from keepalived@lvs2.example.com
    smtp_server 127.0.0.1 {smtp}
    smtp_helo_name lvs2helo
}}
virtual_server 127.0.0.1 {rs_port} {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 {rs_port} {{
        TCP_CHECK {{
            retry 0
            connect_timeout 1
        }}
    }}
}}
"#,
        smtp = srv.port
    );
    let cfg = model("e2e", &text);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let settings = SmtpSettings::from_globals(&cfg.global, "vm").expect("smtp configured");
    let mailer = Mailer::new(settings, rt.handle().clone());
    let tls = keepalived_rs::check::probe::TlsConfigs::new().unwrap();
    let t0 = keepalived_rs::sys::clock::now();
    let mut l = Lvs::new(desired::build(&cfg), t0, 3);
    // One round: run due probes for real, feed the outcomes, send the alerts.
    let round = |l: &mut Lvs, now: Instant| {
        l.handle_timeout(now);
        let mut probes = vec![];
        while let Some(a) = l.poll_action() {
            match a {
                Action::Probe(id) => probes.push(id),
                Action::Alert(a) => mailer.send(&a),
                _ => {}
            }
        }
        for id in probes {
            let spec = l.spec(id).clone();
            let outcome = rt.block_on(keepalived_rs::check::probe::run(&spec, &tls));
            l.handle_result(now, id, outcome);
            while let Some(a) = l.poll_action() {
                if let Action::Alert(a) = a {
                    mailer.send(&a);
                }
            }
        }
    };
    let mut now = t0 + Duration::from_secs(3);
    round(&mut l, now); // listener up: checker stays up, no mail
    drop(listener);
    now += Duration::from_secs(2);
    round(&mut l, now); // connection refused: DOWN
    let down = srv
        .lines
        .recv_timeout(Duration::from_secs(20))
        .expect("DOWN alert not received");
    let listener = std::net::TcpListener::bind(("127.0.0.1", rs_port)).unwrap();
    now += Duration::from_secs(2);
    round(&mut l, now); // back: UP
    let up = srv
        .lines
        .recv_timeout(Duration::from_secs(20))
        .expect("UP alert not received");
    drop(listener);
    for (m, event, body) in [
        (&down, "DOWN", "=> TCP CHECK failed on service <="),
        (&up, "UP", "=> TCP CHECK succeed on service <="),
    ] {
        assert_eq!(m["helo"], "lvs2helo");
        assert_eq!(m["mail_from"], "keepalived@lvs2.example.com");
        assert_eq!(m["rcpt_tos"], serde_json::json!(["ops@example.com"]));
        let data = m["data"].as_str().unwrap();
        let (date, rest) = data.split_once("\r\n").unwrap();
        assert!(date.starts_with("Date: "), "{date}");
        assert_eq!(
            rest,
            format!(
                "From: keepalived@lvs2.example.com\r\nSubject: [lvs2] Realserver [127.0.0.1]:tcp:{rs_port} of virtual server [127.0.0.1]:tcp:{rs_port} - {event}\r\nX-Mailer: Keepalived\r\nTo: ops@example.com\r\n\r\n{body}\r\n\r\n"
            )
        );
    }
    assert!(
        srv.lines.recv_timeout(Duration::from_millis(500)).is_err(),
        "only two alerts expected"
    );
}
