//! Probe drivers on tokio: one async function per checker type, each bounded by its own
//! timeouts so a slow real server delays nobody else. They only report what they saw
//! ([`Outcome`]); the pure core decides what it means.
//!
//! HTTP_GET/SSL_GET send what keepalived sends (`GET <path> HTTP/1.0`, `User-Agent:
//! KeepAliveClient`, `Host: <virtualhost or ip:port>`) through hyper, over tokio-rustls for
//! SSL_GET; like keepalived, the server certificate is not verified.

use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};

use super::core::{MiscExit, Outcome};
use super::spec::{CheckSpec, HttpProtocol, HttpSpec, MiscSpec, Probe, UrlSpec};

/// Runs the probe a checker describes.
pub async fn run(spec: &CheckSpec, tls: &TlsConfigs) -> Outcome {
    match &spec.probe {
        Probe::Tcp => tcp(spec).await,
        Probe::Http(h) => http(spec, h, tls).await,
        Probe::Misc(m) => Outcome::Misc(misc(m).await),
        Probe::Udp(u) => udp(spec, u).await,
        Probe::Ping => ping(spec).await,
        Probe::Dns(d) => dns(spec, d).await,
        Probe::Smtp(helo) => smtp(spec, helo).await,
        // nothing to probe: the driver watches the file and feeds the core
        Probe::File(_) => Outcome::Success(Vec::new()),
    }
}

/// A non-blocking datagram socket with the checker's mark and interface (and source address
/// when `bind`), as a tokio socket.
fn dgram(
    spec: &CheckSpec,
    proto: socket2::Protocol,
    bind: bool,
) -> std::io::Result<tokio::net::UdpSocket> {
    let domain = if spec.target.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(proto))?;
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    if let Some(m) = spec.fwmark {
        s.set_mark(m)?;
    }
    if let Some(i) = &spec.bind_if {
        s.bind_device(Some(i.as_bytes()))?;
    }
    if bind {
        if let Some(b) = spec.bind {
            s.bind(&b.into())?;
        }
    }
    tokio::net::UdpSocket::from_std(s.into())
}

/// UDP_CHECK (`check_udp.c`): send the payload on a connected socket; an ICMP unreachable
/// (ECONNREFUSED) fails, silence succeeds unless a reply is required, a reply must match
/// `require_reply`'s bytes and length limits. `Failure("mismatch")` / `Failure("failed")`.
pub async fn udp(spec: &CheckSpec, u: &super::spec::UdpSpec) -> Outcome {
    let fail = || Outcome::Failure("failed".into());
    let Ok(sock) = dgram(spec, socket2::Protocol::UDP, true) else {
        return fail();
    };
    if sock.connect(spec.target).await.is_err() {
        return fail();
    }
    match sock.send(&u.payload).await {
        Ok(n) if n == u.payload.len() => {}
        _ => return fail(),
    }
    let mut buf = vec![0u8; u.max_reply_len as usize + 1];
    match tokio::time::timeout(spec.connect_timeout, sock.recv(&mut buf)).await {
        Err(_) if u.require_reply => fail(),
        Err(_) => Outcome::Success(Vec::new()),
        Ok(Err(_)) => fail(),
        Ok(Ok(n)) => {
            if u.require_reply && !u.reply_ok(&buf[..n]) {
                Outcome::Failure("mismatch".into())
            } else {
                Outcome::Success(Vec::new())
            }
        }
    }
}

const PING_GROUP_RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";

/// keepalived's `set_ping_group_range(true)`: lets group 0 open ICMP datagram sockets by
/// lowering the start of `net.ipv4.ping_group_range` (this network namespace's) to 0. Returns
/// the old start to give back to [`restore_ping_group_range`], `None` when nothing changed.
pub fn widen_ping_group_range() -> Option<u32> {
    let text = std::fs::read_to_string(PING_GROUP_RANGE).ok()?;
    let mut it = text.split_whitespace();
    let lo: u32 = it.next()?.parse().ok()?;
    let hi: u32 = it.next()?.parse().ok()?;
    if lo == 0 {
        return None;
    }
    if lo > 1 && hi > 1 {
        tracing::info!("Warning: {PING_GROUP_RANGE} being expanded from {lo} {hi} to 0 {hi}");
    }
    match std::fs::write(PING_GROUP_RANGE, format!("0\t{hi}\t\n")) {
        Ok(()) => Some(lo),
        Err(e) => {
            tracing::info!("Write {PING_GROUP_RANGE} failed - {e}");
            None
        }
    }
}

/// Puts back the start of `ping_group_range` that [`widen_ping_group_range`] changed.
pub fn restore_ping_group_range(saved: Option<u32>) {
    let Some(lo) = saved else { return };
    let Ok(text) = std::fs::read_to_string(PING_GROUP_RANGE) else {
        return;
    };
    let hi = text.split_whitespace().nth(1).unwrap_or("0").to_string();
    let _ = std::fs::write(PING_GROUP_RANGE, format!("{lo}\t{hi}\t\n"));
}

static ICMP_SEQ: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// PING_CHECK (`check_ping.c`): one ICMP echo (128 bytes of filler) over an unprivileged
/// ICMP datagram socket; the first packet back must be an echo reply within
/// `connect_timeout`. `Failure("timeout")` / `Failure("failed")`.
pub async fn ping(spec: &CheckSpec) -> Outcome {
    let fail = || Outcome::Failure("failed".into());
    let v4 = spec.target.is_ipv4();
    let proto = if v4 {
        socket2::Protocol::ICMPV4
    } else {
        socket2::Protocol::ICMPV6
    };
    let Ok(sock) = dgram(spec, proto, false) else {
        return fail();
    };
    let _ = socket2::SockRef::from(&sock).set_recv_buffer_size(64 * 1024);
    let seq = ICMP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut pkt = vec![if v4 { 8 } else { 128 }, 0, 0, 0, 0, 0];
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend(super::spec::filler(128));
    // the kernel fills in the identifier (and the ICMPv4 checksum)
    if v4 {
        let c = inet_checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
    }
    let dst = std::net::SocketAddr::new(spec.target.ip(), 0);
    if sock.send_to(&pkt, dst).await.is_err() {
        return fail();
    }
    let mut buf = [0u8; 8 + 128];
    match tokio::time::timeout(spec.connect_timeout, sock.recv(&mut buf)).await {
        Err(_) => Outcome::Failure("timeout".into()),
        Ok(Ok(n)) if n >= 8 && buf[0] == if v4 { 0 } else { 129 } => Outcome::Success(Vec::new()),
        Ok(_) => fail(),
    }
}

/// The Internet checksum (RFC 1071).
fn inet_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// keepalived's DNS query: random id, RD, one question `name`/`qtype`/IN.
pub fn dns_query(id: u16, d: &super::spec::DnsSpec) -> Vec<u8> {
    let mut q = Vec::with_capacity(32 + d.name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes());
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    if d.name == "." {
        q.push(0);
    } else {
        for label in d.name.split('.').filter(|l| !l.is_empty()) {
            q.push(label.len().min(63) as u8);
            q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
        }
        q.push(0);
    }
    q.extend_from_slice(&d.qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// DNS_CHECK (`check_dns.c`): one query over UDP; the answer with our id and QR set must
/// have rcode 0. Failures carry keepalived's reason text.
pub async fn dns(spec: &CheckSpec, d: &super::spec::DnsSpec) -> Outcome {
    let Ok(sock) = dgram(spec, socket2::Protocol::UDP, true) else {
        return Outcome::Failure("failed to create socket.".into());
    };
    if sock.connect(spec.target).await.is_err() {
        return Outcome::Failure("failed to connect socket.".into());
    }
    let id = (crate::sys::clock::wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0)
        ^ ICMP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u32) as u16;
    let q = dns_query(id, d);
    match sock.send(&q).await {
        Ok(n) if n == q.len() => {}
        Ok(_) => return Outcome::Failure("failed to write all of the datagram.".into()),
        Err(_) => return Outcome::Failure("failed to write socket.".into()),
    }
    let deadline = tokio::time::Instant::now() + spec.connect_timeout;
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_) => return Outcome::Failure("read timeout from socket".into()),
            Ok(Err(e)) => {
                let errno = e.raw_os_error().unwrap_or(0);
                return Outcome::Failure(format!(
                    "failed to read socket; errno {errno} ({})",
                    nix::errno::Errno::from_raw(errno).desc()
                ));
            }
            Ok(Ok(n)) => {
                if n < 12 || buf[0..2] != id.to_be_bytes() || buf[2] & 0x80 == 0 {
                    continue;
                }
                let rcode = buf[3] & 0x0f;
                if rcode != 0 {
                    return Outcome::Failure(format!("read error occurred. (rcode = {rcode})"));
                }
                return Outcome::Success(Vec::new());
            }
        }
    }
}

/// SMTP_CHECK (`check_smtp.c`): banner 220, `HELO name` -> 250, `QUIT` and its answer.
/// Failures carry keepalived's reason with the server as `[ip]:port`.
pub async fn smtp(spec: &CheckSpec, helo: &str) -> Outcome {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = format!("[{}]:{}", spec.target.ip(), spec.target.port());
    let f = |what: &str| Outcome::Failure(format!("{what} server {host}"));
    let mut s = match connect(spec).await {
        Ok(s) => s,
        Err(ConnectError::Timeout) => return f("Connection timeout to"),
        Err(ConnectError::Io(_)) => return f("Error connecting to"),
    };
    let to = spec.connect_timeout;
    // one line (keepalived reads until a newline, then looks at the start of its buffer)
    async fn line(s: &mut TcpStream, to: Duration) -> Result<Vec<u8>, &'static str> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        while !buf.contains(&b'\n') {
            match tokio::time::timeout(to, s.read(&mut chunk)).await {
                Err(_) => return Err("Read timeout from"),
                Ok(Ok(0)) | Ok(Err(_)) => return Err("Read failure from"),
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 4096 {
                buf.clear();
            }
        }
        Ok(buf)
    }
    fn status(b: &[u8]) -> Option<u16> {
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits != 3 || !matches!(b.get(3), None | Some(b' ')) {
            return None;
        }
        std::str::from_utf8(&b[..3]).ok()?.parse().ok()
    }
    async fn put(s: &mut TcpStream, to: Duration, l: &[u8]) -> Result<(), &'static str> {
        match tokio::time::timeout(to, s.write_all(l)).await {
            Err(_) => Err("Write timeout to"),
            Ok(Err(_)) => Err("Write failure to"),
            Ok(Ok(())) => Ok(()),
        }
    }
    let banner = match line(&mut s, to).await {
        Ok(b) => b,
        Err(e) => return f(e),
    };
    if status(&banner) != Some(220) {
        return f("Bad greeting banner from");
    }
    if let Err(e) = put(&mut s, to, format!("HELO {helo}\r\n").as_bytes()).await {
        return f(e);
    }
    match line(&mut s, to).await {
        Ok(b) if status(&b) == Some(250) => {}
        Ok(_) => return f("Bad HELO response from"),
        Err(e) => return f(e),
    }
    if let Err(e) = put(&mut s, to, b"QUIT\r\n").await {
        return f(e);
    }
    match line(&mut s, to).await {
        Ok(_) => Outcome::Success(Vec::new()),
        Err(e) => f(e),
    }
}

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    Timeout,
    Io(std::io::Error),
}

/// Opens a TCP connection with the checker's source address, interface and mark.
pub async fn connect(spec: &CheckSpec) -> Result<TcpStream, ConnectError> {
    let sock = if spec.target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(ConnectError::Io)?;
    {
        let r = socket2::SockRef::from(&sock);
        if let Some(m) = spec.fwmark {
            r.set_mark(m).map_err(ConnectError::Io)?;
        }
        if let Some(i) = &spec.bind_if {
            r.bind_device(Some(i.as_bytes()))
                .map_err(ConnectError::Io)?;
        }
    }
    if let Some(b) = spec.bind {
        sock.bind(b).map_err(ConnectError::Io)?;
    }
    match tokio::time::timeout(spec.connect_timeout, sock.connect(spec.target)).await {
        Err(_) => Err(ConnectError::Timeout),
        Ok(Err(e)) => Err(ConnectError::Io(e)),
        Ok(Ok(s)) => Ok(s),
    }
}

/// TCP_CHECK: a connect within `connect_timeout`.
pub async fn tcp(spec: &CheckSpec) -> Outcome {
    match connect(spec).await {
        Ok(_) => Outcome::Success(Vec::new()),
        Err(ConnectError::Timeout) => Outcome::Failure("timeout".into()),
        Err(ConnectError::Io(_)) => Outcome::Failure("failed".into()),
    }
}

/// TLS client configurations for SSL_GET (with and without SNI).
#[derive(Clone)]
pub struct TlsConfigs {
    pub sni: Arc<rustls::ClientConfig>,
    pub no_sni: Arc<rustls::ClientConfig>,
}

impl TlsConfigs {
    pub fn new() -> Result<TlsConfigs, rustls::Error> {
        Self::build(None)
    }

    /// With the top-level `SSL { certificate; key }` as the client certificate (keepalived's
    /// `SSL_CTX_use_certificate_chain_file` / `SSL_CTX_use_PrivateKey_file`). Like keepalived,
    /// `ca` does not make the server's certificate verified (it never sets SSL_VERIFY_PEER).
    /// A certificate or key that cannot be read is an error; a `password`-protected key is not
    /// supported (rustls reads unencrypted PEM keys only).
    pub fn from_ssl(ssl: Option<&crate::model::Ssl>) -> Result<TlsConfigs, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let Some(ssl) = ssl else {
            return Self::build(None).map_err(|e| e.to_string());
        };
        let (Some(cert), Some(key)) = (&ssl.certificate, &ssl.key) else {
            return Self::build(None).map_err(|e| e.to_string());
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("SSL error: cannot load certificate file {cert}: {e}"))?;
        if chain.is_empty() {
            return Err(format!("SSL error: no certificate in {cert}"));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("SSL error: cannot load key file {key}: {e}"))?;
        Self::build(Some((chain, key))).map_err(|e| format!("SSL error: {e}"))
    }

    fn build(
        client: Option<(
            Vec<rustls::pki_types::CertificateDer<'static>>,
            rustls::pki_types::PrivateKeyDer<'static>,
        )>,
    ) -> Result<TlsConfigs, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let make = |sni: bool| -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
            let b = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider.clone())));
            let mut c = match &client {
                Some((chain, key)) => b.with_client_auth_cert(chain.clone(), key.clone_key())?,
                None => b.with_no_client_auth(),
            };
            c.enable_sni = sni;
            Ok(Arc::new(c))
        };
        Ok(TlsConfigs {
            sni: make(true)?,
            no_sni: make(false)?,
        })
    }
}

/// keepalived's SSL_GET does not verify the server's certificate.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One GET's result, before it is judged against a url's expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// The response as read from the connection (status line, headers, body): what
    /// keepalived searches a url's `regex` in.
    pub raw: Vec<u8>,
}

/// A connection that keeps a copy of everything read from it.
struct Recorder<S> {
    inner: S,
    seen: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = &r {
            if let Ok(mut seen) = self.seen.lock() {
                seen.extend_from_slice(&buf.filled()[before..]);
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Fetched {
    /// Lower-case hex MD5 of the body (what `genhash` prints).
    pub fn md5_hex(&self) -> String {
        hex(&Md5::digest(&self.body))
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// keepalived's reason texts (`timeout_epilog`).
pub const TIMEOUT_CONNECTING: &str = "Timeout connecting";
pub const ERROR_CONNECTING: &str = "Error connecting";
pub const CONNECTION_FAILED: &str = "Connection failed";
pub const CANNOT_SEND: &str = "Cannot send get request to";
pub const TIMEOUT_READ: &str = "Timeout HTTP read";
pub const NO_DATA: &str = "Read, no data received from ";
pub const STATUS_ERROR: &str = "HTTP status code error to";
pub const DIGEST_ERROR: &str = "MD5 digest error to";
pub const REGEX_ERROR: &str = "Regex match failed";

/// The `Host:` header keepalived sends: the virtualhost, else `ip:port` (`[ip6]:port`).
pub fn host_header(target: SocketAddr, vhost: Option<&str>) -> String {
    match vhost {
        Some(v) => v.to_string(),
        None => target.to_string(),
    }
}

/// Performs one GET of `path` on an open connection. The error is keepalived's reason text.
pub async fn get<S>(
    io: S,
    path: &str,
    host: &str,
    protocol: HttpProtocol,
    timeout: Duration,
) -> Result<Fetched, &'static str>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let io = Recorder {
        inner: io,
        seen: Arc::clone(&seen),
    };
    let fut = async move {
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|_| CANNOT_SEND)?;
        let conn = tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(hyper::Method::GET)
            .uri(path)
            .version(match protocol {
                HttpProtocol::Http11 => hyper::Version::HTTP_11,
                _ => hyper::Version::HTTP_10,
            })
            .header("User-Agent", "KeepAliveClient");
        if protocol != HttpProtocol::Http10 {
            req = req.header("Connection", "close");
        }
        let req = req
            .header("Host", host)
            .body(Empty::<Bytes>::new())
            .map_err(|_| CANNOT_SEND)?;
        let resp = sender.send_request(req).await.map_err(|_| CANNOT_SEND)?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|_| NO_DATA)?
            .to_bytes()
            .to_vec();
        conn.abort();
        let raw = seen.lock().map(|v| v.clone()).unwrap_or_default();
        Ok(Fetched { status, body, raw })
    };
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(TIMEOUT_READ),
        Ok(r) => r,
    }
}

/// Connects (TCP, then TLS for SSL_GET) and GETs one url.
pub async fn fetch(
    spec: &CheckSpec,
    http: &HttpSpec,
    url: &UrlSpec,
    tls: &TlsConfigs,
) -> Result<Fetched, &'static str> {
    let stream = match connect(spec).await {
        Ok(s) => s,
        Err(ConnectError::Timeout) => return Err(TIMEOUT_CONNECTING),
        Err(ConnectError::Io(_)) => return Err(ERROR_CONNECTING),
    };
    let vhost = url.virtualhost.as_deref().or(http.virtualhost.as_deref());
    let host = host_header(spec.target, vhost);
    if !http.tls {
        return get(
            stream,
            &url.path,
            &host,
            http.protocol,
            spec.connect_timeout,
        )
        .await;
    }
    let (config, name) = match (http.enable_sni, vhost) {
        (true, Some(v)) => match rustls::pki_types::ServerName::try_from(v.to_string()) {
            Ok(n) => (tls.sni.clone(), n),
            Err(_) => (tls.no_sni.clone(), spec.target.ip().into()),
        },
        _ => (tls.no_sni.clone(), spec.target.ip().into()),
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let tls_stream =
        match tokio::time::timeout(spec.connect_timeout, connector.connect(name, stream)).await {
            Err(_) => return Err(TIMEOUT_CONNECTING),
            Ok(Err(_)) => return Err(CONNECTION_FAILED),
            Ok(Ok(s)) => s,
        };
    get(
        tls_stream,
        &url.path,
        &host,
        http.protocol,
        spec.connect_timeout,
    )
    .await
}

/// HTTP_GET / SSL_GET: every url must answer with an accepted status (and digest).
pub async fn http(spec: &CheckSpec, http: &HttpSpec, tls: &TlsConfigs) -> Outcome {
    let mut notes = Vec::new();
    for url in &http.urls {
        let f = match fetch(spec, http, url, tls).await {
            Ok(f) => f,
            Err(reason) => return Outcome::Failure(reason.into()),
        };
        if !url.status_ok(f.status) {
            return Outcome::Failure(STATUS_ERROR.into());
        }
        let mut what = "HTTP status code";
        if let Some(d) = &url.digest {
            if !f.md5_hex().eq_ignore_ascii_case(d) {
                return Outcome::Failure(DIGEST_ERROR.into());
            }
            what = "MD5 digest";
        }
        if let Some(r) = &url.regex {
            if !r.passes(&f.raw) {
                return Outcome::Failure(REGEX_ERROR.into());
            }
            what = "Regex match";
        }
        notes.push((what, url.path.clone()));
    }
    Outcome::Success(notes)
}

/// MISC_CHECK: runs the script through [`crate::exec`] (keepalived's child set-up: its own
/// process group, default signal dispositions and an empty signal mask, the configured user);
/// after `misc_timeout` SIGTERM to the group, 2 s later SIGKILL (keepalived's escalation).
pub async fn misc(m: &MiscSpec) -> MiscExit {
    if m.script.args.is_empty() {
        return MiscExit::Status(127);
    }
    let creds = match &m.script.user {
        Some(u) => crate::exec::resolve_user(u, m.script.group.as_deref())
            .unwrap_or_else(|_| crate::exec::Credentials::current()),
        None => crate::exec::Credentials::current(),
    };
    let cmd = crate::exec::Command::new(m.script.args.clone(), creds);
    let mut child = match crate::exec::spawn(&cmd) {
        Ok(c) => c,
        // keepalived's forked child exits 127 when execve fails
        Err(_) => return MiscExit::Status(127),
    };
    // A check abandoned mid-run (stop, reload) takes its script's whole group with it.
    let mut guard = KillGroupOnDrop(child.id());
    let pid = child.id().map(|p| nix::unistd::Pid::from_raw(p as i32));
    let status = match tokio::time::timeout(m.timeout, child.wait()).await {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => return MiscExit::Status(127),
        Err(_) => {
            if let Some(pid) = pid {
                let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGTERM);
            }
            match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    if let Some(pid) = pid {
                        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
                    }
                    let _ = child.wait().await;
                }
            }
            guard.0 = None;
            return MiscExit::TimedOut;
        }
    };
    guard.0 = None;
    match (status.code(), status.signal()) {
        (Some(c), _) => MiscExit::Status(c),
        (None, Some(s)) => MiscExit::Signal(s),
        _ => MiscExit::Status(1),
    }
}

/// SIGKILLs a script's process group if its check is dropped before the script was reaped.
struct KillGroupOnDrop(Option<u32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
