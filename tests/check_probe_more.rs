//! UDP_CHECK, DNS_CHECK, SMTP_CHECK and PING_CHECK probes against real peers: a UDP echo
//! server and a closed port (the kernel's ICMP port unreachable) on loopback, a tiny DNS
//! server written here, the aiosmtpd SMTP server plus hand-written misbehaving ones, and ICMP
//! echo inside a network namespace the test creates (root and `ip` needed, else skipped).

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived_rs::check::core::Outcome;
use keepalived_rs::check::probe;
use keepalived_rs::check::spec::*;
use keepalived_rs::config::decode::read_hex_str;
use keepalived_rs::model::CheckerKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn spec(target: SocketAddr, probe: Probe) -> CheckSpec {
    CheckSpec {
        kind: CheckerKind::Udp,
        probe,
        target,
        bind: None,
        bind_if: None,
        fwmark: None,
        connect_timeout: Duration::from_millis(700),
        retry: 1,
        delay_loop: Duration::from_secs(1),
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn udp_spec(payload: Option<&str>, reply: Option<&str>) -> UdpSpec {
    UdpSpec {
        payload: payload
            .map(|p| read_hex_str(p, false).unwrap().0)
            .unwrap_or_else(|| filler(32)),
        require_reply: reply.is_some(),
        reply: reply
            .filter(|r| !r.is_empty())
            .map(|r| read_hex_str(r, true).unwrap()),
        min_reply_len: 0,
        max_reply_len: 255,
    }
}

/// A UDP echo server on loopback; records what it received.
fn echo_server() -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            g.lock().unwrap().push(buf[..n].to_vec());
            let _ = s.send_to(&buf[..n], from);
        }
    });
    (addr, got)
}

#[test]
fn hex_strings_are_read_like_keepalived() {
    assert_eq!(
        read_hex_str("68656c 6c 6f", false),
        Some((b"hello".to_vec(), vec![0; 5]))
    );
    // a lone digit is one octet; X is a wildcard nibble only where allowed
    assert_eq!(
        read_hex_str("1 fX", true),
        Some((vec![0x01, 0xf0], vec![0, 0x0f]))
    );
    assert_eq!(read_hex_str("fX", false), None);
    assert_eq!(read_hex_str("zz", false), None);
    assert_eq!(read_hex_str("   ", false), None);
}

#[test]
fn udp_check_against_an_echo_server_and_a_closed_port() {
    let rt = rt();
    let (addr, got) = echo_server();
    // default payload: keepalived's 32-byte filler
    let o = rt.block_on(probe::run(
        &spec(addr, Probe::Udp(udp_spec(None, None))),
        &tls(),
    ));
    assert_eq!(o, Outcome::Success(vec![]));
    assert_eq!(
        got.lock().unwrap()[0],
        b"keepalived check - keepalived ch".to_vec()
    );
    // a matching reply (with wildcards) / a mismatching one
    let s = spec(
        addr,
        Probe::Udp(udp_spec(Some("68656c6c6f"), Some("68 65 XX 6c 6f"))),
    );
    assert_eq!(
        rt.block_on(probe::run(&s, &tls())),
        Outcome::Success(vec![])
    );
    let s = spec(
        addr,
        Probe::Udp(udp_spec(Some("68656c6c6f"), Some("68 66"))),
    );
    assert_eq!(
        rt.block_on(probe::run(&s, &tls())),
        Outcome::Failure("mismatch".into())
    );
    // length limits apply to replies checked against data
    let mut u = udp_spec(Some("68656c6c6f"), Some("68"));
    u.max_reply_len = 4;
    assert_eq!(
        rt.block_on(probe::run(&spec(addr, Probe::Udp(u)), &tls())),
        Outcome::Failure("mismatch".into())
    );

    // a closed port: the kernel's ICMP port unreachable fails the check
    let closed = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let o = rt.block_on(probe::run(
        &spec(closed, Probe::Udp(udp_spec(None, None))),
        &tls(),
    ));
    assert_eq!(o, Outcome::Failure("failed".into()));

    // a silent server: success unless a reply is required
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sa = silent.local_addr().unwrap();
    let o = rt.block_on(probe::run(
        &spec(sa, Probe::Udp(udp_spec(None, None))),
        &tls(),
    ));
    assert_eq!(o, Outcome::Success(vec![]));
    let o = rt.block_on(probe::run(
        &spec(sa, Probe::Udp(udp_spec(None, Some("")))),
        &tls(),
    ));
    assert_eq!(o, Outcome::Failure("failed".into()));
}

fn tls() -> probe::TlsConfigs {
    probe::TlsConfigs::new().unwrap()
}

/// A tiny DNS server: answers each query with `rcodes[i]` (the last one repeating); with
/// `decoy`, first sends an answer with a wrong id. Records the queries.
fn dns_server(rcodes: Vec<u8>, decoy: bool) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = s.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let mut i = 0;
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let q = buf[..n].to_vec();
            g.lock().unwrap().push(q.clone());
            let rcode = rcodes[i.min(rcodes.len() - 1)];
            i += 1;
            let mut a = q.clone();
            a[2] = 0x81; // QR, RD
            a[3] = 0x80 | rcode; // RA, rcode
            if decoy {
                let mut d = a.clone();
                d[0] ^= 0xff;
                let _ = s.send_to(&d, from);
            }
            let _ = s.send_to(&a, from);
        }
    });
    (addr, got)
}

#[test]
fn dns_check_against_a_real_dns_answer() {
    let rt = rt();
    let d = DnsSpec {
        qtype: 1,
        name: "example.com".into(),
    };
    let (addr, got) = dns_server(vec![0], true);
    let o = rt.block_on(probe::run(&spec(addr, Probe::Dns(d.clone())), &tls()));
    assert_eq!(o, Outcome::Success(vec![]));
    let q = got.lock().unwrap()[0].clone();
    // header: RD only, one question; question: example.com A IN
    assert_eq!(&q[2..12], &[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&q[12..], b"\x07example\x03com\x00\x00\x01\x00\x01");
    // the root (keepalived's default name) with SOA (its default type)
    let root = DnsSpec {
        qtype: 6,
        name: String::new(),
    };
    assert_eq!(&probe::dns_query(0x1234, &root)[12..], &[0, 0, 6, 0, 1]);
    assert_eq!(
        probe::dns_query(
            1,
            &DnsSpec {
                qtype: 6,
                name: ".".into()
            }
        ),
        probe::dns_query(1, &root)
    );

    let (addr, _) = dns_server(vec![2], false);
    let o = rt.block_on(probe::run(&spec(addr, Probe::Dns(d.clone())), &tls()));
    assert_eq!(
        o,
        Outcome::Failure("read error occurred. (rcode = 2)".into())
    );

    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let o = rt.block_on(probe::run(
        &spec(silent.local_addr().unwrap(), Probe::Dns(d.clone())),
        &tls(),
    ));
    assert_eq!(o, Outcome::Failure("read timeout from socket".into()));

    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let o = rt.block_on(probe::run(&spec(closed, Probe::Dns(d)), &tls()));
    assert_eq!(
        o,
        Outcome::Failure("failed to read socket; errno 111 (Connection refused)".into())
    );
}

/// A hand-written SMTP server speaking `banner` and answering HELO with `helo_reply`;
/// records the lines it got.
async fn smtp_server(
    banner: &'static str,
    helo_reply: &'static str,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let g = g.clone();
            tokio::spawn(async move {
                let _ = s.write_all(banner.as_bytes()).await;
                let mut buf = vec![0u8; 512];
                let mut acc = String::new();
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    acc.push_str(&String::from_utf8_lossy(&buf[..n]));
                    while let Some(p) = acc.find("\r\n") {
                        let line: String = acc.drain(..p + 2).collect();
                        g.lock().unwrap().push(line.clone());
                        let reply = if line.starts_with("HELO") {
                            helo_reply
                        } else {
                            "221 bye\r\n"
                        };
                        let _ = s.write_all(reply.as_bytes()).await;
                    }
                }
            });
        }
    });
    (addr, got)
}

#[test]
fn smtp_check_against_hand_written_servers() {
    let rt = rt();
    rt.block_on(async {
        let helo = Probe::Smtp(DEFAULT_SMTP_HELO.into());
        let (a, got) = smtp_server("220 mx ESMTP\r\n", "250 hi\r\n").await;
        assert_eq!(
            probe::run(&spec(a, helo.clone()), &tls()).await,
            Outcome::Success(vec![])
        );
        assert_eq!(
            *got.lock().unwrap(),
            vec![
                "HELO smtpchecker.keepalived.org\r\n".to_string(),
                "QUIT\r\n".to_string()
            ]
        );
        let (a, _) = smtp_server("554 go away\r\n", "250 hi\r\n").await;
        assert_eq!(
            probe::run(&spec(a, helo.clone()), &tls()).await,
            Outcome::Failure(format!(
                "Bad greeting banner from server [127.0.0.1]:{}",
                a.port()
            ))
        );
        // keepalived reads only the first line of a multi-line banner: "220-" is refused
        let (a, _) = smtp_server("220-mx\r\n220 mx\r\n", "250 hi\r\n").await;
        assert_eq!(
            probe::run(&spec(a, helo.clone()), &tls()).await,
            Outcome::Failure(format!(
                "Bad greeting banner from server [127.0.0.1]:{}",
                a.port()
            ))
        );
        let (a, _) = smtp_server("220 mx\r\n", "500 no\r\n").await;
        assert_eq!(
            probe::run(&spec(a, helo.clone()), &tls()).await,
            Outcome::Failure(format!(
                "Bad HELO response from server [127.0.0.1]:{}",
                a.port()
            ))
        );
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert_eq!(
            probe::run(&spec(closed, helo.clone()), &tls()).await,
            Outcome::Failure(format!(
                "Error connecting to server [127.0.0.1]:{}",
                closed.port()
            ))
        );
        // a server that never greets
        let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ma = mute.local_addr().unwrap();
        tokio::spawn(async move {
            let mut keep = vec![];
            while let Ok((s, _)) = mute.accept().await {
                keep.push(s);
            }
        });
        assert_eq!(
            probe::run(&spec(ma, helo), &tls()).await,
            Outcome::Failure(format!(
                "Read timeout from server [127.0.0.1]:{}",
                ma.port()
            ))
        );
    });
}

#[test]
fn smtp_check_against_a_real_smtp_server() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: python3 with aiosmtpd is not installed");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut out, &mut first).unwrap();
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let port = v["port"].as_u64().unwrap() as u16;
    let target: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = spec(target, Probe::Smtp("lvs2.example".into()));
    s.connect_timeout = Duration::from_secs(5);
    let o = rt().block_on(probe::run(&s, &tls()));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o, Outcome::Success(vec![]));
}

// ---- PING_CHECK in a network namespace ----

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

fn sh(args: &[&str]) -> bool {
    std::process::Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn ping_check_in_a_network_namespace() {
    if !nix::unistd::geteuid().is_root() || !sh(&["ip", "netns", "list"]) {
        eprintln!("SKIP: needs root and iproute2 to create a network namespace");
        return;
    }
    let name = format!("lvs2-ping-{}", std::process::id());
    assert!(sh(&["ip", "netns", "add", &name]));
    let ns = Netns(name.clone());
    assert!(sh(&["ip", "-n", &name, "link", "set", "lo", "up"]));
    // a veth pair inside the namespace: 10.77.0.1 on one end, nobody at 10.77.0.2
    assert!(sh(&[
        "ip", "-n", &name, "link", "add", "lvs2a", "type", "veth", "peer", "name", "lvs2b"
    ]));
    assert!(sh(&[
        "ip",
        "-n",
        &name,
        "addr",
        "add",
        "10.77.0.1/24",
        "dev",
        "lvs2a"
    ]));
    assert!(sh(&["ip", "-n", &name, "link", "set", "lvs2a", "up"]));
    assert!(sh(&["ip", "-n", &name, "link", "set", "lvs2b", "up"]));
    let path = format!("/run/netns/{}", ns.0);
    let results = std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        // ICMP datagram sockets need our group in this namespace's ping_group_range
        // (1 0 = nobody, the default): keepalived widens it, and so do we.
        let before = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
        let saved = probe::widen_ping_group_range();
        let widened = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
        let rt = rt();
        let mut out = vec![];
        for target in ["127.0.0.1", "10.77.0.1", "10.77.0.2", "10.99.0.1"] {
            let mut s = spec(
                (target.parse::<std::net::IpAddr>().unwrap(), 0).into(),
                Probe::Ping,
            );
            s.connect_timeout = Duration::from_millis(500);
            out.push(rt.block_on(probe::run(&s, &tls())));
        }
        probe::restore_ping_group_range(saved);
        let after = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
        (before, widened, after, out)
    })
    .join()
    .unwrap();
    let (before, widened, after, out) = results;
    assert_eq!(before.split_whitespace().next(), Some("1"), "{before}");
    assert_eq!(widened.split_whitespace().next(), Some("0"), "{widened}");
    assert_eq!(
        after.split_whitespace().collect::<Vec<_>>(),
        before.split_whitespace().collect::<Vec<_>>()
    );
    assert_eq!(
        out,
        vec![
            Outcome::Success(vec![]),
            Outcome::Success(vec![]),
            // on the link but nobody there: no reply in time
            Outcome::Failure("timeout".into()),
            // no route: the send itself fails
            Outcome::Failure("failed".into()),
        ]
    );
}

// ---- SSL_GET with the SSL block's client certificate ----

const BODY: &[u8] = b"ok\n";

/// A TLS web server that requires a client certificate signed by `ca`.
async fn mtls_server(ca: &rcgen::Certificate) -> SocketAddr {
    use std::sync::Arc as A;
    let provider = A::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        A::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let srv = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(srv.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(srv.key_pair.serialize_der()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![der], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(A::new(cfg));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((c, _)) = l.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut t) = acceptor.accept(c).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match t.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                }
                let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", BODY.len());
                let _ = t.write_all(head.as_bytes()).await;
                let _ = t.write_all(BODY).await;
                let _ = t.shutdown().await;
            });
        }
    });
    addr
}

#[test]
fn ssl_get_presents_the_ssl_block_client_certificate() {
    // a CA, and a client certificate it signed, in PEM files like an SSL { } block names
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(vec!["lvs2 test CA".into()]).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let cl_key = rcgen::KeyPair::generate().unwrap();
    let cl = rcgen::CertificateParams::new(vec!["checker.example".into()])
        .unwrap()
        .signed_by(&cl_key, &ca, &ca_key)
        .unwrap();
    let dir = std::env::temp_dir().join(format!("lvs2-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cp, kp) = (dir.join("client.pem"), dir.join("client.key"));
    std::fs::write(&cp, cl.pem()).unwrap();
    std::fs::write(&kp, cl_key.serialize_pem()).unwrap();
    let ssl = keepalived_rs::model::Ssl {
        certificate: Some(cp.to_string_lossy().into()),
        key: Some(kp.to_string_lossy().into()),
        ..Default::default()
    };
    let with_cert = probe::TlsConfigs::from_ssl(Some(&ssl)).unwrap();
    let bad = keepalived_rs::model::Ssl {
        certificate: Some(dir.join("missing.pem").to_string_lossy().into()),
        key: Some(kp.to_string_lossy().into()),
        ..Default::default()
    };
    let err = probe::TlsConfigs::from_ssl(Some(&bad)).err().unwrap();
    assert!(
        err.starts_with("SSL error: cannot load certificate file"),
        "{err}"
    );

    rt().block_on(async {
        let addr = mtls_server(&ca).await;
        let probe = Probe::Http(HttpSpec {
            tls: true,
            urls: vec![UrlSpec {
                path: "/".into(),
                digest: None,
                status: vec![],
                virtualhost: None,
                regex: None,
            }],
            virtualhost: None,
            protocol: HttpProtocol::Http10,
            enable_sni: false,
            fast_recovery: false,
        });
        let mut s = spec(addr, probe);
        s.kind = CheckerKind::SslGet;
        s.connect_timeout = Duration::from_secs(3);
        assert_eq!(
            probe::run(&s, &with_cert).await,
            Outcome::Success(vec![("HTTP status code", "/".into())])
        );
        // without the client certificate the server refuses the handshake
        assert!(matches!(probe::run(&s, &tls()).await, Outcome::Failure(_)));
    });
    let _ = std::fs::remove_dir_all(&dir);
}
