//! The VRRP driver: runs the pure `vrrp::Vrrp` core against real sockets, rtnetlink and the
//! clock, on its own thread with a current-thread tokio runtime (so nothing else in the
//! process can delay an advert).
//!
//! One loop: wait for the control channel, the core's next deadline, received packets and
//! netlink events; feed the core; execute its actions in order.
//!
//! Seams for the rest of the daemon:
//! * [`ControlHandle`]: stop, `vrrp_script` results ([`ControlHandle::script_result`], or
//!   [`ControlHandle::script_event`] when the runner already logged the line) and `track_file`
//!   values ([`ControlHandle::track_file`]), which go through [`super::track::Tracking`] into
//!   `Event::PriorityChanged` / `Event::Fault`; SIGHUP reloads ([`ControlHandle::reload`]:
//!   `Vrrp::reload`, removed instances' last actions, sockets following the interfaces in use,
//!   tracked results carried over by name).
//! * [`NotifySink`]: every `Action::Notify`, in order, on the VRRP thread (the sink must not
//!   block: queue and return).

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::thread::JoinHandle;

use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::track::Tracking;
use crate::model;
use crate::sys::addr::{AddrOptions, Netlink};
use crate::sys::clock;
use crate::sys::monitor::{Monitor, NetEvent};
use crate::sys::socket::{self as rawsock, PacketSender};
use crate::vrrp::dump::{format_vip, GroupDump, InstanceDump, SockDump};
use crate::vrrp::from_model::VrrpConfig;
use crate::vrrp::syncd::{self, SyncdCmd};
use crate::vrrp::track::ScriptOutcome;
use crate::vrrp::{
    Action, Destination, Event, Family, FaultCause, InstanceConfig, InstanceId, Notify, Output,
    Router, Source, State, Stats, VirtualAddress, Vrrp,
};
use crate::wire::vrrp::{self as wv, ChecksumMode, Endpoints, RxOptions};
use crate::wire::{arp, nd};

/// Receives every notification the core produces, in order. Runs on the VRRP thread: it must
/// hand the work off (a bounded queue) and return at once.
pub type NotifySink = Box<dyn FnMut(&Notify) + Send>;

/// The default sink: log at DEBUG (shown with `-D -D`).
pub fn log_notify_sink() -> NotifySink {
    Box::new(|n: &Notify| {
        debug!(
            "notify {} \"{}\" {} {}",
            n.kind.as_str(),
            n.name,
            n.event.as_str(),
            n.priority
        )
    })
}

/// One instance as the driver sees it (for dumps, stats and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub name: String,
    pub state: State,
    pub effective_priority: u8,
    pub master_addr: Option<IpAddr>,
    pub stats: Stats,
}

/// The VRRP thread's state, answered to [`Control::Status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub instances: Vec<InstanceStatus>,
    /// Packets rejected by the wire checks, by keepalived's counter name ("other" for those
    /// keepalived does not count).
    pub wire_errors: BTreeMap<&'static str, u64>,
    /// Adverts for a VRID no instance on that interface has.
    pub unknown_vrid: u64,
}

/// Messages to the VRRP thread.
#[derive(Debug)]
pub enum Control {
    /// Shut down: priority-0 adverts, VIPs released (unless `dont_release_vrrp`), STOP notifies.
    Stop,
    /// A `vrrp_script` run finished. `note` is appended to the "failed" log line, e.g.
    /// `(exited with status 1)`.
    Script {
        name: String,
        outcome: ScriptOutcome,
        note: Option<String>,
        /// The `VRRP_Script(..)` transition line was already logged (by the script runner):
        /// the driver must not log it again.
        logged: bool,
    },
    /// A `track_file` now holds this value.
    TrackFile { name: String, value: i64 },
    /// SIGHUP: apply a new configuration without a flap ([`Vrrp::reload`]); the sender is told
    /// when it is done.
    Reload(Box<DriverConfig>, std::sync::mpsc::Sender<()>),
    /// Reply with a [`Status`] snapshot (SIGUSR1/SIGUSR2 dumps, tests).
    Status(std::sync::mpsc::Sender<Status>),
    /// Reply with what the dumps need; then, with `clear_stats`, zero every instance's
    /// counters (SIGRTMAX-1: keepalived writes the stats file, then clears).
    Dump {
        clear_stats: bool,
        reply: std::sync::mpsc::Sender<DumpState>,
    },
}

/// What the VRRP thread knows for keepalived's dumps (SIGUSR1 / SIGUSR2 / 36 / SIGRTMAX-1).
/// Config-only details (notify scripts, smtp_alert, script commands) are added by
/// [`super::dump`] from the model.
#[derive(Debug, Clone, Default)]
pub struct DumpState {
    pub instances: Vec<InstanceDump>,
    pub groups: Vec<GroupDump>,
    /// Every `vrrp_script` with its rise/fall state.
    pub scripts: Vec<(String, crate::vrrp::track::ScriptState)>,
    pub sockets: Vec<SockDump>,
}

/// The sending side of the VRRP thread's control channel. Cheap to clone, usable from any
/// thread, never blocks.
#[derive(Debug, Clone)]
pub struct ControlHandle(mpsc::UnboundedSender<Control>);

impl ControlHandle {
    pub fn send(&self, c: Control) -> bool {
        self.0.send(c).is_ok()
    }
    pub fn stop(&self) -> bool {
        self.send(Control::Stop)
    }
    /// Asks the VRRP thread for a snapshot; `None` if it does not answer within 2 s.
    pub fn status(&self) -> Option<Status> {
        let (tx, rx) = std::sync::mpsc::channel();
        if !self.send(Control::Status(tx)) {
            return None;
        }
        rx.recv_timeout(std::time::Duration::from_secs(2)).ok()
    }

    /// Asks the VRRP thread for its dump state (and, with `clear_stats`, to zero the counters
    /// right after); `None` if it does not answer within 2 s.
    pub fn dump(&self, clear_stats: bool) -> Option<DumpState> {
        let (reply, rx) = std::sync::mpsc::channel();
        if !self.send(Control::Dump { clear_stats, reply }) {
            return None;
        }
        rx.recv_timeout(std::time::Duration::from_secs(2)).ok()
    }

    /// Feeds one `vrrp_script` result (by script name).
    pub fn script_result(&self, name: &str, outcome: ScriptOutcome, note: Option<String>) -> bool {
        self.send(Control::Script {
            name: name.to_string(),
            outcome,
            note,
            logged: false,
        })
    }

    /// Feeds one `vrrp_script` result whose transition line the caller already logged.
    pub fn script_event(&self, name: &str, outcome: ScriptOutcome) -> bool {
        self.send(Control::Script {
            name: name.to_string(),
            outcome,
            note: None,
            logged: true,
        })
    }

    /// Feeds a `track_file`'s current value.
    pub fn track_file(&self, name: &str, value: i64) -> bool {
        self.send(Control::TrackFile {
            name: name.to_string(),
            value,
        })
    }

    /// Applies a new configuration (SIGHUP) and waits for the VRRP thread to finish it (at
    /// most `timeout`); false if the thread is gone or did not answer in time.
    pub fn reload(&self, cfg: DriverConfig, timeout: std::time::Duration) -> bool {
        let (tx, rx) = std::sync::mpsc::channel();
        if !self.send(Control::Reload(Box::new(cfg), tx)) {
            return false;
        }
        rx.recv_timeout(timeout).is_ok()
    }
}

/// Everything the driver needs, resolved from the config model.
#[derive(Debug)]
pub struct DriverConfig {
    pub vrrp: VrrpConfig,
    pub tracking: Tracking,
    /// `-V/--dont-release-vrrp`: leave the VIPs in place on stop.
    pub dont_release_vrrp: bool,
    /// `-D`: print keepalived's detail lines.
    pub log_detail: bool,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: spacing of gratuitous ARPs / NAs on an
    /// interface (0: back to back).
    pub garp_interval: std::time::Duration,
    pub gna_interval: std::time::Duration,
    /// `lvs_sync_daemon`: the IPVS connection-sync daemons this side starts and stops.
    pub syncd: syncd::Setting,
}

impl DriverConfig {
    /// Converts the model; returns keepalived's configuration warnings to log.
    pub fn from_model(
        cfg: &model::Config,
        dont_release_vrrp: bool,
        log_detail: bool,
    ) -> (DriverConfig, Vec<String>) {
        let vrrp = crate::vrrp::from_model::vrrp_config(cfg);
        let names: Vec<(String, u8)> = vrrp
            .instances
            .iter()
            .map(|i| (i.name.clone(), i.priority))
            .collect();
        let (tracking, mut w) = Tracking::new(cfg, &names);
        let mut warnings = vrrp.warnings.clone();
        warnings.append(&mut w);
        (
            DriverConfig {
                vrrp,
                tracking,
                dont_release_vrrp,
                log_detail,
                garp_interval: cfg.global.vrrp_garp_interval,
                gna_interval: cfg.global.vrrp_gna_interval,
                syncd: syncd::Setting::from_model(cfg),
            },
            warnings,
        )
    }
}

/// Starts the VRRP thread. It runs until [`ControlHandle::stop`] (or every handle is
/// dropped) and returns how it ended.
pub fn spawn(
    cfg: DriverConfig,
    sink: NotifySink,
) -> io::Result<(JoinHandle<io::Result<()>>, ControlHandle)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let h = std::thread::Builder::new()
        .name(super::log::VRRP_THREAD.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let r = rt.block_on(run(cfg, sink, rx));
            super::wake_supervisor();
            r
        })?;
    Ok((h, ControlHandle(tx)))
}

#[derive(Debug, Clone)]
struct Iface {
    name: String,
    index: u32,
    mac: Option<[u8; 6]>,
    up: bool,
    v4: Option<Ipv4Addr>,
    v6ll: Option<Ipv6Addr>,
}

struct Rx {
    iface: usize,
    v6: bool,
    data: Vec<u8>,
    src6: Ipv6Addr,
    dst6: Option<Ipv6Addr>,
    hop: Option<u8>,
}

struct Driver {
    vrrp: Vrrp,
    tracking: Tracking,
    nl: Netlink,
    ifaces: Vec<Iface>,
    by_name: BTreeMap<String, usize>,
    inst_iface: Vec<Option<usize>>,
    sock4: BTreeMap<usize, Arc<AsyncFd<Socket>>>,
    sock6: BTreeMap<usize, Arc<AsyncFd<Socket>>>,
    packet: Option<PacketSender>,
    sink: NotifySink,
    dont_release: bool,
    log_detail: bool,
    stopping: bool,
    ip_id: u16,
    /// Packets dropped by the wire checks, by keepalived's counter name (or "other").
    rx_errors: BTreeMap<&'static str, u64>,
    unknown_vrid: u64,
    /// Instances held in FAULT for want of a source address.
    no_addr: Vec<bool>,
    last_log: BTreeMap<(InstanceId, &'static str), std::time::Instant>,
    garp_interval: std::time::Duration,
    gna_interval: std::time::Duration,
    /// GARP/NA frames waiting for their slot, in time order: (when, ifindex, frame, log).
    link_queue: std::collections::VecDeque<(std::time::Instant, u32, Vec<u8>, String)>,
    /// Next free slot per (interface index, is IPv6).
    next_slot: BTreeMap<(u32, bool), std::time::Instant>,
    /// Where the socket readers hand their packets.
    rx_tx: mpsc::UnboundedSender<Rx>,
    /// The reader task of each socket, by (interface, is IPv6).
    readers: BTreeMap<(usize, bool), tokio::task::JoinHandle<()>>,
    /// Wall-clock time of each instance's last state change (by name: survives reloads), for
    /// the dumps; instances not in it changed last at `started`.
    transitions: BTreeMap<String, std::time::SystemTime>,
    started: std::time::SystemTime,
    /// `lvs_sync_daemon` and the IPVS connection that carries its commands (keepalived's
    /// VRRP process opens one when the setting names an instance, even an unknown one).
    syncd: syncd::Setting,
    ipvs: Option<crate::ipvs::Client>,
}

fn lines(d: &Driver, text: &str, detail: bool) {
    if !detail || d.log_detail {
        info!("{text}");
    }
}

async fn run(
    cfg: DriverConfig,
    sink: NotifySink,
    mut ctl: mpsc::UnboundedReceiver<Control>,
) -> io::Result<()> {
    let nl = Netlink::new()?;
    let (rx_tx, mut rx_rx) = mpsc::unbounded_channel::<Rx>();
    let (vrrp, w) = Vrrp::new(cfg.vrrp.instances, cfg.vrrp.groups);
    for line in w {
        info!("{line}");
    }
    let mut d = Driver {
        vrrp,
        tracking: cfg.tracking,
        nl,
        ifaces: Vec::new(),
        by_name: BTreeMap::new(),
        inst_iface: Vec::new(),
        sock4: BTreeMap::new(),
        sock6: BTreeMap::new(),
        packet: None,
        sink,
        dont_release: cfg.dont_release_vrrp,
        log_detail: cfg.log_detail,
        stopping: false,
        ip_id: 0,
        rx_errors: BTreeMap::new(),
        unknown_vrid: 0,
        no_addr: Vec::new(),
        last_log: BTreeMap::new(),
        garp_interval: cfg.garp_interval,
        gna_interval: cfg.gna_interval,
        link_queue: std::collections::VecDeque::new(),
        next_slot: BTreeMap::new(),
        rx_tx,
        readers: BTreeMap::new(),
        transitions: BTreeMap::new(),
        started: clock::wall_now(),
        syncd: syncd::Setting::None,
        ipvs: None,
    };
    let timer = crate::sys::timer::Timer::new()?;
    d.setup().await;
    let mut monitor = match Monitor::new() {
        Ok(m) => Some(m),
        Err(e) => {
            warn!("Netlink monitor unavailable ({e}); interface changes will not be seen");
            None
        }
    };
    lines(&d, "Registering Kernel netlink reflector", true);
    d.syncd_setting(cfg.syncd, false);
    let now = clock::now();
    d.initial_faults(now);
    d.vrrp.start(now);
    // keepalived's vrrp_init_state: every instance is still INIT (the backup daemon), before
    // any first transition.
    if let Some(c) = d.syncd.resolved() {
        let cmds = syncd::on_init(c, State::Init);
        d.syncd_run(cmds);
    }
    d.drain().await;

    loop {
        let deadline = match (d.vrrp.poll_timeout(), d.link_queue.front().map(|q| q.0)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match deadline {
                Some(t) => {
                    if timer.sleep_until(t).await.is_err() {
                        tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        let net = async {
            match monitor.as_mut() {
                Some(m) => m.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            c = ctl.recv() => match c {
                None | Some(Control::Stop) => break,
                Some(Control::Script { name, outcome, note, logged }) => {
                    d.on_script(&name, outcome, note, logged)
                }
                Some(Control::TrackFile { name, value }) => d.on_track_file(&name, value),
                Some(Control::Reload(cfg, done)) => {
                    d.reload(*cfg).await;
                    d.drain().await;
                    let _ = done.send(());
                }
                Some(Control::Status(reply)) => {
                    let _ = reply.send(d.status());
                }
                Some(Control::Dump { clear_stats, reply }) => {
                    let _ = reply.send(d.dump_state());
                    if clear_stats {
                        d.vrrp.clear_stats();
                    }
                }
            },
            () = sleep => {
                let now = clock::now();
                d.vrrp.handle_timeout(now);
                d.flush_link_queue(now);
            }
            Some(p) = rx_rx.recv() => d.on_packet(p),
            ev = net => match ev {
                Some(ev) => d.on_net(ev).await,
                None => monitor = None,
            },
        }
        d.drain().await;
    }
    d.stopping = true;
    // keepalived stops the daemon before it releases the instances (so no backup daemon is
    // started by a MASTER leaving).
    if let Some(state) = d.syncd_state() {
        d.syncd_run(syncd::on_stop(state));
    }
    d.vrrp.stop(clock::now());
    d.drain().await;
    if !d.rx_errors.is_empty() || d.unknown_vrid > 0 {
        debug!(
            "VRRP packets dropped: {:?}, unknown VRID {}",
            d.rx_errors, d.unknown_vrid
        );
    }
    info!("{}", super::stopping_line(d.log_detail));
    Ok(())
}

impl Driver {
    fn iface_for(&mut self, name: &str, info: Option<crate::sys::addr::LinkInfo>) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let i = self.ifaces.len();
        let (index, mac, up) = info.map_or((0, None, false), |l| (l.index, l.mac, l.up));
        self.ifaces.push(Iface {
            name: name.to_string(),
            index,
            mac,
            up,
            v4: None,
            v6ll: None,
        });
        self.by_name.insert(name.to_string(), i);
        i
    }

    async fn refresh_addrs(&mut self, i: usize) {
        let idx = self.ifaces[i].index;
        if idx == 0 {
            return;
        }
        self.ifaces[i].v4 = match self.nl.primary_address(idx, false).await {
            Ok(Some(IpAddr::V4(a))) => Some(a),
            _ => None,
        };
        self.ifaces[i].v6ll = match self.nl.primary_address(idx, true).await {
            Ok(Some(IpAddr::V6(a))) => Some(a),
            _ => None,
        };
    }

    /// Resolves interfaces and opens the sockets of every instance.
    async fn setup(&mut self) {
        self.resolve_interfaces().await;
        self.open_sockets();
        match PacketSender::open() {
            Ok(p) => self.packet = Some(p),
            Err(e) => warn!("Cannot open the gratuitous ARP socket: {e}"),
        }
        lines(self, "Registering gratuitous ARP shared channel", true);
    }

    /// Looks up every interface the instances and trackers name (once each), feeds the tracked
    /// interfaces' states to the tracking, and maps each instance to its interface.
    async fn resolve_interfaces(&mut self) {
        let mut names: Vec<String> = Vec::new();
        for r in self.vrrp.routers() {
            let c = r.config();
            names.extend(c.interface.clone());
            for a in c.vips.iter().chain(&c.evips) {
                names.extend(a.dev.clone());
            }
        }
        names.extend(self.tracking.tracked_interfaces().map(str::to_string));
        for n in names {
            if self.by_name.contains_key(&n) {
                continue;
            }
            let info = match self.nl.link_by_name(&n).await {
                Ok(Some(l)) => Some(l),
                Ok(None) => {
                    warn!("WARNING - interface {n} doesn't exist");
                    None
                }
                Err(e) => {
                    warn!("Cannot get interface {n}: {e}");
                    None
                }
            };
            let i = self.iface_for(&n, info);
            self.refresh_addrs(i).await;
        }
        // tracked interface states
        let tracked: Vec<String> = self
            .tracking
            .tracked_interfaces()
            .map(str::to_string)
            .collect();
        let now = clock::now();
        for n in tracked {
            let up = self.by_name.get(&n).is_some_and(|&i| self.ifaces[i].up);
            for (id, ev) in self.tracking.interface_changed(&n, up) {
                self.vrrp.handle(now, id, ev);
            }
        }
        self.inst_iface = self
            .vrrp
            .routers()
            .iter()
            .map(|r| {
                r.config()
                    .interface
                    .as_ref()
                    .and_then(|n| self.by_name.get(n).copied())
            })
            .collect();
    }

    /// Opens the receive socket of every (interface, family) some instance uses and closes
    /// those no instance uses any more (after a reload).
    fn open_sockets(&mut self) {
        // Groups to join, per interface and family.
        let mut g4: BTreeMap<usize, Vec<Ipv4Addr>> = BTreeMap::new();
        let mut g6: BTreeMap<usize, Vec<Ipv6Addr>> = BTreeMap::new();
        for (id, r) in self.vrrp.routers().iter().enumerate() {
            let Some(i) = self.inst_iface[id] else {
                continue;
            };
            let c = r.config();
            let mcast = if c.unicast_peers.is_empty() {
                Some(c.mcast_dst.unwrap_or(c.family.default_multicast()))
            } else {
                None
            };
            match c.family {
                Family::Ipv4 => {
                    let e = g4.entry(i).or_default();
                    if let Some(IpAddr::V4(m)) = mcast {
                        if !e.contains(&m) {
                            e.push(m);
                        }
                    }
                }
                Family::Ipv6 => {
                    let e = g6.entry(i).or_default();
                    if let Some(IpAddr::V6(m)) = mcast {
                        if !e.contains(&m) {
                            e.push(m);
                        }
                    }
                }
            }
        }
        let unused4: Vec<usize> = self
            .sock4
            .keys()
            .filter(|i| !g4.contains_key(i))
            .copied()
            .collect();
        let unused6: Vec<usize> = self
            .sock6
            .keys()
            .filter(|i| !g6.contains_key(i))
            .copied()
            .collect();
        for (i, v6) in unused4
            .into_iter()
            .map(|i| (i, false))
            .chain(unused6.into_iter().map(|i| (i, true)))
        {
            if v6 {
                self.sock6.remove(&i);
            } else {
                self.sock4.remove(&i);
            }
            if let Some(t) = self.readers.remove(&(i, v6)) {
                t.abort();
            }
            debug!(
                "VRRP IPv{} socket on {} closed",
                if v6 { 6 } else { 4 },
                self.ifaces[i].name
            );
        }
        for (i, groups) in g4 {
            if self.sock4.contains_key(&i) {
                continue;
            }
            let (name, index) = (self.ifaces[i].name.clone(), self.ifaces[i].index);
            if index == 0 {
                continue;
            }
            match rawsock::open_v4(&name, index, &groups).and_then(async_fd) {
                Ok(fd) => {
                    let fd = Arc::new(fd);
                    lines(
                        self,
                        &format!(
                            "VRRP sockpool: [ifindex({index:3}), family(IPv4), proto(112), fd({}) {}, address({})]",
                            fd.get_ref().as_raw_fd_i32(),
                            if groups.is_empty() { "unicast" } else { "multicast" },
                            groups.first().map_or("-".to_string(), |g| g.to_string())
                        ),
                        true,
                    );
                    self.sock4.insert(i, fd.clone());
                    let t = spawn_reader(fd, i, false, self.rx_tx.clone());
                    self.readers.insert((i, false), t);
                }
                Err(e) => warn!("Cannot open VRRP IPv4 socket on {name}: {e}"),
            }
        }
        for (i, groups) in g6 {
            if self.sock6.contains_key(&i) {
                continue;
            }
            let (name, index) = (self.ifaces[i].name.clone(), self.ifaces[i].index);
            if index == 0 {
                continue;
            }
            match rawsock::open_v6(&name, index, &groups).and_then(async_fd) {
                Ok(fd) => {
                    let fd = Arc::new(fd);
                    self.sock6.insert(i, fd.clone());
                    let t = spawn_reader(fd, i, true, self.rx_tx.clone());
                    self.readers.insert((i, true), t);
                }
                Err(e) => warn!("Cannot open VRRP IPv6 socket on {name}: {e}"),
            }
        }
    }

    /// Puts every instance whose interface is missing or down in FAULT, and re-evaluates the
    /// no-address faults (at start and after a reload).
    fn initial_faults(&mut self, now: std::time::Instant) {
        for (id, ev) in self.tracking.sync_all() {
            self.vrrp.handle(now, id, ev);
        }
        for id in 0..self.vrrp.routers().len() {
            let up = self.inst_iface[id].map(|i| self.ifaces[i].up);
            if up != Some(true) {
                let name = self
                    .vrrp
                    .router(id)
                    .config()
                    .interface
                    .clone()
                    .unwrap_or_default();
                self.vrrp.handle(
                    now,
                    id,
                    Event::Fault {
                        active: true,
                        cause: FaultCause::Interface(name),
                    },
                );
            }
        }
        self.no_addr = vec![false; self.vrrp.routers().len()];
        self.sync_addr_faults();
    }

    /// SIGHUP: the new configuration, applied without a flap. Matched instances keep their
    /// state and addresses ([`Vrrp::reload`]); removed ones release theirs (a priority-0
    /// advert first when MASTER) and notify; tracked script and file results carry over by
    /// name; sockets follow the interfaces in use.
    async fn reload(&mut self, cfg: DriverConfig) {
        info!("Reloading");
        let DriverConfig {
            vrrp,
            mut tracking,
            dont_release_vrrp: _,
            log_detail: _,
            garp_interval,
            gna_interval,
            syncd: syncd_setting,
        } = cfg;
        tracking.carry_from(&self.tracking);
        self.garp_interval = garp_interval;
        self.gna_interval = gna_interval;
        let now = clock::now();
        let (removed, warnings) = self.vrrp.reload(now, vrrp.instances, vrrp.groups);
        for w in warnings {
            info!("{w}");
        }
        let old_syncd = self.syncd.resolved().cloned();
        self.syncd_setting(syncd_setting, true);
        // The state the reload left the instance in (before any fault found below).
        let syncd_cmds = self
            .syncd_state()
            .map(|state| syncd::on_reload(old_syncd.as_ref(), self.syncd.resolved(), state));
        for r in removed {
            let iface = r
                .config
                .interface
                .as_ref()
                .and_then(|n| self.by_name.get(n).copied());
            for a in r.actions {
                self.execute_removed(&r.config, iface, a).await;
            }
        }
        self.tracking = tracking;
        self.last_log.clear();
        self.resolve_interfaces().await;
        self.open_sockets();
        self.initial_faults(now);
        info!("Reload complete");
        // keepalived's reload thread stops what must go (failures ignored), then its
        // vrrp_init_state starts the daemon for the state, after "Reload complete".
        if let Some(cmds) = syncd_cmds {
            self.syncd_run(cmds);
        }
    }

    /// Takes a configuration's `lvs_sync_daemon` (at start, or at a reload): opens the IPVS
    /// connection when it names an instance, and says so keepalived's way.
    fn syncd_setting(&mut self, setting: syncd::Setting, reload: bool) {
        if setting != syncd::Setting::None {
            info!("{}nitializing ipvs", if reload { "Rei" } else { "I" });
            if self.ipvs.is_none() {
                // keepalived's VRRP process exits when this fails; we go on without sync
                // daemons.
                self.ipvs = super::syncd::connect();
            }
        }
        if let Some(l) = setting.unknown_line() {
            info!("{l}");
        }
        self.syncd = setting;
    }

    /// The state of the instance controlling the sync daemons, if there is one.
    fn syncd_state(&self) -> Option<State> {
        let c = self.syncd.resolved()?;
        self.vrrp
            .routers()
            .iter()
            .find(|r| r.name() == c.instance)
            .map(|r| r.state())
    }

    /// Sends sync-daemon commands in order; logs the failures keepalived logs.
    fn syncd_run(&mut self, cmds: Vec<SyncdCmd>) {
        if let Some(client) = self.ipvs.as_mut() {
            super::syncd::execute(client, cmds);
        }
    }

    /// Carries out what a removed instance still has to do: its priority-0 advert, releasing
    /// its addresses, its last notification.
    async fn execute_removed(&mut self, c: &InstanceConfig, iface: Option<usize>, a: Action) {
        match a {
            Action::Log(l) => lines(self, &l.text, l.detail),
            Action::Notify(n) => (self.sink)(&n),
            Action::SendAdvert {
                repr,
                src,
                dst,
                ttl,
            } => {
                if let Some(i) = iface {
                    let (family, name) = (c.family, c.name.clone());
                    self.send_advert_on(i, family, &name, &repr, src, &dst, ttl);
                }
            }
            Action::DelVips(v) | Action::DelEvips(v) => {
                for a in &v {
                    let i = match &a.dev {
                        Some(d) => self.by_name.get(d).copied(),
                        None => iface,
                    };
                    if let Some(i) = i {
                        self.del_addr_on(&c.name, i, a).await;
                    }
                }
            }
            _ => {}
        }
    }

    fn status(&self) -> Status {
        Status {
            instances: self
                .vrrp
                .routers()
                .iter()
                .map(|r| InstanceStatus {
                    name: r.name().to_string(),
                    state: r.state(),
                    effective_priority: r.effective_priority(),
                    master_addr: r.master_addr(),
                    stats: r.stats().clone(),
                })
                .collect(),
            wire_errors: self.rx_errors.clone(),
            unknown_vrid: self.unknown_vrid,
        }
    }

    /// What the dumps need from this thread (see [`DumpState`]).
    fn dump_state(&self) -> DumpState {
        use crate::vrrp::track::TrackerKind;
        let now = clock::now();
        let wall = clock::wall_now();
        let routers = self.vrrp.routers();
        let instances = routers
            .iter()
            .enumerate()
            .map(|(id, r)| {
                let lt = self
                    .transitions
                    .get(r.name())
                    .copied()
                    .unwrap_or(self.started);
                let mut d = InstanceDump::from_router(r, now, wall, lt);
                let c = r.config();
                d.sync_group = self
                    .vrrp
                    .group_of(id)
                    .and_then(|g| self.vrrp.groups().get(g))
                    .map(|g| g.name().to_string());
                let iface = self.inst_iface.get(id).copied().flatten();
                let ifname = c.interface.clone().unwrap_or_default();
                d.src_ip = c.source_addr.or_else(|| {
                    let f = &self.ifaces[iface?];
                    match c.family {
                        Family::Ipv4 => f.v4.map(IpAddr::V4),
                        Family::Ipv6 => f.v6ll.map(IpAddr::V6),
                    }
                });
                let socks = match c.family {
                    Family::Ipv4 => &self.sock4,
                    Family::Ipv6 => &self.sock6,
                };
                d.sockets = iface.and_then(|i| socks.get(&i)).map(|s| {
                    let fd = s.get_ref().as_raw_fd_i32();
                    (fd, fd)
                });
                d.vips = c
                    .vips
                    .iter()
                    .map(|a| format_vip(a, &ifname, d.vipset))
                    .collect();
                d.evips = c
                    .evips
                    .iter()
                    .map(|a| format_vip(a, &ifname, d.vipset))
                    .collect();
                for l in self.tracking.track_lines(id) {
                    match l.kind {
                        TrackerKind::Interface => {
                            d.track_ifp.push((l.name.clone(), l.weight, l.reverse))
                        }
                        TrackerKind::Script => d.track_script.push((
                            l.name.clone(),
                            l.weight,
                            l.reverse,
                            String::new(),
                        )),
                        _ => {}
                    }
                }
                d
            })
            .collect();
        let groups = self
            .vrrp
            .groups()
            .iter()
            .map(|g| {
                let count = |s: State| {
                    let n = g
                        .members()
                        .iter()
                        .filter(|&&m| routers[m].state() == s)
                        .count();
                    u32::try_from(n).unwrap_or(u32::MAX)
                };
                GroupDump {
                    name: g.name().to_string(),
                    state: g.state(),
                    num_member_fault: count(State::Fault),
                    num_member_init: count(State::Init),
                    members: g
                        .members()
                        .iter()
                        .map(|&m| routers[m].name().to_string())
                        .collect(),
                    smtp_alert: false,
                    script_backup: None,
                    script_master: None,
                    script_fault: None,
                    script_stop: None,
                    script: None,
                }
            })
            .collect();
        let scripts = self
            .tracking
            .script_names()
            .filter_map(|n| Some((n.to_string(), self.tracking.script_state(n)?)))
            .collect();
        let mut sockets = Vec::new();
        for (v6, map) in [(false, &self.sock4), (true, &self.sock6)] {
            for (&i, s) in map {
                let fd = s.get_ref().as_raw_fd_i32();
                let members: Vec<&Router> = routers
                    .iter()
                    .enumerate()
                    .filter(|(id, r)| {
                        self.inst_iface.get(*id).copied().flatten() == Some(i)
                            && (r.config().family == Family::Ipv6) == v6
                    })
                    .map(|(_, r)| r)
                    .collect();
                let unicast = !members.is_empty()
                    && members.iter().all(|r| !r.config().unicast_peers.is_empty());
                sockets.push(SockDump {
                    fd_in: fd,
                    fd_out: fd,
                    interface: self.ifaces[i].name.clone(),
                    ipv6: v6,
                    unicast_src: if unicast {
                        members.iter().find_map(|r| r.config().source_addr)
                    } else {
                        None
                    },
                    instances: members
                        .iter()
                        .map(|r| (r.name().to_string(), r.config().vrid))
                        .collect(),
                });
            }
        }
        DumpState {
            instances,
            groups,
            scripts,
            sockets,
        }
    }

    /// keepalived puts an instance with no address of its family on its interface (and no
    /// configured source) in FAULT, and lets it out when one appears.
    fn sync_addr_faults(&mut self) {
        let now = clock::now();
        for id in 0..self.no_addr.len() {
            let Some(i) = self.inst_iface[id] else {
                continue;
            };
            let c = self.vrrp.router(id).config();
            let (has, v) = match c.family {
                Family::Ipv4 => (c.source_addr.is_some() || self.ifaces[i].v4.is_some(), 4),
                Family::Ipv6 => (c.source_addr.is_some() || self.ifaces[i].v6ll.is_some(), 6),
            };
            if has != self.no_addr[id] {
                continue;
            }
            self.no_addr[id] = !has;
            let name = c.name.clone();
            if !has {
                info!("({name}) entering FAULT state (no IPv{v} address for interface)");
            }
            self.vrrp.handle(
                now,
                id,
                Event::Fault {
                    active: !has,
                    cause: FaultCause::Other(format!("no IPv{v} address")),
                },
            );
        }
    }

    fn on_script(
        &mut self,
        name: &str,
        outcome: ScriptOutcome,
        note: Option<String>,
        logged: bool,
    ) {
        let (tr, evs) = self.tracking.script_result(name, outcome);
        if let Some(t) = tr.filter(|_| !logged) {
            match (t, note) {
                (crate::vrrp::track::ScriptTransition::Failed, Some(n)) => {
                    info!("VRRP_Script({name}) {} {n}", t.as_str())
                }
                _ => info!("VRRP_Script({name}) {}", t.as_str()),
            }
        }
        let now = clock::now();
        for (id, ev) in evs {
            self.vrrp.handle(now, id, ev);
        }
    }

    fn on_track_file(&mut self, name: &str, value: i64) {
        let now = clock::now();
        for (id, ev) in self.tracking.file_value(name, value) {
            self.vrrp.handle(now, id, ev);
        }
    }

    /// Counts a rejected packet; says whether to log it (keepalived rate-limits these lines:
    /// here one per instance and cause per second, so a flood cannot flood the log).
    fn count(&mut self, id: InstanceId, e: &wv::Error) -> bool {
        let k = e.counter().map_or("other", |c| c.name());
        *self.rx_errors.entry(k).or_default() += 1;
        let now = clock::now();
        match self.last_log.get(&(id, k)) {
            Some(t) if now.duration_since(*t) < std::time::Duration::from_secs(1) => false,
            _ => {
                self.last_log.insert((id, k), now);
                true
            }
        }
    }

    fn on_packet(&mut self, p: Rx) {
        let vrid = if p.v6 {
            p.data.get(1).copied()
        } else {
            p.data
                .first()
                .map(|b| usize::from(b & 0x0f) * 4 + 1)
                .and_then(|o| p.data.get(o).copied())
        };
        let want = if p.v6 { Family::Ipv6 } else { Family::Ipv4 };
        let target = vrid.and_then(|v| {
            (0..self.vrrp.routers().len()).find(|&id| {
                let c = self.vrrp.router(id).config();
                self.inst_iface[id] == Some(p.iface) && c.family == want && c.vrid == v
            })
        });
        let Some(id) = target else {
            self.unknown_vrid += 1;
            debug!(
                "Unknown VRID({}) received on interface({}). ignoring...",
                vrid.unwrap_or(0),
                self.ifaces[p.iface].name
            );
            return;
        };
        let c = self.vrrp.router(id).config();
        let mcast = c.unicast_peers.is_empty();
        let opts = RxOptions {
            check_ttl: mcast,
            expect_multicast: Some(mcast),
            checksum: ChecksumMode::Rfc,
        };
        let name = c.name.clone();
        let res = if p.v6 {
            let dst = p.dst6.unwrap_or(wv::MCAST_V6);
            wv::parse_ipv6(&p.data, p.src6, dst, p.hop, &opts)
        } else {
            wv::parse_ipv4(&p.data, &opts)
        };
        match res {
            Ok(rx) => {
                let own = match rx.src {
                    IpAddr::V4(a) => self.ifaces[p.iface].v4 == Some(a),
                    IpAddr::V6(a) => self.ifaces[p.iface].v6ll == Some(a),
                } || c.source_addr == Some(rx.src);
                if own {
                    return;
                }
                self.vrrp.handle(
                    clock::now(),
                    id,
                    Event::Advert {
                        src: rx.src,
                        ttl: rx.ttl,
                        repr: rx.repr,
                    },
                );
            }
            Err(rej) => {
                if !self.count(id, &rej.error) {
                    return;
                }
                // keepalived's wording: lengths include the IPv4 header, the checksum line
                // has no values, and a truncated packet is not charged to an instance.
                let ihl = if p.v6 {
                    0
                } else {
                    p.data.first().map_or(0, |b| usize::from(b & 0x0f) * 4)
                };
                match rej.error {
                    wv::Error::Truncated { .. } => info!(
                        "IPv{} VRRP packet too short - {} bytes",
                        if p.v6 { 6 } else { 4 },
                        p.data.len()
                    ),
                    wv::Error::LengthMismatch { expected, actual } => info!(
                        "({name}) vrrp packet too {}, length {} and expect {}",
                        if actual > expected { "long" } else { "short" },
                        actual + ihl,
                        expected + ihl
                    ),
                    wv::Error::BadChecksum { version, .. } => {
                        info!("({name}) Invalid VRRPv{version} checksum")
                    }
                    e => info!("({name}) {e}"),
                }
            }
        }
    }

    async fn on_net(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Link(l) => {
                let Some(&i) = self.by_name.get(&l.name) else {
                    return;
                };
                let was = self.ifaces[i].up;
                self.ifaces[i].index = l.index;
                if l.mac.is_some() {
                    self.ifaces[i].mac = l.mac;
                }
                self.ifaces[i].up = l.up;
                if was != l.up {
                    self.link_changed(i, l.up).await;
                }
            }
            NetEvent::LinkGone { name, .. } => {
                if let Some(&i) = self.by_name.get(&name) {
                    if self.ifaces[i].up {
                        self.ifaces[i].up = false;
                        self.link_changed(i, false).await;
                    }
                }
            }
            NetEvent::AddrAdded { index, .. } | NetEvent::AddrRemoved { index, .. } => {
                if let Some(i) = self.ifaces.iter().position(|f| f.index == index) {
                    self.refresh_addrs(i).await;
                    self.sync_addr_faults();
                }
            }
        }
    }

    async fn link_changed(&mut self, i: usize, up: bool) {
        let name = self.ifaces[i].name.clone();
        info!("Netlink reports {name} {}", if up { "up" } else { "down" });
        if up {
            self.refresh_addrs(i).await;
            self.sync_addr_faults();
        }
        let now = clock::now();
        for id in 0..self.vrrp.routers().len() {
            if self.inst_iface[id] == Some(i) {
                if !up {
                    info!("({}) interface {name} is down", self.vrrp.router(id).name());
                }
                self.vrrp.handle(
                    now,
                    id,
                    Event::Fault {
                        active: !up,
                        cause: FaultCause::Interface(name.clone()),
                    },
                );
            }
        }
        for (id, ev) in self.tracking.interface_changed(&name, up) {
            self.vrrp.handle(now, id, ev);
        }
    }

    async fn drain(&mut self) {
        while let Some(Output { source, action }) = self.vrrp.poll_action() {
            let id = match source {
                Source::Instance(id) => Some(id),
                Source::Group(_) => None,
            };
            self.execute(id, action).await;
        }
    }

    fn addr_iface(&self, id: InstanceId, a: &VirtualAddress) -> Option<usize> {
        match &a.dev {
            Some(d) => self.by_name.get(d).copied(),
            None => self.inst_iface[id],
        }
    }

    async fn execute(&mut self, id: Option<InstanceId>, action: Action) {
        match action {
            Action::Log(l) => lines(self, &l.text, l.detail),
            Action::Notify(n) => (self.sink)(&n),
            Action::StateChanged { from, to, reason } => {
                if let Some(id) = id {
                    let name = self.vrrp.router(id).name().to_string();
                    if !self.stopping {
                        if let Some(c) = self.syncd.resolved().filter(|c| c.instance == name) {
                            let cmds = syncd::on_transition(c, from, to);
                            self.syncd_run(cmds);
                        }
                    }
                    self.transitions.insert(name, clock::wall_now());
                }
                debug!("{:?} {from} -> {to} ({})", id, reason.as_str())
            }
            Action::SendAdvert {
                repr,
                src,
                dst,
                ttl,
            } => {
                if let Some(id) = id {
                    self.send_advert(id, &repr, src, &dst, ttl);
                }
            }
            Action::SendGarp { addrs, repeat } | Action::SendNa { addrs, repeat } => {
                if let Some(id) = id {
                    self.send_link_updates(id, &addrs, repeat);
                }
            }
            Action::AddVips(v) | Action::AddEvips(v) => {
                if let Some(id) = id {
                    for a in &v {
                        self.add_addr(id, a).await;
                    }
                }
            }
            Action::DelVips(v) | Action::DelEvips(v) => {
                if self.stopping && self.dont_release {
                    return;
                }
                if let Some(id) = id {
                    for a in &v {
                        self.del_addr(id, a).await;
                    }
                }
            }
            Action::AddRoutes(_)
            | Action::DelRoutes(_)
            | Action::AddRules(_)
            | Action::DelRules(_) => {
                // from_model refuses virtual_routes/virtual_rules with a warning.
            }
        }
    }

    async fn add_addr(&mut self, id: InstanceId, a: &VirtualAddress) {
        let Some(i) = self.addr_iface(id, a) else {
            return;
        };
        let opts = AddrOptions::parse(&a.options);
        if let Err(e) = self
            .nl
            .add_address(self.ifaces[i].index, a.addr, a.prefix_len, &opts)
            .await
        {
            warn!(
                "({}) Cannot add VIP {}/{} on {}: {e}",
                self.vrrp.router(id).name(),
                a.addr,
                a.prefix_len,
                self.ifaces[i].name
            );
        }
    }

    async fn del_addr(&mut self, id: InstanceId, a: &VirtualAddress) {
        let Some(i) = self.addr_iface(id, a) else {
            return;
        };
        let name = self.vrrp.router(id).name().to_string();
        self.del_addr_on(&name, i, a).await;
    }

    async fn del_addr_on(&mut self, inst: &str, i: usize, a: &VirtualAddress) {
        if let Err(e) = self
            .nl
            .del_address(self.ifaces[i].index, a.addr, a.prefix_len)
            .await
        {
            warn!(
                "({inst}) Cannot remove VIP {}/{} from {}: {e}",
                a.addr, a.prefix_len, self.ifaces[i].name
            );
        }
    }

    fn send_advert(
        &mut self,
        id: InstanceId,
        repr: &wv::Repr,
        src: Option<IpAddr>,
        dst: &Destination,
        ttl: u8,
    ) {
        let Some(i) = self.inst_iface[id] else { return };
        let cfg: &InstanceConfig = self.vrrp.router(id).config();
        let (family, name) = (cfg.family, cfg.name.clone());
        self.send_advert_on(i, family, &name, repr, src, dst, ttl);
    }

    #[allow(clippy::too_many_arguments)]
    fn send_advert_on(
        &mut self,
        i: usize,
        family: Family,
        name: &str,
        repr: &wv::Repr,
        src: Option<IpAddr>,
        dst: &Destination,
        ttl: u8,
    ) {
        let dsts: Vec<IpAddr> = match dst {
            Destination::Multicast(a) => vec![*a],
            Destination::Unicast(v) => v.clone(),
        };
        match family {
            Family::Ipv4 => {
                let Some(s) = self.sock4.get(&i) else { return };
                let src = match src {
                    Some(IpAddr::V4(a)) => Some(a),
                    _ => self.ifaces[i].v4,
                };
                let Some(src) = src else {
                    debug!("({name}) no IPv4 source address on {}", self.ifaces[i].name);
                    return;
                };
                for d in dsts {
                    let IpAddr::V4(d4) = d else { continue };
                    self.ip_id = self.ip_id.wrapping_add(1);
                    match repr.to_ipv4_datagram(src, d4, ttl, self.ip_id, ChecksumMode::Rfc) {
                        Ok(dg) => {
                            if let Err(e) = rawsock::send_v4(s.get_ref(), &dg, d4) {
                                debug!("({name}) advert to {d4} not sent: {e}");
                            }
                        }
                        Err(e) => warn!("({name}) cannot build advert: {e}"),
                    }
                }
            }
            Family::Ipv6 => {
                let Some(s) = self.sock6.get(&i) else { return };
                let src = match src {
                    Some(IpAddr::V6(a)) => Some(a),
                    _ => self.ifaces[i].v6ll,
                };
                let Some(src) = src else {
                    debug!(
                        "({name}) no IPv6 link-local address on {}",
                        self.ifaces[i].name
                    );
                    return;
                };
                for d in dsts {
                    let IpAddr::V6(d6) = d else { continue };
                    let ep = Endpoints {
                        src: src.into(),
                        dst: d6.into(),
                    };
                    match repr.to_bytes(&ep, ChecksumMode::Rfc) {
                        Ok(m) => {
                            if let Err(e) =
                                rawsock::send_v6(s.get_ref(), &m, src, d6, self.ifaces[i].index)
                            {
                                debug!("({name}) advert to {d6} not sent: {e}");
                            }
                        }
                        Err(e) => warn!("({name}) cannot build advert: {e}"),
                    }
                }
            }
        }
    }

    fn send_link_updates(&mut self, id: InstanceId, addrs: &[VirtualAddress], repeat: u32) {
        let now = clock::now();
        for _ in 0..repeat {
            for a in addrs {
                let Some(i) = self.addr_iface(id, a) else {
                    continue;
                };
                let f = &self.ifaces[i];
                let Some(mac) = f.mac else { continue };
                let (frame, what, interval): (Vec<u8>, &str, _) = match a.addr {
                    IpAddr::V4(v4) => (
                        arp::garp(mac, v4).to_vec(),
                        "gratuitous ARP",
                        self.garp_interval,
                    ),
                    IpAddr::V6(v6) => {
                        let fwd = std::fs::read_to_string(format!(
                            "/proc/sys/net/ipv6/conf/{}/forwarding",
                            f.name
                        ))
                        .is_ok_and(|s| s.trim() == "1");
                        (
                            nd::unsolicited_na(mac, v6, fwd).to_vec(),
                            "unsolicited Neighbour Advert",
                            self.gna_interval,
                        )
                    }
                };
                let line = format!("Sending {what} on {} for {}", f.name, a.addr);
                let key = (f.index, a.addr.is_ipv6());
                let slot = self.next_slot.get(&key).map_or(now, |t| (*t).max(now));
                if !interval.is_zero() {
                    self.next_slot.insert(key, slot + interval);
                }
                let at = self.link_queue.partition_point(|q| q.0 <= slot);
                self.link_queue.insert(at, (slot, f.index, frame, line));
            }
        }
        self.flush_link_queue(now);
    }

    /// Sends every queued GARP/NA whose slot has come.
    fn flush_link_queue(&mut self, now: std::time::Instant) {
        while self.link_queue.front().is_some_and(|q| q.0 <= now) {
            let Some((_, index, frame, line)) = self.link_queue.pop_front() else {
                break;
            };
            if self.log_detail {
                info!("{line}");
            }
            if let Some(p) = &self.packet {
                if let Err(e) = p.send(index, &frame) {
                    debug!("{line}: not sent: {e}");
                }
            }
        }
    }
}

/// Registers a socket we own with the runtime for readability.
fn async_fd(s: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: the Socket owns its descriptor and the AsyncFd owns the Socket, so the fd stays
    // open exactly as long as it is registered.
    unsafe { AsyncFd::register_with_interest(s, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

trait RawFdI32 {
    fn as_raw_fd_i32(&self) -> i32;
}
impl RawFdI32 for Socket {
    fn as_raw_fd_i32(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.as_raw_fd()
    }
}

/// One task per socket: read until it would block, hand each packet to the loop.
fn spawn_reader(
    fd: Arc<AsyncFd<Socket>>,
    iface: usize,
    v6: bool,
    tx: mpsc::UnboundedSender<Rx>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok(mut guard) = fd.readable().await else {
                return;
            };
            loop {
                let r = if v6 {
                    rawsock::recv_v6(fd.get_ref(), &mut buf).map(|o| {
                        o.map(|m| Rx {
                            iface,
                            v6,
                            data: buf[..m.len.min(buf.len())].to_vec(),
                            src6: m.src,
                            dst6: m.dst,
                            hop: m.hop_limit,
                        })
                    })
                } else {
                    rawsock::recv_v4(fd.get_ref(), &mut buf).map(|o| {
                        o.map(|n| Rx {
                            iface,
                            v6,
                            data: buf[..n.min(buf.len())].to_vec(),
                            src6: Ipv6Addr::UNSPECIFIED,
                            dst6: None,
                            hop: None,
                        })
                    })
                };
                match r {
                    Ok(Some(p)) => {
                        if tx.send(p).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) => {
                        debug!("VRRP socket receive error: {e}");
                        guard.clear_ready();
                        break;
                    }
                }
            }
        }
    })
}
