//! SMTP alerts against a real SMTP server (Python's aiosmtpd on loopback): what arrives is
//! keepalived's message, byte for byte apart from the date, and a dead server never blocks the
//! sender.

#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use keepalived_rs::model::{GlobalDefs, SmtpServer};
use keepalived_rs::notify::smtp::{Alert, Mailer, SmtpSettings, VrrpAlertState};

fn settings(port: u16) -> SmtpSettings {
    let g = GlobalDefs {
        router_id: Some("nodeA".into()),
        notification_email: vec![
            "ops@example.com".into(),
            "Second Admin <admin2@example.com>".into(),
        ],
        notification_email_from: Some("keepalived@nodeA.example.com".into()),
        smtp_server: Some(SmtpServer {
            host: "127.0.0.1".into(),
            port,
        }),
        smtp_connect_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    SmtpSettings::from_globals(&g, "vm").unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Drops the `Date:` line (the one thing that differs from run to run) after checking its
/// shape.
fn without_date(data: &str) -> String {
    let (date, rest) = data.split_once("\r\n").expect("lines");
    assert!(date.starts_with("Date: "), "{date}");
    assert_eq!(date.split(' ').count(), 7, "{date}");
    rest.to_string()
}

fn wait_until(done: impl Fn() -> bool) {
    let deadline = keepalived_rs::sys::clock::now() + Duration::from_secs(10);
    while !done() && keepalived_rs::sys::clock::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_failover_s_alerts_arrive_in_keepalived_s_format() {
    let Some(srv) = smtp::server() else { return };
    let rt = runtime();
    let mailer = Mailer::new(settings(srv.port), rt.handle().clone());
    for state in [VrrpAlertState::Backup, VrrpAlertState::Master] {
        mailer.send(&Alert::Instance {
            name: "VI_1".into(),
            state,
        });
    }
    mailer.send(&Alert::Group {
        name: "SG1".into(),
        state: VrrpAlertState::Master,
    });
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            srv.lines
                .recv_timeout(Duration::from_secs(20))
                .expect("alert not received"),
        );
    }
    for m in &got {
        assert_eq!(m["mail_from"], "keepalived@nodeA.example.com");
        assert_eq!(
            m["rcpt_tos"],
            serde_json::json!(["ops@example.com", "admin2@example.com"])
        );
        assert_eq!(m["helo"], "vm");
    }
    let mut bodies: Vec<String> = got
        .iter()
        .map(|m| without_date(m["data"].as_str().unwrap()))
        .collect();
    bodies.sort();
    // The body line, then the empty line keepalived sends before the terminating `.` (its
    // `"%s\r\n"` + `"\r\n.\r\n"`): the capture shows the same empty line.
    let head = "From: keepalived@nodeA.example.com\r\n";
    let tail =
        "X-Mailer: Keepalived\r\nTo: ops@example.com, Second Admin <admin2@example.com>\r\n\r\n";
    assert_eq!(
        bodies,
        vec![
            format!("{head}Subject: [nodeA] VRRP Group SG1 - Entering MASTER state\r\n{tail}=> All VRRP group instances are now in MASTER state <=\r\n\r\n"),
            format!("{head}Subject: [nodeA] VRRP Instance VI_1 - Entering BACKUP state\r\n{tail}=> VRRP Instance is no longer owning VRRP VIPs <=\r\n\r\n"),
            format!("{head}Subject: [nodeA] VRRP Instance VI_1 - Entering MASTER state\r\n{tail}=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n"),
        ]
    );
    // Cross-check one message against keepalived 2.2.7's own bytes, when the capture is there.
    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/keepalived-2.2.7-runtime-capture/two-node-A/smtp.log"
    );
    if let Ok(log) = std::fs::read_to_string(capture) {
        for line in [
            "C: Subject: [nodeA] VRRP Instance VI_1 - Entering MASTER state",
            "C: X-Mailer: Keepalived",
            "C: To: ops@example.com, Second Admin <admin2@example.com>",
            "C: => VRRP Instance is now owning VRRP VIPs <=",
        ] {
            assert!(log.contains(line), "capture lacks {line}");
        }
    }
    // The server records the message before our side reads its 250 and counts it.
    wait_until(|| mailer.sent() == 3);
    assert_eq!(mailer.sent(), 3);
    assert_eq!(mailer.failed(), 0);
}

#[test]
fn a_silent_server_neither_blocks_the_sender_nor_loses_the_error() {
    // A listener that accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut s = settings(port);
    s.connect_timeout = Duration::from_millis(500);
    let rt = runtime();
    let mailer = Mailer::new(s, rt.handle().clone());
    let start = keepalived_rs::sys::clock::now();
    for _ in 0..20 {
        mailer.send(&Alert::Instance {
            name: "VI_1".into(),
            state: VrrpAlertState::Fault,
        });
    }
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "send waited for the network: {:?}",
        start.elapsed()
    );
    wait_until(|| mailer.failed() == 20);
    assert_eq!(mailer.failed(), 20);
    assert_eq!(mailer.sent(), 0);
    drop(listener);
}

#[test]
fn a_refused_connection_is_counted() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rt = runtime();
    let mailer = Mailer::new(settings(port), rt.handle().clone());
    mailer.send(&Alert::Instance {
        name: "VI_1".into(),
        state: VrrpAlertState::Stop,
    });
    wait_until(|| mailer.failed() == 1);
    assert_eq!(mailer.failed(), 1);
}
