//! What tracked scripts and tracked interfaces do to each instance, as core events: the
//! driver's glue between observations (`vrrp_script` results, link up/down) and
//! `vrrp::Event::PriorityChanged` / `Event::Fault`. Pure: the priority arithmetic is
//! `vrrp::track`'s.

use std::collections::{BTreeMap, BTreeSet};

use crate::model;
use crate::vrrp::track::{
    clamp_priority, Contribution, Health, Observation, ScriptOutcome, ScriptState,
    ScriptTransition, Tracker, TrackerKind,
};
use crate::vrrp::{Event, FaultCause, InstanceId};

/// One `track_script` / `track_interface` line of an instance, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackLine {
    pub kind: TrackerKind,
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Tracking state of every instance.
#[derive(Debug, Clone, Default)]
pub struct Tracking {
    scripts: BTreeMap<String, ScriptState>,
    interfaces: BTreeMap<String, bool>,
    /// `track_file` values (0 until read, as keepalived starts).
    files: BTreeMap<String, i64>,
    /// Per instance: base priority and its tracked objects.
    instances: Vec<(u8, Vec<TrackLine>)>,
    /// Per instance: the fault causes and priority last reported to the core.
    faults: Vec<BTreeSet<FaultCause>>,
    prio: Vec<u8>,
}

impl Tracking {
    /// From the model: `vrrp_script` definitions and each instance's `track_script` /
    /// `track_interface` lines (instances in the order given, with their base priority).
    /// Returns keepalived's warnings for references to scripts that do not exist.
    pub fn new(cfg: &model::Config, instances: &[(String, u8)]) -> (Tracking, Vec<String>) {
        let mut t = Tracking::default();
        let mut warnings = Vec::new();
        for s in &cfg.vrrp_scripts {
            t.scripts.insert(
                s.name.clone(),
                ScriptState::new(s.rise, s.fall, s.init_fail),
            );
        }
        for (name, base) in instances {
            let mut lines = Vec::new();
            if let Some(mi) = cfg.vrrp_instances.iter().find(|i| &i.name == name) {
                // A sync group's trackers apply to each of its members.
                let groups = cfg
                    .vrrp_sync_groups
                    .iter()
                    .filter(|g| g.group.contains(name));
                let scripts = mi
                    .track_script
                    .iter()
                    .chain(groups.clone().flat_map(|g| g.track_script.iter()));
                let ifaces = mi
                    .track_interface
                    .iter()
                    .chain(groups.clone().flat_map(|g| g.track_interface.iter()));
                let files = mi
                    .track_file
                    .iter()
                    .chain(groups.flat_map(|g| g.track_file.iter()));
                for r in scripts {
                    let Some(s) = cfg.vrrp_scripts.iter().find(|s| s.name == r.name) else {
                        warnings.push(format!(
                            "({name}) track script {} not found, ignoring...",
                            r.name
                        ));
                        continue;
                    };
                    let (weight, reverse) = match r.weight {
                        Some(w) => (w, r.reverse),
                        None => (s.weight, s.weight_reverse),
                    };
                    lines.push(TrackLine {
                        kind: TrackerKind::Script,
                        name: r.name.clone(),
                        weight,
                        reverse,
                    });
                }
                for r in ifaces {
                    t.interfaces.entry(r.name.clone()).or_insert(true);
                    lines.push(TrackLine {
                        kind: TrackerKind::Interface,
                        name: r.name.clone(),
                        weight: r.weight.unwrap_or(0),
                        reverse: r.reverse,
                    });
                }
                for r in files {
                    let Some(f) = cfg.track_files.iter().find(|f| f.name == r.name) else {
                        warnings.push(format!(
                            "({name}) track file {} not found, ignoring...",
                            r.name
                        ));
                        continue;
                    };
                    let (weight, reverse) = match r.weight {
                        Some(w) => (w, r.reverse),
                        None => (f.weight, f.reverse),
                    };
                    t.files.entry(r.name.clone()).or_insert(0);
                    lines.push(TrackLine {
                        kind: TrackerKind::File,
                        name: r.name.clone(),
                        weight,
                        reverse,
                    });
                }
            }
            t.instances.push((*base, lines));
            t.faults.push(BTreeSet::new());
            t.prio.push(*base);
        }
        (t, warnings)
    }

    /// Interfaces some instance tracks.
    pub fn tracked_interfaces(&self) -> impl Iterator<Item = &str> {
        self.interfaces.keys().map(String::as_str)
    }

    /// `track_file` names some instance tracks.
    pub fn tracked_files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// After a reload: keep what was observed of the scripts, files and interfaces that still
    /// exist (keepalived carries a script's result over a reload by name).
    pub fn carry_from(&mut self, old: &Tracking) {
        for (name, st) in &mut self.scripts {
            if let Some(o) = old.scripts.get(name) {
                *st = *o;
            }
        }
        for (name, v) in &mut self.files {
            if let Some(o) = old.files.get(name) {
                *v = *o;
            }
        }
        for (name, up) in &mut self.interfaces {
            if let Some(o) = old.interfaces.get(name) {
                *up = *o;
            }
        }
    }

    /// A tracked file now holds `value`.
    pub fn file_value(&mut self, name: &str, value: i64) -> Vec<(InstanceId, Event)> {
        match self.files.get_mut(name) {
            Some(v) if *v != value => *v = value,
            _ => return Vec::new(),
        }
        self.resync_using(TrackerKind::File, name)
    }

    /// Script names some instance tracks (for the runner: which scripts to run).
    pub fn script_names(&self) -> impl Iterator<Item = &str> {
        self.scripts.keys().map(String::as_str)
    }

    /// A `vrrp_script`'s rise/fall state (for the data dump).
    pub fn script_state(&self, name: &str) -> Option<ScriptState> {
        self.scripts.get(name).copied()
    }

    /// An instance's resolved `track_script` / `track_interface` lines (for the data dump).
    pub fn track_lines(&self, id: InstanceId) -> &[TrackLine] {
        self.instances.get(id).map_or(&[], |(_, l)| l.as_slice())
    }

    pub fn script_health(&self, name: &str) -> Option<Health> {
        self.scripts.get(name).map(ScriptState::health)
    }

    /// The events that bring every instance in line with the current observations (at start:
    /// pending weight-0 scripts and down interfaces as faults, weights as priority).
    pub fn sync_all(&mut self) -> Vec<(InstanceId, Event)> {
        let mut out = Vec::new();
        for id in 0..self.instances.len() {
            self.sync(id, &mut out);
        }
        out
    }

    /// A script run finished. Returns the OK/KO transition to log
    /// (`VRRP_Script(NAME) succeeded|failed|timed_out`) and the core events it causes.
    pub fn script_result(
        &mut self,
        name: &str,
        outcome: ScriptOutcome,
    ) -> (Option<ScriptTransition>, Vec<(InstanceId, Event)>) {
        let Some(st) = self.scripts.get_mut(name) else {
            return (None, Vec::new());
        };
        let before = st.health();
        let tr = st.record(outcome);
        if st.health() == before {
            return (tr, Vec::new());
        }
        (tr, self.resync_using(TrackerKind::Script, name))
    }

    /// A tracked interface went up or down.
    pub fn interface_changed(&mut self, name: &str, up: bool) -> Vec<(InstanceId, Event)> {
        match self.interfaces.get_mut(name) {
            Some(v) if *v != up => *v = up,
            _ => return Vec::new(),
        }
        self.resync_using(TrackerKind::Interface, name)
    }

    fn resync_using(&mut self, kind: TrackerKind, name: &str) -> Vec<(InstanceId, Event)> {
        let mut out = Vec::new();
        for id in 0..self.instances.len() {
            if self.instances[id]
                .1
                .iter()
                .any(|l| l.kind == kind && l.name == name)
            {
                self.sync(id, &mut out);
            }
        }
        out
    }

    fn sync(&mut self, id: InstanceId, out: &mut Vec<(InstanceId, Event)>) {
        let (base, lines) = &self.instances[id];
        let mut sum: i64 = 0;
        let mut causes = BTreeSet::new();
        for l in lines {
            let observation = match l.kind {
                TrackerKind::Script => Observation::Health(
                    self.scripts
                        .get(&l.name)
                        .map_or(Health::Pending, ScriptState::health),
                ),
                TrackerKind::File => {
                    Observation::Value(self.files.get(&l.name).copied().unwrap_or(0))
                }
                _ => Observation::Health(match self.interfaces.get(&l.name) {
                    Some(false) => Health::Down,
                    _ => Health::Up,
                }),
            };
            let t = Tracker {
                kind: l.kind,
                name: l.name.clone(),
                weight: l.weight,
                reverse: l.reverse,
                observation,
            };
            match t.contribution() {
                Contribution::Delta(d) => sum = sum.saturating_add(d),
                Contribution::Fault | Contribution::Pending => {
                    causes.insert(match l.kind {
                        TrackerKind::Script => FaultCause::Script(l.name.clone()),
                        TrackerKind::File => FaultCause::File(l.name.clone()),
                        _ => FaultCause::Interface(l.name.clone()),
                    });
                }
            }
        }
        let prio = clamp_priority(*base, sum);
        let prev = std::mem::replace(&mut self.faults[id], causes.clone());
        for c in prev.difference(&causes) {
            out.push((
                id,
                Event::Fault {
                    active: false,
                    cause: c.clone(),
                },
            ));
        }
        for c in causes.difference(&prev) {
            out.push((
                id,
                Event::Fault {
                    active: true,
                    cause: c.clone(),
                },
            ));
        }
        if prio != self.prio[id] {
            self.prio[id] = prio;
            out.push((id, Event::PriorityChanged(prio)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(weight: i32) -> model::Config {
        let mut s = model::VrrpScript::new("chk".into());
        s.weight = weight;
        s.fall = 2;
        let mut i = model::VrrpInstance::new("VI_1".into());
        i.track_script.push(model::TrackRef {
            name: "chk".into(),
            weight: None,
            reverse: false,
        });
        i.track_script.push(model::TrackRef {
            name: "missing".into(),
            weight: None,
            reverse: false,
        });
        i.track_interface.push(model::TrackRef {
            name: "eth1".into(),
            weight: Some(-20),
            reverse: false,
        });
        model::Config {
            vrrp_scripts: vec![s],
            vrrp_instances: vec![i, model::VrrpInstance::new("VI_2".into())],
            ..Default::default()
        }
    }

    #[test]
    fn weighted_script_moves_priority_after_fall() {
        let (mut t, w) = Tracking::new(&cfg(-60), &[("VI_1".into(), 150), ("VI_2".into(), 100)]);
        assert_eq!(
            w,
            vec!["(VI_1) track script missing not found, ignoring..."]
        );
        assert!(t.sync_all().is_empty(), "pending weighted script: nothing");
        let (tr, ev) = t.script_result("chk", ScriptOutcome::Success);
        assert_eq!(tr, Some(ScriptTransition::Succeeded));
        assert!(
            ev.is_empty(),
            "success of a negative weight changes nothing"
        );
        let (tr, ev) = t.script_result("chk", ScriptOutcome::Failure);
        assert_eq!(
            (tr, ev.len()),
            (None, 0),
            "fall 2: one failure is not enough"
        );
        let (tr, ev) = t.script_result("chk", ScriptOutcome::Failure);
        assert_eq!(tr, Some(ScriptTransition::Failed));
        assert_eq!(ev, vec![(0, Event::PriorityChanged(90))]);
        let (_, ev) = t.script_result("chk", ScriptOutcome::Success);
        assert_eq!(ev, vec![(0, Event::PriorityChanged(150))]);
        // the tracked interface
        assert_eq!(
            t.interface_changed("eth1", false),
            vec![(0, Event::PriorityChanged(130))]
        );
        assert!(t.interface_changed("eth1", false).is_empty());
        assert!(t.interface_changed("eth9", false).is_empty());
    }

    #[test]
    fn sync_group_trackers_apply_to_members() {
        let mut c = cfg(-10);
        c.vrrp_instances[1].name = "VI_2".into();
        c.vrrp_sync_groups.push(model::SyncGroup {
            name: "G".into(),
            group: vec!["VI_2".into()],
            track_script: vec![model::TrackRef {
                name: "chk".into(),
                weight: Some(-30),
                reverse: false,
            }],
            ..Default::default()
        });
        let (mut t, _) = Tracking::new(&c, &[("VI_1".into(), 150), ("VI_2".into(), 100)]);
        // The first result decides a pending script, even against fall 2.
        let (_, ev) = t.script_result("chk", ScriptOutcome::Failure);
        assert_eq!(
            ev,
            vec![
                (0, Event::PriorityChanged(140)),
                (1, Event::PriorityChanged(70))
            ]
        );
    }

    #[test]
    fn weight_zero_script_faults_until_it_succeeds() {
        let (mut t, _) = Tracking::new(&cfg(0), &[("VI_1".into(), 100)]);
        let fault = |active| {
            (
                0,
                Event::Fault {
                    active,
                    cause: FaultCause::Script("chk".into()),
                },
            )
        };
        assert_eq!(t.sync_all(), vec![fault(true)]);
        assert_eq!(
            t.script_result("chk", ScriptOutcome::Success).1,
            vec![fault(false)]
        );
        t.script_result("chk", ScriptOutcome::TimedOut);
        let (tr, ev) = t.script_result("chk", ScriptOutcome::TimedOut);
        assert_eq!(tr, Some(ScriptTransition::TimedOut));
        assert_eq!(ev, vec![fault(true)]);
        assert!(t.script_result("nope", ScriptOutcome::Success).1.is_empty());
    }

    fn file_cfg(weight: i32, line_weight: Option<i32>) -> model::Config {
        let mut i = model::VrrpInstance::new("VI_1".into());
        i.track_file.push(model::TrackRef {
            name: "tf".into(),
            weight: line_weight,
            reverse: false,
        });
        model::Config {
            track_files: vec![model::TrackFile {
                name: "tf".into(),
                file: Some("/x".into()),
                weight,
                ..Default::default()
            }],
            vrrp_instances: vec![i],
            ..Default::default()
        }
    }

    #[test]
    fn track_file_value_times_weight_moves_priority_and_faults() {
        // keepalived: the instance line's weight wins over the file's; value x weight is added,
        // <= -254 is FAULT.
        let (mut t, w) = Tracking::new(&file_cfg(1, Some(-10)), &[("VI_1".into(), 100)]);
        assert!(w.is_empty(), "{w:?}");
        assert!(t.sync_all().is_empty(), "value 0 at start: nothing");
        assert_eq!(t.file_value("tf", 3), vec![(0, Event::PriorityChanged(70))]);
        assert!(t.file_value("tf", 3).is_empty(), "unchanged value");
        assert_eq!(
            t.file_value("tf", 30),
            vec![
                (
                    0,
                    Event::Fault {
                        active: true,
                        cause: FaultCause::File("tf".into())
                    }
                ),
                (0, Event::PriorityChanged(100))
            ]
        );
        // the file's own weight when the line has none
        let (mut t, _) = Tracking::new(&file_cfg(5, None), &[("VI_1".into(), 100)]);
        assert_eq!(
            t.file_value("tf", 2),
            vec![(0, Event::PriorityChanged(110))]
        );
        assert!(t.file_value("nope", 2).is_empty());
    }

    #[test]
    fn a_reload_keeps_script_and_file_observations_by_name() {
        let mut c = cfg(-60);
        c.vrrp_scripts[0].fall = 1;
        let (mut old, _) = Tracking::new(&c, &[("VI_1".into(), 150)]);
        old.script_result("chk", ScriptOutcome::Failure);
        let (mut new, _) = Tracking::new(&c, &[("VI_1".into(), 150)]);
        new.carry_from(&old);
        assert_eq!(new.sync_all(), vec![(0, Event::PriorityChanged(90))]);
        assert_eq!(new.script_health("chk"), old.script_health("chk"));
    }
}
