//! A simulated LAN for the VRRP core: N nodes (each a [`Vrrp`] with one address), per-link
//! delivery delay, random loss from a seeded generator, partitions, crashes and scheduled
//! events. Pure and deterministic: time jumps straight to the next deadline (a timer, a packet
//! arrival or a scheduled operation); nothing reads the clock except [`Lan::new`], which takes
//! one `Instant` as the origin and reports everything relative to it.
//!
//! At one instant the order is: scheduled operations, then packet deliveries (in send order),
//! then node timeouts (in node order).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::config::{Family, InstanceConfig, SyncGroupConfig};
use super::group::{Output, Source, Vrrp};
use super::router::{Action, Destination, Event, NotifyEvent, State};

/// One router host on the LAN.
#[derive(Debug, Clone)]
pub struct SimNode {
    pub name: String,
    pub addr: IpAddr,
    pub vrrp: Vrrp,
    /// false after `crash`: the node neither sends nor receives nor runs timers (kill -9).
    pub alive: bool,
}

/// Something that happened, with its time relative to the start of the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    pub at: Duration,
    pub node: usize,
    /// Instance or group name.
    pub source: String,
    pub is_group: bool,
    pub action: Action,
}

/// A scheduled change to the LAN or an event for a node.
#[derive(Debug, Clone)]
pub enum SimOp {
    /// An event for one instance of a node.
    Event {
        node: usize,
        instance: String,
        event: Event,
    },
    /// Start every instance of the node.
    Start(usize),
    /// Graceful stop of the node (priority 0, STOP notifies).
    Stop(usize),
    /// kill -9: the node goes silent, its VIPs stay.
    Crash(usize),
    /// Split the LAN: nodes in different lists cannot hear each other. Nodes not listed are
    /// alone.
    Partition(Vec<Vec<usize>>),
    /// Everyone hears everyone again.
    Heal,
    /// Packet loss probability for every link, in parts per million.
    Loss(u32),
    /// SIGHUP with a new configuration for the node. What removed instances do (priority 0,
    /// address removal, DELETED) goes to the trace and the wire like any other action.
    Reload {
        node: usize,
        instances: Vec<InstanceConfig>,
        groups: Vec<SyncGroupConfig>,
    },
}

#[derive(Debug, Clone)]
struct InFlight {
    at: Instant,
    seq: u64,
    from: usize,
    to: usize,
    src: IpAddr,
    ttl: u8,
    multicast: bool,
    repr: crate::wire::vrrp::Repr,
}

/// The simulated LAN.
#[derive(Debug, Clone)]
pub struct Lan {
    origin: Instant,
    now: Instant,
    pub nodes: Vec<SimNode>,
    delay: Vec<Vec<Duration>>,
    component: Vec<usize>,
    loss_ppm: u32,
    rng: u64,
    seq: u64,
    in_flight: Vec<InFlight>,
    scheduled: Vec<(Instant, u64, SimOp)>,
    trace: Vec<TraceEntry>,
}

impl Lan {
    /// An empty LAN whose clock starts at `origin`.
    pub fn new(origin: Instant) -> Self {
        Lan {
            origin,
            now: origin,
            nodes: Vec::new(),
            delay: Vec::new(),
            component: Vec::new(),
            loss_ppm: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
            seq: 0,
            in_flight: Vec::new(),
            scheduled: Vec::new(),
            trace: Vec::new(),
        }
    }

    /// Seed for the loss generator.
    pub fn seed(&mut self, seed: u64) {
        self.rng = seed | 1;
    }

    /// Add a node whose instances all use `addr` as their source address. Returns its index.
    pub fn add_node(
        &mut self,
        name: &str,
        addr: IpAddr,
        mut instances: Vec<InstanceConfig>,
        groups: Vec<SyncGroupConfig>,
    ) -> usize {
        for i in &mut instances {
            i.source_addr = Some(addr);
            i.normalize();
        }
        let (vrrp, _warnings) = Vrrp::new(instances, groups);
        let idx = self.nodes.len();
        self.nodes.push(SimNode {
            name: name.to_string(),
            addr,
            vrrp,
            alive: true,
        });
        for row in &mut self.delay {
            row.push(Duration::ZERO);
        }
        self.delay.push(vec![Duration::ZERO; idx + 1]);
        self.component.push(0);
        idx
    }

    /// One-way delivery delay from `from` to `to`.
    pub fn set_delay(&mut self, from: usize, to: usize, d: Duration) {
        self.delay[from][to] = d;
    }

    /// The same delay on every link.
    pub fn set_all_delays(&mut self, d: Duration) {
        for row in &mut self.delay {
            for x in row.iter_mut() {
                *x = d;
            }
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// Time since the origin.
    pub fn elapsed(&self) -> Duration {
        self.now - self.origin
    }

    /// The origin plus `d`.
    pub fn at(&self, d: Duration) -> Instant {
        self.origin + d
    }

    /// Schedule an operation `d` after the origin.
    pub fn schedule(&mut self, d: Duration, op: SimOp) {
        self.seq += 1;
        self.scheduled.push((self.origin + d, self.seq, op));
    }

    /// Start every node now.
    pub fn start_all(&mut self) {
        for n in 0..self.nodes.len() {
            self.apply(SimOp::Start(n));
        }
    }

    /// State of `instance` on `node`.
    pub fn state(&self, node: usize, instance: &str) -> State {
        let v = &self.nodes[node].vrrp;
        v.router(v.instance_id(instance).expect("no such instance"))
            .state()
    }

    /// Names of the (alive) nodes whose `instance` is MASTER.
    pub fn masters(&self, instance: &str) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].alive && self.state(n, instance) == State::Master)
            .map(|n| self.nodes[n].name.clone())
            .collect()
    }

    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Whether `a` and `b` can currently hear each other.
    pub fn connected(&self, a: usize, b: usize) -> bool {
        self.component[a] == self.component[b]
    }

    fn next_deadline(&self) -> Option<Instant> {
        let s = self.scheduled.iter().map(|s| s.0).min();
        let f = self.in_flight.iter().map(|p| p.at).min();
        let t = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.vrrp.poll_timeout())
            .min();
        [s, f, t].into_iter().flatten().min()
    }

    /// Advance to `end`, processing everything due on the way.
    pub fn run_until(&mut self, end: Instant) {
        let mut same_instant_steps = 0u32;
        let mut last = self.now;
        while let Some(t) = self.next_deadline() {
            if t > end {
                break;
            }
            if t == last {
                same_instant_steps += 1;
                assert!(
                    same_instant_steps < 100_000,
                    "simulation stuck at {:?}",
                    t - self.origin
                );
            } else {
                same_instant_steps = 0;
                last = t;
            }
            self.now = t.max(self.now);
            self.step();
        }
        self.now = self.now.max(end);
    }

    /// Advance by `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    fn step(&mut self) {
        let now = self.now;
        // 1. scheduled operations
        let mut due: Vec<(Instant, u64, SimOp)> = Vec::new();
        self.scheduled.retain(|s| {
            if s.0 <= now {
                due.push(s.clone());
                false
            } else {
                true
            }
        });
        due.sort_by_key(|s| (s.0, s.1));
        for (_, _, op) in due {
            self.apply(op);
        }
        // 2. deliveries
        let mut arriving: Vec<InFlight> = Vec::new();
        self.in_flight.retain(|p| {
            if p.at <= now {
                arriving.push(p.clone());
                false
            } else {
                true
            }
        });
        arriving.sort_by_key(|p| (p.at, p.seq));
        for p in arriving {
            self.deliver(p);
        }
        // 3. timeouts
        for n in 0..self.nodes.len() {
            if self.nodes[n].alive && self.nodes[n].vrrp.poll_timeout().is_some_and(|t| t <= now) {
                self.nodes[n].vrrp.handle_timeout(now);
                self.drain(n);
            }
        }
    }

    fn apply(&mut self, op: SimOp) {
        let now = self.now;
        match op {
            SimOp::Event {
                node,
                instance,
                event,
            } => {
                if !self.nodes[node].alive {
                    return;
                }
                let id = self.nodes[node]
                    .vrrp
                    .instance_id(&instance)
                    .expect("no such instance");
                self.nodes[node].vrrp.handle(now, id, event);
                self.drain(node);
            }
            SimOp::Start(node) => {
                self.nodes[node].vrrp.start(now);
                self.drain(node);
            }
            SimOp::Stop(node) => {
                self.nodes[node].vrrp.stop(now);
                self.drain(node);
            }
            SimOp::Crash(node) => {
                self.nodes[node].alive = false;
                self.in_flight.retain(|p| p.to != node);
            }
            SimOp::Partition(parts) => {
                for (i, c) in self.component.iter_mut().enumerate() {
                    *c = usize::MAX - i;
                }
                for (k, part) in parts.iter().enumerate() {
                    for &n in part {
                        self.component[n] = k;
                    }
                }
            }
            SimOp::Heal => {
                for c in &mut self.component {
                    *c = 0;
                }
            }
            SimOp::Loss(ppm) => self.loss_ppm = ppm,
            SimOp::Reload {
                node,
                mut instances,
                groups,
            } => {
                if !self.nodes[node].alive {
                    return;
                }
                let addr = self.nodes[node].addr;
                for i in &mut instances {
                    i.source_addr = Some(addr);
                    i.normalize();
                }
                let (removed, _warnings) = self.nodes[node].vrrp.reload(now, instances, groups);
                for r in removed {
                    for action in r.actions {
                        self.emit(node, r.config.name.clone(), false, action);
                    }
                }
                self.drain(node);
            }
        }
    }

    fn random_ppm(&mut self) -> u32 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32 % 1_000_000
    }

    fn drain(&mut self, n: usize) {
        while let Some(Output { source, action }) = self.nodes[n].vrrp.poll_action() {
            let v = &self.nodes[n].vrrp;
            let (name, is_group) = match source {
                Source::Instance(i) => (v.router(i).name().to_string(), false),
                Source::Group(g) => (v.groups()[g].name().to_string(), true),
            };
            self.emit(n, name, is_group, action);
        }
    }

    /// Puts an action of node `n` on the wire (adverts) and in the trace.
    fn emit(&mut self, n: usize, name: String, is_group: bool, action: Action) {
        if let Action::SendAdvert {
            repr,
            src,
            dst,
            ttl,
        } = &action
        {
            let src = src.unwrap_or(self.nodes[n].addr);
            let (targets, multicast): (Vec<usize>, bool) = match dst {
                Destination::Multicast(_) => {
                    ((0..self.nodes.len()).filter(|&m| m != n).collect(), true)
                }
                Destination::Unicast(peers) => (
                    (0..self.nodes.len())
                        .filter(|&m| m != n && peers.contains(&self.nodes[m].addr))
                        .collect(),
                    false,
                ),
            };
            for m in targets {
                if !self.connected(n, m) {
                    continue;
                }
                if self.loss_ppm > 0 && self.random_ppm() < self.loss_ppm {
                    continue;
                }
                self.seq += 1;
                self.in_flight.push(InFlight {
                    at: self.now + self.delay[n][m],
                    seq: self.seq,
                    from: n,
                    to: m,
                    src,
                    ttl: *ttl,
                    multicast,
                    repr: repr.clone(),
                });
            }
        }
        self.trace.push(TraceEntry {
            at: self.now - self.origin,
            node: n,
            source: name,
            is_group,
            action,
        });
    }

    fn deliver(&mut self, p: InFlight) {
        let _ = p.from;
        if !self.nodes[p.to].alive {
            return;
        }
        let fam = if p.src.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let ids: Vec<usize> = self.nodes[p.to]
            .vrrp
            .routers()
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let c = r.config();
                c.vrid == p.repr.vrid
                    && c.family == fam
                    && c.unicast_peers.is_empty() == p.multicast
            })
            .map(|(i, _)| i)
            .collect();
        for id in ids {
            let ev = Event::Advert {
                src: p.src,
                ttl: Some(p.ttl),
                repr: p.repr.clone(),
            };
            self.nodes[p.to].vrrp.handle(self.now, id, ev);
            self.drain(p.to);
        }
    }

    /// A readable timeline: state changes, priority-0 adverts, GARP/NA bursts, notifies and
    /// keepalived's non-detail log lines (minus the `Entering ... STATE` lines, which the
    /// state changes already show).
    pub fn timeline(&self) -> String {
        self.timeline_with(|_| true)
    }

    /// Like [`Lan::timeline`], keeping only the entries `keep` accepts.
    pub fn timeline_with(&self, keep: impl Fn(&TraceEntry) -> bool) -> String {
        let mut s = String::new();
        for e in self.trace.iter().filter(|e| keep(e)) {
            let Some(line) = describe(e) else { continue };
            let _ = writeln!(
                s,
                "t={}.{:06}s {} {}",
                e.at.as_secs(),
                e.at.subsec_micros(),
                self.nodes[e.node].name,
                line
            );
        }
        s
    }
}

fn describe(e: &TraceEntry) -> Option<String> {
    let who = if e.is_group {
        format!("group {}", e.source)
    } else {
        e.source.clone()
    };
    Some(match &e.action {
        Action::StateChanged { from, to, reason } => {
            format!("{who} {from}->{to} ({})", reason.as_str())
        }
        Action::SendAdvert { repr, .. } if repr.priority == 0 => format!("{who} advert priority 0"),
        Action::SendGarp { addrs, repeat } | Action::SendNa { addrs, repeat } => {
            let kind = if matches!(e.action, Action::SendGarp { .. }) {
                "GARP"
            } else {
                "NA"
            };
            let list: Vec<String> = addrs.iter().map(|a| a.addr.to_string()).collect();
            format!("{who} {kind} x{repeat} {}", list.join(","))
        }
        Action::Notify(n) => {
            let prio = n.priority;
            let what = match n.event {
                NotifyEvent::State(s) => s.as_str(),
                other => other.as_str(),
            };
            format!("notify {} {} {what} {prio}", n.kind.as_str(), n.name)
        }
        Action::Log(l) if !l.detail && !l.text.contains(") Entering ") => format!("log {}", l.text),
        _ => return None,
    })
}
