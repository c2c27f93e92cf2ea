//! `keepalived -T` / `genhash`: fetch a URL the way HTTP_GET/SSL_GET do and print the MD5 of
//! its body (the value for `digest`). Options as keepalived 2.2.7:
//! `-s server -p port -u url [-S] [-I] [-V vhost] [-P 1.0|1.0C|1.1] [-t secs] [-m mark] [-v]`.
//! Like keepalived it prints the digest whatever the status code, and exits 0.

use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::model::CheckerKind;

use super::probe::{self, TlsConfigs};
use super::spec::{CheckSpec, HttpProtocol, HttpSpec, Probe, UrlSpec};

/// keepalived's genhash usage text.
pub fn usage(prog: &str) -> String {
    let lines = [
        "Commands:",
        "   -s server-address -p port -u url",
        "   -S -s server-address -p port -u url",
        "   -h",
        "",
        "Options:",
        "Either long or short options are allowed.",
        "   --use-ssl         -S       Use SSL connection to remote server.",
        "   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).",
        "   --server          -s       Use the specified remote server address.",
        "   --port            -p       Use the specified remote server port.",
        "   --url             -u       Use the specified remote server url.",
        "   --use-virtualhost -V       Use the specified virtualhost in GET query.",
        "   --verbose         -v       Use verbose mode output.",
        "   --help            -h       Display this short inlined help screen.",
        "   --fwmark          -m       Use the specified FW mark.",
        "   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.",
        "                                1.0c means 1.0 with 'Connection: close'",
        "   --timeout         -t       Timeout in seconds",
    ];
    format!(
        "Usage: {prog} --genhash COMMAND [OPTIONS]\n{}\n",
        lines.join("\n")
    )
}

/// Parsed genhash options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub server: IpAddr,
    pub port: u16,
    pub url: String,
    pub ssl: bool,
    pub sni: bool,
    pub vhost: Option<String>,
    pub verbose: bool,
    pub fwmark: Option<u32>,
    pub protocol: HttpProtocol,
    pub timeout: Duration,
}

/// Reads the options after `-T` (or after argv\[0\] when run as `genhash`).
pub fn parse(args: &[OsString]) -> Result<Option<Options>, String> {
    let mut server = None;
    let mut port = None;
    let mut url = None;
    let mut o = Options {
        server: IpAddr::from([0, 0, 0, 0]),
        port: 0,
        url: String::new(),
        ssl: false,
        sni: false,
        vhost: None,
        verbose: false,
        fwmark: None,
        protocol: HttpProtocol::Http10,
        timeout: Duration::from_secs(5),
    };
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let val = |it: &mut dyn Iterator<Item = String>| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("Missing parameter for option {name}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "-S" | "--use-ssl" => o.ssl = true,
            "-I" | "--use-sni" => o.sni = true,
            "-v" | "--verbose" => o.verbose = true,
            "-s" | "--server" => {
                let v = val(&mut it)?;
                server = Some(
                    v.parse::<IpAddr>()
                        .map_err(|_| format!("server should be an IP, not {v}"))?,
                );
            }
            "-p" | "--port" => {
                let v = val(&mut it)?;
                port = Some(v.parse::<u16>().map_err(|_| format!("invalid port {v}"))?);
            }
            "-u" | "--url" => url = Some(val(&mut it)?),
            "-V" | "--use-virtualhost" => o.vhost = Some(val(&mut it)?),
            "-m" | "--fwmark" => {
                let v = val(&mut it)?;
                o.fwmark = Some(v.parse().map_err(|_| format!("invalid fwmark {v}"))?);
            }
            "-P" | "--protocol" => {
                o.protocol = match val(&mut it)?.as_str() {
                    "1.0" => HttpProtocol::Http10,
                    "1.0c" | "1.0C" => HttpProtocol::Http10Close,
                    "1.1" => HttpProtocol::Http11,
                    v => return Err(format!("invalid HTTP protocol version {v}")),
                }
            }
            "-t" | "--timeout" => {
                let v = val(&mut it)?;
                o.timeout = Duration::from_secs(
                    v.parse::<u64>()
                        .map_err(|_| format!("invalid timeout {v}"))?,
                );
            }
            other => return Err(format!("Unknown option {other}")),
        }
    }
    match (server, port, url) {
        (Some(s), Some(p), Some(u)) => {
            o.server = s;
            o.port = p;
            o.url = u;
            Ok(Some(o))
        }
        // keepalived prints only its usage when one is missing.
        _ => Ok(None),
    }
}

/// Fetches and returns what genhash prints (the digest line, or keepalived's failure text).
pub async fn compute(o: &Options) -> String {
    let spec = CheckSpec {
        kind: if o.ssl {
            CheckerKind::SslGet
        } else {
            CheckerKind::HttpGet
        },
        probe: Probe::Tcp,
        target: SocketAddr::new(o.server, o.port),
        bind: None,
        bind_if: None,
        fwmark: o.fwmark,
        connect_timeout: o.timeout,
        retry: 0,
        delay_loop: o.timeout,
        delay_before_retry: o.timeout,
        warmup: Duration::ZERO,
        alpha: false,
        log_all_failures: false,
    };
    let http = HttpSpec {
        tls: o.ssl,
        urls: Vec::new(),
        virtualhost: o.vhost.clone(),
        protocol: o.protocol,
        fast_recovery: false,
        enable_sni: o.sni,
    };
    let url = UrlSpec {
        path: o.url.clone(),
        digest: None,
        status: Vec::new(),
        virtualhost: None,
        regex: None,
    };
    let tls = match TlsConfigs::new() {
        Ok(t) => t,
        Err(e) => return format!("SSL initialisation failed: {e}"),
    };
    match probe::fetch(&spec, &http, &url, &tls).await {
        Ok(f) if f.body.is_empty() => "no data received from remote webserver".into(),
        Ok(f) => f.md5_hex(),
        Err(probe::ERROR_CONNECTING) => "Connection failed".into(),
        Err(reason) => reason.to_string(),
    }
}

/// The whole genhash mode: returns the exit status.
pub fn main(prog: &str, args: &[OsString]) -> u8 {
    let o = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            // `-h`, or server/port/url missing: keepalived prints its usage and exits 1.
            eprint!("{}", usage(prog));
            return 1;
        }
        Err(e) => {
            eprintln!("{e}");
            eprint!("{}", usage(prog));
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genhash: cannot start: {e}");
            return 1;
        }
    };
    let line = rt.block_on(compute(&o));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    0
}
