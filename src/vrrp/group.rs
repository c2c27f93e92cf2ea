//! `Vrrp`: all routers of one daemon plus their sync groups, with the same sans-IO shape as a
//! single `Router`. Sync-group rules (keepalived's `vrrp_sync.c`): members go MASTER only when
//! every member wants MASTER ("VRRP_Group(%s) Syncing instances to MASTER state"); one member
//! going BACKUP or FAULT takes the others along; group notifies follow the member notifies.
//!
//! Events are processed one at a time, to completion, in the order given; timeouts in
//! instance order. So a driver that feeds the same inputs gets the same outputs.

use std::collections::VecDeque;
use std::time::Instant;

use super::config::{InstanceConfig, SyncGroupConfig};
use super::router::{
    Action, Event, GroupView, LogLine, Notify, NotifyEvent, NotifyKind, Reason, Router, State,
};

/// Index of an instance in the `Vrrp` (the order of the configs given to [`Vrrp::new`]).
pub type InstanceId = usize;
/// Index of a sync group.
pub type GroupId = usize;

/// Who produced an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Instance(InstanceId),
    Group(GroupId),
}

/// An action with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub source: Source,
    pub action: Action,
}

/// An instance a reload removed: the config it ran with and its last actions (priority-0
/// advert and address removal if it was MASTER, then its DELETED notification), for the
/// driver to execute before it forgets the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub config: InstanceConfig,
    pub actions: Vec<Action>,
}

/// A sync group's runtime state.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    name: String,
    members: Vec<InstanceId>,
    state: State,
}

impl SyncGroup {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn members(&self) -> &[InstanceId] {
        &self.members
    }
    pub fn state(&self) -> State {
        self.state
    }
}

/// All VRRP instances and sync groups of one daemon.
#[derive(Debug, Clone)]
pub struct Vrrp {
    routers: Vec<Router>,
    groups: Vec<SyncGroup>,
    member_of: Vec<Option<GroupId>>,
    out: VecDeque<Output>,
}

impl Vrrp {
    /// Build from normalised instance configs and sync groups. Returns keepalived's warnings
    /// for group members that do not exist or are already in a group; such entries are
    /// skipped, and groups left empty are dropped.
    pub fn new(
        instances: Vec<InstanceConfig>,
        groups: Vec<SyncGroupConfig>,
    ) -> (Self, Vec<String>) {
        let routers: Vec<Router> = instances.into_iter().map(Router::new).collect();
        let mut member_of = vec![None; routers.len()];
        let mut out_groups = Vec::new();
        let mut warnings = Vec::new();
        for g in groups {
            let gid = out_groups.len();
            let mut members = Vec::new();
            for m in &g.members {
                match routers.iter().position(|r| r.name() == m) {
                    None => warnings.push(format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        g.name
                    )),
                    Some(i) if member_of[i].is_some() => warnings.push(format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                        g.name
                    )),
                    Some(i) => {
                        member_of[i] = Some(gid);
                        members.push(i);
                    }
                }
            }
            if members.is_empty() {
                warnings.push(format!(
                    "Sync group {}, no matching virtual router found in group declaration - removing",
                    g.name
                ));
                continue;
            }
            if members.len() == 1 {
                warnings.push(format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                    g.name
                ));
            }
            out_groups.push(SyncGroup {
                name: g.name,
                members,
                state: State::Init,
            });
        }
        let mut v = Vrrp {
            routers,
            groups: out_groups,
            member_of,
            out: VecDeque::new(),
        };
        for i in 0..v.routers.len() {
            v.refresh_view(i);
        }
        (v, warnings)
    }

    pub fn routers(&self) -> &[Router] {
        &self.routers
    }
    pub fn router(&self, id: InstanceId) -> &Router {
        &self.routers[id]
    }
    pub fn groups(&self) -> &[SyncGroup] {
        &self.groups
    }
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.routers.iter().position(|r| r.name() == name)
    }
    pub fn group_of(&self, id: InstanceId) -> Option<GroupId> {
        self.member_of[id]
    }
    /// Zeroes every instance's counters (keepalived's SIGRTMAX-1).
    pub fn clear_stats(&mut self) {
        for r in &mut self.routers {
            r.clear_stats();
        }
    }

    // ----- the sans-IO surface -------------------------------------------------------------

    /// Start every instance: groups in BACKUP/FAULT notify first, then each instance reports
    /// its initial state (keepalived's `vrrp_init_state`).
    pub fn start(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let faulted = members.iter().any(|&m| self.routers[m].has_faults());
            let all_owners = members.iter().all(|&m| {
                let r = &self.routers[m];
                r.wantstate() == State::Master && r.config().priority == 255
            });
            let state = if faulted {
                State::Fault
            } else if all_owners {
                State::Master
            } else {
                State::Backup
            };
            self.groups[g].state = state;
            if state != State::Master {
                self.group_notify(g);
            }
        }
        for i in 0..self.routers.len() {
            self.refresh_view(i);
            self.routers[i].handle(now, Event::Start);
            self.drain(i);
        }
    }

    /// Stop every instance: masters send priority 0 and release their addresses, then every
    /// instance and every group notifies STOP (keepalived's shutdown order).
    pub fn stop(&mut self, now: Instant) {
        let _ = now;
        for i in 0..self.routers.len() {
            self.routers[i].stop_release();
            self.drain(i);
        }
        for i in 0..self.routers.len() {
            self.refresh_view(i);
            self.routers[i].stop_notify();
            self.drain(i);
        }
        for g in 0..self.groups.len() {
            self.groups[g].state = State::Stop;
            self.group_notify(g);
        }
    }

    /// Apply a new configuration without a flap (keepalived's SIGHUP reload). Instances are
    /// matched by keepalived's identity (VRID, family, interface, unicast source; not the
    /// name): a matched MASTER stays MASTER and a BACKUP stays BACKUP, keeping counters and
    /// only touching addresses that changed; unmatched old instances are released and
    /// reported as [`Removed`]; new instances start as at daemon start. A sync group whose
    /// members are all MASTER is MASTER; a group notifies only if it is new or its state
    /// changed. Instance ids are those of the new `instances` order. Returns the removed
    /// instances and keepalived's warnings about the new groups.
    pub fn reload(
        &mut self,
        now: Instant,
        instances: Vec<InstanceConfig>,
        groups: Vec<SyncGroupConfig>,
    ) -> (Vec<Removed>, Vec<String>) {
        let mut old = std::mem::take(&mut self.routers);
        let old_groups = std::mem::take(&mut self.groups);
        let mut used = vec![false; old.len()];
        let mut matched = Vec::with_capacity(instances.len());
        for c in &instances {
            let key = c.reload_key();
            let j = (0..old.len()).find(|&j| !used[j] && old[j].config().reload_key() == key);
            if let Some(j) = j {
                used[j] = true;
            }
            matched.push(j);
        }
        let mut removed = Vec::new();
        for (j, r) in old.iter_mut().enumerate() {
            if !used[j] {
                r.remove_for_reload();
                removed.push(Removed {
                    config: r.config().clone(),
                    actions: r.take_actions(),
                });
            }
        }
        let (next, warnings) = Vrrp::new(instances, groups);
        self.routers = next.routers;
        self.groups = next.groups;
        self.member_of = next.member_of;
        for (i, m) in matched.iter().enumerate() {
            if let Some(j) = *m {
                let cfg = self.routers[i].config().clone();
                self.routers[i] = Router::reloaded(cfg, &old[j], now);
            }
        }
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let state = if members
                .iter()
                .all(|&m| self.routers[m].state() == State::Master)
            {
                State::Master
            } else if members.iter().any(|&m| self.routers[m].has_faults()) {
                State::Fault
            } else {
                State::Backup
            };
            self.groups[g].state = state;
            let before = old_groups
                .iter()
                .find(|o| o.name == self.groups[g].name)
                .map(|o| o.state);
            if before != Some(state) {
                self.group_notify(g);
            }
        }
        for i in 0..self.routers.len() {
            self.refresh_view(i);
            if self.routers[i].state() == State::Init {
                self.routers[i].handle(now, Event::Start);
            }
            self.drain(i);
        }
        (removed, warnings)
    }

    /// Feed one event to one instance, then apply its sync group's rules.
    pub fn handle(&mut self, now: Instant, id: InstanceId, event: Event) {
        let prev = self.routers[id].state();
        self.refresh_view(id);
        match event {
            Event::Fault {
                active: true,
                cause,
            } => {
                let entered = self.routers[id].fault_up(now, cause);
                self.drain(id);
                if let (true, Some(g)) = (entered, self.member_of[id]) {
                    self.sync_fault(now, g, id);
                }
            }
            Event::Fault {
                active: false,
                cause,
            } => {
                let came_up = self.routers[id].fault_down(now, cause);
                self.drain(id);
                if let (true, Some(g)) = (came_up, self.member_of[id]) {
                    let others_faulted = self.groups[g]
                        .members
                        .iter()
                        .any(|&m| m != id && self.routers[m].has_faults());
                    if !others_faulted {
                        if self.routers[id].state() == State::Master {
                            self.sync_master(now, g, id);
                        } else {
                            self.sync_backup(now, g, id);
                        }
                    }
                }
            }
            other => {
                self.routers[id].handle(now, other);
                self.drain(id);
                self.transition_hook(now, id, prev);
            }
        }
        if std::mem::take(&mut self.routers[id].lower_prio_garp_request) {
            if let Some(g) = self.member_of[id] {
                for m in self.groups[g].members.clone() {
                    if m != id {
                        self.routers[m].sibling_lower_prio_garp(now);
                        self.drain(m);
                    }
                }
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.routers.len() {
            if self.routers[i].poll_timeout().is_some_and(|t| t <= now) {
                let prev = self.routers[i].state();
                self.refresh_view(i);
                self.routers[i].handle_timeout(now);
                self.drain(i);
                self.transition_hook(now, i, prev);
            }
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.routers.iter().filter_map(Router::poll_timeout).min()
    }

    pub fn poll_action(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    // ----- sync groups -------------------------------------------------------------------

    fn refresh_view(&mut self, id: InstanceId) {
        let view = self.member_of[id].map(|g| {
            let grp = &self.groups[g];
            let others = grp.members.iter().filter(|&&m| m != id);
            GroupView {
                state: grp.state,
                others_want_master: others
                    .clone()
                    .all(|&m| self.routers[m].wantstate() == State::Master),
                others_faulted: others.clone().any(|&m| self.routers[m].has_faults()),
            }
        });
        self.routers[id].group = view;
    }

    /// keepalived's transition matrix: B->M and F->M sync the group to MASTER, M->B to BACKUP.
    fn transition_hook(&mut self, now: Instant, id: InstanceId, prev: State) {
        let Some(g) = self.member_of[id] else { return };
        match (prev, self.routers[id].state()) {
            (State::Backup | State::Fault, State::Master) => self.sync_master(now, g, id),
            (State::Master, State::Backup) => self.sync_backup(now, g, id),
            _ => {}
        }
    }

    fn sync_master(&mut self, now: Instant, g: GroupId, id: InstanceId) {
        if self.groups[g].state == State::Master {
            return;
        }
        let members = self.groups[g].members.clone();
        if !members
            .iter()
            .all(|&m| m == id || self.routers[m].wantstate() == State::Master)
        {
            return;
        }
        self.group_log(g, "MASTER");
        for &m in &members {
            if m != id && self.routers[m].state() != State::Master {
                self.refresh_view(m);
                self.routers[m].sync_to_master(now);
                self.drain(m);
            }
        }
        self.set_group_state(g, State::Master);
    }

    fn sync_backup(&mut self, now: Instant, g: GroupId, id: InstanceId) {
        if self.groups[g].state == State::Backup {
            return;
        }
        self.group_log(g, "BACKUP");
        for m in self.groups[g].members.clone() {
            if m != id && self.routers[m].state() != State::Backup {
                self.refresh_view(m);
                self.routers[m].sync_to_backup(now);
                self.drain(m);
            }
        }
        self.set_group_state(g, State::Backup);
    }

    fn sync_fault(&mut self, now: Instant, g: GroupId, id: InstanceId) {
        if self.groups[g].state == State::Fault {
            return;
        }
        self.group_log(g, "FAULT");
        for m in self.groups[g].members.clone() {
            if m != id && self.routers[m].state() != State::Fault {
                self.refresh_view(m);
                self.routers[m].sync_to_fault(now);
                self.drain(m);
            }
        }
        self.set_group_state(g, State::Fault);
    }

    fn set_group_state(&mut self, g: GroupId, to: State) {
        let from = self.groups[g].state;
        self.groups[g].state = to;
        self.out.push_back(Output {
            source: Source::Group(g),
            action: Action::StateChanged {
                from,
                to,
                reason: Reason::SyncGroup,
            },
        });
        self.group_notify(g);
    }

    fn group_log(&mut self, g: GroupId, to: &str) {
        let text = format!(
            "VRRP_Group({}) Syncing instances to {to} state",
            self.groups[g].name
        );
        self.out.push_back(Output {
            source: Source::Group(g),
            action: Action::Log(LogLine {
                text,
                detail: false,
            }),
        });
    }

    fn group_notify(&mut self, g: GroupId) {
        let grp = &self.groups[g];
        self.out.push_back(Output {
            source: Source::Group(g),
            action: Action::Notify(Notify {
                kind: NotifyKind::Group,
                name: grp.name.clone(),
                event: NotifyEvent::State(grp.state),
                priority: 0,
            }),
        });
    }

    fn drain(&mut self, id: InstanceId) {
        while let Some(action) = self.routers[id].poll_action() {
            self.out.push_back(Output {
                source: Source::Instance(id),
                action,
            });
        }
    }
}
