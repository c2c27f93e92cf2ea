//! `Router`: one VRRP instance as a sans-IO state machine (RFC 3768 / 5798 plus keepalived
//! 2.2.7's extensions, see inventory §7).
//!
//! Timers are keepalived's: one deadline (`sands`) that is the down timer in BACKUP and the
//! advert timer in MASTER, plus fire-and-forget delayed GARP bursts. Every state transition's
//! side effects happen in [`Router::enter_state`].

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::config::{InitialState, InstanceConfig, VirtualAddress, VirtualRoute, VirtualRule};
use crate::wire::vrrp::{Auth, Repr, Version};

/// Instance state. `Init` before `Event::Start`, `Stop` after `Event::Stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    Stop,
}

impl State {
    /// keepalived's spelling (notify arguments, FIFO lines, log lines).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a transition happened (for logs, metrics and snapshots; keepalived's SNMP
/// `master_reason` is derived from the same facts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Start-up: initial BACKUP or FAULT.
    Init,
    /// Address owner (priority 255) starting or recovering.
    Owner,
    /// The down timer expired after the master's adverts stopped.
    MasterDown,
    /// The down timer (skew time) expired after a priority-0 advert.
    MasterReleased,
    /// The down timer expired while discarding a lower-priority master's adverts (preemption).
    Preempt,
    /// A master heard a higher priority advert.
    HigherPriority,
    /// A master heard an equal priority advert from a higher address.
    HigherAddress,
    /// A fault cause became active.
    Fault,
    /// All fault causes cleared.
    FaultCleared,
    /// Moved by its sync group.
    SyncGroup,
    /// Daemon stop.
    Stop,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Init => "init",
            Reason::Owner => "address owner",
            Reason::MasterDown => "master down",
            Reason::MasterReleased => "priority 0 received",
            Reason::Preempt => "preempt",
            Reason::HigherPriority => "higher priority advert",
            Reason::HigherAddress => "equal priority, higher address",
            Reason::Fault => "fault",
            Reason::FaultCleared => "fault cleared",
            Reason::SyncGroup => "sync group",
            Reason::Stop => "stop",
        }
    }
}

/// One independent reason for FAULT. The instance is in FAULT while any cause is active.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultCause {
    /// The instance's interface or an unweighted `track_interface` is down.
    Interface(String),
    /// An unweighted (weight 0) `track_script` is failing (or has not reported yet).
    Script(String),
    /// `track_file` at a fault value.
    File(String),
    /// `track_process` quorum lost.
    Process(String),
    /// `track_bfd` down.
    Bfd(String),
    /// `track_src_ip`: the source address disappeared.
    SourceAddress,
    /// `unicast_fault_no_peer` with no peers.
    NoUnicastPeers,
    /// Anything else the driver wants to hold the instance down for.
    Other(String),
}

/// Inputs to a `Router`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Leave INIT (keepalived's `vrrp_init_state`). Faults reported before this decide between
    /// BACKUP and FAULT.
    Start,
    /// A received advertisement for this instance (the driver demultiplexes by VRID and
    /// socket). `ttl` is the IPv4 TTL / IPv6 hop limit when known.
    Advert {
        src: IpAddr,
        ttl: Option<u8>,
        repr: Repr,
    },
    /// New effective priority from the tracker (ignored for an owner).
    PriorityChanged(u8),
    /// A fault cause became active or cleared.
    Fault { active: bool, cause: FaultCause },
    /// Daemon shutdown: priority-0 advert if MASTER, remove VIPs, notify STOP.
    Stop,
}

/// Where an advert goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    /// One packet to the group (224.0.0.18 / ff02::12 or `mcast_dst_ip`), TTL 255.
    Multicast(IpAddr),
    /// One packet to each peer.
    Unicast(Vec<IpAddr>),
}

/// Who gets a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyKind {
    Instance,
    Group,
}

impl NotifyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Instance => "INSTANCE",
            NotifyKind::Group => "GROUP",
        }
    }
}

/// What a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyEvent {
    /// A state notification (`notify_master|backup|fault|stop`, generic `notify`, FIFO, SMTP).
    State(State),
    /// Master heard a lower priority advert (`notify_master_rx_lower_pri`, FIFO
    /// `MASTER_RX_LOWER_PRI`).
    MasterRxLowerPri,
    /// Effective priority changed while MASTER (FIFO `MASTER_PRIORITY`, with
    /// `notify_priority_changes`).
    MasterPriority,
    /// Effective priority changed while not MASTER (FIFO `BACKUP_PRIORITY`).
    BackupPriority,
    /// The instance was removed by a reload. keepalived reports it as `DELETED` (and runs the
    /// `notify_deleted` script) when the instance has `notify_deleted`, otherwise as `FAULT`
    /// through the generic `notify` and the FIFOs only; the notifier knows which.
    Deleted,
}

impl NotifyEvent {
    /// The word keepalived writes (FIFO / generic notify argument).
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::State(s) => s.as_str(),
            NotifyEvent::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyEvent::Deleted => "DELETED",
            NotifyEvent::MasterPriority => "MASTER_PRIORITY",
            NotifyEvent::BackupPriority => "BACKUP_PRIORITY",
        }
    }
}

/// A notification: the notify module turns it into scripts, FIFO lines, SMTP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notify {
    pub kind: NotifyKind,
    /// Instance or group name.
    pub name: String,
    pub event: NotifyEvent,
    /// Effective priority for instances; always 0 for groups.
    pub priority: u8,
}

/// A log line, worded as keepalived 2.2.7 (inventory §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogLine {
    pub text: String,
    /// keepalived only prints it with `-D` (`LOG_DETAIL_BIT`).
    pub detail: bool,
}

/// Outputs of a `Router`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement, built at send time from the current state.
    SendAdvert {
        repr: Repr,
        src: Option<IpAddr>,
        dst: Destination,
        ttl: u8,
    },
    /// A gratuitous ARP burst: `repeat` rounds, each one packet per address, in order.
    SendGarp {
        addrs: Vec<VirtualAddress>,
        repeat: u32,
    },
    /// An unsolicited neighbour advertisement burst (IPv6 addresses), same shape.
    SendNa {
        addrs: Vec<VirtualAddress>,
        repeat: u32,
    },
    AddVips(Vec<VirtualAddress>),
    DelVips(Vec<VirtualAddress>),
    AddEvips(Vec<VirtualAddress>),
    DelEvips(Vec<VirtualAddress>),
    AddRoutes(Vec<VirtualRoute>),
    DelRoutes(Vec<VirtualRoute>),
    AddRules(Vec<VirtualRule>),
    DelRules(Vec<VirtualRule>),
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    Notify(Notify),
    Log(LogLine),
}

/// keepalived's per-instance counters (`vrrp_stats`, SIGUSR2 / JSON dumps).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    /// keepalived 2.2.7 never increments this (it drops v2 interval mismatches silently); we
    /// count them.
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    /// SNMP-only counters in keepalived.
    pub vers_err: u64,
    pub vrid_err: u64,
}

/// What the sync group tells its member before each step (the `Vrrp` container keeps it
/// current; a standalone router has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupView {
    pub state: State,
    /// Every other member wants MASTER (keepalived's `vrrp_sync_can_goto_master`).
    pub others_want_master: bool,
    /// Some other member still has an active fault cause.
    pub others_faulted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rx {
    Ok,
    Drop,
}

/// How `enter_state` logs the transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryLog {
    /// `(X) Entering S STATE`
    Normal,
    /// `(X) Entering S STATE (init)`
    Init,
    /// Nothing (keepalived's silent paths: shutdown, sync-group forced FAULT, owner start).
    Silent,
}

/// One VRRP instance.
#[derive(Debug, Clone)]
pub struct Router {
    cfg: InstanceConfig,
    state: State,
    /// The state keepalived's `wantstate` says we would be in ignoring the sync group.
    wantstate: State,
    base_priority: u8,
    effective_priority: u8,
    /// Master_Adver_Interval: ours, or (v3) learnt from the master.
    master_adver_int: Duration,
    /// keepalived's `ms_down_timer` (not always the full interval: see `rx_backup`).
    ms_down_timer: Duration,
    /// Down timer (BACKUP) or advert timer (MASTER).
    sands: Option<Instant>,
    vipset: bool,
    preempt_time: Option<Instant>,
    garp_refresh_at: Option<Instant>,
    /// Delayed GARP bursts (`garp_master_delay`, `garp_lower_prio_delay`). Like keepalived's
    /// timer threads they are not cancelled on leaving MASTER; at expiry they only send if the
    /// VIPs are set.
    delayed_garps: Vec<(Instant, u32)>,
    faults: BTreeSet<FaultCause>,
    next_master_reason: Reason,
    master_addr: Option<IpAddr>,
    master_priority: u8,
    notifies_sent: bool,
    pub(crate) group: Option<GroupView>,
    /// Set when a lower-priority advert made us send GARPs; the group sends its members' too.
    pub(crate) lower_prio_garp_request: bool,
    stats: Stats,
    actions: VecDeque<Action>,
}

impl Router {
    /// A router in INIT. `cfg` should already be normalised.
    pub fn new(cfg: InstanceConfig) -> Self {
        let wantstate = if cfg.initial_state == InitialState::Master || cfg.is_owner() {
            State::Master
        } else {
            State::Backup
        };
        Router {
            state: State::Init,
            wantstate,
            base_priority: cfg.priority,
            effective_priority: cfg.priority,
            master_adver_int: cfg.advert_interval,
            ms_down_timer: Duration::ZERO,
            sands: None,
            vipset: false,
            preempt_time: None,
            garp_refresh_at: None,
            delayed_garps: Vec::new(),
            faults: BTreeSet::new(),
            next_master_reason: Reason::MasterDown,
            master_addr: None,
            master_priority: 0,
            notifies_sent: false,
            group: None,
            lower_prio_garp_request: false,
            stats: Stats::default(),
            actions: VecDeque::new(),
            cfg,
        }
    }

    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }
    pub fn name(&self) -> &str {
        &self.cfg.name
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// Zeroes every counter (keepalived's SIGRTMAX-1 "stats clear").
    pub fn clear_stats(&mut self) {
        self.stats = Stats::default();
    }
    /// Master_Adver_Interval (v3: as learnt from the master).
    pub fn master_adver_int(&self) -> Duration {
        self.master_adver_int
    }
    /// The address of the last master heard (None before any advert).
    pub fn master_addr(&self) -> Option<IpAddr> {
        self.master_addr
    }
    /// The current Master_Down_Interval (down_timer_adverts × Master_Adver_Interval + skew).
    pub fn master_down_interval(&self) -> Duration {
        self.full_down_timer()
    }
    /// Active fault causes.
    pub fn faults(&self) -> impl Iterator<Item = &FaultCause> {
        self.faults.iter()
    }
    /// keepalived's `wantstate`: the state this instance would be in on its own, ignoring its
    /// sync group.
    pub fn wantstate(&self) -> State {
        self.wantstate
    }
    /// Configured priority (before trackers).
    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }
    /// Priority of the last master heard (0 before any advert).
    pub fn master_priority(&self) -> u8 {
        self.master_priority
    }
    /// keepalived's `ms_down_timer`, as its data dump shows it.
    pub fn ms_down_timer(&self) -> Duration {
        self.ms_down_timer
    }
    /// Whether the VIPs are set (MASTER and not yet released).
    pub fn vipset(&self) -> bool {
        self.vipset
    }
    pub(crate) fn has_faults(&self) -> bool {
        !self.faults.is_empty()
    }

    // ----- the sans-IO surface -------------------------------------------------------------

    pub fn handle(&mut self, now: Instant, event: Event) {
        match event {
            Event::Start => self.start(now),
            Event::Advert { src, ttl, repr } => self.receive(now, src, ttl, &repr),
            Event::PriorityChanged(p) => self.set_effective_priority(p),
            Event::Fault {
                active: true,
                cause,
            } => {
                self.fault_up(now, cause);
            }
            Event::Fault {
                active: false,
                cause,
            } => {
                self.fault_down(now, cause);
            }
            Event::Stop => {
                self.stop_release();
                self.stop_notify();
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.delayed_garps.len() {
            if self.delayed_garps[i].0 <= now {
                let (_, repeat) = self.delayed_garps.remove(i);
                self.send_link_update(repeat);
            } else {
                i += 1;
            }
        }
        if self.sands.is_some_and(|t| t <= now) {
            match self.state {
                State::Backup => {
                    self.log_detail(format!("({}) Receive advertisement timeout", self.cfg.name));
                    self.wantstate = State::Master;
                    self.goto_master(now, self.next_master_reason);
                }
                State::Master => {
                    self.sands = Some(now + self.cfg.advert_interval);
                    self.master_tx(now);
                }
                _ => self.sands = None,
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let g = self.delayed_garps.iter().map(|d| d.0).min();
        match (self.sands, g) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    // ----- timers ------------------------------------------------------------------------

    /// Skew for a priority value, keepalived's `VRRP_TIMER_SKEW_CALC`: v2 always counts in
    /// 1/256 s (whatever advert_int is); v3 in 1/256 of Master_Adver_Interval, in centisecond
    /// units, rounded down to the microsecond.
    fn skew_calc(&self, pri_val: u64) -> Duration {
        let us = match self.cfg.version {
            Version::V2 => pri_val * 1_000_000 / 256,
            Version::V3 => {
                let cs = self.master_adver_int.as_micros() as u64 / 10_000;
                pri_val * cs * 625 / 16
            }
        };
        Duration::from_micros(us)
    }

    fn skew(&self) -> Duration {
        self.skew_calc(256 - u64::from(self.effective_priority))
    }

    fn full_down_timer(&self) -> Duration {
        self.master_adver_int * self.cfg.down_timer_adverts + self.skew()
    }

    fn reset_sands(&mut self, now: Instant) {
        self.sands = match self.state {
            State::Master => Some(now + self.cfg.advert_interval),
            State::Backup => Some(now + self.ms_down_timer),
            _ => None,
        };
    }

    // ----- start / stop ------------------------------------------------------------------

    fn start(&mut self, now: Instant) {
        if self.state != State::Init {
            return;
        }
        // keepalived removes leftover VIPs of every instance at start-up.
        self.remove_addresses(true);
        let is_up = self.faults.is_empty();
        let new_state = match self.group {
            Some(g) if g.state != State::Init => g.state,
            _ => self.wantstate,
        };
        if is_up
            && new_state == State::Master
            && self.base_priority == 255
            && self.wantstate == State::Master
        {
            // keepalived becomes master by timing out of BACKUP after 1 µs.
            self.state = State::Backup;
            self.push(Action::StateChanged {
                from: State::Init,
                to: State::Backup,
                reason: Reason::Owner,
            });
            self.next_master_reason = Reason::Owner;
            self.ms_down_timer = Duration::from_micros(1);
            self.reset_sands(now);
            return;
        }
        self.ms_down_timer = if new_state == State::Backup && self.wantstate == State::Master {
            // A sync-group member wanting MASTER: wait one advert interval for a master.
            self.master_adver_int + self.skew_calc(1)
        } else {
            self.full_down_timer()
        };
        self.next_master_reason = Reason::MasterDown;
        if is_up && new_state != State::Fault {
            self.enter_state(now, State::Backup, Reason::Init, EntryLog::Init, true);
        } else {
            // A member held in FAULT only by its group does not notify (keepalived).
            let notify = !self.faults.is_empty();
            self.wantstate = State::Fault;
            self.enter_state(now, State::Fault, Reason::Init, EntryLog::Init, notify);
        }
    }

    /// Shutdown phase 1 (keepalived's `restore_vrrp_interfaces`): a MASTER sends priority 0
    /// and removes its addresses.
    pub(crate) fn stop_release(&mut self) {
        if self.state == State::Master {
            self.send_prio_zero_logged();
            self.remove_addresses(false);
        }
    }

    /// Shutdown phase 2: STOP notifies.
    pub(crate) fn stop_notify(&mut self) {
        if self.state == State::Stop {
            return;
        }
        let from = self.state;
        self.state = State::Stop;
        self.wantstate = State::Stop;
        self.sands = None;
        self.delayed_garps.clear();
        self.push(Action::StateChanged {
            from,
            to: State::Stop,
            reason: Reason::Stop,
        });
        self.send_notifies();
    }

    // ----- reload ------------------------------------------------------------------------

    /// The router for `cfg` after a reload matched it to `old` (keepalived's `clear_diff_vrrp`,
    /// `restore_vrrp_state` and the reload branch of `vrrp_init_state`): a MASTER stays MASTER
    /// and advertises at once, a BACKUP stays BACKUP with a fresh down timer, neither notifies.
    /// Only what changed is touched: addresses, routes and rules that left the config are
    /// removed, new ones added (with a GARP/NA burst when an address was added); an unchanged
    /// VIP is never deleted and re-added. Counters survive. A FAULT or INIT instance starts
    /// over (the caller sends `Event::Start`, then re-feeds its fault causes).
    pub(crate) fn reloaded(cfg: InstanceConfig, old: &Router, now: Instant) -> Router {
        let mut r = Router::new(cfg);
        r.stats = old.stats.clone();
        let name = r.cfg.name.clone();
        if old.vipset {
            let gone = |o: &[VirtualAddress], n: &[VirtualAddress]| -> Vec<VirtualAddress> {
                o.iter()
                    .filter(|a| !n.iter().any(|b| same_address(a, b)))
                    .cloned()
                    .collect()
            };
            let rules: Vec<VirtualRule> = old
                .cfg
                .vrules
                .iter()
                .filter(|x| !r.cfg.vrules.contains(x))
                .cloned()
                .collect();
            if !rules.is_empty() {
                r.push(Action::DelRules(rules));
            }
            let routes: Vec<VirtualRoute> = old
                .cfg
                .vroutes
                .iter()
                .filter(|x| !r.cfg.vroutes.contains(x))
                .cloned()
                .collect();
            if !routes.is_empty() {
                r.push(Action::DelRoutes(routes));
            }
            let vips = gone(&old.cfg.vips, &r.cfg.vips);
            if !vips.is_empty() {
                r.push(Action::DelVips(vips));
            }
            let evips = gone(&old.cfg.evips, &r.cfg.evips);
            if !evips.is_empty() {
                r.push(Action::DelEvips(evips));
            }
        }
        match old.state {
            State::Master => {
                r.state = State::Master;
                r.wantstate = State::Master;
                r.notifies_sent = true;
                r.vipset = old.vipset;
                if r.vipset {
                    let added = |n: &[VirtualAddress], o: &[VirtualAddress]| {
                        n.iter()
                            .filter(|a| !o.iter().any(|b| same_address(a, b)))
                            .cloned()
                            .collect::<Vec<_>>()
                    };
                    let vips = added(&r.cfg.vips, &old.cfg.vips);
                    let evips = added(&r.cfg.evips, &old.cfg.evips);
                    let any_added = !vips.is_empty() || !evips.is_empty();
                    if !vips.is_empty() {
                        r.log_detail(format!("({name}) setting VIPs."));
                        r.push(Action::AddVips(vips));
                    }
                    if !evips.is_empty() {
                        r.log_detail(format!("({name}) setting E-VIPs."));
                        r.push(Action::AddEvips(evips));
                    }
                    // keepalived re-adds every route: the kernel may have dropped one that
                    // depended on a removed VIP without telling us. Adding an existing route
                    // changes nothing.
                    if !r.cfg.vroutes.is_empty() {
                        r.push(Action::AddRoutes(r.cfg.vroutes.clone()));
                    }
                    let rules: Vec<VirtualRule> = r
                        .cfg
                        .vrules
                        .iter()
                        .filter(|x| !old.cfg.vrules.contains(x))
                        .cloned()
                        .collect();
                    if !rules.is_empty() {
                        r.push(Action::AddRules(rules));
                    }
                    if any_added {
                        r.send_link_update(r.cfg.garp_master_repeat);
                        if !r.cfg.garp_master_refresh.is_zero() {
                            r.garp_refresh_at = Some(now + r.cfg.garp_master_refresh);
                        }
                    }
                }
                // keepalived's reload_master: the first advert goes out at once.
                r.sands = Some(now);
            }
            State::Backup => {
                r.state = State::Backup;
                r.wantstate = State::Backup;
                r.notifies_sent = true;
                r.ms_down_timer = r.full_down_timer();
                r.reset_sands(now);
            }
            State::Fault | State::Init | State::Stop => {}
        }
        r
    }

    /// An instance the reload removed (keepalived's first loop of `clear_diff_vrrp`): a
    /// MASTER sends priority 0 and releases its addresses; then it reports DELETED (FAULT for
    /// an instance that was not already in FAULT when `notify_deleted` is not set: the notifier
    /// decides the word).
    pub(crate) fn remove_for_reload(&mut self) {
        if self.state == State::Master {
            self.send_prio_zero_logged();
            self.remove_addresses(false);
        }
        let was_fault = self.state == State::Fault;
        self.state = State::Stop;
        self.wantstate = State::Stop;
        self.sands = None;
        self.delayed_garps.clear();
        if !was_fault || self.cfg.notify_deleted {
            self.push(Action::Notify(Notify {
                kind: NotifyKind::Instance,
                name: self.cfg.name.clone(),
                event: NotifyEvent::Deleted,
                priority: self.effective_priority,
            }));
        }
    }

    /// Drains the actions queued so far (for the driver of a removed instance).
    pub(crate) fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
    }

    // ----- the single place where transitions take effect --------------------------------

    /// Enter `to` from the current state with all its side effects, in keepalived's order.
    /// `notify`: whether to send the instance notifies (false only for keepalived's silent
    /// FAULT-at-init of a group member).
    fn enter_state(
        &mut self,
        now: Instant,
        to: State,
        reason: Reason,
        log: EntryLog,
        notify: bool,
    ) {
        let from = self.state;
        let name = self.cfg.name.clone();
        let entering = |suffix: &str| format!("({name}) Entering {to} STATE{suffix}");
        match log {
            EntryLog::Normal if from != to => self.log(entering("")),
            EntryLog::Init => self.log(entering(" (init)")),
            _ => {}
        }
        match (from, to) {
            (_, State::Master) => {
                // The advert has already gone (goto_master sends it first so the old master
                // drops the VIPs before our GARPs arrive).
                self.state = State::Master;
                self.push(Action::StateChanged { from, to, reason });
                self.stats.become_master += 1;
                if self.cfg.version == Version::V3
                    && self.master_adver_int != self.cfg.advert_interval
                {
                    self.log_detail(format!(
                        "({}) changing advert interval from {}ms to locally configured {}ms",
                        name,
                        self.master_adver_int.as_millis(),
                        self.cfg.advert_interval.as_millis()
                    ));
                    self.master_adver_int = self.cfg.advert_interval;
                }
                self.add_addresses();
                self.send_link_update(self.cfg.garp_master_repeat);
                if !self.cfg.garp_master_refresh.is_zero() {
                    self.garp_refresh_at = Some(now + self.cfg.garp_master_refresh);
                }
                self.send_notifies();
                if !self.cfg.garp_master_delay.is_zero() {
                    self.delayed_garps.push((
                        now + self.cfg.garp_master_delay,
                        self.cfg.garp_master_repeat,
                    ));
                }
            }
            (State::Master, State::Backup | State::Fault) => {
                if to == State::Fault {
                    // keepalived sends one priority-0 advert here, and (down_instance) a
                    // second, counted and logged one while restoring the interface.
                    let prio0 = self.advert(0);
                    self.push(prio0);
                    if reason == Reason::Fault {
                        self.send_prio_zero_logged();
                    }
                } else {
                    self.preempt_time = None;
                    self.next_master_reason = Reason::MasterDown;
                }
                self.remove_addresses(false);
                self.state = to;
                self.push(Action::StateChanged { from, to, reason });
                self.send_notifies();
                self.ms_down_timer = self.full_down_timer();
                self.reset_sands(now);
                self.stats.release_master += 1;
            }
            (_, State::Backup | State::Fault) => {
                self.state = to;
                if from != to {
                    self.push(Action::StateChanged { from, to, reason });
                }
                if notify {
                    self.send_notifies();
                }
                if to == State::Backup {
                    self.preempt_time = None;
                }
                if reason != Reason::Init {
                    self.master_adver_int = self.cfg.advert_interval;
                    self.ms_down_timer = self.full_down_timer();
                }
                self.reset_sands(now);
            }
            (_, State::Init | State::Stop) => unreachable!("enter_state is never asked for {to}"),
        }
    }

    fn goto_master(&mut self, now: Instant, reason: Reason) {
        if let Some(g) = self.group {
            if g.state != State::Master && !g.others_want_master {
                // Wait for the rest of the group (keepalived re-arms the full down timer).
                self.wantstate = State::Master;
                self.ms_down_timer = self.full_down_timer();
                self.reset_sands(now);
                return;
            }
        }
        let adv = self.advert(self.effective_priority);
        self.push(adv);
        self.sands = Some(now + self.cfg.advert_interval);
        self.enter_state(now, State::Master, reason, EntryLog::Normal, true);
    }

    /// Called by the sync group for a member that must follow another to MASTER.
    pub(crate) fn sync_to_master(&mut self, now: Instant) {
        self.wantstate = State::Master;
        self.goto_master(now, Reason::SyncGroup);
    }

    /// Called by the sync group: follow to BACKUP (from MASTER, FAULT or INIT).
    pub(crate) fn sync_to_backup(&mut self, now: Instant) {
        self.wantstate = State::Backup;
        match self.state {
            State::Backup | State::Stop => {}
            State::Master => self.enter_state(
                now,
                State::Backup,
                Reason::SyncGroup,
                EntryLog::Normal,
                true,
            ),
            State::Fault | State::Init => self.enter_state(
                now,
                State::Backup,
                Reason::SyncGroup,
                EntryLog::Normal,
                true,
            ),
        }
    }

    /// Called by the sync group: follow to FAULT.
    pub(crate) fn sync_to_fault(&mut self, now: Instant) {
        self.wantstate = State::Fault;
        match self.state {
            State::Fault | State::Stop => {}
            State::Master => {
                self.enter_state(now, State::Fault, Reason::SyncGroup, EntryLog::Normal, true)
            }
            State::Backup | State::Init => {
                // keepalived flips the state first, so no "Entering FAULT STATE" line.
                self.enter_state(now, State::Fault, Reason::SyncGroup, EntryLog::Silent, true);
            }
        }
    }

    /// A sibling heard a lower priority advert: our share of the GARP bursts.
    pub(crate) fn sibling_lower_prio_garp(&mut self, now: Instant) {
        if self.cfg.garp_lower_prio_repeat == 0 {
            return;
        }
        self.send_link_update(self.cfg.garp_lower_prio_repeat);
        if !self.cfg.garp_lower_prio_delay.is_zero() {
            self.delayed_garps.push((
                now + self.cfg.garp_lower_prio_delay,
                self.cfg.garp_lower_prio_repeat,
            ));
        }
    }

    // ----- MASTER ------------------------------------------------------------------------

    fn master_tx(&mut self, now: Instant) {
        let adv = self.advert(self.effective_priority);
        self.push(adv);
        if let Some(at) = self.garp_refresh_at {
            if now > at {
                self.send_link_update(self.cfg.garp_master_refresh_repeat);
                self.garp_refresh_at = Some(now + self.cfg.garp_master_refresh);
            }
        }
    }

    // ----- faults and priority -----------------------------------------------------------

    pub(crate) fn fault_up(&mut self, now: Instant, cause: FaultCause) -> bool {
        let was_up = self.faults.is_empty();
        if !self.faults.insert(cause) {
            return false;
        }
        if !was_up && self.state != State::Init {
            return false;
        }
        if self.state == State::Init {
            // Recorded; Start decides.
            return false;
        }
        if self.state == State::Stop {
            return false;
        }
        self.wantstate = State::Fault;
        self.enter_state(now, State::Fault, Reason::Fault, EntryLog::Normal, true);
        true
    }

    /// Returns true when the last cause cleared (the instance may come up).
    pub(crate) fn fault_down(&mut self, now: Instant, cause: FaultCause) -> bool {
        if !self.faults.remove(&cause) || !self.faults.is_empty() {
            return false;
        }
        if matches!(self.state, State::Init | State::Stop) {
            return false;
        }
        let owner_master = self.wantstate == State::Master && self.base_priority == 255;
        if !owner_master {
            self.wantstate = State::Backup;
        }
        self.master_adver_int = self.cfg.advert_interval;
        self.ms_down_timer = if owner_master {
            self.master_adver_int + self.skew()
        } else {
            self.full_down_timer()
        };
        if let Some(g) = self.group {
            if g.others_faulted {
                return true;
            }
        }
        let mut want = self.wantstate;
        if let Some(g) = self.group {
            if want == State::Master && g.state != State::Master && !g.others_want_master {
                want = State::Backup;
            }
        }
        if want == State::Master {
            self.goto_master(now, Reason::Owner);
        } else {
            self.enter_state(
                now,
                State::Backup,
                Reason::FaultCleared,
                EntryLog::Normal,
                true,
            );
        }
        true
    }

    fn set_effective_priority(&mut self, prio: u8) {
        if self.base_priority == 255 || self.state == State::Stop {
            return;
        }
        let new = prio.clamp(1, 254);
        if new == self.effective_priority {
            return;
        }
        self.log(format!(
            "({}) Changing effective priority from {} to {}",
            self.cfg.name, self.effective_priority, new
        ));
        self.effective_priority = new;
        let old = self.ms_down_timer;
        self.ms_down_timer = self.full_down_timer();
        if self.state == State::Backup {
            // keepalived shifts the running timer by the change in ms_down_timer.
            if let Some(t) = self.sands {
                self.sands = Some(if old < self.ms_down_timer {
                    t + (self.ms_down_timer - old)
                } else {
                    t.checked_sub(old - self.ms_down_timer).unwrap_or(t)
                });
            }
        }
        if self.cfg.notify_priority_changes {
            let event = if self.state == State::Master {
                NotifyEvent::MasterPriority
            } else {
                NotifyEvent::BackupPriority
            };
            self.push(Action::Notify(Notify {
                kind: NotifyKind::Instance,
                name: self.cfg.name.clone(),
                event,
                priority: new,
            }));
        }
    }

    // ----- receive -----------------------------------------------------------------------

    fn receive(&mut self, now: Instant, src: IpAddr, ttl: Option<u8>, repr: &Repr) {
        match self.state {
            State::Backup => {
                self.rx_backup(now, src, ttl, repr);
                self.reset_sands(now);
            }
            State::Master => {
                let sent_before = self.stats.advert_sent;
                self.rx_master(now, src, ttl, repr);
                // keepalived restarts the advert timer after any packet "if we have sent an
                // advert"; we restart it only when we did, so a stream of invalid packets
                // cannot hold our adverts back.
                if self.state != State::Master || self.stats.advert_sent != sent_before {
                    self.reset_sands(now);
                }
            }
            // keepalived ignores adverts in INIT and FAULT.
            _ => {}
        }
    }

    /// keepalived's `vrrp_check_packet` on an already parsed advert.
    fn check_advert(&mut self, src: IpAddr, ttl: Option<u8>, repr: &Repr, check_addrs: bool) -> Rx {
        let name = self.cfg.name.clone();
        if repr.vrid != self.cfg.vrid {
            self.stats.vrid_err += 1;
            return Rx::Drop;
        }
        let unicast = !self.cfg.unicast_peers.is_empty();
        if !unicast {
            if let Some(t) = ttl {
                if t != 255 {
                    self.log(format!(
                        "({name}) invalid TTL/HL. Received {t} and expect 255"
                    ));
                    self.stats.ip_ttl_err += 1;
                    return Rx::Drop;
                }
            }
        }
        if repr.version != self.cfg.version {
            let v = |v: Version| if v == Version::V2 { 2 } else { 3 };
            self.log(format!(
                "({name}) wrong version. Received {} and expect {}",
                v(repr.version),
                v(self.cfg.version)
            ));
            self.stats.vers_err += 1;
            return Rx::Drop;
        }
        if self.cfg.version == Version::V2 {
            let code = |a: &Auth| match a {
                Auth::None => 0,
                Auth::Pass(_) => 1,
                Auth::Ah => 2,
            };
            if code(&repr.auth) != code(&self.cfg.auth) {
                self.log(format!(
                    "({name}) received a {} auth, expecting {}!",
                    code(&repr.auth),
                    code(&self.cfg.auth)
                ));
                self.stats.authtype_mismatch += 1;
                return Rx::Drop;
            }
            if let (Auth::Pass(got), Auth::Pass(want)) = (&repr.auth, &self.cfg.auth) {
                if got != want {
                    self.log(format!("({name}) received an invalid passwd!"));
                    self.stats.auth_failure += 1;
                    return Rx::Drop;
                }
            }
            if repr.advert_int_cs != self.cfg.advert_int_cs() {
                self.log(format!(
                    "({name}) advertisement interval mismatch mine={} sec rcv'd={} sec",
                    self.cfg.advert_int_cs() / 100,
                    repr.advert_int_cs / 100
                ));
                self.stats.advert_interval_err += 1;
                return Rx::Drop;
            }
        }
        let vip_cnt = self.cfg.vips.len();
        if check_addrs && repr.addrs.len() != vip_cnt {
            self.log(format!(
                "({name}) received an unexpected ip number count {}, expected {}!",
                repr.addrs.len(),
                vip_cnt
            ));
            self.stats.addr_list_err += 1;
            return Rx::Drop;
        }
        self.stats.advert_rcvd += 1;
        if check_addrs {
            let missing = self
                .cfg
                .vips
                .iter()
                .find(|v| !repr.addrs.contains(&v.addr))
                .map(|v| v.addr);
            if let Some(a) = missing {
                self.log(format!(
                    "({name}) ip address associated with VRID {} not present in MASTER advert: {a}",
                    self.cfg.vrid
                ));
                self.stats.addr_list_err += 1;
                return Rx::Drop;
            }
            if unicast && self.cfg.check_unicast_src {
                let Some(peer) = self
                    .cfg
                    .unicast_peers
                    .iter()
                    .find(|p| p.addr == src)
                    .cloned()
                else {
                    self.log(format!(
                        "({name}) unicast source address {src} not a unicast peer"
                    ));
                    return Rx::Drop;
                };
                if let Some(t) = ttl {
                    if t < peer.min_ttl || t > peer.max_ttl {
                        self.stats.ip_ttl_err += 1;
                        self.log(format!(
                            "({name}) TTL/HL {t} not in range {} - {}",
                            peer.min_ttl, peer.max_ttl
                        ));
                        return Rx::Drop;
                    }
                }
            }
        }
        if repr.priority == 0 {
            self.stats.pri_zero_rcvd += 1;
        }
        Rx::Ok
    }

    fn learn_adver_int(&mut self, repr: &Repr) {
        if self.cfg.version != Version::V3 {
            return;
        }
        let learnt = Duration::from_millis(u64::from(repr.advert_int_cs & 0x0fff) * 10);
        if learnt != self.master_adver_int && !learnt.is_zero() {
            self.log_detail(format!(
                "({}) advertisement interval updated from {}ms to {}ms by master",
                self.cfg.name,
                self.master_adver_int.as_millis(),
                learnt.as_millis()
            ));
            self.master_adver_int = learnt;
        }
    }

    fn set_master(&mut self, src: IpAddr) {
        match self.master_addr {
            None => self.log_detail(format!("({}) master set to {src}", self.cfg.name)),
            Some(old) if old != src => self.log_detail(format!(
                "({}) master changed from {old} to {src}",
                self.cfg.name
            )),
            _ => {}
        }
        self.master_addr = Some(src);
    }

    /// BACKUP receiving (keepalived's `vrrp_state_backup`).
    fn rx_backup(&mut self, now: Instant, src: IpAddr, ttl: Option<u8>, repr: &Repr) {
        let check_addrs = !self.cfg.skip_check_adv_addr || self.master_addr != Some(src);
        let mut ignore = self.check_advert(src, ttl, repr, check_addrs) != Rx::Ok;
        let name = self.cfg.name.clone();
        if !ignore && repr.priority == 0 {
            self.log_detail(format!("({name}) Backup received priority 0 advertisement"));
            self.ms_down_timer = self.skew();
            self.next_master_reason = Reason::MasterReleased;
        } else if ignore {
            // Rejected by validation: keep the timer running.
        } else if self.cfg.nopreempt
            || repr.priority >= self.effective_priority
            || (!self.cfg.preempt_delay.is_zero() && self.preempt_time.map_or(true, |t| t > now))
        {
            self.learn_adver_int(repr);
            self.ms_down_timer = self.full_down_timer();
            self.set_master(src);
            self.master_priority = repr.priority;
            self.next_master_reason = Reason::MasterDown;
            if !self.cfg.preempt_delay.is_zero() {
                if repr.priority >= self.effective_priority {
                    if self.preempt_time.take().is_some() {
                        self.log_detail(format!("({name}) stop preempt delay"));
                    }
                } else if self.preempt_time.is_none() {
                    let d = self.cfg.preempt_delay;
                    self.log_detail(format!(
                        "({name}) start preempt delay ({}.{:06})",
                        d.as_secs(),
                        d.subsec_micros()
                    ));
                    self.preempt_time = Some(now + d);
                }
            }
            self.wantstate = State::Backup;
        } else {
            self.log(format!(
                "({name}) received lower priority ({}) advert from {src} - discarding",
                repr.priority
            ));
            ignore = true;
            self.next_master_reason = Reason::Preempt;
            self.master_addr = Some(src);
        }
        if ignore {
            // Keep the running deadline: ms_down_timer becomes what is left of it.
            self.ms_down_timer = self
                .sands
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
        }
    }

    /// MASTER receiving (keepalived's `vrrp_state_master_rx`).
    fn rx_master(&mut self, now: Instant, src: IpAddr, ttl: Option<u8>, repr: &Repr) {
        if self.check_advert(src, ttl, repr, true) != Rx::Ok {
            return;
        }
        let name = self.cfg.name.clone();
        let addr_cmp = match self.cfg.source_addr {
            Some(ours) if ours.is_ipv4() == src.is_ipv4() => src.cmp(&ours),
            _ => std::cmp::Ordering::Equal,
        };
        let prio = repr.priority;
        let ours = self.effective_priority;
        use std::cmp::Ordering::{Equal, Greater, Less};
        if prio == 0
            || (self.cfg.higher_prio_send_advert
                && (prio > ours || (prio == ours && addr_cmp == Greater)))
        {
            let adv = self.advert(ours);
            self.push(adv);
            if prio == 0 {
                self.log_detail(format!("({name}) Master received priority 0 message"));
                return;
            }
        }
        let mut ours = ours;
        if prio == ours {
            if addr_cmp == Equal {
                self.log(format!(
                    "({name}) WARNING - equal priority advert received from remote host with our IP address."
                ));
            } else if ours == 255 {
                // keepalived 2.2.7: step the local owner down to 254 at once.
                self.log(format!(
                    "({name}) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority"
                ));
                self.effective_priority = 254;
                self.base_priority = 254;
                ours = 254;
            }
        }
        if prio < ours || (prio == ours && addr_cmp == Less) {
            let suffix = if self.cfg.lower_prio_no_advert {
                ""
            } else {
                ", forcing new election"
            };
            self.log(format!(
                "({name}) Received advert from {src} with lower priority {prio}, ours {ours}{suffix}"
            ));
            if !self.cfg.lower_prio_no_advert {
                let adv = self.advert(ours);
                self.push(adv);
            }
            if self.cfg.garp_lower_prio_repeat > 0 {
                self.send_link_update(self.cfg.garp_lower_prio_repeat);
                if !self.cfg.garp_lower_prio_delay.is_zero() {
                    self.delayed_garps.push((
                        now + self.cfg.garp_lower_prio_delay,
                        self.cfg.garp_lower_prio_repeat,
                    ));
                }
            }
            self.lower_prio_garp_request = true;
            self.push(Action::Notify(Notify {
                kind: NotifyKind::Instance,
                name: name.clone(),
                event: NotifyEvent::MasterRxLowerPri,
                priority: ours,
            }));
            return;
        }
        if prio > ours || (prio == ours && addr_cmp == Greater) {
            let reason = if prio > ours {
                self.log(format!(
                    "({name}) Master received advert from {src} with higher priority {prio}, ours {ours}"
                ));
                Reason::HigherPriority
            } else {
                self.log(format!(
                    "({name}) Master received advert from {src} with same priority {prio} but higher IP address than ours"
                ));
                Reason::HigherAddress
            };
            self.learn_adver_int(repr);
            self.master_priority = prio;
            self.set_master(src);
            self.wantstate = State::Backup;
            self.enter_state(now, State::Backup, reason, EntryLog::Normal, true);
        }
    }

    // ----- effects -----------------------------------------------------------------------

    fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    fn log(&mut self, text: String) {
        self.push(Action::Log(LogLine {
            text,
            detail: false,
        }));
    }

    fn log_detail(&mut self, text: String) {
        self.push(Action::Log(LogLine { text, detail: true }));
    }

    /// An advert built from the current configuration, counted in `advert_sent`.
    fn advert(&mut self, priority: u8) -> Action {
        self.stats.advert_sent += 1;
        let cfg = &self.cfg;
        let repr = Repr {
            version: cfg.version,
            vrid: cfg.vrid,
            priority,
            advert_int_cs: cfg.advert_int_cs(),
            auth: if cfg.version == Version::V2 {
                cfg.auth.clone()
            } else {
                Auth::None
            },
            addrs: cfg.vips.iter().map(|v| v.addr).collect(),
        };
        let (dst, ttl) = if cfg.unicast_peers.is_empty() {
            (
                Destination::Multicast(cfg.mcast_dst.unwrap_or(cfg.family.default_multicast())),
                255,
            )
        } else {
            (
                Destination::Unicast(cfg.unicast_peers.iter().map(|p| p.addr).collect()),
                cfg.unicast_ttl,
            )
        };
        Action::SendAdvert {
            repr,
            src: cfg.source_addr,
            dst,
            ttl,
        }
    }

    fn send_prio_zero_logged(&mut self) {
        let adv = self.advert(0);
        self.push(adv);
        self.stats.pri_zero_sent += 1;
        self.log_detail(format!("({}) sent 0 priority", self.cfg.name));
    }

    /// VIPs, eVIPs, routes, rules on becoming MASTER (keepalived's order).
    fn add_addresses(&mut self) {
        let name = self.cfg.name.clone();
        if !self.cfg.vips.is_empty() {
            self.log_detail(format!("({name}) setting VIPs."));
            self.push(Action::AddVips(self.cfg.vips.clone()));
        }
        if !self.cfg.evips.is_empty() {
            self.log_detail(format!("({name}) setting E-VIPs."));
            self.push(Action::AddEvips(self.cfg.evips.clone()));
        }
        self.vipset = true;
        if !self.cfg.vroutes.is_empty() {
            self.log_detail(format!("({name}) setting Virtual Routes"));
            self.push(Action::AddRoutes(self.cfg.vroutes.clone()));
        }
        if !self.cfg.vrules.is_empty() {
            self.log_detail(format!("({name}) setting Virtual Rules"));
            self.push(Action::AddRules(self.cfg.vrules.clone()));
        }
    }

    /// keepalived's `vrrp_restore_interface` minus the advert: rules, routes, then addresses
    /// (only if we set them, or `force` at start-up).
    fn remove_addresses(&mut self, force: bool) {
        let name = self.cfg.name.clone();
        if !self.cfg.vrules.is_empty() && (force || self.vipset) {
            self.log_detail(format!("({name}) removing Virtual Rules"));
            self.push(Action::DelRules(self.cfg.vrules.clone()));
        }
        if !self.cfg.vroutes.is_empty() && (force || self.vipset) {
            self.log_detail(format!("({name}) removing Virtual Routes"));
            self.push(Action::DelRoutes(self.cfg.vroutes.clone()));
        }
        if force || self.vipset {
            if !self.cfg.vips.is_empty() {
                self.log_detail(format!("({name}) removing VIPs."));
                self.push(Action::DelVips(self.cfg.vips.clone()));
            }
            if !self.cfg.evips.is_empty() {
                self.log_detail(format!("({name}) removing E-VIPs."));
                self.push(Action::DelEvips(self.cfg.evips.clone()));
            }
            self.vipset = false;
        }
    }

    /// A GARP / NA burst for every VIP then eVIP, if the VIPs are set.
    fn send_link_update(&mut self, repeat: u32) {
        if !self.vipset || repeat == 0 {
            return;
        }
        let all: Vec<VirtualAddress> = self
            .cfg
            .vips
            .iter()
            .chain(&self.cfg.evips)
            .cloned()
            .collect();
        if all.is_empty() {
            return;
        }
        let ifname = self.cfg.interface.clone().unwrap_or_default();
        for a in &all {
            let what = if a.addr.is_ipv4() {
                "gratuitous ARPs"
            } else {
                "Unsolicited Neighbour Adverts"
            };
            let dev = a.dev.as_deref().unwrap_or(&ifname).to_string();
            self.log_detail(format!(
                "({}) Sending/queueing {what} on {dev} for {}",
                self.cfg.name, a.addr
            ));
        }
        let (v4, v6): (Vec<_>, Vec<_>) = all.into_iter().partition(|a| a.addr.is_ipv4());
        if !v4.is_empty() {
            self.push(Action::SendGarp { addrs: v4, repeat });
        }
        if !v6.is_empty() {
            self.push(Action::SendNa { addrs: v6, repeat });
        }
    }

    /// Instance notifies for the current state; skipped when a group member enters the state
    /// its group is already in (keepalived's `send_instance_notifies`).
    fn send_notifies(&mut self) {
        if self.notifies_sent {
            if let Some(g) = self.group {
                if g.state == self.state {
                    return;
                }
            }
        }
        self.notifies_sent = true;
        self.push(Action::Notify(Notify {
            kind: NotifyKind::Instance,
            name: self.cfg.name.clone(),
            event: NotifyEvent::State(self.state),
            priority: self.effective_priority,
        }));
    }
}

/// The same configured address for reload purposes: address, prefix and device (keepalived's
/// `get_diff_address` compares address and interface; a changed prefix is a different address
/// to the kernel).
fn same_address(a: &VirtualAddress, b: &VirtualAddress) -> bool {
    a.addr == b.addr && a.prefix_len == b.prefix_len && a.dev == b.dev
}
