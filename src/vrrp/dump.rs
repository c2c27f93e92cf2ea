//! keepalived's VRRP dumps, in its layouts: `keepalived.stats` (SIGUSR2), `keepalived.json`
//! (signal 36) and the VRRP sections of `keepalived.data` (SIGUSR1). Both Prometheus
//! exporters parse these files by exact labels and JSON keys (peers-ipvs-users.md §3.2), so the
//! text is keepalived 2.2.7's, line for line.
//!
//! Pure: the daemon fills an [`InstanceDump`] per instance ([`InstanceDump::from_router`] takes
//! what the core knows; the driver adds wall-clock times, script command lines, sockets) and
//! these functions render them.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::router::{Router, State, Stats};
use crate::wire::vrrp::{Auth, Version};

/// keepalived's state numbers in the JSON dump (`VRRP_STATE_*`).
pub fn state_code(s: State) -> u32 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

/// A notify script as the dumps show it: `cmd_str` form and the uid:gid it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptDump {
    /// keepalived's `cmd_str`: every argument in single quotes, space separated.
    pub cmd: String,
    pub uid: u32,
    pub gid: u32,
}

/// `unicast_peer` settings, present only for unicast instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastDump {
    pub ttl: u8,
    pub check_src: bool,
    pub peers: Vec<IpAddr>,
}

/// Everything the dumps say about one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceDump {
    pub name: String,
    pub version: Version,
    pub ipv6: bool,
    pub sync_group: Option<String>,
    pub state: State,
    pub wantstate: State,
    pub master_router: Option<IpAddr>,
    pub master_priority: u8,
    pub num_config_faults: u32,
    pub num_script_if_fault: u32,
    pub num_script_init: u32,
    pub last_transition: SystemTime,
    /// The next timer (advert or master down); `None` = DISABLED.
    pub read_timeout: Option<SystemTime>,
    pub ms_down_timer: Duration,
    pub interface: Option<String>,
    pub src_ip: Option<IpAddr>,
    pub src_from_config: bool,
    /// `None` for unicast instances.
    pub multicast: Option<IpAddr>,
    pub garp_delay: Duration,
    pub garp_rep: u32,
    pub garp_refresh: Duration,
    pub garp_refresh_rep: u32,
    pub garp_lower_prio_delay: Duration,
    pub garp_lower_prio_rep: u32,
    pub down_timer_adverts: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub vrid: u8,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub total_priority: i32,
    pub adver_int: Duration,
    pub master_adver_int: Duration,
    pub accept: bool,
    pub nopreempt: bool,
    pub preempt_delay: Duration,
    pub promote_secondaries: bool,
    pub dont_track_primary: bool,
    pub skip_check_adv_addr: bool,
    pub strict_mode: bool,
    pub auth: Auth,
    /// keepalived's `format_ipaddress` lines, e.g. `10.9.9.100/24 dev eth0 scope global set`.
    pub vips: Vec<String>,
    pub evips: Vec<String>,
    pub vroutes: Vec<String>,
    pub vrules: Vec<String>,
    pub unicast: Option<UnicastDump>,
    /// (fd_in, fd_out) of the instance's sockets; `None` = "No sockets allocated".
    pub sockets: Option<(i32, i32)>,
    /// `track_interface`: name, weight, reverse.
    pub track_ifp: Vec<(String, i32, bool)>,
    /// `track_script`: name, weight, reverse, and the script's `cmd_str` (for the JSON).
    pub track_script: Vec<(String, i32, bool, String)>,
    pub smtp_alert: bool,
    pub notify_deleted: bool,
    pub script_backup: Option<ScriptDump>,
    pub script_master: Option<ScriptDump>,
    pub script_fault: Option<ScriptDump>,
    pub script_stop: Option<ScriptDump>,
    pub script_deleted: Option<ScriptDump>,
    pub script: Option<ScriptDump>,
    pub script_master_rx_lower_pri: Option<ScriptDump>,
    pub notify_priority_changes: bool,
    pub vipset: bool,
    pub stats: Stats,
}

impl InstanceDump {
    /// What the core knows, with keepalived's defaults for the rest; `now`/`wall_now` convert
    /// the router's monotonic timer to wall time.
    pub fn from_router(
        r: &Router,
        now: std::time::Instant,
        wall_now: SystemTime,
        last_transition: SystemTime,
    ) -> InstanceDump {
        let c = r.config();
        let multicast = c
            .unicast_peers
            .is_empty()
            .then(|| c.mcast_dst.unwrap_or(c.family.default_multicast()));
        let read_timeout = r
            .poll_timeout()
            .map(|t| wall_now + t.saturating_duration_since(now));
        InstanceDump {
            name: c.name.clone(),
            version: c.version,
            ipv6: c.family == super::config::Family::Ipv6,
            sync_group: None,
            state: r.state(),
            wantstate: r.wantstate(),
            master_router: r.master_addr(),
            master_priority: r.master_priority(),
            num_config_faults: 0,
            num_script_if_fault: u32::try_from(r.faults().count()).unwrap_or(u32::MAX),
            num_script_init: 0,
            last_transition,
            read_timeout,
            ms_down_timer: r.ms_down_timer(),
            interface: c.interface.clone(),
            src_ip: c.source_addr,
            src_from_config: false,
            multicast,
            garp_delay: c.garp_master_delay,
            garp_rep: c.garp_master_repeat,
            garp_refresh: c.garp_master_refresh,
            garp_refresh_rep: c.garp_master_refresh_repeat,
            garp_lower_prio_delay: c.garp_lower_prio_delay,
            garp_lower_prio_rep: c.garp_lower_prio_repeat,
            down_timer_adverts: c.down_timer_adverts,
            lower_prio_no_advert: c.lower_prio_no_advert,
            higher_prio_send_advert: c.higher_prio_send_advert,
            vrid: c.vrid,
            base_priority: r.base_priority(),
            effective_priority: r.effective_priority(),
            total_priority: i32::from(r.effective_priority()),
            adver_int: c.advert_interval,
            master_adver_int: r.master_adver_int(),
            accept: c.accept,
            nopreempt: c.nopreempt,
            preempt_delay: c.preempt_delay,
            promote_secondaries: false,
            dont_track_primary: false,
            skip_check_adv_addr: c.skip_check_adv_addr,
            strict_mode: c.strict_mode,
            auth: c.auth.clone(),
            vips: Vec::new(),
            evips: Vec::new(),
            vroutes: c.vroutes.iter().map(|r| r.0.clone()).collect(),
            vrules: c.vrules.iter().map(|r| r.0.clone()).collect(),
            unicast: (!c.unicast_peers.is_empty()).then(|| UnicastDump {
                ttl: c.unicast_ttl,
                check_src: c.check_unicast_src,
                peers: c.unicast_peers.iter().map(|p| p.addr).collect(),
            }),
            sockets: None,
            track_ifp: Vec::new(),
            track_script: Vec::new(),
            smtp_alert: false,
            notify_deleted: false,
            script_backup: None,
            script_master: None,
            script_fault: None,
            script_stop: None,
            script_deleted: None,
            script: None,
            script_master_rx_lower_pri: None,
            notify_priority_changes: c.notify_priority_changes,
            vipset: r.vipset(),
            stats: r.stats().clone(),
        }
    }
}

/// `keepalived.stats`, as SIGUSR2 writes it.
pub fn stats_file(instances: &[InstanceDump]) -> String {
    let mut o = String::new();
    for i in instances {
        let s = &i.stats;
        let _ = write!(
            o,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            i.name,
            s.advert_rcvd,
            s.advert_sent,
            s.become_master,
            s.release_master,
            s.packet_len_err,
            s.ip_ttl_err,
            s.invalid_type_rcvd,
            s.advert_interval_err,
            s.addr_list_err,
            s.invalid_authtype,
            s.authtype_mismatch,
            s.auth_failure,
            s.pri_zero_rcvd,
            s.pri_zero_sent
        );
    }
    o
}

fn secs_f64(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn unix(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_micros(),
        ),
        Err(_) => (0, 0),
    }
}

/// `%g`-like: integers without a fraction, others in the shortest exact form.
fn g(v: f64) -> String {
    format!("{v}")
}

fn json_str(s: &str) -> String {
    // keepalived's json writer escapes '/' as "\/"; serde_json does not, so add it.
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('/', "\\/")
}

/// `keepalived.json`, as signal 36 writes it (json_version 1: one array of
/// `{"data":{...},"stats":{...}}`, one line).
pub fn json_file(instances: &[InstanceDump]) -> String {
    let mut o = String::from("[");
    for (n, i) in instances.iter().enumerate() {
        if n > 0 {
            o.push(',');
        }
        let (ts, tus) = unix(i.last_transition);
        let mut f: Vec<(String, String)> = vec![
            ("iname".into(), json_str(&i.name)),
            (
                "dont_track_primary".into(),
                u8::from(i.dont_track_primary).to_string(),
            ),
            (
                "skip_check_adv_addr".into(),
                u8::from(i.skip_check_adv_addr).to_string(),
            ),
            ("strict_mode".into(), u8::from(i.strict_mode).to_string()),
            ("vmac_ifname".into(), json_str("")),
            (
                "ifp_ifname".into(),
                json_str(i.interface.as_deref().unwrap_or("")),
            ),
            ("master_priority".into(), i.master_priority.to_string()),
            ("last_transition".into(), format!("{ts}.{tus:06}")),
            ("garp_delay".into(), g(secs_f64(i.garp_delay))),
            ("garp_refresh".into(), i.garp_refresh.as_secs().to_string()),
            ("garp_rep".into(), i.garp_rep.to_string()),
            ("garp_refresh_rep".into(), i.garp_refresh_rep.to_string()),
            (
                "garp_lower_prio_delay".into(),
                i.garp_lower_prio_delay.as_secs().to_string(),
            ),
            (
                "garp_lower_prio_rep".into(),
                i.garp_lower_prio_rep.to_string(),
            ),
            (
                "lower_prio_no_advert".into(),
                u8::from(i.lower_prio_no_advert).to_string(),
            ),
            (
                "higher_prio_send_advert".into(),
                u8::from(i.higher_prio_send_advert).to_string(),
            ),
            ("vrid".into(), i.vrid.to_string()),
            ("base_priority".into(), i.base_priority.to_string()),
            (
                "effective_priority".into(),
                i.effective_priority.to_string(),
            ),
            ("vipset".into(), i.vipset.to_string()),
            (
                "promote_secondaries".into(),
                i.promote_secondaries.to_string(),
            ),
            ("adver_int".into(), g(secs_f64(i.adver_int))),
            ("master_adver_int".into(), g(secs_f64(i.master_adver_int))),
            ("accept".into(), u8::from(i.accept).to_string()),
            ("nopreempt".into(), i.nopreempt.to_string()),
            (
                "preempt_delay".into(),
                i.preempt_delay.as_secs().to_string(),
            ),
            ("state".into(), state_code(i.state).to_string()),
            ("wantstate".into(), state_code(i.wantstate).to_string()),
            ("version".into(), version_number(i.version).to_string()),
            ("smtp_alert".into(), i.smtp_alert.to_string()),
            ("notify_deleted".into(), i.notify_deleted.to_string()),
        ];
        for (key, s) in [
            ("script_backup", &i.script_backup),
            ("script_master", &i.script_master),
            ("script_fault", &i.script_fault),
            ("script_stop", &i.script_stop),
            ("script_deleted", &i.script_deleted),
            ("script", &i.script),
            ("script_master_rx_lower_pri", &i.script_master_rx_lower_pri),
        ] {
            if let Some(s) = s {
                f.push((key.into(), json_str(&s.cmd)));
            }
        }
        let arr = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",")
            )
        };
        for (key, v) in [
            ("vips", &i.vips),
            ("evips", &i.evips),
            ("vroutes", &i.vroutes),
            ("vrules", &i.vrules),
        ] {
            if !v.is_empty() {
                f.push((key.into(), arr(v)));
            }
        }
        if !i.track_ifp.is_empty() {
            let v: Vec<String> = i.track_ifp.iter().map(|t| t.0.clone()).collect();
            f.push(("track_ifp".into(), arr(&v)));
        }
        if !i.track_script.is_empty() {
            let v: Vec<String> = i.track_script.iter().map(|t| t.3.clone()).collect();
            f.push(("track_script".into(), arr(&v)));
        }
        f.push(("auth_type".into(), auth_type(&i.auth).to_string()));
        if let Auth::Pass(p) = &i.auth {
            f.push(("auth_data".into(), json_str(&password(p))));
        }
        let s = &i.stats;
        let stats = [
            ("advert_rcvd", s.advert_rcvd),
            ("advert_sent", s.advert_sent),
            ("become_master", s.become_master),
            ("release_master", s.release_master),
            ("packet_len_err", s.packet_len_err),
            ("advert_interval_err", s.advert_interval_err),
            ("ip_ttl_err", s.ip_ttl_err),
            ("invalid_type_rcvd", s.invalid_type_rcvd),
            ("addr_list_err", s.addr_list_err),
            ("invalid_authtype", s.invalid_authtype),
            ("authtype_mismatch", s.authtype_mismatch),
            ("auth_failure", s.auth_failure),
            ("pri_zero_rcvd", s.pri_zero_rcvd),
            ("pri_zero_sent", s.pri_zero_sent),
        ];
        let data: Vec<String> = f.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let stats: Vec<String> = stats.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let _ = write!(
            o,
            "{{\"data\":{{{}}},\"stats\":{{{}}}}}",
            data.join(","),
            stats.join(",")
        );
    }
    o.push(']');
    o
}

fn version_number(v: Version) -> u8 {
    match v {
        Version::V2 => 2,
        Version::V3 => 3,
    }
}

fn auth_type(a: &Auth) -> u8 {
    match a {
        Auth::None => 0,
        Auth::Pass(_) => 1,
        Auth::Ah => 2,
    }
}

fn password(p: &[u8; 8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}

/// `1795321030.831037 (Sun Nov 22 04:17:10.831037 2026)`, keepalived's `ctime_us_r` form, in
/// local time.
pub fn time_with_ctime(t: SystemTime) -> String {
    let (secs, us) = unix(t);
    let secs_t = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: `tm` is plain old data written by localtime_r before use; the format string is
    // NUL-terminated and `buf` is writable for its length.
    let (head, year) = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs_t, &mut tm).is_null() {
            return format!("{secs}.{us:06} (invalid time)");
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%a %b %e %H:%M:%S".as_ptr(),
            &tm,
        );
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Y".as_ptr(), &tm);
        (head, String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    format!("{secs}.{us:06} ({head}.{us:06} {year})")
}

fn script_line(o: &mut String, kind: &str, s: &Option<ScriptDump>) {
    if let Some(s) = s {
        let _ = writeln!(
            o,
            "   {kind} state transition script = {}, uid:gid {}:{}",
            s.cmd, s.uid, s.gid
        );
    }
}

/// The `------< VRRP Topology >------` section of `keepalived.data`.
pub fn data_topology(instances: &[InstanceDump]) -> String {
    let mut o = String::from("------< VRRP Topology >------\n");
    for i in instances {
        let mut w = |l: String| {
            o.push_str(&l);
            o.push('\n');
        };
        w(format!(" VRRP Instance = {}", i.name));
        w(format!("   VRRP Version = {}", version_number(i.version)));
        if let Some(g) = &i.sync_group {
            w(format!("   Sync group = {g}"));
        }
        if i.ipv6 {
            w("   Using Native IPv6".into());
        }
        w(format!("   State = {}", i.state.as_str()));
        if i.state == State::Backup {
            w(format!(
                "   Master router = {}",
                i.master_router
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "(none)".into())
            ));
            w(format!("   Master priority = {}", i.master_priority));
            if i.version == Version::V3 {
                w(format!(
                    "   Master advert int = {:.2} sec",
                    i.master_adver_int.as_secs_f64()
                ));
            }
        }
        if i.unicast.is_some() {
            w("   Flags:".into());
            w("     Using unicast".into());
        } else {
            w("   Flags: none".into());
        }
        w(format!("   Wantstate = {}", i.wantstate.as_str()));
        w(format!(
            "   Number of config faults = {}",
            i.num_config_faults
        ));
        w(format!(
            "   Number of interface and track script faults = {}",
            i.num_script_if_fault
        ));
        w(format!(
            "   Number of track scripts init = {}",
            i.num_script_init
        ));
        w(format!(
            "   Last transition = {}",
            time_with_ctime(i.last_transition)
        ));
        match i.read_timeout {
            Some(t) => w(format!("   Read timeout = {}", time_with_ctime(t))),
            None => w("   Read timeout = DISABLED".into()),
        }
        w(format!(
            "   Master down timer = {} usecs",
            i.ms_down_timer.as_micros()
        ));
        w(format!(
            "   Interface = {}",
            i.interface.as_deref().unwrap_or("not configured")
        ));
        if i.dont_track_primary {
            w("   VRRP interface tracking disabled".into());
        }
        if i.skip_check_adv_addr {
            w("   Skip checking advert IP addresses".into());
        }
        if i.strict_mode {
            w("   Enforcing strict VRRP compliance".into());
        }
        w(format!(
            "   Using src_ip = {}{}",
            i.src_ip
                .map(|a| a.to_string())
                .unwrap_or_else(|| "(none)".into()),
            if i.src_from_config {
                " (from configuration)"
            } else {
                ""
            }
        ));
        if let Some(m) = i.multicast {
            w(format!("   Multicast address {m}"));
        }
        w(format!(
            "   Gratuitous ARP delay = {}",
            i.garp_delay.as_secs()
        ));
        w(format!("   Gratuitous ARP repeat = {}", i.garp_rep));
        w(format!(
            "   Gratuitous ARP refresh = {}",
            i.garp_refresh.as_secs()
        ));
        w(format!(
            "   Gratuitous ARP refresh repeat = {}",
            i.garp_refresh_rep
        ));
        w(format!(
            "   Gratuitous ARP lower priority delay = {}",
            i.garp_lower_prio_delay.as_secs()
        ));
        w(format!(
            "   Gratuitous ARP lower priority repeat = {}",
            i.garp_lower_prio_rep
        ));
        w(format!("   Down timer adverts = {}", i.down_timer_adverts));
        w(format!(
            "   Send advert after receive lower priority advert = {}",
            !i.lower_prio_no_advert
        ));
        w(format!(
            "   Send advert after receive higher priority advert = {}",
            i.higher_prio_send_advert
        ));
        w(format!("   Virtual Router ID = {}", i.vrid));
        w(format!("   Priority = {}", i.base_priority));
        w(format!("   Effective priority = {}", i.effective_priority));
        w(format!("   Total priority = {}", i.total_priority));
        match i.version {
            Version::V2 => w(format!(
                "   Advert interval = {} sec",
                i.adver_int.as_secs()
            )),
            Version::V3 => w(format!(
                "   Advert interval = {} milli-sec",
                i.adver_int.as_millis()
            )),
        }
        if i.state == State::Backup && i.version == Version::V3 {
            w(format!(
                "   Master advert interval = {} milli-sec",
                i.master_adver_int.as_millis()
            ));
        }
        w(format!(
            "   Accept = {}",
            if i.accept { "enabled" } else { "disabled" }
        ));
        w(format!(
            "   Preempt = {}",
            if i.nopreempt { "disabled" } else { "enabled" }
        ));
        if !i.preempt_delay.is_zero() {
            w(format!(
                "   Preempt delay = {} secs",
                g(i.preempt_delay.as_secs_f64())
            ));
        }
        w(format!(
            "   Promote_secondaries = {}",
            if i.promote_secondaries {
                "enabled"
            } else {
                "disabled"
            }
        ));
        match &i.auth {
            Auth::Pass(p) => {
                w("   Authentication type = SIMPLE_PASSWORD".into());
                w(format!("   Password = {}", password(p)));
            }
            Auth::Ah => w("   Authentication type = IPSEC_AH".into()),
            Auth::None if i.version == Version::V2 => {
                w("   Authentication type = none".into());
            }
            Auth::None => {}
        }
        if !i.vips.is_empty() {
            w(format!("   Virtual IP ({}):", i.vips.len()));
            for v in &i.vips {
                w(format!("     {v}"));
            }
        }
        if !i.evips.is_empty() {
            w("   Virtual IP Excluded :".into());
            for v in &i.evips {
                w(format!("     {v}"));
            }
        }
        if let Some(u) = &i.unicast {
            w(format!("   Unicast TTL = {}", u.ttl));
            w(format!(
                "   Check unicast src : {}",
                if u.check_src { "yes" } else { "no" }
            ));
            w("   Unicast Peer :".into());
            for p in &u.peers {
                w(format!("     {p}"));
            }
        }
        match i.sockets {
            Some((fd_in, fd_out)) => w(format!("   fd_in {fd_in}, fd_out {fd_out}")),
            None => w("   No sockets allocated".into()),
        }
        if !i.vroutes.is_empty() {
            w("   Virtual Routes :".into());
            for r in &i.vroutes {
                w(format!("     {r}"));
            }
        }
        if !i.vrules.is_empty() {
            w("   Virtual Rules :".into());
            for r in &i.vrules {
                w(format!("     {r}"));
            }
        }
        if !i.track_ifp.is_empty() {
            w("   Tracked interfaces :".into());
            for (n, wt, rev) in &i.track_ifp {
                w(format!(
                    "     {n} weight {wt}{}",
                    if *rev { " reverse" } else { "" }
                ));
            }
        }
        if !i.track_script.is_empty() {
            w("   Tracked scripts :".into());
            for (n, wt, rev, _) in &i.track_script {
                w(format!(
                    "     {n} weight {wt}{}",
                    if *rev { " reverse" } else { "" }
                ));
            }
        }
        w(format!(
            "   Using smtp notification = {}",
            if i.smtp_alert { "yes" } else { "no" }
        ));
        w(format!(
            "   Notify deleted = {}",
            if i.notify_deleted { "Deleted" } else { "Fault" }
        ));
        script_line(&mut o, "Backup", &i.script_backup);
        script_line(&mut o, "Master", &i.script_master);
        script_line(&mut o, "Fault", &i.script_fault);
        script_line(&mut o, "Stop", &i.script_stop);
        script_line(&mut o, "Deleted", &i.script_deleted);
        script_line(&mut o, "Generic", &i.script);
        script_line(&mut o, "Master rx lower pri", &i.script_master_rx_lower_pri);
        let _ = writeln!(
            o,
            "   Notify priority changes = {}",
            i.notify_priority_changes
        );
    }
    o
}

/// One `vrrp_sync_group` as the data dump shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDump {
    pub name: String,
    pub state: State,
    pub num_member_fault: u32,
    pub num_member_init: u32,
    pub members: Vec<String>,
    pub smtp_alert: bool,
    pub script_backup: Option<ScriptDump>,
    pub script_master: Option<ScriptDump>,
    pub script_fault: Option<ScriptDump>,
    pub script_stop: Option<ScriptDump>,
    pub script: Option<ScriptDump>,
}

/// The `------< VRRP Sync groups >------` section.
pub fn data_sync_groups(groups: &[GroupDump]) -> String {
    let mut o = String::from("------< VRRP Sync groups >------\n");
    for g in groups {
        let _ = writeln!(o, " VRRP Sync Group = {}, {}", g.name, g.state.as_str());
        let _ = writeln!(
            o,
            "   Num member fault {}, num member init {}",
            g.num_member_fault, g.num_member_init
        );
        o.push_str("   VRRP member instances :\n");
        for m in &g.members {
            let _ = writeln!(o, "     {m}");
        }
        let _ = writeln!(
            o,
            "   Using smtp notification = {}",
            if g.smtp_alert { "yes" } else { "no" }
        );
        script_line(&mut o, "Backup", &g.script_backup);
        script_line(&mut o, "Master", &g.script_master);
        script_line(&mut o, "Fault", &g.script_fault);
        script_line(&mut o, "Stop", &g.script_stop);
        script_line(&mut o, "Generic", &g.script);
    }
    o
}

/// One `vrrp_script` as the data dump shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStateDump {
    pub name: String,
    pub cmd: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    /// keepalived's raw rise/fall counter.
    pub result: u32,
    pub insecure: bool,
    /// keepalived's init state word: `INIT` (no result yet), `INIT/FAILED` (`init_fail`, no
    /// result yet), `unknown` (results seen).
    pub init_state: &'static str,
    pub status_good: bool,
    pub uid: u32,
    pub gid: u32,
    /// Instances tracking it, with the weight each uses.
    pub tracking: Vec<(String, i32)>,
    /// "idle", "running", ...
    pub state: String,
}

/// The `------< VRRP Scripts >------` section.
pub fn data_scripts(scripts: &[ScriptStateDump]) -> String {
    let mut o = String::from("------< VRRP Scripts >------\n");
    for s in scripts {
        let _ = writeln!(o, " VRRP Script = {}", s.name);
        let _ = writeln!(o, "   Command = {}", s.cmd);
        let _ = writeln!(o, "   Interval = {} sec", s.interval.as_secs());
        let _ = writeln!(o, "   Timeout = {} sec", s.timeout.as_secs());
        let _ = writeln!(
            o,
            "   Weight = {}{}",
            s.weight,
            if s.weight_reverse { " reverse" } else { "" }
        );
        let _ = writeln!(o, "   Rise = {}", s.rise);
        let _ = writeln!(o, "   Fall = {}", s.fall);
        let _ = writeln!(o, "   Result = {}", s.result);
        let _ = writeln!(o, "   Insecure = {}", if s.insecure { "yes" } else { "no" });
        let _ = writeln!(o, "   Init state = {}", s.init_state);
        let _ = writeln!(
            o,
            "   Status = {}",
            if s.status_good { "GOOD" } else { "BAD" }
        );
        let _ = writeln!(o, "   Script uid:gid = {}:{}", s.uid, s.gid);
        o.push_str("   VRRP instances :\n   Tracking instances :\n");
        for (n, w) in &s.tracking {
            let _ = writeln!(o, "     {n}, weight {w}");
        }
        let _ = writeln!(o, "   State = {}", s.state);
    }
    o
}

/// keepalived's `format_ipaddress()` for a virtual address: `ADDR[/LEN] [brd B] dev IF scope S
/// [label L][ preferred_lft ...][ set]`. `iface` is the instance's interface (used when the
/// address has no `dev`); `set` says whether the address is currently configured by us.
pub fn format_vip(a: &super::config::VirtualAddress, iface: &str, set: bool) -> String {
    let opts = crate::sys::addr::AddrOptions::parse(&a.options);
    let mut o = a.addr.to_string();
    let host = if a.addr.is_ipv4() { 32 } else { 128 };
    if a.prefix_len != host {
        let _ = write!(o, "/{}", a.prefix_len);
    }
    if let (IpAddr::V4(_), Some(b)) = (a.addr, opts.brd) {
        let _ = write!(o, " brd {b}");
    }
    let _ = write!(o, " dev {}", a.dev.as_deref().unwrap_or(iface));
    let scope = if a.addr.is_ipv6() {
        0
    } else {
        opts.scope.unwrap_or(0)
    };
    let _ = write!(o, " scope {}", scope_name(scope));
    if let (IpAddr::V4(_), Some(l)) = (a.addr, &opts.label) {
        let _ = write!(o, " label {l}");
    }
    let words: Vec<&str> = a.options.split_whitespace().collect();
    if words.contains(&"no_track") {
        o.push_str(" no_track");
    }
    if a.addr.is_ipv6() {
        let lft = words
            .iter()
            .position(|w| *w == "preferred_lft")
            .and_then(|i| words.get(i + 1));
        match lft {
            Some(&"forever") => o.push_str(" preferred_lft forever"),
            Some(&"0") => o.push_str(" deprecated"),
            Some(n) if n.parse::<u32>().is_ok() => {
                let _ = write!(o, " preferred_lft {n}");
            }
            _ if a.prefix_len == 128 => o.push_str(" deprecated"),
            _ => o.push_str(" preferred_lft forever"),
        }
    }
    if set {
        o.push_str(" set");
    }
    o
}

/// iproute2's `rt_scopes` names, as keepalived prints them.
fn scope_name(s: u8) -> String {
    match s {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    }
}

/// What the `------< Global definitions >------` section needs beyond the config.
#[derive(Debug, Clone)]
pub struct GlobalEnv {
    /// keepalived's `local_name` (the canonical host name): default `router_id`, HELO name and
    /// sender.
    pub local_name: String,
    /// The process umask.
    pub umask: u32,
    /// The default script user's uid:gid (`None`: none resolvable).
    pub script_creds: Option<(u32, u32)>,
    /// uid:gid of `notify_fifo` / `vrrp_notify_fifo` / `lvs_notify_fifo`.
    pub fifo_creds: [(u32, u32); 3],
    /// Written by the VRRP process (keepalived's VRRP child adds `Default interface` and
    /// resolves the lower-priority GARP settings); `false` for `keepalived_parent.data`.
    pub vrrp_process: bool,
    /// A script's argv as keepalived shows it (the path its script checks resolved); the
    /// driver supplies it, since resolving reads the file system.
    pub show_argv: fn(&[String]) -> Vec<String>,
}

fn on_off_unset(v: Option<bool>) -> &'static str {
    match v {
        None => "unset",
        Some(true) => "on",
        Some(false) => "off",
    }
}

/// The `------< Global definitions >------` section (keepalived's `dump_global_data`, as
/// Debian's 2.2.7 build prints it: LVS, BFD, SNMP, DBus and nftables compiled in).
pub fn data_global(cfg: &crate::model::Config, env: &GlobalEnv) -> String {
    let g = &cfg.global;
    let mut o = String::from("------< Global definitions >------\n");
    let mut w = |l: String| {
        o.push_str(&l);
        o.push('\n');
    };
    let parsed_arg = |k: &str| {
        g.parsed
            .get(k)
            .and_then(|v| v.last())
            .and_then(|a| a.first())
            .cloned()
    };
    let ns = parsed_arg("global_defs/net_namespace");
    w(format!(
        " Network namespace = {}",
        ns.as_deref().unwrap_or("(default)")
    ));
    w(format!(
        " Network namespace ipvs = {}",
        match parsed_arg("global_defs/net_namespace_ipvs") {
            Some(n) if !n.is_empty() => n,
            Some(_) => "(default)".into(),
            None => "(main namespace)".into(),
        }
    ));
    if let Some(i) = parsed_arg("global_defs/instance") {
        w(format!(" Instance name = {i}"));
    }
    w(format!(
        " Router ID = {}",
        g.router_id.as_deref().unwrap_or(&env.local_name)
    ));
    if let Some(s) = &g.smtp_server {
        w(format!(" Smtp server = {}", s.host));
        w(format!(" Smtp server port = {}", s.port));
        if let Some(h) = g.smtp_helo_name.as_deref().or(Some(&env.local_name)) {
            w(format!(" Smtp HELO name = {h}"));
        }
    } else if let Some(h) = &g.smtp_helo_name {
        w(format!(" Smtp HELO name = {h}"));
    }
    // keepalived only sets its 30 s default when an SMTP server is configured.
    if !g.smtp_connect_timeout.is_zero()
        && (g.smtp_server.is_some() || g.smtp_connect_timeout != Duration::from_secs(30))
    {
        w(format!(
            " Smtp server connection timeout = {}",
            g.smtp_connect_timeout.as_secs()
        ));
    }
    let from = g.notification_email_from.clone().or_else(|| {
        g.smtp_server
            .as_ref()
            .map(|_| format!("keepalived@{}", env.local_name))
    });
    if let Some(f) = from {
        w(format!(" Email notification from = {f}"));
        w(" Email notification to:".into());
        for e in &g.notification_email {
            w(format!("   {e}"));
        }
    }
    w(format!(
        " Default smtp_alert = {}",
        on_off_unset(g.smtp_alert)
    ));
    w(format!(
        " Default smtp_alert_vrrp = {}",
        on_off_unset(g.smtp_alert_vrrp)
    ));
    w(format!(
        " Default smtp_alert_checker = {}",
        on_off_unset(g.smtp_alert_checker)
    ));
    w(format!(
        " Checkers log all failures = {}",
        g.parsed
            .contains_key("global_defs/checker_log_all_failures")
    ));
    w(" No test config before reload".into());
    w(format!(" Dynamic interfaces = {}", g.dynamic_interfaces));
    if g.no_email_faults {
        w(" Send emails for fault transitions = off".into());
    }
    if env.vrrp_process {
        w(format!(
            " Default interface = {}",
            g.default_interface.as_deref().unwrap_or("eth0")
        ));
    }
    w(" Disable local IGMP = no".into());
    for l in super::syncd::dump_lines(cfg, env.vrrp_process) {
        w(l);
    }
    w(format!(" LVS flush = {}", g.lvs_flush));
    w(" LVS flush on stop = disabled".into());
    for (label, fifo, script, creds) in [
        (
            "Global",
            &g.notify_fifo,
            &g.notify_fifo_script,
            env.fifo_creds[0],
        ),
        (
            "VRRP",
            &g.vrrp_notify_fifo,
            &g.vrrp_notify_fifo_script,
            env.fifo_creds[1],
        ),
        (
            "LVS",
            &g.lvs_notify_fifo,
            &g.lvs_notify_fifo_script,
            env.fifo_creds[2],
        ),
    ] {
        let Some(name) = fifo.as_ref().and_then(|f| f.args.first()) else {
            continue;
        };
        w(format!(
            " {label} notify fifo = {name}, uid:gid {}:{}",
            creds.0, creds.1
        ));
        if let Some(s) = script {
            let (u, gid) = env.script_creds.unwrap_or((0, 0));
            w(format!(
                " {label} notify fifo script = {}, uid:gid {u}:{gid}",
                crate::exec::cmd_str(&(env.show_argv)(&s.args))
            ));
        }
    }
    w(format!(
        " FIFO write vrrp states on reload = {}",
        g.parsed
            .contains_key("global_defs/fifo_write_vrrp_states_on_reload")
    ));
    w(format!(
        " VRRP notify priority changes = {}",
        g.parsed
            .contains_key("global_defs/vrrp_notify_priority_changes")
    ));
    w(format!(
        " VRRP IPv4 mcast group = {}",
        g.vrrp_mcast_group4
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 18)))
    ));
    w(format!(
        " VRRP IPv6 mcast group = {}",
        g.vrrp_mcast_group6
            .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::new(
                0xff02, 0, 0, 0, 0, 0, 0, 0x12
            )))
    ));
    w(format!(
        " Gratuitous ARP delay = {}",
        g.vrrp_garp_master_delay.as_secs()
    ));
    w(format!(
        " Gratuitous ARP repeat = {}",
        g.vrrp_garp_master_repeat
    ));
    w(format!(
        " Gratuitous ARP refresh timer = {}",
        g.vrrp_garp_master_refresh.as_secs()
    ));
    w(format!(
        " Gratuitous ARP refresh repeat = {}",
        g.vrrp_garp_master_refresh_repeat
    ));
    // The VRRP process resolves unset lower-priority values to the GARP ones; the parent
    // prints keepalived's PARAMETER_UNSET.
    let unset = u32::MAX;
    let (lpd, lpr) = if env.vrrp_process {
        (
            g.vrrp_garp_lower_prio_delay
                .unwrap_or(g.vrrp_garp_master_delay)
                .as_secs(),
            g.vrrp_garp_lower_prio_repeat
                .unwrap_or(g.vrrp_garp_master_repeat),
        )
    } else {
        (
            g.vrrp_garp_lower_prio_delay
                .map_or(u64::from(unset), |d| d.as_secs()),
            g.vrrp_garp_lower_prio_repeat.unwrap_or(unset),
        )
    };
    w(format!(" Gratuitous ARP lower priority delay = {lpd}"));
    w(format!(" Gratuitous ARP lower priority repeat = {lpr}"));
    w(format!(
        " Num adverts before down = {}",
        g.vrrp_down_timer_adverts
    ));
    w(" Gratuitous ARP for each secondary VMAC = 0s".into());
    w(format!(
        " Send advert after receive lower priority advert = {}",
        !g.vrrp_lower_prio_no_advert
    ));
    w(format!(
        " Send advert after receive higher priority advert = {}",
        g.vrrp_higher_prio_send_advert
    ));
    w(format!(
        " Gratuitous ARP interval = {:.6}",
        g.vrrp_garp_interval.as_secs_f64()
    ));
    w(format!(
        " Gratuitous NA interval = {:.6}",
        g.vrrp_gna_interval.as_secs_f64()
    ));
    w(format!(
        " VRRP default protocol version = {}",
        g.vrrp_version
    ));
    w(" nftables without counters".into());
    w(" libnftnl version 1.2.3".into());
    w(format!(
        " VRRP check unicast_src = {}",
        g.vrrp_check_unicast_src
    ));
    w(format!(
        " VRRP skip check advert addresses = {}",
        g.vrrp_skip_check_adv_addr
    ));
    w(format!(" VRRP strict mode = {}", g.vrrp_strict));
    match g.max_auto_priority {
        Some(-1) => w(" Max auto priority = Disabled".into()),
        v => w(format!(" Max auto priority = {}", v.unwrap_or(0))),
    }
    w(" Min auto priority delay = 1000000 usecs".into());
    for p in ["VRRP", "Checker", "BFD"] {
        w(format!(" {p} process priority = 0"));
        w(format!(" {p} don't swap = false"));
        w(format!(" {p} realtime priority = 0"));
        w(format!(" {p} realtime limit = 10000"));
    }
    for s in ["vrrp", "checker", "RFCv2", "RFCv3", "traps"] {
        w(format!(" SNMP {s} disabled"));
    }
    w(" SNMP socket = default (unix:/var/agentx/master)".into());
    w(" DBus disabled".into());
    w(" DBus service name = ".into());
    w(format!(
        " Script security {}",
        if g.enable_script_security {
            "enabled"
        } else {
            "disabled"
        }
    ));
    if let Some((u, gid)) = env.script_creds {
        w(format!(" Default script uid:gid {u}:{gid}"));
    }
    for k in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs",
        "process_monitor_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs",
    ] {
        w(format!(" {k} = 0"));
        w(format!(" {k}_force = 0"));
    }
    w(" rs_init_notifies = 0".into());
    w(" no_checker_emails = 0".into());
    w(" rx_bufs_multiples = 3".into());
    w(format!(" umask = 0{:o}", env.umask));
    o
}

/// One VRRP socket as `------< VRRP Sockpool >------` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockDump {
    pub fd_in: i32,
    pub fd_out: i32,
    pub interface: String,
    pub ipv6: bool,
    /// The unicast source address; `None` for a multicast socket.
    pub unicast_src: Option<IpAddr>,
    /// Instances on it: name, VRID.
    pub instances: Vec<(String, u8)>,
}

/// The `------< VRRP Sockpool >------` section.
pub fn data_sockpool(socks: &[SockDump]) -> String {
    let mut o = String::from("------< VRRP Sockpool >------\n");
    for s in socks {
        let _ = writeln!(o, " fd_in {} fd_out = {}", s.fd_in, s.fd_out);
        let _ = writeln!(o, "   Interface = {}", s.interface);
        let _ = writeln!(o, "   Family = {}", if s.ipv6 { "IPv6" } else { "IPv4" });
        o.push_str("   Protocol = VRRP\n");
        match s.unicast_src {
            Some(a) => {
                let _ = writeln!(o, "   Type = Unicast\n   Address = {a}");
            }
            None => o.push_str("   Type = Multicast\n"),
        }
        o.push_str("   Rx buf size = 0\n   VRRP instances\n");
        let mut inst = s.instances.clone();
        inst.sort_by_key(|i| i.1);
        for (n, v) in inst {
            let _ = writeln!(o, "     {n} vrid {v}");
        }
    }
    o
}

/// The whole `keepalived.data` the VRRP process writes on SIGUSR1 (keepalived's
/// `dump_data_vrrp`): global definitions, topology, sockpool, sync groups, scripts.
pub fn data_file(
    global: &str,
    instances: &[InstanceDump],
    socks: &[SockDump],
    groups: &[GroupDump],
    scripts: &[ScriptStateDump],
) -> String {
    let mut o = String::from(global);
    o.push_str(&data_topology(instances));
    o.push_str(&data_sockpool(socks));
    if !groups.is_empty() {
        o.push_str(&data_sync_groups(groups));
    }
    if !scripts.is_empty() {
        o.push_str(&data_scripts(scripts));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::{InstanceConfig, VirtualAddress};
    use std::net::Ipv4Addr;

    const CAPTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/keepalived-2.2.7-runtime-capture/two-node-A/"
    );

    /// The capture's VI_2 as a dump: master, priority 150, one VIP, generic notify script.
    fn vi2() -> InstanceDump {
        let mut c = InstanceConfig::new("VI_2", 52);
        c.priority = 150;
        c.interface = Some("eth0".into());
        c.source_addr = Some(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 1)));
        c.vips = vec![VirtualAddress::host(IpAddr::V4(Ipv4Addr::new(
            10, 9, 9, 101,
        )))];
        let r = Router::new(c);
        let now = crate::sys::clock::now();
        let t = UNIX_EPOCH + Duration::new(1_795_321_007, 879_770_000);
        let mut d = InstanceDump::from_router(&r, now, t, t);
        d.state = State::Master;
        d.wantstate = State::Master;
        d.sync_group = Some("SG1".into());
        d.vips = vec!["10.9.9.101/24 dev eth0 scope global set".into()];
        d.vipset = true;
        d.smtp_alert = true;
        d.script = Some(ScriptDump {
            cmd: "'/tmp/ka/exp/A/notify.sh'".into(),
            uid: 0,
            gid: 0,
        });
        d.sockets = Some((14, 15));
        d.stats.advert_sent = 30;
        d.stats.become_master = 1;
        d
    }

    #[test]
    fn stats_layout_is_keepalived_s() {
        let mut d = vi2();
        d.stats.advert_sent = 29;
        let text = stats_file(&[d]);
        let expected = "VRRP Instance: VI_2\n  Advertisements:\n    Received: 0\n    Sent: 29\n  \
            Became master: 1\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    TTL: 0\n    \
            Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 0\n  \
            Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  \
            Priority Zero:\n    Received: 0\n    Sent: 0\n";
        assert_eq!(text, expected);
        if let Ok(cap) = std::fs::read_to_string(format!("{CAPTURE}keepalived.stats")) {
            assert!(cap.contains(expected), "capture differs");
        }
    }

    #[test]
    fn json_matches_the_capture_for_vi_2() {
        let text = json_file(&[vi2()]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let expected = r#"{"data":{"iname":"VI_2","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"eth0","master_priority":0,"last_transition":1795321007.879770,"garp_delay":5,"garp_refresh":0,"garp_rep":5,"garp_refresh_rep":1,"garp_lower_prio_delay":5,"garp_lower_prio_rep":5,"lower_prio_no_advert":0,"higher_prio_send_advert":0,"vrid":52,"base_priority":150,"effective_priority":150,"vipset":true,"promote_secondaries":false,"adver_int":1,"master_adver_int":1,"accept":1,"nopreempt":false,"preempt_delay":0,"state":2,"wantstate":2,"version":2,"smtp_alert":true,"notify_deleted":false,"script":"'\/tmp\/ka\/exp\/A\/notify.sh'","vips":["10.9.9.101\/24 dev eth0 scope global set"],"auth_type":0},"stats":{"advert_rcvd":0,"advert_sent":30,"become_master":1,"release_master":0,"packet_len_err":0,"advert_interval_err":0,"ip_ttl_err":0,"invalid_type_rcvd":0,"addr_list_err":0,"invalid_authtype":0,"authtype_mismatch":0,"auth_failure":0,"pri_zero_rcvd":0,"pri_zero_sent":0}}"#;
        assert_eq!(text, format!("[{expected}]"));
        assert_eq!(v[0]["data"]["state"], 2);
        if let Ok(cap) = std::fs::read_to_string(format!("{CAPTURE}keepalived.json")) {
            assert!(cap.contains(expected), "capture differs");
        }
    }

    #[test]
    fn topology_lines_match_the_capture_for_vi_2() {
        let text = data_topology(&[vi2()]);
        let ours: Vec<&str> = text.lines().collect();
        // Time-dependent lines aside, every line is the capture's, in its order.
        let fixed = |l: &&str| {
            !l.starts_with("   Last transition")
                && !l.starts_with("   Read timeout")
                && !l.starts_with("   Master down timer")
        };
        let expected = " VRRP Instance = VI_2
   VRRP Version = 2
   Sync group = SG1
   State = MASTER
   Flags: none
   Wantstate = MASTER
   Number of config faults = 0
   Number of interface and track script faults = 0
   Number of track scripts init = 0
   Interface = eth0
   Using src_ip = 10.9.9.1
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Down timer adverts = 3
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = false
   Virtual Router ID = 52
   Priority = 150
   Effective priority = 150
   Total priority = 150
   Advert interval = 1 sec
   Accept = enabled
   Preempt = enabled
   Promote_secondaries = disabled
   Authentication type = none
   Virtual IP (1):
     10.9.9.101/24 dev eth0 scope global set
   fd_in 14, fd_out 15
   Using smtp notification = yes
   Notify deleted = Fault
   Generic state transition script = '/tmp/ka/exp/A/notify.sh', uid:gid 0:0
   Notify priority changes = false";
        let got: Vec<&str> = ours[1..].iter().copied().filter(|l| fixed(l)).collect();
        assert_eq!(got.join("\n"), expected);
        assert_eq!(ours[0], "------< VRRP Topology >------");
        if let Ok(cap) = std::fs::read_to_string(format!("{CAPTURE}keepalived.data")) {
            let cap: Vec<&str> = cap.lines().filter(|l| fixed(l)).collect();
            let joined = cap.join("\n");
            assert!(joined.contains(expected), "capture differs");
        }
        let lt = ours
            .iter()
            .find(|l| l.starts_with("   Last transition = "))
            .unwrap();
        assert!(
            lt.starts_with("   Last transition = 1795321007.879770 ("),
            "{lt}"
        );
    }

    #[test]
    fn sync_group_and_script_sections() {
        let g = GroupDump {
            name: "SG1".into(),
            state: State::Master,
            num_member_fault: 0,
            num_member_init: 0,
            members: vec!["VI_2".into(), "VI_3".into()],
            smtp_alert: true,
            script_backup: None,
            script_master: None,
            script_fault: None,
            script_stop: None,
            script: Some(ScriptDump {
                cmd: "'/tmp/ka/exp/A/notify.sh' 'group-extra-arg'".into(),
                uid: 0,
                gid: 0,
            }),
        };
        let s = ScriptStateDump {
            name: "chk".into(),
            cmd: "'/tmp/ka/exp/A/chk.sh'".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::ZERO,
            weight: -60,
            weight_reverse: false,
            rise: 2,
            fall: 2,
            result: 3,
            insecure: false,
            init_state: "unknown",
            status_good: true,
            uid: 0,
            gid: 0,
            tracking: vec![("VI_1".into(), -60)],
            state: "idle".into(),
        };
        let text = format!("{}{}", data_sync_groups(&[g]), data_scripts(&[s]));
        let expected = "------< VRRP Sync groups >------
 VRRP Sync Group = SG1, MASTER
   Num member fault 0, num member init 0
   VRRP member instances :
     VI_2
     VI_3
   Using smtp notification = yes
   Generic state transition script = '/tmp/ka/exp/A/notify.sh' 'group-extra-arg', uid:gid 0:0
------< VRRP Scripts >------
 VRRP Script = chk
   Command = '/tmp/ka/exp/A/chk.sh'
   Interval = 1 sec
   Timeout = 0 sec
   Weight = -60
   Rise = 2
   Fall = 2
   Result = 3
   Insecure = no
   Init state = unknown
   Status = GOOD
   Script uid:gid = 0:0
   VRRP instances :
   Tracking instances :
     VI_1, weight -60
   State = idle
";
        assert_eq!(text, expected);
        if let Ok(cap) = std::fs::read_to_string(format!("{CAPTURE}keepalived.data")) {
            assert!(cap.contains(expected), "capture differs");
        }
    }

    fn capture_model() -> Option<crate::model::Config> {
        let path = std::path::PathBuf::from(format!("{CAPTURE}keepalived.conf"));
        if !path.exists() {
            return None;
        }
        let opts = crate::config::LoadOptions::default();
        Some(crate::config::load(&path, &opts).model)
    }

    fn section(text: &str, head: &str) -> String {
        let mut out = String::new();
        let mut on = false;
        for l in text.lines() {
            if l.starts_with("------<") {
                on = l == head;
            }
            if on {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn global_definitions_match_the_capture_in_both_processes() {
        let Some(cfg) = capture_model() else {
            eprintln!("skipping: no capture");
            return;
        };
        let mut env = GlobalEnv {
            local_name: "vm".into(),
            umask: 0o177,
            script_creds: Some((0, 0)),
            fifo_creds: [(0, 0); 3],
            vrrp_process: true,
            show_argv: |a| a.to_vec(),
        };
        let ours = data_global(&cfg, &env);
        let cap = std::fs::read_to_string(format!("{CAPTURE}keepalived.data")).expect("capture");
        assert_eq!(ours, section(&cap, "------< Global definitions >------"));
        env.vrrp_process = false;
        let parent = data_global(&cfg, &env);
        let cap =
            std::fs::read_to_string(format!("{CAPTURE}keepalived_parent.data")).expect("capture");
        assert_eq!(parent, cap);
    }

    #[test]
    fn vip_lines_are_format_ipaddress() {
        use crate::vrrp::VirtualAddress;
        let v = |s: &str, len: u8, opts: &str| VirtualAddress {
            addr: s.parse().expect("addr"),
            prefix_len: len,
            dev: None,
            options: opts.into(),
        };
        assert_eq!(
            format_vip(&v("10.9.9.100", 24, ""), "eth0", true),
            "10.9.9.100/24 dev eth0 scope global set"
        );
        assert_eq!(
            format_vip(&v("10.9.9.100", 32, ""), "eth0", false),
            "10.9.9.100 dev eth0 scope global"
        );
        assert_eq!(
            format_vip(
                &v("10.9.9.7", 24, "brd 10.9.9.255 scope link label eth0:1"),
                "eth0",
                true
            ),
            "10.9.9.7/24 brd 10.9.9.255 dev eth0 scope link label eth0:1 set"
        );
        assert_eq!(
            format_vip(&v("fd00::1", 64, ""), "eth1", false),
            "fd00::1/64 dev eth1 scope global preferred_lft forever"
        );
        assert_eq!(
            format_vip(&v("fd00::1", 128, ""), "eth1", true),
            "fd00::1 dev eth1 scope global deprecated set"
        );
    }

    #[test]
    fn sockpool_section_matches_the_capture() {
        let s = SockDump {
            fd_in: 14,
            fd_out: 15,
            interface: "eth0".into(),
            ipv6: false,
            unicast_src: None,
            instances: vec![
                ("VI_2".into(), 52),
                ("VI_1".into(), 51),
                ("VI_3".into(), 53),
            ],
        };
        let text = data_sockpool(&[s]);
        let expected = "------< VRRP Sockpool >------
 fd_in 14 fd_out = 15
   Interface = eth0
   Family = IPv4
   Protocol = VRRP
   Type = Multicast
   Rx buf size = 0
   VRRP instances
     VI_1 vrid 51
     VI_2 vrid 52
     VI_3 vrid 53
";
        assert_eq!(text, expected);
        if let Ok(cap) = std::fs::read_to_string(format!("{CAPTURE}keepalived.data")) {
            assert!(cap.contains(expected), "capture differs");
        }
    }
}
