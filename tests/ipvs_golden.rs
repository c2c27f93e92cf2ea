//! Golden bytes: what Debian's ipvsadm 1.31 sent to and received from a real kernel (6.1)
//! for representative commands, captured by tests/vm/capture-golden.sh into
//! tests/fixtures/ipvs/*.nl. Our encoder must produce the same attribute payloads (for key-only
//! requests, where ipvsadm pads the message with attributes the kernel ignores, the same key
//! attributes), and our decoder must read the kernel's replies, dumps included.

use std::collections::BTreeSet;
use std::net::IpAddr;

use keepalived_rs::ipvs::msg::{attr, cmd, emit_attrs, parse_reply, Reply, Request};
use keepalived_rs::ipvs::*;

const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const GENL_ID_CTRL: u16 = 0x10;

#[derive(Debug, Clone)]
struct Msg {
    sent: bool,
    ty: u16,
    flags: u16,
    /// Everything after the 16-byte nlmsghdr.
    payload: Vec<u8>,
}

impl Msg {
    fn is_ipvs(&self) -> bool {
        self.ty > GENL_ID_CTRL
    }
    fn cmd(&self) -> u8 {
        self.payload[0]
    }
    fn attrs(&self) -> &[u8] {
        &self.payload[4..]
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fixture(name: &str) -> Vec<Msg> {
    let path = format!(
        "{}/tests/fixtures/ipvs/{name}.nl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            let b = unhex(hex.trim());
            Msg {
                sent: dir == ">",
                ty: u16::from_le_bytes([b[4], b[5]]),
                flags: u16::from_le_bytes([b[6], b[7]]),
                payload: b[16..].to_vec(),
            }
        })
        .collect()
}

/// The IPVS requests ipvsadm sent, minus its GET_INFO version probe.
fn sent(name: &str) -> Vec<Msg> {
    fixture(name)
        .into_iter()
        .filter(|m| m.sent && m.is_ipvs() && m.cmd() != cmd::GET_INFO)
        .collect()
}

/// The kernel's IPVS messages (replies and dump entries) after ipvsadm's version probe.
fn received(name: &str) -> Vec<Msg> {
    fixture(name)
        .into_iter()
        .filter(|m| !m.sent && m.is_ipvs() && m.cmd() != cmd::SET_INFO)
        .collect()
}

/// Top-level attributes: (type without flags, flags, value).
fn tlvs(b: &[u8]) -> Vec<(u16, u16, Vec<u8>)> {
    let mut v = Vec::new();
    let mut off = 0;
    while off + 4 <= b.len() {
        let len = u16::from_le_bytes([b[off], b[off + 1]]) as usize;
        let ty = u16::from_le_bytes([b[off + 2], b[off + 3]]);
        v.push((ty & 0x3fff, ty & 0xc000, b[off + 4..off + len].to_vec()));
        off += (len + 3) & !3;
    }
    assert_eq!(off, b.len(), "attribute stream ends cleanly");
    v
}

/// Re-encodes `attrs` keeping, inside each nested attribute of type `nest`, only the
/// attribute types in `keep` (ipvsadm sends whole structs where the kernel reads a key).
fn only(attrs: &[u8], nest: u16, keep: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ty, flags, v) in tlvs(attrs) {
        let v = if ty == nest {
            tlvs(&v)
                .into_iter()
                .filter(|(t, _, _)| keep.contains(t))
                .flat_map(|(t, f, v)| raw_attr(t | f, &v))
                .collect()
        } else {
            v
        };
        out.extend(raw_attr(ty | flags, &v));
    }
    out
}

fn raw_attr(ty: u16, v: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend(((v.len() + 4) as u16).to_le_bytes());
    a.extend(ty.to_le_bytes());
    a.extend(v);
    a.resize((a.len() + 3) & !3, 0);
    a
}

const SVC_KEY: &[u16] = &[
    attr::SVC_AF,
    attr::SVC_PROTOCOL,
    attr::SVC_ADDR,
    attr::SVC_PORT,
    attr::SVC_FWMARK,
];
const DEST_KEY: &[u16] = &[attr::DEST_ADDR_FAMILY, attr::DEST_ADDR, attr::DEST_PORT];

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn check_exact(name: &str, req: &Request) {
    let msgs = sent(name);
    assert_eq!(msgs.len(), 1, "{name}: one IPVS request");
    let m = &msgs[0];
    assert_eq!(m.cmd(), req.command(), "{name}: command");
    assert_eq!(m.payload, req.to_genl_bytes(), "{name}: genl payload");
    let want_flags = NLM_F_REQUEST | NLM_F_ACK | if req.is_dump() { NLM_F_DUMP } else { 0 };
    assert_eq!(m.flags, want_flags, "{name}: nlmsg flags");
}

/// Like `check_exact`, with the key-only nested attributes compared as keys.
fn check_keys(name: &str, req: &Request, filters: &[(u16, &[u16])]) {
    let msgs = sent(name);
    assert_eq!(msgs.len(), 1, "{name}: one IPVS request");
    let m = &msgs[0];
    assert_eq!(m.cmd(), req.command(), "{name}: command");
    let mut theirs = m.attrs().to_vec();
    for (nest, keep) in filters {
        theirs = only(&theirs, *nest, keep);
    }
    let ours = emit_attrs(&req.attrs());
    assert_eq!(hex(&theirs), hex(&ours), "{name}: attributes");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn web() -> ServiceKey {
    ServiceKey::tcp(ip("192.168.10.1"), 80)
}
fn dns() -> ServiceKey {
    ServiceKey::udp(ip("192.168.10.2"), 53)
}
fn fwm42() -> ServiceKey {
    ServiceKey::Fwmark {
        family: Family::V4,
        mark: 42,
    }
}
fn v6web() -> ServiceKey {
    ServiceKey::tcp(ip("2001:db8::1"), 443)
}
fn sip() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Sctp,
        addr: ip("192.168.10.3"),
        port: 5060,
    }
}

fn svc_web_initial() -> Service {
    Service::new(web(), "wlc").persistent(300)
}
fn svc_web_edited() -> Service {
    let mut s = Service::new(web(), "rr").persistent(600);
    s.netmask = 0xFFFF_FF00;
    s
}
fn svc_dns() -> Service {
    let mut s = Service::new(dns(), "rr");
    s.flags = ServiceFlags(ServiceFlags::ONEPACKET);
    s
}
fn svc_fwm() -> Service {
    let mut s = Service::new(fwm42(), "sh");
    s.flags = ServiceFlags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK);
    s
}
fn svc_v6() -> Service {
    let mut s = Service::new(v6web(), "mh").persistent(60);
    s.flags = s.flags.with(ServiceFlags::MH_PORT);
    s.netmask = 64;
    s
}
fn svc_sip() -> Service {
    let mut s = Service::new(sip(), "lc").persistent(30);
    s.pe_name = Some("sip".into());
    s
}
fn dest_nat11(weight: u32) -> Dest {
    Dest {
        u_threshold: 100,
        l_threshold: 10,
        ..Dest::new(ip("10.0.0.11"), 8080, Forward::Nat, weight)
    }
}
fn dest_nat12() -> Dest {
    Dest::new(ip("10.0.0.12"), 8080, Forward::Nat, 1)
}
fn dest_dr21() -> Dest {
    Dest::new(ip("10.0.0.21"), 53, Forward::Dr, 1)
}
fn dest_gue31() -> Dest {
    Dest::new(
        ip("10.0.0.31"),
        0,
        Forward::Tun(Tunnel {
            kind: TunnelKind::Gue,
            port: 6080,
            csum: TunnelCsum::NoCsum,
        }),
        3,
    )
}
fn dest_v6() -> Dest {
    Dest::new(ip("2001:db8::10"), 443, Forward::Dr, 5)
}
fn daemon() -> SyncDaemon {
    SyncDaemon {
        maxlen: Some(1400),
        group: Some(ip("224.0.0.81")),
        port: Some(8848),
        ttl: Some(2),
        ..SyncDaemon::new(SyncState::Master, "lo", 7)
    }
}

#[test]
fn new_service_matches_ipvsadm() {
    check_exact(
        "svc_add_tcp_wlc_persist",
        &Request::NewService(svc_web_initial()),
    );
    check_exact("svc_add_udp_rr_ops", &Request::NewService(svc_dns()));
    check_exact("svc_add_fwmark_sh", &Request::NewService(svc_fwm()));
    check_exact("svc_add_v6_mh", &Request::NewService(svc_v6()));
}

#[test]
fn new_service_with_persistence_engine() {
    check_exact("svc_add_sctp_pe", &Request::NewService(svc_sip()));
}

#[test]
fn set_service_matches_ipvsadm() {
    check_exact("svc_edit", &Request::SetService(svc_web_edited()));
}

#[test]
fn dest_requests_match_ipvsadm() {
    let svc = [(attr::CMD_SERVICE, SVC_KEY)];
    check_keys(
        "dest_add_nat_thresholds",
        &Request::NewDest(web(), dest_nat11(2)),
        &svc,
    );
    check_keys("dest_add_dr", &Request::NewDest(dns(), dest_dr21()), &svc);
    check_keys(
        "dest_add_tun_gue",
        &Request::NewDest(fwm42(), dest_gue31()),
        &svc,
    );
    check_keys(
        "dest_add_v6_dr",
        &Request::NewDest(v6web(), dest_v6()),
        &svc,
    );
    check_keys(
        "dest_edit_weight",
        &Request::SetDest(web(), dest_nat11(7)),
        &svc,
    );
    check_keys(
        "dest_del",
        &Request::DelDest(web(), dest_nat12().key()),
        &[(attr::CMD_SERVICE, SVC_KEY), (attr::CMD_DEST, DEST_KEY)],
    );
}

#[test]
fn delete_and_flush_match_ipvsadm() {
    check_keys(
        "svc_del",
        &Request::DelService(dns()),
        &[(attr::CMD_SERVICE, SVC_KEY)],
    );
    check_exact("flush", &Request::Flush);
}

#[test]
fn config_matches_ipvsadm() {
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    check_exact("config_set", &Request::SetConfig(t));
    check_exact("config_get", &Request::GetConfig);
    let r = received("config_get");
    assert_eq!(r.len(), 1);
    assert_eq!(
        parse_reply(r[0].cmd(), r[0].attrs()).unwrap(),
        Reply::Config(t)
    );
}

#[test]
fn daemon_matches_ipvsadm() {
    check_exact("daemon_new", &Request::NewDaemon(daemon()));
    check_exact("daemon_dump", &Request::DumpDaemons);
    check_keys(
        "daemon_del",
        &Request::DelDaemon(SyncState::Master),
        &[(attr::CMD_DAEMON, &[attr::DAEMON_STATE])],
    );
    let r = received("daemon_dump");
    assert_eq!(r.len(), 1);
    assert_eq!(
        parse_reply(r[0].cmd(), r[0].attrs()).unwrap(),
        Reply::Daemon(daemon())
    );
}

#[test]
fn info_reply_decodes() {
    let info = fixture("flush")
        .into_iter()
        .find(|m| !m.sent && m.is_ipvs() && m.cmd() == cmd::SET_INFO)
        .expect("GET_INFO reply");
    assert_eq!(
        parse_reply(info.cmd(), info.attrs()).unwrap(),
        Reply::Info(Info {
            version: 0x010201,
            conn_tab_size: 4096
        })
    );
}

#[test]
fn dump_requests_match_ipvsadm_and_replies_decode() {
    let reqs = sent("dump_all");
    // first the service dump, then one dest dump per service, in the kernel's order
    assert_eq!(reqs[0].payload, Request::DumpServices.to_genl_bytes());
    assert_eq!(reqs[0].flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);

    let replies = received("dump_all");
    let mut services = Vec::new();
    let mut dests: Vec<Dest> = Vec::new();
    for m in &replies {
        match parse_reply(m.cmd(), m.attrs()).unwrap() {
            Reply::Service(s) => {
                assert_eq!(s.stats, Stats::default());
                services.push(s.service)
            }
            Reply::Dest(d) => {
                assert_eq!(d.active_conns + d.inactive_conns + d.persistent_conns, 0);
                dests.push(d.dest);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let want: BTreeSet<String> = [svc_web_edited(), svc_dns(), svc_fwm(), svc_v6(), svc_sip()]
        .iter()
        .map(|s| format!("{s:?}"))
        .collect();
    let got: BTreeSet<String> = services.iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(got, want);

    // each dest dump request names one service, key only, exactly as we encode it
    // (ipvsadm sorts the services before listing their dests, so compare as sets)
    let theirs: BTreeSet<String> = reqs[1..].iter().map(|r| hex(&r.payload)).collect();
    let ours: BTreeSet<String> = services
        .iter()
        .map(|s| hex(&Request::DumpDests(s.key).to_genl_bytes()))
        .collect();
    assert_eq!(theirs, ours);
    assert!(reqs[1..]
        .iter()
        .all(|r| r.flags == NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP));

    let all: BTreeSet<String> = dests.iter().map(|d| format!("{d:?}")).collect();
    let want: BTreeSet<String> = [
        dest_nat11(7),
        dest_nat12(),
        dest_dr21(),
        dest_gue31(),
        dest_v6(),
    ]
    .iter()
    .map(|d| format!("{d:?}"))
    .collect();
    assert_eq!(all, want);
}

#[test]
fn kernel_error_maps_to_not_found() {
    let err = fixture("svc_del_missing")
        .into_iter()
        .find(|m| !m.sent && m.ty == 2 && m.payload[..4] != [0, 0, 0, 0])
        .expect("an NLMSG_ERROR with a code");
    let code = i32::from_ne_bytes(err.payload[..4].try_into().unwrap());
    assert_eq!(code, -libc::ESRCH);
    let mapped = Error::from_errno(-code, "delete virtual server [192.168.10.2]:udp:53");
    assert!(matches!(mapped, Error::NotFound { errno, .. } if errno == libc::ESRCH));
    assert_eq!(
        mapped.to_string(),
        "delete virtual server [192.168.10.2]:udp:53: not found (No such process (os error 3))"
    );
    assert!(matches!(
        Error::from_errno(libc::EEXIST, "x"),
        Error::Exists { .. }
    ));
    assert!(matches!(
        Error::from_errno(libc::EINVAL, "x"),
        Error::Other { errno, .. } if errno == libc::EINVAL
    ));
}

/// Every prefix of every kernel reply decodes to a value or an error, never a panic.
#[test]
fn truncated_replies_never_panic() {
    let dir = format!("{}/tests/fixtures/ipvs", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().path();
        let stem = name.file_stem().unwrap().to_str().unwrap().to_string();
        for m in fixture(&stem).into_iter().filter(|m| m.is_ipvs()) {
            for cut in 0..m.attrs().len() {
                let _ = parse_reply(m.cmd(), &m.attrs()[..cut]);
                n += 1;
            }
            // and with every byte flipped in turn
            for i in 0..m.attrs().len() {
                let mut b = m.attrs().to_vec();
                b[i] ^= 0xff;
                let _ = parse_reply(m.cmd(), &b);
            }
        }
    }
    assert!(n > 1000);
}
