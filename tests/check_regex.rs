//! HTTP_GET `url { regex ... }` from the configuration to a verdict on a real HTTP server on
//! loopback. The expected verdicts are what Debian's keepalived 2.2.7 decided for the same
//! urls against the same response (headers and body sent in one write) in the IPVS VM.

use std::net::SocketAddr;
use std::path::PathBuf;

use keepalived_rs::check::core::Outcome;
use keepalived_rs::check::probe::{self, TlsConfigs};
use keepalived_rs::config::{load, LoadOptions};
use keepalived_rs::ipvs::desired::{self, LvsConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const BODY: &[u8] = b"hello world\n";

/// Answers every GET with a 200, an `X-Token: secret42` header and BODY, in one write.
async fn server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut c, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => n += k,
                    }
                }
                let mut r = format!(
                    "HTTP/1.0 200 OK\r\nX-Token: secret42\r\nContent-Length: {}\r\n\r\n",
                    BODY.len()
                )
                .into_bytes();
                r.extend_from_slice(BODY);
                let _ = c.write_all(&r).await;
            });
        }
    });
    addr
}

fn build(name: &str, text: &str) -> LvsConfig {
    let dir = std::env::temp_dir().join(format!("ka-regex-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join("keepalived.conf");
    std::fs::write(&p, text).unwrap();
    let l = load(&p, &LoadOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    desired::build(&l.model)
}

/// One virtual server per url, each url with the given regex lines.
fn config(addr: SocketAddr, urls: &[&str]) -> String {
    let mut s = String::new();
    for (i, u) in urls.iter().enumerate() {
        s += &format!(
            "virtual_server 10.0.0.{} 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n real_server {} {} {{\n  HTTP_GET {{\n   url {{\n    path /{i}\n    {u}\n   }}\n  }}\n }}\n}}\n",
            i + 1,
            addr.ip(),
            addr.port()
        );
    }
    s
}

async fn verdicts(c: &LvsConfig) -> Vec<Outcome> {
    let tls = TlsConfigs::new().unwrap();
    let mut out = Vec::new();
    for vs in &c.virtual_servers {
        out.push(probe::run(&vs.reals[0].checkers[0], &tls).await);
    }
    out
}

#[tokio::test]
async fn verdicts_match_keepalived() {
    let addr = server().await;
    let urls = [
        // the headers are searched too
        "regex \"secret42\"",
        // PCRE2_PARTIAL_HARD: `$` at the end of the response never completes
        "regex \"world$\"",
        // offsets count from the first byte of the response
        "regex \"hello\"\n    regex_min_offset 5",
        "regex \"hello\"\n    regex_max_offset 5",
        "regex \"nothere\"\n    regex_no_match",
        "regex \"HELLO\"\n    regex_options caseless",
        "regex \"world\\n\"",
        "regex \"^hello\"",
        "regex \"^hello\"\n    regex_options multiline",
        "regex \"o w\"\n    regex_no_match",
    ];
    let c = build("verdicts", &config(addr, &urls));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let got = verdicts(&c).await;
    let ok = |i: usize| Outcome::Success(vec![("Regex match", format!("/{i}"))]);
    let failed = || Outcome::Failure("Regex match failed".into());
    // keepalived 2.2.7: VS 1,3,5,6,7,9 up; 2,4,8,10 "Regex match failed"
    let want = vec![
        ok(0),
        failed(),
        ok(2),
        failed(),
        ok(4),
        ok(5),
        ok(6),
        failed(),
        ok(8),
        failed(),
    ];
    assert_eq!(got, want);
}

#[tokio::test]
async fn regex_after_digest_and_status() {
    let addr = server().await;
    use md5::Digest;
    let d = probe::hex(&md5::Md5::digest(BODY));
    let c = build(
        "digest",
        &config(
            addr,
            &[
                &format!("digest {d}\n    regex \"world\""),
                &format!("digest {d}\n    regex \"world\"\n    regex_no_match"),
                "status_code 404\n    regex \"world\"",
            ],
        ),
    );
    let got = verdicts(&c).await;
    assert_eq!(
        got,
        vec![
            Outcome::Success(vec![("Regex match", "/0".into())]),
            Outcome::Failure("Regex match failed".into()),
            Outcome::Failure("HTTP status code error to".into()),
        ]
    );
}

#[test]
fn keepalived_log_lines_and_unsupported_syntax() {
    let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
    let urls = [
        "regex_no_match\n    regex_min_offset 4",
        "regex \"abc\"\n    regex_options caseless bogus multiline\n    regex_min_offset 10\n    regex_max_offset 5",
        "regex \"x\" \"y\"\n    regex_max_offset 12x\n    regex_stack 10",
        "regex \"x\"\n    regex_stack 100 10",
        "regex \"(?<=ab)c\"",
        "regex \"c\"\n    regex_options alt_bsux",
    ];
    let c = build("logs", &config(addr, &urls));
    let w = &c.warnings;
    // keepalived's checker process logs these (Debian 2.2.7, same urls)
    let expect = [
        "regex parameters specified without regex",
        "regex min offset 10 > regex_max_offset 5 - ignoring",
        "regex missing or too many fields",
        "Invalid regex_max_offset 12x specified",
        "regex_stack requires start and max values",
        "regex parameters specified without regex",
        "regex stack start cannot exceed max value",
    ];
    let mut at = 0;
    for e in expect {
        let Some(p) = w[at..].iter().position(|x| x == e) else {
            panic!("{e:?} missing (in order) from {w:?}");
        };
        at += p + 1;
    }
    assert!(
        w.iter().any(|x| x.starts_with("Invalid regex: '(?<=ab)c'")
            && x.contains("url(/4) of [127.0.0.1]:tcp:80 is checked without it")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| x.starts_with("regex_options alt_bsux is not supported by keepalived-rs")),
        "{w:?}"
    );
    // every url still runs; the ones whose regex could not be used have none
    let regex_of = |i: usize| match &c.virtual_servers[i].reals[0].checkers[0].probe {
        keepalived_rs::check::spec::Probe::Http(h) => h.urls[0].regex.clone(),
        p => panic!("{p:?}"),
    };
    assert!(regex_of(0).is_none());
    let r1 = regex_of(1).expect("abc");
    assert_eq!((r1.min_offset, r1.max_start), (0, None));
    assert!(regex_of(2).is_none());
    assert!(regex_of(4).is_none());
    assert!(regex_of(5).is_some());
}
