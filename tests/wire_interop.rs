//! Our encoder against real keepalived 2.2.7, in the direction the captures do not cover:
//! keepalived runs as BACKUP (priority 100) in a namespace, we send it adverts built by
//! `Repr::to_ipv4_datagram` (priority 200) and it must accept them, i.e. stay BACKUP and log
//! no packet error, well past the ~3.6 s after which it would take over on silence.
//!
//! Needs root, iproute2 and /usr/sbin/keepalived: `cargo test --test wire_interop -- --ignored`.
//! Namespaces are named kwireI*, addresses are 10.78.0.0/24; only processes started here are
//! signalled.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keepalived_rs::wire::vrrp::{Auth, ChecksumMode, Repr, Version, MCAST_V4};

const KA: &str = "/usr/sbin/keepalived";

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("run ip");
    assert!(st.success(), "ip {args:?}");
}

struct Lab {
    ka: Option<Child>,
    dir: std::path::PathBuf,
    namespaces: [String; 2],
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.ka.take() {
            let pid = i32::try_from(c.id()).expect("pid fits");
            // SAFETY: plain kill(2) on the child we spawned.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            std::thread::sleep(Duration::from_millis(1500));
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends `datagram` from a raw IP_HDRINCL socket inside namespace `ns`, `count` times a second.
fn send_in_netns(ns: &str, datagram: Vec<u8>, count: usize, every: Duration) {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        let f = File::open(format!("/var/run/netns/{ns}")).expect("netns file");
        // SAFETY: setns affects only this thread, which we own; the fd is valid.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        // SAFETY: plain socket calls with checked return values.
        unsafe {
            let s = libc::socket(libc::AF_INET, libc::SOCK_RAW, 112);
            assert!(s >= 0, "raw socket");
            let one: libc::c_int = 1;
            let rc = libc::setsockopt(
                s,
                libc::IPPROTO_IP,
                libc::IP_HDRINCL,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "IP_HDRINCL");
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(MCAST_V4).to_be();
            for _ in 0..count {
                let n = libc::sendto(
                    s,
                    datagram.as_ptr().cast(),
                    datagram.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                );
                assert_eq!(n, datagram.len() as isize, "sendto");
                std::thread::sleep(every);
            }
            libc::close(s);
        }
    })
    .join()
    .expect("sender thread");
}

/// Runs keepalived with `conf_body`, feeds it `repr` for 6 s and returns its log, or `None`
/// when the environment cannot run the test.
fn run(name: &str, conf_body: &str, repr: &Repr, mode: ChecksumMode) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !std::path::Path::new(KA).exists() {
        eprintln!("skipping: needs root and {KA}");
        return None;
    }
    // One pair of namespaces per test, so the tests may run in parallel.
    let (ns_ka, ns_us) = (format!("kwireI{name}k"), format!("kwireI{name}u"));
    let (ka_ns, us_ns) = (ns_ka.as_str(), ns_us.as_str());
    let dir = std::env::temp_dir().join(format!("kwire-interop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let mut lab = Lab {
        ka: None,
        dir,
        namespaces: [ns_ka.clone(), ns_us.clone()],
    };
    ip(&["netns", "add", ka_ns]);
    ip(&["netns", "add", us_ns]);
    ip(&[
        "-n", ka_ns, "link", "add", "kwi0", "type", "veth", "peer", "name", "kwi1", "netns", us_ns,
    ]);
    ip(&["-n", ka_ns, "addr", "add", "10.78.0.1/24", "dev", "kwi0"]);
    ip(&["-n", us_ns, "addr", "add", "10.78.0.2/24", "dev", "kwi1"]);
    ip(&["-n", ka_ns, "link", "set", "kwi0", "up"]);
    ip(&["-n", us_ns, "link", "set", "kwi1", "up"]);
    ip(&["-n", us_ns, "route", "add", "224.0.0.0/4", "dev", "kwi1"]);

    let conf = lab.dir.join("ka.conf");
    std::fs::write(&conf, conf_body).expect("write conf");
    let log = lab.dir.join("ka.log");
    let d = lab.dir.display().to_string();
    let child = Command::new("ip")
        .args(["netns", "exec", ka_ns, KA, "-n", "-l", "-D", "-f"])
        .arg(&conf)
        .args(["-p", &format!("{d}/ka.pid"), "-r", &format!("{d}/vrrp.pid")])
        .args([
            "-c",
            &format!("{d}/check.pid"),
            "-b",
            &format!("{d}/bfd.pid"),
        ])
        .stdout(Stdio::null())
        // -l: keepalived logs to the console, on stderr.
        .stderr(File::create(&log).expect("log"))
        .spawn()
        .expect("start keepalived");
    lab.ka = Some(child);

    let dgram = repr
        .to_ipv4_datagram(Ipv4Addr::new(10, 78, 0, 2), MCAST_V4, 255, 0, mode)
        .expect("emit");
    // 6 s of adverts at the configured interval: far past keepalived's 3.6 s master-down timer.
    let every = Duration::from_millis(u64::from(repr.advert_int_cs) * 10);
    let count = usize::try_from(6000 / (u64::from(repr.advert_int_cs) * 10)).expect("small");
    send_in_netns(us_ns, dgram, count, every);

    Some(std::fs::read_to_string(&log).expect("read log"))
}

/// keepalived heard our adverts as a valid higher-priority master.
fn assert_accepted(name: &str, text: &str) {
    assert!(
        text.contains("Entering BACKUP STATE"),
        "{name}: keepalived log:\n{text}"
    );
    assert!(
        !text.contains("Entering MASTER STATE"),
        "{name}: keepalived ignored our adverts and took over:\n{text}"
    );
    for bad in [
        "checksum",
        "invalid",
        "too short",
        "too long",
        "mismatch",
        "wrong version",
    ] {
        assert!(
            !text.contains(bad),
            "{name}: keepalived complained ({bad}):\n{text}"
        );
    }
}

fn conf(version: u8, vrid: u8, advert: &str, auth: &str) -> String {
    format!(
        "global_defs {{\n    router_id kwireI\n    vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface kwi0\n    virtual_router_id {vrid}\n\
         \x20   priority 100\n    advert_int {advert}\n{auth}    virtual_ipaddress {{\n\
         \x20       10.78.0.100/24\n        10.78.0.101/24\n    }}\n}}\n"
    )
}

fn vips() -> Vec<std::net::IpAddr> {
    vec![
        Ipv4Addr::new(10, 78, 0, 100).into(),
        Ipv4Addr::new(10, 78, 0, 101).into(),
    ]
}

#[test]
#[ignore = "needs root, iproute2 and keepalived; run with --ignored"]
fn keepalived_accepts_our_v2_pass_adverts() {
    let auth =
        "    authentication {\n        auth_type PASS\n        auth_pass kwire-pw-long\n    }\n";
    let repr = Repr {
        version: Version::V2,
        vrid: 61,
        priority: 200,
        advert_int_cs: 100,
        auth: Auth::pass(b"kwire-pw-long"),
        addrs: vips(),
    };
    if let Some(log) = run("v2", &conf(2, 61, "1", auth), &repr, ChecksumMode::Rfc) {
        assert_accepted("v2", &log);
    }
}

/// The control: the same setup with a wrong password must fail, or the tests above prove
/// nothing.
#[test]
#[ignore = "needs root, iproute2 and keepalived; run with --ignored"]
fn keepalived_rejects_our_advert_with_a_wrong_password() {
    let auth =
        "    authentication {\n        auth_type PASS\n        auth_pass kwire-pw-long\n    }\n";
    let repr = Repr {
        version: Version::V2,
        vrid: 63,
        priority: 200,
        advert_int_cs: 100,
        auth: Auth::pass(b"other-pw"),
        addrs: vips(),
    };
    if let Some(log) = run("bad", &conf(2, 63, "1", auth), &repr, ChecksumMode::Rfc) {
        assert!(log.contains("received an invalid passwd!"), "{log}");
        assert!(log.contains("Entering MASTER STATE"), "{log}");
    }
}

/// keepalived 2.2.7 includes the pseudo-header in v3/IPv4 checksums: a v2-style sum
/// (`v3_checksum_as_v2`) is rejected by it.
#[test]
#[ignore = "needs root, iproute2 and keepalived; run with --ignored"]
fn keepalived_227_rejects_v3_checksum_as_v2() {
    let repr = Repr {
        version: Version::V3,
        vrid: 64,
        priority: 200,
        advert_int_cs: 50,
        auth: Auth::None,
        addrs: vips(),
    };
    if let Some(log) = run("v3v2", &conf(3, 64, "0.5", ""), &repr, ChecksumMode::V3AsV2) {
        assert!(log.contains("Invalid VRRPv3 checksum"), "{log}");
    }
}

#[test]
#[ignore = "needs root, iproute2 and keepalived; run with --ignored"]
fn keepalived_accepts_our_v3_ipv4_adverts() {
    let repr = Repr {
        version: Version::V3,
        vrid: 62,
        priority: 200,
        advert_int_cs: 50,
        auth: Auth::None,
        addrs: vips(),
    };
    if let Some(log) = run("v3", &conf(3, 62, "0.5", ""), &repr, ChecksumMode::Rfc) {
        assert_accepted("v3", &log);
    }
}
