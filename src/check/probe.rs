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
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let make = |sni: bool| -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
            let mut c = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider.clone())))
                .with_no_client_auth();
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
        Ok(Fetched { status, body })
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
        match &url.digest {
            Some(d) => {
                if !f.md5_hex().eq_ignore_ascii_case(d) {
                    return Outcome::Failure(DIGEST_ERROR.into());
                }
                notes.push(("MD5 digest", url.path.clone()));
            }
            None => notes.push(("HTTP status code", url.path.clone())),
        }
    }
    Outcome::Success(notes)
}

/// MISC_CHECK: runs the script (no shell), in its own process group; after `misc_timeout`
/// SIGTERM to the group, 2 s later SIGKILL (keepalived's escalation).
pub async fn misc(m: &MiscSpec) -> MiscExit {
    let Some(prog) = m.script.args.first() else {
        return MiscExit::Status(127);
    };
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(&m.script.args[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = &m.script.user {
        if let Ok(Some(u)) = nix::unistd::User::from_name(user) {
            let gid = m
                .script
                .group
                .as_deref()
                .and_then(|g| nix::unistd::Group::from_name(g).ok().flatten())
                .map(|g| g.gid)
                .unwrap_or(u.gid);
            cmd.uid(u.uid.as_raw()).gid(gid.as_raw());
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        // keepalived's forked child exits 127 when execve fails
        Err(_) => return MiscExit::Status(127),
    };
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
            return MiscExit::TimedOut;
        }
    };
    match (status.code(), status.signal()) {
        (Some(c), _) => MiscExit::Status(c),
        (None, Some(s)) => MiscExit::Signal(s),
        _ => MiscExit::Status(1),
    }
}
