//! `lvs_sync_daemon` on the VRRP side: which IPVS connection-sync daemons to start and stop,
//! and when (keepalived 2.2.7's `vrrp_init_state`, `vrrp_state_become_master`,
//! `vrrp_state_leave_master`, `reload_vrrp_thread` and `vrrp_terminate_phase1`). Pure: the
//! driver (`daemon::vrrp`) sends the commands to the kernel in order and logs the failures
//! keepalived logs ([`error_line`]).
//!
//! What that amounts to, checked against keepalived 2.2.7 in a VM (`ipvsadm -L --daemon`):
//! the backup daemon runs while the instance is not MASTER (INIT, BACKUP, FAULT), the master
//! daemon only while it is MASTER, and neither after shutdown.

use crate::ipvs::{SyncDaemon, SyncState};
use crate::model;
use crate::vrrp::State;

/// The resolved `lvs_sync_daemon` of a configuration whose VRRP side controls the daemons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncdConfig {
    /// The instance whose state decides master or backup.
    pub instance: String,
    pub interface: String,
    pub syncid: u8,
    pub maxlen: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<std::net::IpAddr>,
}

/// What a configuration asks of the VRRP side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Setting {
    /// No `lvs_sync_daemon`, or one without an instance (the checker side's).
    #[default]
    None,
    Resolved(SyncdConfig),
    /// The named instance does not exist: keepalived clears the setting, with
    /// [`Setting::unknown_line`], when the VRRP side starts (not under `-t`).
    UnknownInstance(String),
}

impl Setting {
    pub fn from_model(cfg: &model::Config) -> Setting {
        let Some(d) = cfg.global.lvs_sync_daemon.as_ref() else {
            return Setting::None;
        };
        let Some(instance) = d.instance.clone() else {
            return Setting::None;
        };
        let Some(inst) = cfg.vrrp_instances.iter().find(|i| i.name == instance) else {
            return Setting::UnknownInstance(instance);
        };
        Setting::Resolved(SyncdConfig {
            instance,
            interface: d.interface.clone(),
            // keepalived: no `id` -> the instance's VRID.
            syncid: d.syncid.or(inst.virtual_router_id).unwrap_or(0),
            maxlen: d.maxlen,
            port: d.port,
            ttl: d.ttl,
            group: d.group,
        })
    }

    pub fn resolved(&self) -> Option<&SyncdConfig> {
        match self {
            Setting::Resolved(c) => Some(c),
            _ => None,
        }
    }

    /// keepalived's line for [`Setting::UnknownInstance`].
    pub fn unknown_line(&self) -> Option<String> {
        match self {
            Setting::UnknownInstance(n) => Some(format!(
                "Unable to find vrrp instance {n} for lvs_syncd - clearing lvs_syncd config"
            )),
            _ => None,
        }
    }
}

impl SyncdConfig {
    /// The VRRP side's sync daemon, if the configuration gives it one: an `lvs_sync_daemon`
    /// naming an instance that exists. Without an instance it is the checker side's
    /// (keepalived runs both daemons from there).
    pub fn from_model(cfg: &model::Config) -> Option<SyncdConfig> {
        Setting::from_model(cfg).resolved().cloned()
    }

    /// The daemon to start in `state`.
    pub fn daemon(&self, state: SyncState) -> SyncDaemon {
        SyncDaemon {
            maxlen: self.maxlen,
            group: self.group,
            port: self.port,
            ttl: self.ttl,
            ..SyncDaemon::new(state, &self.interface, u32::from(self.syncid))
        }
    }
}

/// One request to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncdCmd {
    Start {
        daemon: SyncDaemon,
        /// keepalived ignores (does not log) a failure.
        ignore_error: bool,
    },
    Stop {
        state: SyncState,
        ignore_error: bool,
    },
}

impl SyncdCmd {
    fn start(c: &SyncdConfig, state: SyncState) -> SyncdCmd {
        SyncdCmd::Start {
            daemon: c.daemon(state),
            ignore_error: false,
        }
    }
    fn stop(state: SyncState, ignore_error: bool) -> SyncdCmd {
        SyncdCmd::Stop {
            state,
            ignore_error,
        }
    }
    pub fn ignore_error(&self) -> bool {
        match self {
            SyncdCmd::Start { ignore_error, .. } | SyncdCmd::Stop { ignore_error, .. } => {
                *ignore_error
            }
        }
    }
    /// keepalived's name and number of the command (its setsockopt names, even over netlink).
    pub fn name(&self) -> (&'static str, u32) {
        match self {
            SyncdCmd::Start { .. } => ("IP_VS_SO_SET_STARTDAEMON", IP_VS_SO_SET_STARTDAEMON),
            SyncdCmd::Stop { .. } => ("IP_VS_SO_SET_STOPDAEMON", IP_VS_SO_SET_STOPDAEMON),
        }
    }
}

/// `IP_VS_BASE_CTL + 11` and `+ 12` (linux/ip_vs.h).
const IP_VS_SO_SET_STARTDAEMON: u32 = 64 + 1024 + 64 + 11;
const IP_VS_SO_SET_STOPDAEMON: u32 = 64 + 1024 + 64 + 12;

fn role(state: State) -> SyncState {
    if state == State::Master {
        SyncState::Master
    } else {
        SyncState::Backup
    }
}

fn other(s: SyncState) -> SyncState {
    match s {
        SyncState::Master => SyncState::Backup,
        SyncState::Backup => SyncState::Master,
    }
}

/// Start-up, and the end of a reload (keepalived's `vrrp_init_state`): the daemon for the
/// instance's state (at start-up the instance is still INIT: the backup daemon).
pub fn on_init(c: &SyncdConfig, state: State) -> Vec<SyncdCmd> {
    vec![SyncdCmd::start(c, role(state))]
}

/// The controlling instance changed state: entering MASTER swaps the backup daemon for the
/// master one, leaving MASTER swaps back. Other transitions change nothing.
pub fn on_transition(c: &SyncdConfig, from: State, to: State) -> Vec<SyncdCmd> {
    match (from == State::Master, to == State::Master) {
        (false, true) => vec![
            SyncdCmd::stop(SyncState::Backup, false),
            SyncdCmd::start(c, SyncState::Master),
        ],
        (true, false) => vec![
            SyncdCmd::stop(SyncState::Master, false),
            SyncdCmd::start(c, SyncState::Backup),
        ],
        _ => Vec::new(),
    }
}

/// keepalived's `ipvs_syncd_changed`: a setting the running daemon was started with differs.
pub fn changed(old: &SyncdConfig, new: &SyncdConfig) -> bool {
    (
        old.syncid,
        &old.interface,
        old.maxlen,
        old.port,
        old.ttl,
        old.group,
    ) != (
        new.syncid,
        &new.interface,
        new.maxlen,
        new.port,
        new.ttl,
        new.group,
    )
}

/// A reload to `new` (whose instance is now in `state`), from a configuration with `old`:
/// the daemon for the state is restarted when a setting changed, the other one is stopped
/// (failures ignored), then [`on_init`]'s start follows, whose "Daemon has already run" error
/// keepalived logs when nothing changed. Without `new` nothing is done: daemons an earlier
/// configuration started keep running, as in keepalived.
pub fn on_reload(
    old: Option<&SyncdConfig>,
    new: Option<&SyncdConfig>,
    state: State,
) -> Vec<SyncdCmd> {
    let Some(new) = new else {
        return Vec::new();
    };
    let want = role(state);
    let mut v = Vec::new();
    if old.map_or(true, |o| changed(o, new)) {
        v.push(SyncdCmd::stop(want, true));
    }
    // (keepalived also sends a start without settings here, which the kernel always refuses.)
    v.push(SyncdCmd::stop(other(want), true));
    v.extend(on_init(new, state));
    v
}

/// Shutdown: the daemon for the instance's state stops (keepalived does this before it
/// releases the instances, so a MASTER stops the master daemon and starts nothing).
pub fn on_stop(state: State) -> Vec<SyncdCmd> {
    vec![SyncdCmd::stop(role(state), false)]
}

/// The checker side's sync daemons: an `lvs_sync_daemon` without an instance, while virtual
/// servers make the checker side run (keepalived's `checker_ipvs_syncd_needed`). Both daemons
/// run, with syncid 0 unless `id` is given.
pub fn checker_config(cfg: &model::Config) -> Option<SyncdConfig> {
    let d = cfg.global.lvs_sync_daemon.as_ref()?;
    if d.instance.is_some() {
        return None;
    }
    Some(SyncdConfig {
        instance: String::new(),
        interface: d.interface.clone(),
        syncid: d.syncid.unwrap_or(0),
        maxlen: d.maxlen,
        port: d.port,
        ttl: d.ttl,
        group: d.group,
    })
}

/// Whether `lvs_sync_daemon` sets `id` (keepalived's checker compares the running syncid with
/// the new one before defaulting it, so without `id` a reload always restarts both daemons).
pub fn id_given(cfg: &model::Config) -> bool {
    cfg.global
        .lvs_sync_daemon
        .as_ref()
        .is_some_and(|d| d.syncid.is_some())
}

/// The checker side starts (keepalived's `start_check`): any daemons a crashed predecessor
/// left are stopped, then the master and the backup daemon start.
pub fn checker_on_start(c: &SyncdConfig) -> Vec<SyncdCmd> {
    vec![
        SyncdCmd::stop(SyncState::Master, true),
        SyncdCmd::stop(SyncState::Backup, true),
        SyncdCmd::start(c, SyncState::Master),
        SyncdCmd::start(c, SyncState::Backup),
    ]
}

/// The checker side reloads to `new` (`new_id_given`: see [`id_given`]) from `old`: both
/// daemons are restarted when a setting changed, otherwise their starts fail with "Daemon has
/// already run", which keepalived logs. Without `new` nothing is done (daemons started before
/// keep running, as in keepalived).
pub fn checker_on_reload(
    old: Option<&SyncdConfig>,
    new: Option<&SyncdConfig>,
    new_id_given: bool,
) -> Vec<SyncdCmd> {
    let Some(new) = new else {
        return Vec::new();
    };
    let mut v = Vec::new();
    if !new_id_given || old.map_or(true, |o| changed(o, new)) {
        v.push(SyncdCmd::stop(SyncState::Master, true));
        v.push(SyncdCmd::stop(SyncState::Backup, true));
    }
    v.push(SyncdCmd::start(new, SyncState::Master));
    v.push(SyncdCmd::start(new, SyncState::Backup));
    v
}

/// The checker side stops: both daemons go (failures ignored).
pub fn checker_on_stop() -> Vec<SyncdCmd> {
    vec![
        SyncdCmd::stop(SyncState::Master, true),
        SyncdCmd::stop(SyncState::Backup, true),
    ]
}

/// The `LVS syncd` lines of keepalived's global-definitions dump: as the VRRP process has the
/// setting (instance resolved, syncid defaulted) or as the parent has it (instance by name,
/// syncid `PARAMETER_UNSET` = 4294967295 unless given; no deprecated instance form).
pub fn dump_lines(cfg: &model::Config, vrrp_process: bool) -> Vec<String> {
    let Some(d) = cfg.global.lvs_sync_daemon.as_ref() else {
        return Vec::new();
    };
    let mut v = Vec::new();
    let syncid = if vrrp_process {
        match Setting::from_model(cfg) {
            Setting::Resolved(c) => {
                v.push(format!(" LVS syncd vrrp instance = {}", c.instance));
                u32::from(c.syncid)
            }
            Setting::UnknownInstance(_) => return Vec::new(),
            Setting::None => d.syncid.map_or(0, u32::from),
        }
    } else {
        if d.deprecated_form {
            return Vec::new();
        }
        if let Some(n) = &d.instance {
            v.push(format!(" LVS syncd vrrp name = {n}"));
        }
        d.syncid.map_or(u32::MAX, u32::from)
    };
    v.push(format!(" LVS syncd interface = {}", d.interface));
    v.push(format!(" LVS syncd syncid = {syncid}"));
    if let Some(m) = d.maxlen {
        v.push(format!(" LVS syncd maxlen = {m}"));
    }
    if let Some(g) = d.group {
        v.push(format!(" LVS mcast group {g}"));
    }
    if let Some(p) = d.port {
        v.push(format!(" LVS syncd mcast port = {p}"));
    }
    if let Some(t) = d.ttl {
        v.push(format!(" LVS syncd mcast ttl = {t}"));
    }
    v
}

/// keepalived's `ipvs_strerror` for the daemon commands.
fn strerror(cmd: &SyncdCmd, errno: i32) -> String {
    match (cmd, errno) {
        (SyncdCmd::Start { .. }, libc::EEXIST) => "Daemon has already run".into(),
        (SyncdCmd::Stop { .. }, libc::ESRCH) => "No daemon is running".into(),
        (_, libc::ESRCH) => "No such service".into(),
        (_, libc::EPERM) => "Permission denied (you must be root)".into(),
        (_, libc::EINVAL) => {
            "Invalid operation.  Possibly wrong module version, address not unicast, ...".into()
        }
        (_, libc::ENOPROTOOPT) => "Protocol not available".into(),
        (_, libc::ENOMEM) => "Memory allocation problem".into(),
        (_, libc::EOPNOTSUPP) => "Operation not supported with IPv6".into(),
        (_, libc::EAFNOSUPPORT) => "Operation not supported with specified address family".into(),
        (_, libc::EMSGSIZE) => "Module is wrong version".into(),
        (_, e) => nix::errno::Errno::from_raw(e).desc().to_string(),
    }
}

/// keepalived's log line for a failed command: `IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163)
/// error: Daemon has already run(17)`. `errno` is `None` for a failure that is not the
/// kernel's (then `detail` says what it was).
pub fn error_line(cmd: &SyncdCmd, errno: Option<i32>, detail: &str) -> String {
    let (name, num) = cmd.name();
    match errno {
        Some(e) => format!("IPVS cmd {name}({num}) error: {}({e})", strerror(cmd, e)),
        None => format!("IPVS cmd {name}({num}) error: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> model::Config {
        let dir = std::env::temp_dir().join(format!(
            "syncd-unit-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("k.conf");
        std::fs::write(&f, text).expect("write");
        let l = crate::config::load(&f, &Default::default());
        let _ = std::fs::remove_dir_all(&dir);
        l.model
    }

    const INST: &str = "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n";

    fn sc() -> SyncdConfig {
        SyncdConfig {
            instance: "VI_1".into(),
            interface: "eth0".into(),
            syncid: 51,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        }
    }

    fn start(s: SyncState) -> SyncdCmd {
        SyncdCmd::start(&sc(), s)
    }

    #[test]
    fn syncid_defaults_to_the_vrid_and_options_reach_the_daemon() {
        let c = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 inst VI_1 maxlen 1400 port 8850 ttl 3 group 239.1.2.3\n}}\n{INST}"
        ));
        let s = SyncdConfig::from_model(&c).expect("syncd");
        assert_eq!(s.syncid, 51);
        let d = s.daemon(SyncState::Backup);
        assert_eq!(d.mcast_ifname, "eth0");
        assert_eq!(d.syncid, 51);
        assert_eq!(d.maxlen, Some(1400));
        assert_eq!(d.port, Some(8850));
        assert_eq!(d.ttl, Some(3));
        assert_eq!(d.group, Some("239.1.2.3".parse().expect("ip")));
        let c = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_1 id 7\n}}\n{INST}"
        ));
        assert_eq!(SyncdConfig::from_model(&c).map(|s| s.syncid), Some(7));
        // The old positional syncid.
        let c = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_1 12\n}}\n{INST}"
        ));
        assert_eq!(SyncdConfig::from_model(&c).map(|s| s.syncid), Some(12));
    }

    #[test]
    fn deprecated_instance_form_has_syncid_0() {
        let c = conf("vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n lvs_sync_daemon_interface eth1\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n");
        let s = SyncdConfig::from_model(&c).expect("syncd");
        assert_eq!(
            (s.instance.as_str(), s.interface.as_str(), s.syncid),
            ("VI_1", "eth1", 0)
        );
    }

    #[test]
    fn unknown_instance_or_no_instance_is_not_the_vrrp_side_s() {
        let c = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_9\n}}\n{INST}"
        ));
        assert_eq!(SyncdConfig::from_model(&c), None);
        let c = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0\n}}\n{INST}"
        ));
        assert!(c.global.lvs_sync_daemon.is_some());
        assert_eq!(SyncdConfig::from_model(&c), None);
        assert_eq!(SyncdConfig::from_model(&conf(INST)), None);
    }

    #[test]
    fn backup_daemon_unless_master() {
        assert_eq!(on_init(&sc(), State::Init), [start(SyncState::Backup)]);
        assert_eq!(on_init(&sc(), State::Master), [start(SyncState::Master)]);
        assert_eq!(
            on_transition(&sc(), State::Backup, State::Master),
            [
                SyncdCmd::stop(SyncState::Backup, false),
                start(SyncState::Master)
            ]
        );
        assert_eq!(
            on_transition(&sc(), State::Init, State::Master),
            [
                SyncdCmd::stop(SyncState::Backup, false),
                start(SyncState::Master)
            ]
        );
        for to in [State::Backup, State::Fault] {
            assert_eq!(
                on_transition(&sc(), State::Master, to),
                [
                    SyncdCmd::stop(SyncState::Master, false),
                    start(SyncState::Backup)
                ]
            );
        }
        assert!(on_transition(&sc(), State::Init, State::Backup).is_empty());
        assert!(on_transition(&sc(), State::Backup, State::Fault).is_empty());
        assert!(on_transition(&sc(), State::Fault, State::Backup).is_empty());
        assert_eq!(
            on_stop(State::Master),
            [SyncdCmd::stop(SyncState::Master, false)]
        );
        assert_eq!(
            on_stop(State::Fault),
            [SyncdCmd::stop(SyncState::Backup, false)]
        );
    }

    #[test]
    fn reload_restarts_only_changed_settings() {
        let same = on_reload(Some(&sc()), Some(&sc()), State::Master);
        assert_eq!(
            same,
            [
                SyncdCmd::stop(SyncState::Backup, true),
                start(SyncState::Master)
            ]
        );
        let mut new = sc();
        new.interface = "eth1".into();
        let moved = on_reload(Some(&sc()), Some(&new), State::Backup);
        assert_eq!(
            moved,
            [
                SyncdCmd::stop(SyncState::Backup, true),
                SyncdCmd::stop(SyncState::Master, true),
                SyncdCmd::start(&new, SyncState::Backup)
            ]
        );
        assert_eq!(
            on_reload(None, Some(&sc()), State::Init)[0],
            SyncdCmd::stop(SyncState::Backup, true)
        );
        assert!(on_reload(Some(&sc()), None, State::Master).is_empty());
        for f in [
            |c: &mut SyncdConfig| c.syncid = 1,
            |c: &mut SyncdConfig| c.maxlen = Some(1),
            |c: &mut SyncdConfig| c.port = Some(1),
            |c: &mut SyncdConfig| c.ttl = Some(2),
            |c: &mut SyncdConfig| c.group = Some("239.0.0.1".parse().expect("ip")),
        ] {
            let mut n = sc();
            f(&mut n);
            assert!(changed(&sc(), &n));
        }
        let mut n = sc();
        n.instance = "VI_2".into();
        assert!(!changed(&sc(), &n), "the instance is not a daemon setting");
    }

    #[test]
    fn checker_side_runs_both_daemons() {
        let c = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0\n}}\n{INST}"
        ));
        let cc = checker_config(&c).expect("checker syncd");
        assert_eq!((cc.interface.as_str(), cc.syncid), ("eth0", 0));
        assert!(!id_given(&c));
        let named = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_1\n}}\n{INST}"
        ));
        assert_eq!(checker_config(&named), None);
        let with_id = conf("global_defs {\n lvs_sync_daemon eth0 id 5 port 9000\n}\n");
        let cid = checker_config(&with_id).expect("checker syncd");
        assert_eq!((cid.syncid, cid.port), (5, Some(9000)));
        assert!(id_given(&with_id));

        let both = |c: &SyncdConfig| {
            vec![
                SyncdCmd::start(c, SyncState::Master),
                SyncdCmd::start(c, SyncState::Backup),
            ]
        };
        let stops = checker_on_stop();
        assert_eq!(checker_on_start(&cc), [stops.clone(), both(&cc)].concat());
        // Unchanged with an explicit id: only the starts (which fail: "already run").
        assert_eq!(checker_on_reload(Some(&cid), Some(&cid), true), both(&cid));
        // Without id keepalived always sees a change.
        assert_eq!(
            checker_on_reload(Some(&cc), Some(&cc), false),
            [stops.clone(), both(&cc)].concat()
        );
        let mut moved = cid.clone();
        moved.interface = "eth1".into();
        assert_eq!(
            checker_on_reload(Some(&cid), Some(&moved), true),
            [stops.clone(), both(&moved)].concat()
        );
        assert!(checker_on_reload(Some(&cid), None, false).is_empty());
        assert!(stops.iter().all(SyncdCmd::ignore_error));
    }

    #[test]
    fn dump_lines_are_keepalived_s() {
        // Each case as Debian's keepalived 2.2.7 wrote keepalived_parent.data and
        // keepalived.data (SIGUSR1) in the IPVS VM.
        let all = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_1 id 7 maxlen 1400 port 8850 ttl 3 group 239.1.2.3\n}}\n{INST}"
        ));
        let tail = [
            " LVS syncd interface = eth0",
            " LVS syncd syncid = 7",
            " LVS syncd maxlen = 1400",
            " LVS mcast group 239.1.2.3",
            " LVS syncd mcast port = 8850",
            " LVS syncd mcast ttl = 3",
        ];
        assert_eq!(
            dump_lines(&all, false),
            [&[" LVS syncd vrrp name = VI_1"][..], &tail].concat()
        );
        assert_eq!(
            dump_lines(&all, true),
            [&[" LVS syncd vrrp instance = VI_1"][..], &tail].concat()
        );
        let plain = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 inst VI_1\n}}\n{INST}"
        ));
        assert_eq!(
            dump_lines(&plain, false),
            [
                " LVS syncd vrrp name = VI_1",
                " LVS syncd interface = eth0",
                " LVS syncd syncid = 4294967295"
            ]
        );
        assert_eq!(dump_lines(&plain, true)[2], " LVS syncd syncid = 51");
        let depr = conf("vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n lvs_sync_daemon_interface eth1\n}\n");
        assert!(dump_lines(&depr, false).is_empty());
        assert_eq!(
            dump_lines(&depr, true),
            [
                " LVS syncd vrrp instance = VI_1",
                " LVS syncd interface = eth1",
                " LVS syncd syncid = 0"
            ]
        );
        let none = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0\n}}\n{INST}"
        ));
        assert_eq!(
            dump_lines(&none, false)[1],
            " LVS syncd syncid = 4294967295"
        );
        assert_eq!(
            dump_lines(&none, true),
            [" LVS syncd interface = eth0", " LVS syncd syncid = 0"]
        );
        let unknown = conf(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_9\n}}\n{INST}"
        ));
        assert_eq!(
            dump_lines(&unknown, false)[0],
            " LVS syncd vrrp name = VI_9"
        );
        assert!(dump_lines(&unknown, true).is_empty());
    }

    #[test]
    fn error_lines_are_keepalived_s() {
        assert_eq!(
            error_line(&start(SyncState::Master), Some(libc::EEXIST), ""),
            "IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: Daemon has already run(17)"
        );
        assert_eq!(
            error_line(
                &SyncdCmd::stop(SyncState::Backup, false),
                Some(libc::ESRCH),
                ""
            ),
            "IPVS cmd IP_VS_SO_SET_STOPDAEMON(1164) error: No daemon is running(3)"
        );
        assert_eq!(
            error_line(&start(SyncState::Backup), Some(libc::ENODEV), ""),
            "IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: No such device(19)"
        );
        assert_eq!(
            error_line(&start(SyncState::Backup), None, "IPVS unavailable"),
            "IPVS cmd IP_VS_SO_SET_STARTDAEMON(1163) error: IPVS unavailable"
        );
    }
}
