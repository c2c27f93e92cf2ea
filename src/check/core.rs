//! The health-check core (pure, sans-IO): per-checker timers and retry counting, real-server
//! alive state, quorum, sorry server, weights, and everything keepalived says and runs about
//! them. It never reads the clock, sleeps or touches a socket: the driver feeds it `now`,
//! probe outcomes, and drains [`Action`]s; [`Lvs::table`] is the IPVS table it wants.
//!
//! The rules follow keepalived 2.2.7 (`check/ipwrapper.c`, `check_tcp.c`, `check_http.c`,
//! `check_misc.c`, `check_data.c`):
//! - a checker starts "up" (or "down" with `alpha`) and its retry counter starts at `retry`,
//!   so the very first failure is decisive; afterwards an up checker needs `retry + 1`
//!   consecutive failures (`delay_before_retry` apart) to go down, and one success to come up;
//! - a real server is alive when none of its checkers is down; its dest is in the table while
//!   alive, or always (weight 0 when not alive) with `inhibit_on_failure`;
//! - quorum: the sum of alive weights against `quorum ± hysteresis`; losing it with a
//!   `sorry_server` swaps the pool for the sorry server.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use std::net::IpAddr;

use crate::ipvs::desired::{LvsConfig, RsSpec, VsSpec};
use crate::ipvs::plan::Table;
use crate::ipvs::Family;
use crate::model::{CheckerKind, Script};
use crate::notify::smtp::Alert;

use super::spec::{CheckSpec, Probe};

mod file;

pub type CheckerId = usize;

/// keepalived's `BOOTSTRAP_DELAY`: the first check runs 1 s after start plus a random warmup.
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// How a MISC_CHECK script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiscExit {
    Status(i32),
    Signal(i32),
    /// Killed by us after `misc_timeout`.
    TimedOut,
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// TCP connected / every url passed. For HTTP, the per-url notes keepalived logs while the
    /// checker is down: (`"HTTP status code"` or `"MD5 digest"`, url path).
    Success(Vec<(&'static str, String)>),
    /// TCP: `"timeout"` or `"failed"`; HTTP/SSL: keepalived's reason text, e.g.
    /// `"HTTP status code error to"`, `"MD5 digest error to"`, `"Timeout connecting"`.
    Failure(String),
    Misc(MiscExit),
}

/// An effect for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start probe `id` (its spec is [`Lvs::spec`]); answer with [`Lvs::handle_result`].
    Probe(CheckerId),
    /// A log line, keepalived's wording.
    Log(String),
    /// Run a notify / quorum script (exactly its configured arguments).
    Run(Script),
    /// A line for `notify_fifo` / `lvs_notify_fifo` (with its `\n`; keepalived also writes the
    /// terminating NUL).
    Fifo(String),
    /// An SMTP alert (only for objects whose `smtp_alert` is on; the driver sends it when
    /// `smtp_server` and `notification_email` are configured).
    Alert(Alert),
}

/// How an HTTP url check ended (keepalived's `register_checker_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpStep {
    /// The url passed.
    New,
    /// The url failed while the checker is up (or has not run).
    Retry,
    /// The url failed while the checker is already down.
    Failed,
}

#[derive(Debug, Clone)]
struct Ck {
    vs: usize,
    rs: usize,
    spec: CheckSpec,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    /// MISC dynamic weight contribution.
    cur_weight: i64,
    last_exit: Option<i32>,
    enabled: bool,
    busy: bool,
    due: Option<Instant>,
    /// HTTP_GET/SSL_GET: the url checked next (`None` past the last one) and the url that
    /// failed (keepalived's `url_it` / `failed_url`).
    url_it: Option<usize>,
    failed_url: Option<usize>,
    /// FILE_CHECK: the track file's value last seen (keepalived's `last_status`).
    file_value: i64,
}

#[derive(Debug, Clone)]
struct RsState {
    alive: bool,
    failed: u32,
    weight: i64,
}

#[derive(Debug, Clone)]
struct VsState {
    quorum_up: bool,
    sorry_alive: bool,
    rs: Vec<RsState>,
}

/// What a checker side leaves to its successor at a reload ([`Lvs::carry`],
/// [`Lvs::reloaded`]): for every virtual server its quorum and sorry-server state, for every
/// real server its alive state and effective weight, for every checker its state (what
/// keepalived's `clear_diff_services` reads from the old configuration).
#[derive(Debug, Clone, Default)]
pub struct Carry {
    vs: Vec<CarriedVs>,
}

#[derive(Debug, Clone)]
struct CarriedVs {
    label: String,
    group: Option<String>,
    family: Option<Family>,
    quorum_up: bool,
    /// The sorry server's address, port, label and whether it was in the pool.
    sorry: Option<(IpAddr, Option<u16>, String, bool)>,
    rs: Vec<CarriedRs>,
}

#[derive(Debug, Clone)]
struct CarriedRs {
    addr: IpAddr,
    port: Option<u16>,
    label: String,
    alive: bool,
    weight: i64,
    checkers: Vec<CarriedCk>,
}

#[derive(Debug, Clone)]
struct CarriedCk {
    spec: CheckSpec,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    last_exit: Option<i32>,
}

impl Carry {
    /// Nothing to take over (a first start).
    pub fn is_empty(&self) -> bool {
        self.vs.is_empty()
    }
}

/// keepalived's per-type `compare` at a reload (`compare_conn_opts` and each checker's own
/// fields): a checker that compares equal keeps its state. What keepalived does not compare
/// (timing options such as `delay_loop` or `retry`, `misc_timeout`, a UDP payload, the HTTP
/// protocol version, SNI, `fast_recovery`) may change without losing it.
fn same_checker(a: &CheckSpec, b: &CheckSpec) -> bool {
    let conn = || {
        a.target == b.target
            && a.bind == b.bind
            && a.bind_if == b.bind_if
            && a.connect_timeout == b.connect_timeout
            && a.fwmark == b.fwmark
    };
    a.kind == b.kind
        && match (&a.probe, &b.probe) {
            (Probe::Tcp, Probe::Tcp) | (Probe::Ping, Probe::Ping) => conn(),
            (Probe::Udp(_), Probe::Udp(_)) => conn(),
            (Probe::Dns(x), Probe::Dns(y)) => conn() && x == y,
            (Probe::Smtp(x), Probe::Smtp(y)) => conn() && x == y,
            (Probe::Http(x), Probe::Http(y)) => {
                conn() && x.virtualhost == y.virtualhost && x.urls == y.urls
            }
            // MISC_CHECK has no connection: its script and whether it is dynamic
            (Probe::Misc(x), Probe::Misc(y)) => x.dynamic == y.dynamic && x.script == y.script,
            // FILE_CHECK has no compare in keepalived: its file is read again
            _ => false,
        }
}

/// The whole LVS health-check state.
#[derive(Clone)]
pub struct Lvs {
    cfg: LvsConfig,
    vs: Vec<VsState>,
    ck: Vec<Ck>,
    timers: BTreeSet<(Instant, CheckerId)>,
    actions: VecDeque<Action>,
    rng: u64,
    /// Virtual servers whose table entries may have changed since [`Lvs::take_dirty`].
    dirty: BTreeSet<usize>,
    /// `-D`: also say what keepalived logs only with `--log-detail`.
    log_detail: bool,
}

/// Matches old entries to new ones by key: each lookup takes the lowest-numbered new entry
/// with that key not taken yet (keepalived walks its new lists from the start for each old
/// entry). Sorted once, instead of a map of lists: a 1,000 x 10 reload made 11,000 lists.
struct FirstUnused<K> {
    sorted: Vec<(K, usize)>,
    taken: Vec<bool>,
}

impl<K: Ord> FirstUnused<K> {
    fn new(keys: impl Iterator<Item = K>) -> Self {
        let mut sorted: Vec<(K, usize)> = keys.enumerate().map(|(i, k)| (k, i)).collect();
        sorted.sort();
        let taken = vec![false; sorted.len()];
        FirstUnused { sorted, taken }
    }

    fn take(&mut self, key: &K) -> Option<usize> {
        let start = self.sorted.partition_point(|(k, _)| k < key);
        for (k, i) in &self.sorted[start..] {
            if k != key {
                break;
            }
            if !self.taken[*i] {
                self.taken[*i] = true;
                return Some(*i);
            }
        }
        None
    }
}

/// keepalived's `real_weight`.
fn real_weight(w: i64) -> u32 {
    w.clamp(0, i32::MAX as i64) as u32
}

impl Lvs {
    /// Start-up: the initial alive states, quorum and sorry server, and the first check of
    /// every checker at `now + 1 s + random(0..=warmup)` (`seed` drives the randomness).
    pub fn new(cfg: LvsConfig, now: Instant, seed: u64) -> Lvs {
        Lvs::start(cfg, now, seed, None)
    }

    /// Start-up after a reload, taking over `prev` (what the previous checker side left, see
    /// [`Lvs::carry`]) as keepalived's `clear_diff_services`, `migrate_checkers` and
    /// `check_new_rs_state` do: a virtual server and real server that are still configured
    /// keep their alive state, quorum state and sorry server, and each checker whose
    /// connection and probe are unchanged keeps its up/down state, whether it has run and how
    /// far its retries went, so a failed real server stays out of the pool and a healthy one
    /// is not re-added. A new real server with an `alpha` checker starts down; one whose
    /// checkers are all new starts up. Real servers and virtual servers that are gone are
    /// logged as keepalived logs them (the IPVS side removes them by planning).
    pub fn reloaded(cfg: LvsConfig, now: Instant, seed: u64, prev: &Carry) -> Lvs {
        Lvs::start(cfg, now, seed, Some(prev))
    }

    fn start(cfg: LvsConfig, now: Instant, seed: u64, prev: Option<&Carry>) -> Lvs {
        let reload = prev.is_some();
        let mut me = Lvs {
            vs: Vec::new(),
            ck: Vec::new(),
            timers: BTreeSet::new(),
            actions: VecDeque::new(),
            rng: seed | 1,
            dirty: BTreeSet::new(),
            log_detail: false,
            cfg,
        };
        for (vi, vs) in me.cfg.virtual_servers.iter().enumerate() {
            let mut st = VsState {
                quorum_up: false,
                sorry_alive: false,
                rs: Vec::new(),
            };
            for (ri, rs) in vs.reals.iter().enumerate() {
                let mut failed = 0;
                let mut file_weight = 0;
                for c in &rs.checkers {
                    // FILE_CHECK: up or down and weighted from the file's value at start;
                    // alpha: down until it has run (at a reload this is check_new_rs_state,
                    // which migration undoes for real servers that are still configured)
                    let (is_up, has_run, cur_weight, file_value) = file::start_state(c);
                    if !is_up {
                        failed += 1;
                    }
                    file_weight += cur_weight;
                    me.ck.push(Ck {
                        vs: vi,
                        rs: ri,
                        spec: c.clone(),
                        is_up,
                        has_run,
                        // keepalived makes the first failure decisive at start-up only; a
                        // checker created by a reload starts counting from zero
                        retry_it: if reload { 0 } else { c.retry },
                        cur_weight,
                        last_exit: None,
                        enabled: true,
                        busy: false,
                        due: None,
                        url_it: Some(0),
                        failed_url: None,
                        file_value,
                    });
                }
                st.rs.push(RsState {
                    alive: failed == 0,
                    failed,
                    weight: rs.weight as i64 + file_weight,
                });
            }
            me.vs.push(st);
        }
        let mut kept = vec![false; me.vs.len()];
        if let Some(prev) = prev {
            me.migrate(prev, &mut kept);
        }
        for (vi, kept) in kept.into_iter().enumerate() {
            if !kept {
                // keepalived's set_quorum_states runs while the configuration is checked,
                // before any real server is alive: the sum is 0, so the quorum starts down
                // (unless quorum + hysteresis is 0) and the first update below logs "Gained
                // quorum" and runs quorum_up when the real servers carry it.
                let (q, h) = (
                    me.cfg.virtual_servers[vi].quorum as i64,
                    me.cfg.virtual_servers[vi].hysteresis as i64,
                );
                me.vs[vi].quorum_up = q + h <= 0;
            }
            me.update_quorum(vi, true);
        }
        for id in 0..me.ck.len() {
            if matches!(me.ck[id].spec.probe, Probe::File(_)) {
                // nothing to run: the driver reports the file's values
                continue;
            }
            let w = me.ck[id].spec.warmup;
            let jitter = if w.is_zero() {
                Duration::ZERO
            } else {
                let r = me.next_rand() % (w.as_micros().min(u64::MAX as u128) as u64 + 1);
                Duration::from_micros(r)
            };
            me.schedule(id, now + BOOTSTRAP_DELAY + jitter);
        }
        me
    }

    /// The checker ids of every real server, `[vs][rs]`.
    fn checkers_by_rs(&self) -> Vec<Vec<Vec<CheckerId>>> {
        let mut by: Vec<Vec<Vec<CheckerId>>> = self
            .vs
            .iter()
            .map(|v| vec![Vec::new(); v.rs.len()])
            .collect();
        for (id, c) in self.ck.iter().enumerate() {
            by[c.vs][c.rs].push(id);
        }
        by
    }

    /// What a successor takes over at a reload ([`Lvs::reloaded`]), leaving this side as it
    /// is (tests; the daemon hands over with [`Lvs::into_carry`]).
    pub fn carry(&self) -> Carry {
        self.clone().into_carry()
    }

    /// What a successor takes over at a reload ([`Lvs::reloaded`]): the labels, specs and
    /// states are moved, not copied (a 10,000-server hand-over copied 10,000 labels only to
    /// drop the originals).
    pub fn into_carry(self) -> Carry {
        let by = self.checkers_by_rs();
        let Lvs {
            cfg,
            vs: states,
            ck,
            ..
        } = self;
        let mut ck: Vec<Option<Ck>> = ck.into_iter().map(Some).collect();
        let vs = cfg
            .virtual_servers
            .into_iter()
            .zip(states)
            .zip(by)
            .map(|((spec, st), by)| CarriedVs {
                family: spec.keys.first().map(|k| k.family()),
                label: spec.label,
                group: spec.group,
                quorum_up: st.quorum_up,
                sorry: spec
                    .sorry
                    .map(|s| (s.addr, s.port, s.label, st.sorry_alive)),
                rs: spec
                    .reals
                    .into_iter()
                    .zip(st.rs)
                    .zip(by)
                    .map(|((r, rst), ids)| CarriedRs {
                        addr: r.addr,
                        port: r.port,
                        label: r.label,
                        alive: rst.alive,
                        weight: rst.weight,
                        checkers: ids
                            .iter()
                            .filter_map(|&id| ck.get_mut(id)?.take())
                            .map(|c| CarriedCk {
                                spec: c.spec,
                                is_up: c.is_up,
                                has_run: c.has_run,
                                retry_it: c.retry_it,
                                last_exit: c.last_exit,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Carry { vs }
    }

    /// keepalived's `clear_diff_services`, in the old configuration's order; marks the
    /// virtual servers that were taken over in `kept`.
    fn migrate(&mut self, prev: &Carry, kept: &mut [bool]) {
        let by = self.checkers_by_rs();
        let mut index = FirstUnused::new(
            self.cfg
                .virtual_servers
                .iter()
                .map(|v| (v.label.as_str(), v.keys.first().map(|k| k.family()))),
        );
        let found: Vec<Option<usize>> = prev
            .vs
            .iter()
            .map(|old| index.take(&(old.label.as_str(), old.family)))
            .collect();
        for (old, vi) in prev.vs.iter().zip(found) {
            let Some(vi) = vi else {
                let line = match &old.group {
                    Some(g) => format!("Removing Virtual Server Group [{g}]"),
                    None => format!("Removing Virtual Server {}", old.label),
                };
                self.log(line);
                continue;
            };
            kept[vi] = true;
            self.vs[vi].quorum_up = old.quorum_up;
            self.migrate_vs(vi, old, &by[vi]);
        }
    }

    fn migrate_vs(&mut self, vi: usize, old: &CarriedVs, by: &[Vec<CheckerId>]) {
        let mut index = FirstUnused::new(
            self.cfg.virtual_servers[vi]
                .reals
                .iter()
                .map(|r| (r.addr, r.port)),
        );
        let mut come_up = Vec::new();
        let mut weights = Vec::with_capacity(old.rs.len());
        for ors in &old.rs {
            let Some(ri) = index.take(&(ors.addr, ors.port)) else {
                let line = format!("service {} no longer exist", ors.label);
                self.log(line);
                continue;
            };
            let (alive, failed, weight) = self.migrate_rs(vi, ri, ors, &by[ri]);
            let st = &mut self.vs[vi].rs[ri];
            st.alive = alive;
            st.failed = failed;
            // the previous effective weight, corrected below as keepalived's
            // init_service_rs does (logged when it changes)
            st.weight = ors.weight;
            weights.push((ri, weight));
            if failed == 0 && !alive {
                come_up.push(ri);
            }
        }
        // the sorry server: kept when it is the same server, else taken out of the pool
        let vs = &self.cfg.virtual_servers[vi];
        if let Some((addr, port, label, in_pool)) = &old.sorry {
            if vs
                .sorry
                .as_ref()
                .is_some_and(|s| s.addr == *addr && s.port == *port)
            {
                self.vs[vi].sorry_alive = *in_pool;
            } else if *in_pool {
                let line = format!("Removing sorry server {label} from VS {}", vs.label);
                self.log(line);
                self.dirty.insert(vi);
            }
        }
        for ri in come_up {
            self.perform_svr_state(vi, ri, true);
        }
        for (ri, w) in weights {
            self.update_weight(vi, ri, w);
        }
    }

    /// keepalived's `migrate_checkers` for one real server that is still configured: returns
    /// its alive state, its number of failed checkers and its effective weight.
    fn migrate_rs(
        &mut self,
        vi: usize,
        ri: usize,
        old: &CarriedRs,
        ids: &[CheckerId],
    ) -> (bool, u32, i64) {
        let iweight = self.cfg.virtual_servers[vi].reals[ri].weight as i64;
        for &id in ids {
            let c = &mut self.ck[id];
            // FILE_CHECK: keepalived reads the file again at a reload; its start state stands
            if matches!(c.spec.probe, Probe::File(_)) {
                continue;
            }
            // a checker of a reloaded real server starts up, whatever its alpha
            c.is_up = true;
            let Some(o) = old.checkers.iter().find(|o| same_checker(&o.spec, &c.spec)) else {
                continue;
            };
            if o.has_run {
                c.is_up = o.is_up;
            }
            c.has_run = o.has_run;
            if o.retry_it > 0 && c.spec.retry > 0 {
                c.retry_it = o.retry_it.min(c.spec.retry - 1);
            }
            c.last_exit = o.last_exit;
            // a dynamic MISC_CHECK keeps the weight its last exit code set (keepalived
            // 2.2.7 also turns a last exit of 0 into weight 0 here, which then never
            // recovers; we keep the configured weight for it)
            if let (Probe::Misc(m), Some(e)) = (&c.spec.probe, o.last_exit) {
                if m.dynamic && e >= 2 {
                    c.cur_weight = e as i64 - 2 - iweight;
                }
            }
        }
        let mut failed = ids
            .iter()
            .filter(|&&id| self.ck[id].has_run && !self.ck[id].is_up)
            .count() as u32;
        let any_run = ids.iter().any(|&id| self.ck[id].has_run);
        if failed > 0 || (!old.alive && !any_run) {
            for &id in ids {
                let c = &mut self.ck[id];
                if c.has_run {
                    continue;
                }
                if c.spec.alpha && c.is_up {
                    c.is_up = false;
                    failed += 1;
                }
                // one failure is enough
                c.retry_it = c.spec.retry;
            }
        }
        let weight = iweight + ids.iter().map(|&id| self.ck[id].cur_weight).sum::<i64>();
        (old.alive, failed, weight)
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*: good enough to spread first checks.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn config(&self) -> &LvsConfig {
        &self.cfg
    }

    pub fn checkers(&self) -> usize {
        self.ck.len()
    }

    pub fn spec(&self, id: CheckerId) -> &CheckSpec {
        &self.ck[id].spec
    }

    /// What the driver should probe for checker `id` now: its spec, where an HTTP_GET/SSL_GET
    /// keeps only the url keepalived checks this time (one url per check, in turn).
    pub fn probe_spec(&self, id: CheckerId) -> CheckSpec {
        let c = &self.ck[id];
        let mut s = c.spec.clone();
        if let Probe::Http(h) = &mut s.probe {
            if !h.urls.is_empty() {
                let i = c.url_it.unwrap_or(0).min(h.urls.len() - 1);
                h.urls = vec![h.urls[i].clone()];
            }
        }
        s
    }

    /// `FMT_RS` of a checker's real server and `FMT_VS` of its virtual server.
    pub fn labels(&self, id: CheckerId) -> (&str, &str) {
        let c = &self.ck[id];
        let vs = &self.cfg.virtual_servers[c.vs];
        (&vs.reals[c.rs].label, &vs.label)
    }

    /// Is the real server `rs` of virtual server `vs` alive?
    pub fn rs_alive(&self, vs: usize, rs: usize) -> bool {
        self.vs[vs].rs[rs].alive
    }

    pub fn quorum_up(&self, vs: usize) -> bool {
        self.vs[vs].quorum_up
    }

    fn schedule(&mut self, id: CheckerId, at: Instant) {
        if let Some(old) = self.ck[id].due.take() {
            self.timers.remove(&(old, id));
        }
        self.ck[id].due = Some(at);
        self.timers.insert((at, id));
    }

    /// When the next checker is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Starts every checker that is due (one [`Action::Probe`] each). A disabled checker
    /// (ha_suspend) is simply rescheduled after `delay_loop`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, id));
            self.ck[id].due = None;
            if !self.ck[id].enabled {
                let d = self.ck[id].spec.delay_loop;
                self.schedule(id, now + d);
                continue;
            }
            self.ck[id].busy = true;
            self.actions.push_back(Action::Probe(id));
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn log(&mut self, s: String) {
        self.actions.push_back(Action::Log(s));
    }

    /// Enables or disables the checkers of a virtual server (`ha_suspend`: the VIP came or
    /// went).
    pub fn set_enabled(&mut self, vs: usize, enabled: bool) {
        let mut ids = Vec::new();
        for (id, c) in self.ck.iter_mut().enumerate() {
            if c.vs == vs && c.enabled != enabled {
                c.enabled = enabled;
                ids.push(id);
            }
        }
        for id in ids {
            let (rs, vsl) = self.labels(id);
            let line = format!(
                "{}ctivating healthchecker for service {rs} for VS {vsl}",
                if enabled { "A" } else { "Dea" }
            );
            self.log(line);
        }
    }

    /// A probe finished.
    pub fn handle_result(&mut self, now: Instant, id: CheckerId, outcome: Outcome) {
        if id >= self.ck.len() {
            return;
        }
        self.ck[id].busy = false;
        let next = match (&self.ck[id].spec.probe, outcome) {
            (Probe::Misc(_), Outcome::Misc(e)) => self.misc_epilog(id, e),
            (Probe::Misc(_), _) => self.misc_epilog(id, MiscExit::Status(1)),
            (Probe::Udp(_) | Probe::Ping, o) => {
                let ok = matches!(o, Outcome::Success(_));
                self.dgram_epilog(id, o, ok)
            }
            (Probe::Dns(_), o) => self.dns_final(id, o),
            (Probe::Http(_), o) => self.http_result(id, o),
            (Probe::Smtp(_), o) => self.smtp_final(id, o),
            (_, Outcome::Misc(_)) => self.epilog(id, false),
            (_, Outcome::Success(notes)) => {
                if !self.ck[id].is_up {
                    let (rs, _) = self.labels(id);
                    let lines: Vec<String> = notes
                        .iter()
                        .map(|(what, path)| format!("{what} success to {rs} url({path})"))
                        .collect();
                    for l in lines {
                        self.log(l);
                    }
                }
                self.epilog(id, true)
            }
            (probe, Outcome::Failure(reason)) => {
                let c = &self.ck[id];
                // (only TCP and HTTP/SSL reach here)
                let tcp = matches!(probe, Probe::Tcp);
                let log_it = c.spec.log_all_failures && (c.is_up || (!tcp && !c.has_run));
                if log_it {
                    let (rs, _) = self.labels(id);
                    let line = if tcp {
                        format!("TCP connection to {rs} {reason}.")
                    } else {
                        format!("{reason} server {rs}.")
                    };
                    self.log(line);
                }
                self.epilog(id, false)
            }
        };
        self.schedule(id, now + next);
    }

    /// TCP/HTTP/SSL: keepalived's `tcp_epilog` retry rule. Returns the delay to the next check.
    fn epilog(&mut self, id: CheckerId, success: bool) -> Duration {
        let c = &self.ck[id];
        let (retry, dl, dbr) = (c.spec.retry, c.spec.delay_loop, c.spec.delay_before_retry);
        let delay;
        if success || c.retry_it >= retry {
            delay = dl;
            let (is_up, has_run) = (c.is_up, c.has_run);
            self.ck[id].retry_it = 0;
            let (rs, _) = self.labels(id);
            let rs = rs.to_string();
            let http = matches!(self.ck[id].spec.probe, Probe::Http(_));
            if success && (!is_up || !has_run) {
                let line = if http {
                    format!("Remote Web server {rs} succeed on service.")
                } else {
                    format!("TCP connection to {rs} success.")
                };
                self.log(line);
                let rs_was_alive = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, true);
                if !is_up {
                    let body = if http {
                        "CHECK succeed on service"
                    } else {
                        "TCP CHECK succeed on service"
                    };
                    self.checker_alert(id, rs_was_alive, body.into());
                }
            } else if !success && (is_up || !has_run) {
                let name = if http { "HTTP_CHECK" } else { "TCP_CHECK" };
                let line = if retry > 0 && has_run {
                    format!("{name} on service {rs} failed after {retry} retries.")
                } else {
                    format!("{name} on service {rs} failed.")
                };
                self.log(line);
                let rs_was_alive = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, false);
                if is_up {
                    let body = if http {
                        "CHECK failed on service : HTTP request failed"
                    } else {
                        "TCP CHECK failed on service"
                    };
                    self.checker_alert(id, rs_was_alive, body.into());
                }
            }
        } else {
            delay = dbr;
            self.ck[id].retry_it += 1;
        }
        self.ck[id].has_run = true;
        delay
    }

    /// HTTP_GET/SSL_GET: one url's result (keepalived's `http_handle_response` /
    /// `timeout_epilog`).
    fn http_result(&mut self, id: CheckerId, outcome: Outcome) -> Duration {
        let (is_up, has_run, log_all) = {
            let c = &self.ck[id];
            (c.is_up, c.has_run, c.spec.log_all_failures)
        };
        let rs = self.labels(id).0.to_string();
        match outcome {
            Outcome::Success(notes) => {
                if !is_up {
                    for (what, path) in notes {
                        self.log(format!("{what} success to {rs} url({path})"));
                    }
                }
                self.http_epilog(id, HttpStep::New)
            }
            Outcome::Failure(reason) => {
                if is_up || !has_run {
                    if log_all {
                        self.log(format!("{reason} server {rs}."));
                    }
                    self.ck[id].has_run = true;
                    self.http_epilog(id, HttpStep::Retry)
                } else {
                    self.http_epilog(id, HttpStep::Failed)
                }
            }
            Outcome::Misc(_) => self.http_epilog(id, HttpStep::Failed),
        }
    }

    /// keepalived's HTTP `epilog`: urls are checked one per delay_loop; a failing url is
    /// retried `retry` times `delay_before_retry` apart, then the checker goes down and that
    /// url is checked every max(delay_before_retry, delay_loop) until it passes, after which
    /// every url is checked again from the first.
    fn http_epilog(&mut self, id: CheckerId, step: HttpStep) -> Duration {
        let (n, fast) = match &self.ck[id].spec.probe {
            Probe::Http(h) => (h.urls.len(), h.fast_recovery),
            _ => (1, false),
        };
        let rs = self.labels(id).0.to_string();
        match step {
            HttpStep::New => {
                let c = &mut self.ck[id];
                c.url_it = c.url_it.map(|i| i + 1).filter(|i| *i < n);
                c.retry_it = 0;
            }
            HttpStep::Retry => self.ck[id].retry_it += 1,
            HttpStep::Failed => {}
        }
        let c = &self.ck[id];
        let (is_up, has_run, retry, retry_it) = (c.is_up, c.has_run, c.spec.retry, c.retry_it);
        if step == HttpStep::New && c.url_it.is_none() && c.failed_url.is_none() {
            if !is_up || !has_run {
                self.log(format!("Remote Web server {rs} succeed on service."));
                let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, true);
                if !is_up {
                    self.checker_alert(id, was, "CHECK succeed on service".into());
                }
                self.ck[id].has_run = true;
            }
            self.ck[id].url_it = Some(0);
            self.ck[id].retry_it = 0;
        } else if step == HttpStep::Retry && retry_it > retry {
            if is_up || !has_run {
                let line = if has_run && retry > 0 {
                    format!(
                        "HTTP_CHECK on service {rs} failed after {} retries.",
                        retry_it - 1
                    )
                } else {
                    format!("HTTP_CHECK on service {rs} failed.")
                };
                self.log(line);
                let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, false);
                if is_up {
                    self.checker_alert(
                        id,
                        was,
                        "CHECK failed on service : HTTP request failed".into(),
                    );
                }
            }
            self.ck[id].failed_url = self.ck[id].url_it;
        } else if step == HttpStep::New && c.failed_url.is_some() {
            let c = &mut self.ck[id];
            c.failed_url = None;
            c.url_it = Some(0);
            c.retry_it = 0;
        }
        let c = &mut self.ck[id];
        let (dl, dbr) = (c.spec.delay_loop, c.spec.delay_before_retry);
        let delay = if step == HttpStep::New {
            if !c.has_run {
                c.retry_it = c.spec.retry;
            }
            dl
        } else if c.failed_url.is_some() {
            dbr.max(dl)
        } else {
            dbr
        };
        if fast && (!c.has_run || (!c.is_up && c.failed_url.is_none())) {
            Duration::ZERO
        } else {
            delay
        }
    }

    /// UDP_CHECK / PING_CHECK: keepalived's `udp_epilog` / `icmp_epilog` (a down checker is
    /// simply retried every delay_loop; only an up one counts retries).
    fn dgram_epilog(&mut self, id: CheckerId, outcome: Outcome, success: bool) -> Duration {
        let udp = matches!(self.ck[id].spec.probe, Probe::Udp(_));
        let c = &self.ck[id];
        let (is_up, has_run, retry, log_all) =
            (c.is_up, c.has_run, c.spec.retry, c.spec.log_all_failures);
        let (rs, vs) = self.labels(id);
        let (rs, vs) = (rs.to_string(), vs.to_string());
        if !success && is_up && log_all {
            let reason = match &outcome {
                Outcome::Failure(r) => r.as_str(),
                _ => "failed",
            };
            let line = match (udp, reason) {
                (true, "mismatch") => format!("UDP check to {rs} reply data mismatch."),
                (true, _) => format!("UDP connection to {rs} failed."),
                (false, "timeout") => format!("ICMP connection to address {rs} timeout."),
                (false, _) => format!("ICMP connection to {rs} of {vs} failed."),
            };
            self.log(line);
        }
        let mut delay = self.ck[id].spec.delay_loop;
        let what = if udp { "UDP" } else { "ICMP" };
        if success || ((is_up || !has_run) && self.ck[id].retry_it >= retry) {
            self.ck[id].retry_it = 0;
            if success && (!is_up || !has_run) {
                self.log(format!("{what} connection to {rs} success."));
                let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, true);
                if !is_up {
                    self.checker_alert(id, was, format!("{what} CHECK succeed on service"));
                }
            } else if !success && (is_up || !has_run) {
                let line = match (udp, retry > 0 && has_run) {
                    (true, true) => {
                        format!("UDP_CHECK on service {rs} failed after {retry} retries.")
                    }
                    (true, false) => format!("UDP_CHECK on service {rs} failed."),
                    (false, true) => {
                        format!("ICMP CHECK on service {rs} of {vs} failed after {retry} retries.")
                    }
                    (false, false) => format!("ICMP CHECK on service {rs} failed."),
                };
                self.log(line);
                let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, false);
                if is_up {
                    self.checker_alert(id, was, format!("{what} CHECK failed on service"));
                }
            }
        } else if is_up {
            delay = self.ck[id].spec.delay_before_retry;
            self.ck[id].retry_it += 1;
        }
        self.ck[id].has_run = true;
        delay
    }

    /// DNS_CHECK: keepalived's `dns_final` (no success line; failures as
    /// `DNS_CHECK (rs) reason[ after N retries]`, logged on the decisive one or with
    /// log_all_failures).
    fn dns_final(&mut self, id: CheckerId, outcome: Outcome) -> Duration {
        let c = &self.ck[id];
        let (is_up, has_run, retry, log_all) =
            (c.is_up, c.has_run, c.spec.retry, c.spec.log_all_failures);
        let rs = self.labels(id).0.to_string();
        match outcome {
            Outcome::Failure(reason) => {
                if is_up || !has_run {
                    let decisive = self.ck[id].retry_it >= retry;
                    if log_all || decisive {
                        let suffix = if has_run && decisive {
                            format!(" after {retry} retries")
                        } else {
                            String::new()
                        };
                        self.log(format!("DNS_CHECK ({rs}) {reason}{suffix}"));
                    }
                    if !decisive {
                        self.ck[id].retry_it += 1;
                        self.ck[id].has_run = true;
                        return self.ck[id].spec.delay_before_retry;
                    }
                    let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                    self.update_checker_state(id, false);
                    if is_up {
                        self.checker_alert(id, was, "DNS_CHECK: failed on service".into());
                    }
                }
            }
            _ => {
                if !is_up || !has_run {
                    let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                    self.update_checker_state(id, true);
                    if !is_up {
                        self.checker_alert(id, was, "DNS_CHECK: succeed on service".into());
                    }
                }
            }
        }
        self.ck[id].retry_it = 0;
        self.ck[id].has_run = true;
        self.ck[id].spec.delay_loop
    }

    /// SMTP_CHECK: keepalived's `smtp_final` (retries even while down; failures logged as
    /// `SMTP_CHECK reason` on the decisive one or with log_all_failures).
    fn smtp_final(&mut self, id: CheckerId, outcome: Outcome) -> Duration {
        let c = &self.ck[id];
        let (is_up, has_run, retry, log_all) =
            (c.is_up, c.has_run, c.spec.retry, c.spec.log_all_failures);
        let rs = self.labels(id).0.to_string();
        match outcome {
            Outcome::Failure(reason) => {
                if (is_up || !has_run) && (log_all || self.ck[id].retry_it >= retry) {
                    self.log(format!("SMTP_CHECK {reason}"));
                }
                self.ck[id].retry_it = self.ck[id].retry_it.saturating_add(1);
                if self.ck[id].retry_it <= retry {
                    return self.ck[id].spec.delay_before_retry;
                }
                if is_up || !has_run {
                    let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                    self.update_checker_state(id, false);
                    if is_up {
                        self.checker_alert(id, was, format!("CHECK failed on service : {reason}"));
                    }
                }
                // keepalived leaves retry_it past `retry` here: a down checker is not retried
                // again until it has succeeded once
            }
            _ => {
                self.ck[id].retry_it = 0;
                if !is_up || !has_run {
                    self.log(format!("Remote SMTP server {rs} succeed on service."));
                    let was = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                    self.update_checker_state(id, true);
                    if !is_up {
                        self.checker_alert(id, was, "CHECK succeed on service".into());
                    }
                }
                self.ck[id].has_run = true;
            }
        }
        self.ck[id].spec.delay_loop
    }

    /// MISC_CHECK: keepalived's `misc_check_child_thread` (its messages, dynamic weights).
    fn misc_epilog(&mut self, id: CheckerId, exit: MiscExit) -> Duration {
        let (dynamic, path) = match &self.ck[id].spec.probe {
            Probe::Misc(m) => (
                m.dynamic,
                m.script.args.first().cloned().unwrap_or_default(),
            ),
            _ => (false, String::new()),
        };
        let c = &self.ck[id];
        let (is_up, has_run, retry, log_all) =
            (c.is_up, c.has_run, c.spec.retry, c.spec.log_all_failures);
        let mut kind: Option<&str> = None;
        let mut success = false;
        let mut reason: Option<(&str, i32)> = None;
        let mut message_only = false;
        let good = match exit {
            MiscExit::Status(s) if s == 0 || (dynamic && (2..=255).contains(&s)) => Some(s),
            _ => None,
        };
        if let Some(status) = good {
            if self.ck[id].last_exit != Some(status) {
                let (vi, ri) = (self.ck[id].vs, self.ck[id].rs);
                let iweight = self.cfg.virtual_servers[vi].reals[ri].weight as i64;
                let mut eff = self.vs[vi].rs[ri].weight - self.ck[id].cur_weight;
                self.ck[id].cur_weight = if status != 0 {
                    status as i64 - 2 - iweight
                } else {
                    0
                };
                eff += self.ck[id].cur_weight;
                self.update_weight(vi, ri, eff);
                self.ck[id].last_exit = Some(status);
            }
            if !is_up || !has_run {
                kind = Some("succeeded");
                success = true;
            }
            self.ck[id].retry_it = 0;
        } else if is_up || !has_run {
            match exit {
                MiscExit::Status(s) => {
                    kind = Some("failed");
                    reason = Some(("exited with status", s));
                }
                MiscExit::Signal(n) => {
                    kind = Some("failed");
                    reason = Some(("due to signal", n));
                }
                MiscExit::TimedOut => kind = Some("timed out"),
            }
            if self.ck[id].retry_it < retry {
                self.ck[id].retry_it += 1;
                if log_all {
                    message_only = true;
                } else {
                    kind = None;
                }
            } else {
                self.ck[id].retry_it = 0;
                if let MiscExit::Status(s) = exit {
                    let (vi, ri) = (self.ck[id].vs, self.ck[id].rs);
                    self.vs[vi].rs[ri].weight -= self.ck[id].cur_weight;
                    self.ck[id].cur_weight = 0;
                    self.ck[id].last_exit = Some(s);
                }
            }
        }
        if let Some(kind) = kind {
            let retry_it = self.ck[id].retry_it;
            let message = if success {
                String::new()
            } else if retry > 0 {
                let word = if retry == 1 { "retry" } else { "retries" };
                if retry_it == 1 {
                    format!(", will do {retry} {word}")
                } else if retry_it > 1 {
                    format!(" on retry {}/{retry}", retry_it - 1)
                } else {
                    format!(" after {retry} {word}")
                }
            } else {
                " with retry disabled".to_string()
            };
            let (rs, vs) = self.labels(id);
            let line = match reason {
                Some((r, code)) => format!(
                    "Misc check for [{rs} VS {vs}] by [{path}] {kind}{message} ({r} {code})."
                ),
                None => format!("Misc check for [{rs} VS {vs}] by [{path}] {kind}{message}."),
            };
            self.log(line);
            if !message_only {
                let rs_was_alive = self.rs_alive(self.ck[id].vs, self.ck[id].rs);
                self.update_checker_state(id, success);
                if !success {
                    self.ck[id].cur_weight = 0;
                }
                self.checker_alert(id, rs_was_alive, format!("MISC CHECK {kind} on service"));
            }
        }
        self.ck[id].has_run = true;
        if self.ck[id].retry_it > 0 {
            self.ck[id].spec.delay_before_retry
        } else {
            self.ck[id].spec.delay_loop
        }
    }

    /// A checker's mail (keepalived's `smtp_alert(SMTP_MSG_RS, ...)` after
    /// `update_svr_checker_state`): sent when the real server alerts and, with
    /// `no_checker_emails`, only when the real server as a whole changed. The subject names the
    /// real server's state, not the checker's.
    fn checker_alert(&mut self, id: CheckerId, rs_was_alive: bool, body: String) {
        let (vi, ri) = (self.ck[id].vs, self.ck[id].rs);
        let alive = self.vs[vi].rs[ri].alive;
        let rs = self.rs_spec(vi, ri);
        if !rs.smtp_alert || (self.cfg.no_checker_emails && rs_was_alive == alive) {
            return;
        }
        let alert = Alert::RealServer {
            rs: rs.label.clone(),
            vs: self.vs_spec(vi).label.clone(),
            event: if alive { "UP" } else { "DOWN" }.into(),
            body,
        };
        self.actions.push_back(Action::Alert(alert));
    }

    /// keepalived's `update_svr_checker_state`.
    fn update_checker_state(&mut self, id: CheckerId, alive: bool) {
        let (vi, ri) = (self.ck[id].vs, self.ck[id].rs);
        if self.ck[id].is_up == alive {
            if !self.ck[id].has_run {
                if self.ck[id].spec.alpha || !alive {
                    self.rs_notifies(vi, ri);
                }
                self.ck[id].has_run = true;
            }
            return;
        }
        self.ck[id].has_run = true;
        let failed = self.vs[vi].rs[ri].failed;
        if alive {
            if failed <= 1 {
                self.perform_svr_state(vi, ri, true);
            }
        } else if failed == 0 {
            self.perform_svr_state(vi, ri, false);
        }
        self.ck[id].is_up = alive;
        let rs = &mut self.vs[vi].rs[ri];
        if !alive {
            rs.failed += 1;
        } else if rs.failed > 0 {
            rs.failed -= 1;
        }
    }

    fn rs_spec(&self, vi: usize, ri: usize) -> &RsSpec {
        &self.cfg.virtual_servers[vi].reals[ri]
    }

    fn vs_spec(&self, vi: usize) -> &VsSpec {
        &self.cfg.virtual_servers[vi]
    }

    fn rs_notifies(&mut self, vi: usize, ri: usize) {
        let alive = self.vs[vi].rs[ri].alive;
        let rs = self.rs_spec(vi, ri);
        let script = if alive {
            rs.notify_up.clone()
        } else {
            rs.notify_down.clone()
        };
        let line = format!(
            "RS {} {} {}\n",
            rs.label,
            self.vs_spec(vi).label,
            if alive { "UP" } else { "DOWN" }
        );
        if let Some(s) = script {
            self.actions.push_back(Action::Run(*s));
        }
        self.actions.push_back(Action::Fifo(line));
    }

    /// keepalived's `do_vs_notifies`; `mail` is the quorum mail's body (without its frame).
    fn vs_notifies(&mut self, vi: usize, mail: String) {
        let up = self.vs[vi].quorum_up;
        let vs = self.vs_spec(vi);
        let alert = vs.smtp_alert.then(|| Alert::VirtualServer {
            vs: vs.label.clone(),
            event: if up { "UP" } else { "DOWN" }.into(),
            body: mail,
        });
        let script = if up {
            vs.quorum_up.clone()
        } else {
            vs.quorum_down.clone()
        };
        let line = format!("VS {} {}\n", vs.label, if up { "UP" } else { "DOWN" });
        if let Some(s) = script {
            self.actions.push_back(Action::Run(s));
        }
        self.actions.push_back(Action::Fifo(line));
        if let Some(a) = alert {
            self.actions.push_back(Action::Alert(a));
        }
    }

    /// keepalived's `perform_svr_state`: the real server joins or leaves the pool.
    fn perform_svr_state(&mut self, vi: usize, ri: usize, alive: bool) {
        if self.vs[vi].rs[ri].alive == alive {
            return;
        }
        let rs = self.rs_spec(vi, ri);
        let line = format!(
            "{}ing service {} {} VS {}",
            match (alive, rs.inhibit) {
                (true, true) => "Enabl",
                (true, false) => "Add",
                (false, true) => "Disabl",
                (false, false) => "Remov",
            },
            rs.label,
            if rs.inhibit {
                "of"
            } else if alive {
                "to"
            } else {
                "from"
            },
            self.vs_spec(vi).label
        );
        self.log(line);
        self.dirty.insert(vi);
        self.vs[vi].rs[ri].alive = alive;
        self.rs_notifies(vi, ri);
        self.update_quorum(vi, false);
    }

    fn live_weight(&self, vi: usize) -> i64 {
        self.vs[vi]
            .rs
            .iter()
            .filter(|r| r.alive)
            .map(|r| real_weight(r.weight) as i64)
            .sum()
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, vi: usize, init: bool) {
        let sum = self.live_weight(vi);
        let vs = self.vs_spec(vi);
        let (q, h) = (vs.quorum as i64, vs.hysteresis as i64);
        let has_sorry = vs.sorry.is_some();
        let label = vs.label.clone();
        let up = self.vs[vi].quorum_up;
        let threshold = q + if up { -h } else { h };
        if !up && sum >= threshold {
            self.vs[vi].quorum_up = true;
            self.log(format!(
                "Gained quorum {q}+{h}={threshold} <= {sum} for VS {label}"
            ));
            if has_sorry && self.vs[vi].sorry_alive {
                let s = self
                    .vs_spec(vi)
                    .sorry
                    .as_ref()
                    .map(|s| (s.inhibit, s.label.clone()));
                if let Some((inhibit, sl)) = s {
                    self.log(format!(
                        "{} sorry server {sl} from VS {label}",
                        if inhibit { "Disabling" } else { "Removing" }
                    ));
                }
                self.vs[vi].sorry_alive = false;
                self.dirty.insert(vi);
                self.log(format!("Adding alive servers to the pool for VS {label}"));
            }
            let what = if init {
                "Starting with quorum up"
            } else {
                "Gained quorum"
            };
            self.vs_notifies(vi, format!("{what} {q}+{h}={threshold} <= {sum}"));
        } else if (up && (sum == 0 || sum < threshold))
            || (init && !up && has_sorry && !self.vs[vi].sorry_alive)
        {
            self.vs[vi].quorum_up = false;
            self.log(format!(
                "{} {q}-{h}={threshold} > {sum} for VS {label}",
                if init {
                    "Starting with quorum down"
                } else {
                    "Lost quorum"
                }
            ));
            if has_sorry && !self.vs[vi].sorry_alive {
                let s = self
                    .vs_spec(vi)
                    .sorry
                    .as_ref()
                    .map(|s| (s.inhibit, s.label.clone()));
                if let Some((inhibit, sl)) = s {
                    self.log(format!(
                        "{} sorry server {sl} to VS {label}",
                        if inhibit { "Enabling" } else { "Adding" }
                    ));
                }
                self.log(format!(
                    "Removing alive servers from the pool for VS {label}"
                ));
                self.vs[vi].sorry_alive = true;
                self.dirty.insert(vi);
            }
            // keepalived's do_vs_notifies prints the same "q+h=threshold <= sum" either way.
            let what = if init {
                "Starting with quorum down"
            } else {
                "Lost quorum"
            };
            self.vs_notifies(vi, format!("{what} {q}+{h}={threshold} <= {sum}"));
        }
    }

    /// keepalived's `update_svr_wgt` (MISC_CHECK dynamic weights).
    fn update_weight(&mut self, vi: usize, ri: usize, weight: i64) {
        let old = real_weight(self.vs[vi].rs[ri].weight);
        let new = real_weight(weight);
        self.vs[vi].rs[ri].weight = weight;
        if old != new {
            self.dirty.insert(vi);
            let alive = self.vs[vi].rs[ri].alive;
            let line = format!(
                "Changing weight from {old} to {new} for {}active service {} of VS {}",
                if alive { "" } else { "in" },
                self.rs_spec(vi, ri).label,
                self.vs_spec(vi).label
            );
            self.log(line);
            self.update_quorum(vi, false);
        }
    }

    /// The virtual servers whose part of [`Lvs::table`] may have changed since the last call.
    pub fn take_dirty(&mut self) -> BTreeSet<usize> {
        std::mem::take(&mut self.dirty)
    }

    /// The IPVS table this state wants.
    pub fn table(&self) -> Table {
        let mut t = Table::new();
        for vi in 0..self.vs.len() {
            self.vs_table(vi, &mut t);
        }
        t
    }

    /// Adds virtual server `vi`'s services and dests to `t`.
    pub fn vs_table(&self, vi: usize, t: &mut Table) {
        {
            let vs = &self.cfg.virtual_servers[vi];
            let st = &self.vs[vi];
            let sorry_active = vs.sorry.is_some() && st.sorry_alive;
            for key in &vs.keys {
                t.insert_service(vs.service_for(*key));
                for (ri, rs) in vs.reals.iter().enumerate() {
                    let r = &st.rs[ri];
                    let w = if r.alive && !sorry_active {
                        Some(real_weight(r.weight))
                    } else if rs.inhibit {
                        Some(0)
                    } else {
                        None
                    };
                    if let Some(w) = w {
                        t.insert_dest(key, rs.dest(key, w));
                    }
                }
                if let Some(s) = &vs.sorry {
                    if sorry_active {
                        t.insert_dest(key, s.dest(key, s.weight));
                    } else if s.inhibit
                        && !vs
                            .reals
                            .iter()
                            .any(|r| r.dest(key, 0).key() == s.dest(key, 0).key())
                    {
                        t.insert_dest(key, s.dest(key, 0));
                    }
                }
            }
        }
    }

    /// Shutting down: keepalived's `clear_services` log lines and, with `omega`, the
    /// notify_down / quorum_down scripts and FIFO lines.
    pub fn shutdown(&mut self) {
        for vi in 0..self.vs.len() {
            let sorry_active = self.vs_spec(vi).sorry.is_some() && self.vs[vi].sorry_alive;
            for ri in 0..self.vs[vi].rs.len() {
                let rs = self.rs_spec(vi, ri);
                let set = (self.vs[vi].rs[ri].alive && !sorry_active) || rs.inhibit;
                if set {
                    let line = format!(
                        "Shutting down service {}{} from VS {}",
                        if rs.inhibit && !self.vs[vi].rs[ri].alive {
                            "(inhibited) "
                        } else {
                            ""
                        },
                        rs.label,
                        self.vs_spec(vi).label
                    );
                    self.log(line);
                }
                if self.vs[vi].rs[ri].alive {
                    self.vs[vi].rs[ri].alive = false;
                    if self.vs_spec(vi).omega {
                        self.rs_notifies(vi, ri);
                        // keepalived's SMTP_MSG_RS_SHUT
                        let rs = self.rs_spec(vi, ri);
                        if rs.smtp_alert {
                            let a = Alert::RealServer {
                                rs: rs.label.clone(),
                                vs: self.vs_spec(vi).label.clone(),
                                event: "DOWN".into(),
                                body: "Shutting down".into(),
                            };
                            self.actions.push_back(Action::Alert(a));
                        }
                    }
                }
            }
            if self.vs_spec(vi).omega {
                self.vs[vi].quorum_up = false;
                self.vs_notifies(vi, "Shutting down".into());
            }
        }
    }

    /// Is checker `id` a probe of this kind (for the driver's dispatch)?
    pub fn kind(&self, id: CheckerId) -> CheckerKind {
        self.ck[id].spec.kind
    }
}

#[cfg(test)]
mod tests {
    use super::FirstUnused;

    #[test]
    fn first_unused_takes_the_lowest_new_entry_of_a_key_once() {
        let mut m = FirstUnused::new(["b", "a", "b", "c"].into_iter());
        assert_eq!(m.take(&"b"), Some(0));
        assert_eq!(m.take(&"b"), Some(2));
        assert_eq!(m.take(&"b"), None);
        assert_eq!(m.take(&"c"), Some(3));
        assert_eq!(m.take(&"z"), None);
        assert_eq!(m.take(&"a"), Some(1));
        assert_eq!(m.take(&"a"), None);
    }
}
