//! VRRP on a real (namespaced) LAN, our daemon against Debian's keepalived 2.2.7.
//!
//! Each test builds its own topology: a switch namespace with a bridge, two router
//! namespaces and a client namespace (tests/support/netns_lab.rs, names `wr<tag>S|A|B|C`), 10.99.0.0/24 inside them,
//! VIP 10.99.0.100. Routers run as `ip netns exec NS setsid BIN -n -l -D -G -f CONF -p .. -r ..`
//! with pid files in the test's temp dir. tcpdump on the bridge records adverts and ARP with
//! nanosecond stamps; takeover times are measured on the wire.
//!
//! Needs root, iproute2, tcpdump, ping and /usr/sbin/keepalived; skips with a message
//! otherwise. Everything a test creates (namespaces, processes, files) is removed by a Drop
//! guard, also on failure. Only processes the test started are signalled.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keepalived_rs::sys::clock;

#[path = "support/netns_lab.rs"]
mod netns_lab;
use netns_lab::{sh, wait_until, Impl};

const VIP: &str = "10.99.0.100";
const IP_A: &str = "10.99.0.1";
const IP_B: &str = "10.99.0.2";
const IP_C: &str = "10.99.0.10";
const VIP6: &str = "fd00:99::100";

fn can_run() -> bool {
    netns_lab::can_run(&["tcpdump", "ping"])
}

/// The shared lab (tests/support/netns_lab.rs: namespaces, bridge, routers, clean-up) plus a
/// tcpdump capture on the bridge. Drop stops tcpdump, then the lab tears everything down.
struct Lab {
    base: netns_lab::Lab,
    tcpdump: Option<Child>,
    pcap: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(t) = &mut self.tcpdump {
            let _ = t.kill();
            let _ = t.wait();
        }
    }
}

impl std::ops::Deref for Lab {
    type Target = netns_lab::Lab;
    fn deref(&self) -> &netns_lab::Lab {
        &self.base
    }
}

impl std::ops::DerefMut for Lab {
    fn deref_mut(&mut self) -> &mut netns_lab::Lab {
        &mut self.base
    }
}

struct Conf<'a> {
    state: &'a str,
    prio: u8,
    advert: &'a str,
    v3: bool,
    /// (our address, peer address) for unicast.
    unicast: Option<(&'a str, &'a str)>,
    /// IPv6 VIP (VRRPv3 over IPv6) instead of the IPv4 one.
    vip6: bool,
    /// Extra global_defs lines.
    globals: &'a str,
}

impl Conf<'_> {
    fn text(&self) -> String {
        let mut s = String::new();
        let v3 = if self.v3 { "    vrrp_version 3\n" } else { "" };
        s.push_str(&format!("global_defs {{\n{v3}{}\n}}\n", self.globals));
        s.push_str(&format!(
            "vrrp_instance VI_1 {{\n    state {}\n    interface vd0\n    virtual_router_id 51\n    priority {}\n    advert_int {}\n",
            self.state, self.prio, self.advert
        ));
        if !self.v3 {
            s.push_str(
                "    authentication {\n        auth_type PASS\n        auth_pass kl51pw\n    }\n",
            );
        }
        if let Some((src, peer)) = self.unicast {
            s.push_str(&format!(
                "    unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n"
            ));
        }
        let vip = if self.vip6 {
            format!("{VIP6}/64")
        } else {
            format!("{VIP}/24")
        };
        s.push_str(&format!(
            "    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        ));
        s
    }
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let base = netns_lab::Lab::new(tag, "10.99.0");
        Lab {
            pcap: base.path("bridge.pcap"),
            base,
            tcpdump: None,
        }
    }

    /// Starts router `r` ("A" or "B") with implementation `imp` and this config.
    fn start(&mut self, r: &str, imp: Impl, conf: &Conf) {
        self.base.start(r, imp, &conf.text());
    }

    fn mac(&self, r: &str) -> [u8; 6] {
        let out = sh(&["ip", "-n", &self.ns(r), "-br", "link", "show", "vd0"]);
        let m = out.split_whitespace().nth(2).expect("mac column");
        let mut mac = [0u8; 6];
        for (i, b) in m.split(':').enumerate().take(6) {
            mac[i] = u8::from_str_radix(b, 16).expect("hex");
        }
        mac
    }

    fn capture(&mut self) {
        let err = self.path("tcpdump.err");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns("S"),
                "tcpdump",
                "-i",
                "vdbr",
                "-n",
                "-U",
                "--immediate-mode",
                "-Z",
                "root",
            ])
            .args(["--time-stamp-precision=nano", "-s", "256", "-w"])
            .arg(&self.pcap)
            .arg("arp or ip proto 112 or icmp or ip6 proto 112 or icmp6")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("tcpdump log"))
            .spawn()
            .expect("tcpdump");
        self.tcpdump = Some(child);
        assert!(
            wait_until(Duration::from_secs(5), || std::fs::read_to_string(&err)
                .is_ok_and(|s| s.contains("listening on"))),
            "tcpdump did not start"
        );
    }

    fn vip_on(&self, r: &str) -> bool {
        Command::new("ip")
            .args(["-n", &self.ns(r), "-4", "-o", "addr", "show", "dev", "vd0"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{VIP}/")))
    }

    fn vip6_on(&self, r: &str) -> bool {
        Command::new("ip")
            .args(["-n", &self.ns(r), "-6", "-o", "addr", "show", "dev", "vd0"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{VIP6}/")))
    }

    fn link_local(&self, r: &str) -> String {
        let o = sh(&[
            "ip",
            "-n",
            &self.ns(r),
            "-6",
            "-o",
            "addr",
            "show",
            "dev",
            "vd0",
            "scope",
            "link",
        ]);
        let a = o.split_whitespace().nth(3).expect("link-local");
        a.split('/').next().expect("addr").to_string()
    }

    fn ping_vip(&self) -> bool {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns("C"),
                "ping",
                "-c",
                "1",
                "-W",
                "1",
                VIP,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The MAC the client's neighbour table has for the VIP.
    fn client_neigh(&self) -> Option<String> {
        let o = sh(&["ip", "-n", &self.ns("C"), "neigh", "show", VIP]);
        let mut it = o.split_whitespace();
        while let Some(w) = it.next() {
            if w == "lladdr" {
                return it.next().map(str::to_string);
            }
        }
        None
    }

    fn packets(&self) -> Vec<Pkt> {
        parse_pcap(&std::fs::read(&self.pcap).unwrap_or_default())
    }

    /// Waits until `r` holds the VIP and `other` does not.
    fn converged(&self, r: &str, other: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.vip_on(r) && !self.vip_on(other))
    }
}

/// One captured frame we care about.
#[derive(Debug, Clone)]
enum Pkt {
    Advert {
        t: f64,
        src: IpAddr,
        prio: u8,
        vrid: u8,
    },
    Arp {
        t: f64,
        eth_src: [u8; 6],
        sender_hw: [u8; 6],
        sender_ip: Ipv4Addr,
        target_ip: Ipv4Addr,
    },
    /// An ICMPv6 neighbour advertisement.
    Na {
        eth_src: [u8; 6],
        target: std::net::Ipv6Addr,
    },
}

fn parse_pcap(b: &[u8]) -> Vec<Pkt> {
    let mut out = Vec::new();
    if b.len() < 24 {
        return out;
    }
    let magic = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let div = if magic == 0xa1b2_3c4d { 1e9 } else { 1e6 };
    let u = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let mut off = 24;
    while off + 16 <= b.len() {
        let t = f64::from(u(off)) + f64::from(u(off + 4)) / div;
        let len = u(off + 8) as usize;
        let f = match b.get(off + 16..off + 16 + len) {
            Some(f) => f,
            None => break,
        };
        off += 16 + len;
        if f.len() < 14 {
            continue;
        }
        let et = u16::from_be_bytes([f[12], f[13]]);
        let mac = |o: usize| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&f[o..o + 6]);
            m
        };
        let ip4 = |o: usize| Ipv4Addr::new(f[o], f[o + 1], f[o + 2], f[o + 3]);
        if et == 0x0800 && f.len() >= 14 + 20 + 8 && f[14 + 9] == 112 {
            let ihl = usize::from(f[14] & 0xf) * 4;
            let v = 14 + ihl;
            if f.len() >= v + 4 {
                out.push(Pkt::Advert {
                    t,
                    src: ip4(14 + 12).into(),
                    vrid: f[v + 1],
                    prio: f[v + 2],
                });
            }
        } else if et == 0x86dd && f.len() >= 14 + 40 + 24 && f[14 + 6] == 58 && f[54] == 136 {
            let mut a = [0u8; 16];
            a.copy_from_slice(&f[62..78]);
            out.push(Pkt::Na {
                eth_src: mac(6),
                target: std::net::Ipv6Addr::from(a),
            });
        } else if et == 0x86dd && f.len() >= 14 + 40 + 8 && f[14 + 6] == 112 {
            let mut a = [0u8; 16];
            a.copy_from_slice(&f[22..38]);
            out.push(Pkt::Advert {
                t,
                src: std::net::Ipv6Addr::from(a).into(),
                vrid: f[54 + 1],
                prio: f[54 + 2],
            });
        } else if et == 0x0806 && f.len() >= 42 {
            out.push(Pkt::Arp {
                t,
                eth_src: mac(6),
                sender_hw: mac(22),
                sender_ip: ip4(28),
                target_ip: ip4(38),
            });
        }
    }
    out
}

fn adverts(p: &[Pkt]) -> Vec<(f64, IpAddr, u8, u8)> {
    p.iter()
        .filter_map(|x| match x {
            Pkt::Advert { t, src, prio, vrid } => Some((*t, *src, *prio, *vrid)),
            _ => None,
        })
        .collect()
}

fn now_epoch() -> f64 {
    clock::wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// Takeover on the wire: the old master's last advert before `fault_at`, the new master's first
/// advert after it. Returns seconds.
fn takeover(p: &[Pkt], old: &str, new: &str, fault_at: f64) -> Option<f64> {
    let ad = adverts(p);
    let (old, new): (IpAddr, IpAddr) = (old.parse().ok()?, new.parse().ok()?);
    let last = ad
        .iter()
        .filter(|a| a.1 == old && a.0 <= fault_at + 0.002)
        .map(|a| a.0)
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))?;
    let first = ad.iter().find(|a| a.1 == new && a.0 > last)?.0;
    Some(first - last)
}

/// GARPs for the VIP after `after`: (ethernet source, sender hardware address).
fn garps_after(p: &[Pkt], after: f64) -> Vec<([u8; 6], [u8; 6])> {
    let vip: Ipv4Addr = VIP.parse().expect("vip");
    p.iter()
        .filter_map(|x| match x {
            Pkt::Arp {
                t,
                eth_src,
                sender_hw,
                sender_ip,
                target_ip,
            } if *t > after && *sender_ip == vip && *target_ip == vip => {
                Some((*eth_src, *sender_hw))
            }
            _ => None,
        })
        .collect()
}

fn skew(prio: u8) -> f64 {
    f64::from(256 - u32::from(prio)) / 256.0
}

const CONVERGE: Duration = Duration::from_secs(8);

fn conf(state: &str, prio: u8) -> Conf<'static> {
    Conf {
        state: if state == "MASTER" {
            "MASTER"
        } else {
            "BACKUP"
        },
        prio,
        advert: "1",
        v3: false,
        unicast: None,
        vip6: false,
        globals: "",
    }
}

/// Master `a_imp` at 150 on A, backup `b_imp` at 100 on B: converge, check the client's
/// view, crash the master and measure the takeover, restart it and see it preempt, then
/// SIGTERM it and see the priority-0 handover. Returns (kill -9 takeover, SIGTERM takeover).
fn failover_scenario(tag: &str, a_imp: Impl, b_imp: Impl) -> Option<(f64, f64)> {
    if !can_run() {
        return None;
    }
    let mut lab = Lab::new(tag);
    lab.capture();
    // The master first: started together, a slow start under load could let B win
    // the first election (keepalived does the same); not what these tests are about.
    lab.start("A", a_imp, &conf("MASTER", 150));
    assert!(
        wait_until(CONVERGE, || lab.vip_on("A") || lab.vip6_on("A")),
        "A:\n{}",
        lab.log("A")
    );
    lab.start("B", b_imp, &conf("BACKUP", 100));
    assert!(
        lab.converged("A", "B", CONVERGE),
        "A never became the only MASTER\nA:\n{}\nB:\n{}",
        lab.log("A"),
        lab.log("B")
    );
    // Stable: B stays BACKUP for a few adverts, only A advertises.
    std::thread::sleep(Duration::from_secs(3));
    assert!(lab.vip_on("A") && !lab.vip_on("B"));
    assert!(
        !lab.log("B").contains("Entering MASTER STATE"),
        "B went MASTER:\n{}",
        lab.log("B")
    );
    assert!(lab.ping_vip(), "client cannot ping the VIP on A");
    let mac_a = lab.mac("A");
    let mac_b = lab.mac("B");
    let hex = |m: [u8; 6]| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    assert_eq!(lab.client_neigh(), Some(hex(mac_a)));
    let ad = adverts(&lab.packets());
    let a_ip: IpAddr = IP_A.parse().expect("ip");
    assert!(ad.iter().filter(|a| a.1 == a_ip).count() >= 3);
    let t_last_b = ad
        .iter()
        .filter(|a| a.1 != a_ip)
        .map(|a| a.0)
        .fold(0.0, f64::max);
    let t_a_first = ad.iter().find(|a| a.1 == a_ip).map_or(0.0, |a| a.0);
    assert!(
        t_last_b <= t_a_first + 0.01,
        "B advertised after A became master"
    );

    // kill -9 at a random phase of the advert cycle
    std::thread::sleep(Duration::from_millis(u64::from(std::process::id() % 900)));
    let t_kill = now_epoch();
    lab.crash("A");
    assert!(
        wait_until(Duration::from_secs(6), || lab.vip_on("B")),
        "B did not take over:\n{}",
        lab.log("B")
    );
    std::thread::sleep(Duration::from_millis(300));
    let p = lab.packets();
    let dt = takeover(&p, IP_A, IP_B, t_kill).expect("adverts on the wire");
    let bound = 3.0 + skew(100);
    eprintln!(
        "[{tag}] kill -9 takeover by {b_imp:?}: {:.1} ms (RFC {:.1} ms)",
        dt * 1e3,
        bound * 1e3
    );
    // Ours is held to the protocol bound + 20 ms. keepalived is the oracle, not the subject:
    // on a loaded machine it has been seen 20 ms late, so it only has to be in the right place.
    let slack = if b_imp == Impl::Ours { 0.020 } else { 0.100 };
    assert!(
        dt <= bound + slack,
        "takeover {dt} s > {bound} s + {slack} s"
    );
    assert!(
        dt >= bound - 0.010,
        "takeover {dt} s earlier than the master-down interval {bound}"
    );
    let garps = garps_after(&p, t_kill);
    assert!(
        garps.len() >= 5,
        "expected a GARP burst from B, got {garps:?}"
    );
    assert!(
        garps.iter().all(|g| g.0 == mac_b && g.1 == mac_b),
        "GARPs not from B's MAC"
    );
    assert!(
        wait_until(Duration::from_secs(3), || lab.ping_vip()),
        "pings to the VIP did not resume"
    );
    assert_eq!(lab.client_neigh(), Some(hex(mac_b)));

    // restart A: it preempts back (after its own master-down timer)
    lab.start("A", a_imp, &conf("MASTER", 150));
    assert!(
        lab.converged("A", "B", CONVERGE),
        "A did not preempt back:\nA:\n{}\nB:\n{}",
        lab.log("A"),
        lab.log("B")
    );
    assert!(wait_until(Duration::from_secs(3), || lab.ping_vip()));
    std::thread::sleep(Duration::from_millis(1500));

    // SIGTERM: priority 0 on the wire, B takes over after its skew time
    let t_term = now_epoch();
    let code = lab.terminate("A");
    assert_eq!(code, Some(0), "A's exit status after SIGTERM");
    assert!(
        wait_until(Duration::from_secs(3), || lab.vip_on("B")),
        "B did not take over after SIGTERM"
    );
    assert!(!lab.vip_on("A"), "A kept the VIP after SIGTERM");
    std::thread::sleep(Duration::from_millis(200));
    let ad = adverts(&lab.packets());
    let zero = ad
        .iter()
        .find(|a| a.1 == a_ip && a.2 == 0 && a.0 >= t_term - 0.01)
        .expect("priority-0 advert from A on the wire")
        .0;
    let b_ip: IpAddr = IP_B.parse().expect("ip");
    let first_b = ad
        .iter()
        .find(|a| a.1 == b_ip && a.0 > zero)
        .expect("B advert")
        .0;
    let dz = first_b - zero;
    eprintln!(
        "[{tag}] SIGTERM handover to {b_imp:?}: {:.1} ms (skew {:.1} ms)",
        dz * 1e3,
        skew(100) * 1e3
    );
    assert!(
        dz <= skew(100) + slack && dz >= skew(100) - 0.010,
        "handover {dz} s, skew {}",
        skew(100)
    );
    Some((dt, dz))
}

#[test]
fn ours_master_keepalived_backup() {
    failover_scenario("om", Impl::Ours, Impl::Keepalived);
}

#[test]
fn keepalived_master_ours_backup() {
    failover_scenario("km", Impl::Keepalived, Impl::Ours);
}

#[test]
fn both_ours() {
    failover_scenario("oo", Impl::Ours, Impl::Ours);
}

#[test]
fn interface_down_gives_fault() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("if");
    // The master first: started together, a slow start under load could let B win
    // the first election (keepalived does the same); not what these tests are about.
    lab.start("A", Impl::Ours, &conf("MASTER", 150));
    assert!(
        wait_until(CONVERGE, || lab.vip_on("A") || lab.vip6_on("A")),
        "A:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, &conf("BACKUP", 100));
    assert!(lab.converged("A", "B", CONVERGE));
    let a = lab.ns("A");
    sh(&["ip", "-n", &a, "link", "set", "vd0", "down"]);
    assert!(
        wait_until(Duration::from_secs(2), || lab
            .log("A")
            .contains("(VI_1) Entering FAULT STATE")),
        "no FAULT:\n{}",
        lab.log("A")
    );
    assert!(lab.log("A").contains("Netlink reports vd0 down"));
    assert!(
        wait_until(Duration::from_secs(6), || lab.vip_on("B")),
        "keepalived did not take over"
    );
    assert!(!lab.vip_on("A"));
    sh(&["ip", "-n", &a, "link", "set", "vd0", "up"]);
    assert!(
        lab.converged("A", "B", CONVERGE),
        "A did not recover and preempt:\n{}",
        lab.log("A")
    );
    assert!(lab.log("A").contains("Netlink reports vd0 up"));
}

#[test]
fn unicast_peers() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("uc");
    lab.capture();
    let mut b = conf("BACKUP", 100);
    b.unicast = Some((IP_B, IP_A));
    let mut a = conf("MASTER", 150);
    a.unicast = Some((IP_A, IP_B));
    // The master first: started together, a slow start under load could let B win
    // the first election (keepalived does the same); not what these tests are about.
    lab.start("A", Impl::Ours, &a);
    assert!(
        wait_until(CONVERGE, || lab.vip_on("A") || lab.vip6_on("A")),
        "A:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, &b);
    assert!(
        lab.converged("A", "B", CONVERGE),
        "A:\n{}\nB:\n{}",
        lab.log("A"),
        lab.log("B")
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.log("B").contains("Entering MASTER STATE"),
        "B:\n{}",
        lab.log("B")
    );
    assert!(lab.ping_vip());
    // adverts are unicast to the peer, not to the group
    let raw = std::fs::read(&lab.pcap).unwrap_or_default();
    assert!(!adverts(&parse_pcap(&raw)).is_empty());
    let t_kill = now_epoch();
    lab.crash("A");
    assert!(wait_until(Duration::from_secs(6), || lab.vip_on("B")));
    std::thread::sleep(Duration::from_millis(200));
    let dt = takeover(&lab.packets(), IP_A, IP_B, t_kill).expect("adverts");
    eprintln!(
        "[uc] unicast kill -9 takeover by keepalived: {:.1} ms",
        dt * 1e3
    );
    assert!(dt <= 3.0 + skew(100) + 0.02);
}

#[test]
fn vrrpv3_fast_adverts() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("v3");
    lab.capture();
    let c = |state, prio| Conf {
        state,
        prio,
        advert: "0.1",
        v3: true,
        unicast: None,
        vip6: false,
        globals: "",
    };
    // keepalived master, ours backup: ours measures the takeover. The master starts first:
    // at 0.1 s adverts the skew difference (20 ms) no longer covers a start-up gap.
    lab.start("A", Impl::Keepalived, &c("MASTER", 150));
    assert!(
        wait_until(CONVERGE, || lab.vip_on("A")),
        "A:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Ours, &c("BACKUP", 100));
    assert!(
        lab.converged("A", "B", CONVERGE),
        "A:\n{}\nB:\n{}",
        lab.log("A"),
        lab.log("B")
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !lab.log("B").contains("Entering MASTER STATE"),
        "B:\n{}",
        lab.log("B")
    );
    std::thread::sleep(Duration::from_millis(u64::from(std::process::id() % 100)));
    let t_kill = now_epoch();
    lab.crash("A");
    assert!(wait_until(Duration::from_secs(3), || lab.vip_on("B")));
    std::thread::sleep(Duration::from_millis(200));
    let dt = takeover(&lab.packets(), IP_A, IP_B, t_kill).expect("adverts");
    // v3 skew: (256 - prio) * adv / 256, in centisecond units
    let bound = 0.3 + 0.1 * skew(100);
    eprintln!(
        "[v3] v3 0.1 s kill -9 takeover by ours: {:.1} ms (RFC {:.1} ms)",
        dt * 1e3,
        bound * 1e3
    );
    assert!(dt <= bound + 0.020 && dt >= bound - 0.010, "takeover {dt}");
    // and ours as master in v3 is accepted by keepalived
    let before = lab.log("A").len();
    lab.start("A", Impl::Keepalived, &c("BACKUP", 90));
    std::thread::sleep(Duration::from_secs(2));
    assert!(lab.vip_on("B") && !lab.vip_on("A"), "A:\n{}", lab.log("A"));
    assert!(
        !lab.log("A")[before..].contains("Entering MASTER STATE"),
        "A:\n{}",
        lab.log("A")
    );
}

/// Sends raw IPv4 datagrams (header included) to 224.0.0.18 from inside namespace `ns`.
fn inject(ns: &str, datagrams: Vec<Vec<u8>>) {
    use std::os::fd::AsRawFd;
    let ns = ns.to_string();
    std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("netns file");
        // SAFETY: setns affects only this thread, which we own; the fd is valid.
        assert_eq!(
            unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) },
            0,
            "setns"
        );
        // SAFETY: plain socket calls with checked results on buffers we own.
        unsafe {
            let s = libc::socket(libc::AF_INET, libc::SOCK_RAW, 112);
            assert!(s >= 0, "raw socket");
            let one: libc::c_int = 1;
            libc::setsockopt(
                s,
                libc::IPPROTO_IP,
                libc::IP_HDRINCL,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(Ipv4Addr::new(224, 0, 0, 18)).to_be();
            for _ in 0..3 {
                for d in &datagrams {
                    let n = libc::sendto(
                        s,
                        d.as_ptr().cast(),
                        d.len(),
                        0,
                        (&sa as *const libc::sockaddr_in).cast(),
                        std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    );
                    assert!(n >= 0, "sendto: {}", std::io::Error::last_os_error());
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            libc::close(s);
        }
    })
    .join()
    .expect("injector");
}

#[test]
fn hostile_packets_are_counted_and_dropped() {
    use keepalived_rs::wire::vrrp::{Auth, ChecksumMode, Repr, Version};
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("ho");
    // The master first: started together, a slow start under load could let B win
    // the first election (keepalived does the same); not what these tests are about.
    lab.start("A", Impl::Ours, &conf("MASTER", 150));
    assert!(
        wait_until(CONVERGE, || lab.vip_on("A") || lab.vip6_on("A")),
        "A:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, &conf("BACKUP", 100));
    assert!(lab.converged("A", "B", CONVERGE));
    std::thread::sleep(Duration::from_millis(500));
    let (a0, b0) = (lab.log("A").len(), lab.log("B").len());
    sh(&[
        "ip",
        "-n",
        &lab.ns("C"),
        "route",
        "add",
        "224.0.0.0/4",
        "dev",
        "vd0",
    ]);

    // Each would win the election (priority 254) if it were accepted.
    let good = |prio: u8, vrid: u8, pass: &[u8]| Repr {
        version: Version::V2,
        vrid,
        priority: prio,
        advert_int_cs: 100,
        auth: Auth::pass(pass),
        addrs: vec![VIP.parse().expect("vip")],
    };
    let src: Ipv4Addr = IP_C.parse().expect("ip");
    let grp = Ipv4Addr::new(224, 0, 0, 18);
    let dg = |r: &Repr, ttl: u8| {
        r.to_ipv4_datagram(src, grp, ttl, 7, ChecksumMode::Rfc)
            .expect("datagram")
    };
    let ok = good(254, 51, b"kl51pw");
    let bad_ttl = dg(&ok, 64);
    let mut bad_sum = dg(&ok, 255);
    bad_sum[20 + 6] ^= 0x55;
    let bad_pass = dg(&good(254, 51, b"wrong"), 255);
    let wrong_vrid = dg(&good(254, 52, b"kl51pw"), 255);
    let mut truncated = dg(&ok, 255);
    truncated.truncate(20 + 6);
    let tl = (truncated.len() as u16).to_be_bytes();
    truncated[2..4].copy_from_slice(&tl);
    // 255 addresses announced, 1 carried.
    let mut many = dg(&ok, 255);
    many[20 + 3] = 255;
    let junk = vec![0x45u8; 60];
    inject(
        &lab.ns("C"),
        vec![
            bad_ttl, bad_sum, bad_pass, wrong_vrid, truncated, many, junk,
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    let a = lab.log("A")[a0..].to_string();
    let b = lab.log("B")[b0..].to_string();
    assert!(
        lab.vip_on("A") && !lab.vip_on("B"),
        "the election moved:\nA:\n{a}\nB:\n{b}"
    );
    assert!(!a.contains("Entering"), "ours changed state:\n{a}");
    assert!(
        !b.contains("Entering MASTER"),
        "keepalived changed state:\n{b}"
    );
    assert!(
        a.contains("(VI_1) invalid TTL/HL. Received 64 and expect 255"),
        "{a}"
    );
    assert!(a.contains("(VI_1) Invalid VRRPv2 checksum"), "{a}");
    assert!(a.contains("(VI_1) received an invalid passwd!"), "{a}");
    assert!(
        a.contains("(VI_1) vrrp packet too short, length 40 and expect 1056"),
        "{a}"
    );
    assert!(a.contains("IPv4 VRRP packet too short - 26 bytes"), "{a}");
    // Each cause was sent 3 times within a second: logged once (rate limit).
    assert_eq!(a.matches("invalid TTL/HL").count(), 1, "{a}");
    // still alive and answering
    assert!(lab.running("A"), "ours died");
    assert!(lab.ping_vip());
}

#[test]
fn ipv6_vrrpv3_interop() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("v6");
    lab.capture();
    let c = |state, prio| Conf {
        state,
        prio,
        advert: "1",
        v3: false,
        unicast: None,
        vip6: true,
        globals: "",
    };
    sh(&[
        "ip",
        "-n",
        &lab.ns("C"),
        "addr",
        "add",
        "fd00:99::10/64",
        "dev",
        "vd0",
    ]);
    // The master first: started together, a slow start under load could let B win
    // the first election (keepalived does the same); not what these tests are about.
    lab.start("A", Impl::Ours, &c("MASTER", 150));
    assert!(
        wait_until(CONVERGE, || lab.vip_on("A") || lab.vip6_on("A")),
        "A:\n{}",
        lab.log("A")
    );
    lab.start("B", Impl::Keepalived, &c("BACKUP", 100));
    assert!(
        wait_until(CONVERGE, || lab.vip6_on("A") && !lab.vip6_on("B")),
        "A:\n{}\nB:\n{}",
        lab.log("A"),
        lab.log("B")
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !lab.log("B").contains("Entering MASTER STATE"),
        "B:\n{}",
        lab.log("B")
    );
    assert!(
        wait_until(Duration::from_secs(3), || Command::new("ip")
            .args([
                "netns",
                "exec",
                &lab.ns("C"),
                "ping",
                "-6",
                "-c",
                "1",
                "-W",
                "1",
                VIP6
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())),
        "client cannot ping the IPv6 VIP"
    );
    // ours announced the VIP with unsolicited neighbour advertisements from its MAC
    let vip6: std::net::Ipv6Addr = VIP6.parse().expect("vip6");
    let mac_a = lab.mac("A");
    let nas = lab
        .packets()
        .iter()
        .filter(
            |p| matches!(p, Pkt::Na { eth_src, target } if *eth_src == mac_a && *target == vip6),
        )
        .count();
    assert!(
        nas >= 5,
        "expected a burst of unsolicited NAs from A, saw {nas}"
    );
    let (ll_a, ll_b) = (lab.link_local("A"), lab.link_local("B"));
    let t_kill = now_epoch();
    lab.crash("A");
    assert!(
        wait_until(Duration::from_secs(6), || lab.vip6_on("B")),
        "B:\n{}",
        lab.log("B")
    );
    std::thread::sleep(Duration::from_millis(300));
    let dt = takeover(&lab.packets(), &ll_a, &ll_b, t_kill).expect("IPv6 adverts on the wire");
    eprintln!(
        "[v6] IPv6 v3 kill -9 takeover by keepalived: {:.1} ms",
        dt * 1e3
    );
    // v3 skew is in units of the advert interval: 3 s + (256 - 100) / 256 s
    assert!(dt <= 3.0 + skew(100) + 0.02, "{dt}");
    // ours hears keepalived's adverts and preempts back
    lab.start("A", Impl::Ours, &c("MASTER", 150));
    assert!(
        wait_until(CONVERGE, || lab.vip6_on("A") && !lab.vip6_on("B")),
        "A:\n{}\nB:\n{}",
        lab.log("A"),
        lab.log("B")
    );
    assert!(
        lab.log("A")
            .contains("received lower priority (100) advert from fe80::"),
        "A:\n{}",
        lab.log("A")
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Takeover benchmark (not a pass/fail test): `VRRPD_BENCH_N` (10) kill -9 of a keepalived
/// master at a random phase, with ours and then keepalived as the backup, at advert 1 s (v2)
/// and 0.1 s (v3). Prints last-advert -> new master's advert, and kill -> new master's advert.
/// `sudo cargo test --test netns_vrrp bench_takeover -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_takeover() {
    if !can_run() {
        return;
    }
    let n: usize = std::env::var("VRRPD_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut seed = u64::from(std::process::id()) | 1;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 1000) as f64 / 1000.0
    };
    for (adv, v3) in [("1", false), ("0.1", true)] {
        let advf: f64 = adv.parse().expect("advert");
        for backup in [Impl::Ours, Impl::Keepalived] {
            let mut lab = Lab::new("bn");
            lab.capture();
            let c = |state, prio| Conf {
                state,
                prio,
                advert: adv,
                v3,
                unicast: None,
                vip6: false,
                globals: "",
            };
            lab.start("A", Impl::Keepalived, &c("MASTER", 150));
            assert!(wait_until(CONVERGE, || lab.vip_on("A")));
            lab.start("B", backup, &c("BACKUP", 100));
            let (mut mdown, mut from_kill) = (Vec::new(), Vec::new());
            for _ in 0..n {
                assert!(lab.converged("A", "B", CONVERGE), "B:\n{}", lab.log("B"));
                std::thread::sleep(Duration::from_secs_f64(advf * (2.0 + rand())));
                let t_kill = now_epoch();
                lab.crash("A");
                assert!(wait_until(Duration::from_secs(6), || lab.vip_on("B")));
                std::thread::sleep(Duration::from_millis(100));
                let p = lab.packets();
                let b_ip: IpAddr = IP_B.parse().expect("ip");
                let first_b = adverts(&p)
                    .iter()
                    .find(|a| a.1 == b_ip && a.0 > t_kill)
                    .map(|a| a.0)
                    .expect("B advert");
                mdown.push(takeover(&p, IP_A, IP_B, t_kill).expect("takeover"));
                from_kill.push(first_b - t_kill);
                lab.start("A", Impl::Keepalived, &c("MASTER", 150));
            }
            let (lo, hi) = (
                mdown.iter().copied().fold(f64::MAX, f64::min),
                mdown.iter().copied().fold(0.0, f64::max),
            );
            eprintln!(
                "BENCH advert {adv}s backup {backup:?} n={n}: last advert -> MASTER median {:.1} ms (min {:.1} max {:.1}); kill -> MASTER median {:.1} ms; RFC {:.1} ms",
                median(&mut mdown) * 1e3,
                lo * 1e3,
                hi * 1e3,
                median(&mut from_kill) * 1e3,
                (3.0 * advf + advf * skew(100)) * 1e3
            );
        }
    }
}

#[test]
fn garp_interval_spaces_the_burst() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("gi");
    lab.capture();
    let mut c = conf("MASTER", 150);
    c.globals = "    vrrp_garp_interval 0.1\n    vrrp_garp_master_delay 0";
    lab.start("A", Impl::Ours, &c);
    assert!(wait_until(CONVERGE, || lab.vip_on("A")), "{}", lab.log("A"));
    std::thread::sleep(Duration::from_millis(700));
    let vip: Ipv4Addr = VIP.parse().expect("vip");
    let times: Vec<f64> = lab
        .packets()
        .iter()
        .filter_map(|p| match p {
            Pkt::Arp { t, sender_ip, .. } if *sender_ip == vip => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(times.len(), 5, "{times:?}");
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (0.095..0.130).contains(&gap),
            "GARP gap {gap} s, want 0.1 s: {times:?}"
        );
    }
}
