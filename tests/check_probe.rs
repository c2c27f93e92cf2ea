//! Probe drivers against real servers on loopback: a TCP listener, a raw HTTP/1.0 server, a
//! rustls TLS server with a certificate made here, real scripts for MISC_CHECK; genhash
//! compared with Debian's keepalived -T when it is installed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived_rs::check::core::{MiscExit, Outcome};
use keepalived_rs::check::probe::{self, TlsConfigs};
use keepalived_rs::check::spec::*;
use keepalived_rs::model::{CheckerKind, Script};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn spec(target: SocketAddr, probe: Probe) -> CheckSpec {
    CheckSpec {
        kind: CheckerKind::Tcp,
        probe,
        target,
        bind: None,
        bind_if: None,
        fwmark: None,
        connect_timeout: Duration::from_secs(1),
        retry: 1,
        delay_loop: Duration::from_secs(1),
        delay_before_retry: Duration::from_secs(1),
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    }
}

fn http(urls: Vec<UrlSpec>, tls: bool) -> Probe {
    Probe::Http(HttpSpec {
        tls,
        urls,
        virtualhost: None,
        protocol: HttpProtocol::Http10,
        fast_recovery: false,
        enable_sni: false,
    })
}

fn url(path: &str, digest: Option<&str>, status: Vec<(u16, u16)>) -> UrlSpec {
    UrlSpec {
        path: path.into(),
        digest: digest.map(str::to_string),
        status,
        virtualhost: None,
        regex: None,
    }
}

const BODY: &[u8] = b"<html>ok</html>\n";
fn body_md5() -> String {
    use md5::Digest;
    probe::hex(&md5::Md5::digest(BODY))
}

/// A tiny HTTP/1.0 server: answers `status` with BODY and records each request.
async fn http_server(status: u16) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut c, _)) = l.accept().await else {
                return;
            };
            let seen = s2.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into());
                let head = format!(
                    "HTTP/1.0 {status} X\r\nContent-Length: {}\r\n\r\n",
                    BODY.len()
                );
                let _ = c.write_all(head.as_bytes()).await;
                let _ = c.write_all(BODY).await;
            });
        }
    });
    (addr, seen)
}

fn tls() -> TlsConfigs {
    TlsConfigs::new().unwrap()
}

#[tokio::test]
async fn tcp_up_then_down() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let s = spec(addr, Probe::Tcp);
    assert_eq!(probe::run(&s, &tls()).await, Outcome::Success(vec![]));
    drop(l);
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Failure("failed".into())
    );
}

#[tokio::test]
async fn http_get_status_digest_and_request_format() {
    let (addr, seen) = http_server(200).await;
    let d = body_md5();
    let s = spec(
        addr,
        http(vec![url("/health?x=1", Some(&d), vec![])], false),
    );
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Success(vec![("MD5 digest", "/health?x=1".into())])
    );
    let req = seen.lock().unwrap()[0].clone();
    assert_eq!(
        req,
        format!("GET /health?x=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: {addr}\r\n\r\n")
    );
    // digest mismatch
    let s = spec(
        addr,
        http(
            vec![url("/", Some("00000000000000000000000000000000"), vec![])],
            false,
        ),
    );
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Failure("MD5 digest error to".into())
    );
    // status: 200 not in 300-399 -> error; a 404 server accepted by 400-404
    let s = spec(addr, http(vec![url("/", None, vec![(300, 399)])], false));
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Failure("HTTP status code error to".into())
    );
    let (a404, _) = http_server(404).await;
    let s = spec(a404, http(vec![url("/", None, vec![])], false));
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Failure("HTTP status code error to".into()),
        "default 200-299"
    );
    let s = spec(a404, http(vec![url("/", None, vec![(400, 404)])], false));
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Success(vec![("HTTP status code", "/".into())])
    );
}

#[tokio::test]
async fn http_virtualhost_header() {
    let (addr, seen) = http_server(200).await;
    let mut u = url("/", None, vec![]);
    u.virtualhost = Some("www.example.org".into());
    let s = spec(addr, http(vec![u], false));
    assert!(matches!(probe::run(&s, &tls()).await, Outcome::Success(_)));
    assert!(seen.lock().unwrap()[0].contains("\r\nHost: www.example.org\r\n"));
}

#[tokio::test]
async fn http_read_timeout_and_connect_error() {
    // accepts, never answers
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut keep = Vec::new();
        while let Ok((c, _)) = l.accept().await {
            keep.push(c);
        }
    });
    let s = spec(addr, http(vec![url("/", None, vec![])], false));
    let t = keepalived_rs::sys::clock::now();
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Failure("Timeout HTTP read".into())
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    hold.abort();
    let _ = hold.await;
    let s = spec(addr, http(vec![url("/", None, vec![])], false));
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Failure("Error connecting".into())
    );
}

#[tokio::test]
async fn ssl_get_against_a_rustls_server() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
    let d = body_md5();
    let mut s = spec(addr, http(vec![url("/", Some(&d), vec![])], true));
    s.kind = CheckerKind::SslGet;
    assert_eq!(
        probe::run(&s, &tls()).await,
        Outcome::Success(vec![("MD5 digest", "/".into())])
    );
    // plain HTTP to a TLS server is not a web server that answers
    let s = spec(addr, http(vec![url("/", None, vec![])], false));
    assert!(matches!(probe::run(&s, &tls()).await, Outcome::Failure(_)));
}

fn misc(script: &str, timeout: Duration) -> MiscSpec {
    MiscSpec {
        script: Script {
            args: vec!["/bin/sh".into(), "-c".into(), script.into()],
            user: None,
            group: None,
            security: Default::default(),
        },
        timeout,
        dynamic: true,
    }
}

#[tokio::test]
async fn misc_check_exit_codes_signals_and_timeout() {
    let t = Duration::from_secs(5);
    assert_eq!(probe::misc(&misc("exit 0", t)).await, MiscExit::Status(0));
    assert_eq!(probe::misc(&misc("exit 12", t)).await, MiscExit::Status(12));
    assert_eq!(
        probe::misc(&misc("kill -USR1 $$", t)).await,
        MiscExit::Signal(10)
    );
    let start = keepalived_rs::sys::clock::now();
    assert_eq!(
        probe::misc(&misc("sleep 30", Duration::from_millis(300))).await,
        MiscExit::TimedOut
    );
    assert!(start.elapsed() < Duration::from_secs(4));
    let missing = MiscSpec {
        script: Script {
            args: vec!["/nonexistent/lvs-check".into()],
            user: None,
            group: None,
            security: Default::default(),
        },
        timeout: t,
        dynamic: false,
    };
    assert_eq!(probe::misc(&missing).await, MiscExit::Status(127));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slow_probe_does_not_delay_others() {
    let black = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_addr = black.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut keep = Vec::new();
        while let Ok((c, _)) = black.accept().await {
            keep.push(c);
        }
    });
    let (fast, _) = http_server(200).await;
    let mut slow = spec(slow_addr, http(vec![url("/", None, vec![])], false));
    slow.connect_timeout = Duration::from_secs(10);
    let tls = tls();
    let t2 = tls.clone();
    let slow_task = tokio::spawn(async move { probe::run(&slow, &t2).await });
    let start = keepalived_rs::sys::clock::now();
    let mut handles = Vec::new();
    for _ in 0..100 {
        let mut s = spec(fast, http(vec![url("/", None, vec![])], false));
        s.connect_timeout = Duration::from_secs(5);
        let tls = tls.clone();
        handles.push(tokio::spawn(async move { probe::run(&s, &tls).await }));
    }
    for h in handles {
        assert!(matches!(h.await.unwrap(), Outcome::Success(_)));
    }
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        slow_task.await.unwrap(),
        Outcome::Failure("Timeout HTTP read".into())
    );
}

#[test]
fn genhash_matches_keepalived() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, _) = rt.block_on(http_server(404));
    let args: Vec<std::ffi::OsString> = [
        "-s",
        "127.0.0.1",
        "-p",
        &addr.port().to_string(),
        "-u",
        "/x",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let o = keepalived_rs::check::genhash::parse(&args)
        .unwrap()
        .unwrap();
    let ours = rt.block_on(keepalived_rs::check::genhash::compute(&o));
    assert_eq!(ours, body_md5(), "digest printed whatever the status");
    let ka = std::path::Path::new("/usr/sbin/keepalived");
    if !ka.exists() {
        eprintln!("genhash_matches_keepalived: keepalived not installed, oracle part skipped");
        return;
    }
    let out = std::process::Command::new(ka)
        .arg("-T")
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ours);
}

/// The daemon blocks SIGTERM & co. in every thread (the supervisor takes them with
/// sigtimedwait); a MISC script must still start with an empty signal mask, as keepalived's
/// forked children do, or a timeout's SIGTERM would not end it.
#[test]
fn misc_scripts_start_with_an_empty_signal_mask() {
    // SAFETY: blocking signals in this test's own thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let m = misc(
        "test \"$(awk '/^SigBlk/{print $2}' /proc/self/status)\" = 0000000000000000",
        Duration::from_secs(5),
    );
    assert_eq!(rt.block_on(probe::misc(&m)), MiscExit::Status(0));
}
