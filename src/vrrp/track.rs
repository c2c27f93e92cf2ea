//! Effective priority: what tracked scripts, processes, BFD sessions, interfaces and files do
//! to an instance's priority, as keepalived 2.2.7 computes it (vrrp_track.c,
//! vrrp_scheduler.c's script result handling, trackers/track_file.c).
//!
//! Pure functions and small value types: no clock, no logging. A transition the caller should
//! log ("VRRP_Script(chk) succeeded") comes back as a value.
//!
//! The rules, per tracker with weight `W` and `reverse` flag:
//! * binary trackers (script OK/KO, process quorum, BFD up/down, interface up/down):
//!   `W > 0` adds `W` while up; `W < 0` adds `W` (subtracts `|W|`) while down; `reverse`
//!   negates the contribution. `W == 0`: down means FAULT (with `reverse`: up means FAULT).
//! * track_file: `value * W`, negated by `reverse`, capped at 253; `<= -254` means FAULT.
//!   `W == 0`: a non-zero value means FAULT (with `reverse`: a zero value).
//! * `effective = clamp(base + sum, 1, 254)`; an address owner (base 255) stays 255 (weights
//!   are ignored for it, faults are not).
//! * A script with no result yet (and no `init_fail`) contributes nothing; with weight 0 it
//!   holds the instance in INIT until it reports.

/// The priority of an address owner.
pub const PRIO_OWNER: u8 = 255;
/// The highest priority a non-owner can reach, whatever its trackers add.
pub const PRIO_MAX_NON_OWNER: u8 = 254;
/// A track_file status at or below this is FAULT.
pub const FILE_FAULT_STATUS: i64 = -254;
/// A track_file status is capped at this.
pub const FILE_MAX_STATUS: i64 = 253;

/// State of a binary tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// A script that has not reported yet (keepalived's SCRIPT_INIT_STATE_INIT).
    Pending,
    /// Script OK, process quorum held, BFD session up, interface up.
    Up,
    /// Script KO, quorum lost, BFD down, interface down.
    Down,
}

/// One completed run of a tracked script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptOutcome {
    /// Exit status 0.
    Success,
    /// Non-zero exit status or killed by a signal we did not send.
    Failure,
    /// Overran its timeout and was terminated: counts as a failure.
    TimedOut,
}

/// A change of a script's OK/KO state, for the caller to log as
/// `VRRP_Script(NAME) <as_str()>` and to recompute priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptTransition {
    /// Now OK.
    Succeeded,
    /// Now KO because of a failing run.
    Failed,
    /// Now KO because of a run that timed out.
    TimedOut,
}

impl ScriptTransition {
    /// keepalived's word for it in "VRRP_Script(%s) %s".
    pub const fn as_str(self) -> &'static str {
        match self {
            ScriptTransition::Succeeded => "succeeded",
            ScriptTransition::Failed => "failed",
            ScriptTransition::TimedOut => "timed_out",
        }
    }
}

/// The rise/fall counter of a `vrrp_script`, kept the way keepalived keeps it: one counter
/// `result` in `0..rise+fall`, OK iff `result >= rise`. A success while OK refills it to the
/// top (so a success during a falling streak resets the streak); a failure while KO empties it
/// (so a failure during a rising streak resets that one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScriptState {
    rise: u32,
    fall: u32,
    result: u32,
    /// No result yet and not `init_fail`: the first result decides either way.
    pending: bool,
}

impl ScriptState {
    /// A script before its first run. `rise` and `fall` below 1 are taken as 1 (keepalived's
    /// parser refuses them). Without `init_fail` the counter starts at `rise - 1`, so one
    /// success is enough and one failure is too; with it, the script starts KO and needs `rise`
    /// successes.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> ScriptState {
        let rise = rise.max(1);
        let fall = fall.max(1);
        ScriptState {
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            pending: !init_fail,
        }
    }

    pub const fn rise(&self) -> u32 {
        self.rise
    }

    pub const fn fall(&self) -> u32 {
        self.fall
    }

    /// keepalived's raw counter (shown in its data dump).
    pub const fn result(&self) -> u32 {
        self.result
    }

    pub const fn health(&self) -> Health {
        if self.pending {
            Health::Pending
        } else if self.result >= self.rise {
            Health::Up
        } else {
            Health::Down
        }
    }

    /// The state a script keeps across a reload that changes its `rise`/`fall` (keepalived's
    /// `clear_diff_script`): a script still waiting for its first result starts over; otherwise
    /// the OK/KO state is kept and the counter is moved to the same distance from the OK/KO
    /// boundary, clamped to the new range. When `self` was not pending keepalived logs
    /// "VRRP_Script(NAME) considered successful on reload" (or "unsuccessful"), per the new
    /// state's `health()`.
    pub fn reloaded(&self, rise: u32, fall: u32) -> ScriptState {
        let rise = rise.max(1);
        let fall = fall.max(1);
        if self.pending {
            return ScriptState::new(rise, fall, false);
        }
        let top = rise + fall - 1;
        let result = if self.result < self.rise {
            if self.result == 0 {
                0
            } else {
                rise.saturating_sub(self.rise - self.result)
            }
        } else if self.result == self.top() {
            top
        } else {
            (rise + (self.result - self.rise)).min(top)
        };
        ScriptState {
            rise,
            fall,
            result,
            pending: false,
        }
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// Feeds one run's outcome; returns the OK/KO change it causes, if any.
    pub fn record(&mut self, outcome: ScriptOutcome) -> Option<ScriptTransition> {
        let was_pending = std::mem::replace(&mut self.pending, false);
        match outcome {
            ScriptOutcome::Success => {
                if self.result + 1 < self.rise {
                    self.result += 1;
                    None
                } else if self.result != self.top() {
                    let became_ok = self.result < self.rise;
                    self.result = self.top();
                    became_ok.then_some(ScriptTransition::Succeeded)
                } else {
                    None
                }
            }
            ScriptOutcome::Failure | ScriptOutcome::TimedOut => {
                if self.result > self.rise {
                    self.result -= 1;
                    None
                } else {
                    let became_ko = self.result == self.rise || was_pending;
                    self.result = 0;
                    became_ko.then_some(if outcome == ScriptOutcome::TimedOut {
                        ScriptTransition::TimedOut
                    } else {
                        ScriptTransition::Failed
                    })
                }
            }
        }
    }
}

/// Whether a `vrrp_track_process` has quorum: between `quorum` and `quorum_max` matching
/// processes, inclusive.
pub const fn process_has_quorum(running: u32, quorum: u32, quorum_max: u32) -> bool {
    running >= quorum && running <= quorum_max
}

/// What one tracker does to the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contribution {
    /// Adds this much to the priority (may be negative or zero).
    Delta(i64),
    /// Puts the instance in FAULT.
    Fault,
    /// Holds the instance in INIT until the tracker reports (weight-0 script with no result).
    Pending,
}

/// Contribution of a binary tracker (script, process, BFD, interface).
pub fn binary_contribution(weight: i32, reverse: bool, health: Health) -> Contribution {
    let up = match health {
        Health::Pending if weight == 0 => return Contribution::Pending,
        Health::Pending => return Contribution::Delta(0),
        Health::Up => true,
        Health::Down => false,
    };
    if weight == 0 {
        return if up == reverse {
            Contribution::Fault
        } else {
            Contribution::Delta(0)
        };
    }
    let w = i64::from(weight);
    let normal = match (up, w > 0) {
        (true, true) | (false, false) => w,
        _ => 0,
    };
    Contribution::Delta(if reverse { -normal } else { normal })
}

/// Contribution of a track_file whose file holds `value`.
pub fn file_contribution(weight: i32, reverse: bool, value: i64) -> Contribution {
    if weight == 0 {
        return if (value != 0) != reverse {
            Contribution::Fault
        } else {
            Contribution::Delta(0)
        };
    }
    let m: i128 = if reverse { -1 } else { 1 };
    let status = i128::from(value) * i128::from(weight) * m;
    if status <= i128::from(FILE_FAULT_STATUS) {
        Contribution::Fault
    } else {
        // Below the cap and above the fault threshold it fits in an i64.
        Contribution::Delta(i64::try_from(status.min(i128::from(FILE_MAX_STATUS))).unwrap_or(0))
    }
}

/// Which kind of object a tracker follows (for fault messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackerKind {
    Script,
    Process,
    Bfd,
    Interface,
    File,
}

/// What a tracker currently observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Observation {
    /// Scripts, processes, BFD sessions, interfaces.
    Health(Health),
    /// track_file: the integer in the file.
    Value(i64),
}

/// One tracked object as an instance sees it: its name, its weight and `reverse` from the
/// instance's `track_*` line (or the object's own default), and what it observes now.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tracker {
    pub kind: TrackerKind,
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
    pub observation: Observation,
}

impl Tracker {
    pub fn contribution(&self) -> Contribution {
        match self.observation {
            Observation::Health(h) => binary_contribution(self.weight, self.reverse, h),
            Observation::Value(v) => file_contribution(self.weight, self.reverse, v),
        }
    }
}

/// Why an instance has no effective priority to run with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FaultCause {
    /// A tracker puts the instance in FAULT.
    Fault { kind: TrackerKind, name: String },
    /// A weight-0 script has not reported yet: the instance stays in INIT.
    AwaitingFirstResult { name: String },
}

/// `clamp(base + sum, 1, 254)`, or 255 for an owner, unless some tracker faults (reported
/// first) or holds the instance in INIT.
pub fn effective_priority<'a>(
    base: u8,
    trackers: impl IntoIterator<Item = &'a Tracker>,
) -> Result<u8, FaultCause> {
    let mut sum: i64 = 0;
    let mut pending = None;
    for t in trackers {
        match t.contribution() {
            Contribution::Delta(d) => sum = sum.saturating_add(d),
            Contribution::Fault => {
                return Err(FaultCause::Fault {
                    kind: t.kind,
                    name: t.name.clone(),
                })
            }
            Contribution::Pending => {
                pending.get_or_insert_with(|| t.name.clone());
            }
        }
    }
    if let Some(name) = pending {
        return Err(FaultCause::AwaitingFirstResult { name });
    }
    Ok(clamp_priority(base, sum))
}

/// The priority arithmetic alone: owners keep 255, everyone else lands in 1..=254.
pub fn clamp_priority(base: u8, sum: i64) -> u8 {
    if base == PRIO_OWNER {
        return PRIO_OWNER;
    }
    let total = i64::from(base).saturating_add(sum);
    // The clamp makes the value fit in a u8.
    u8::try_from(total.clamp(1, i64::from(PRIO_MAX_NON_OWNER))).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(weight: i32, reverse: bool, health: Health) -> Tracker {
        Tracker {
            kind: TrackerKind::Script,
            name: "chk".into(),
            weight,
            reverse,
            observation: Observation::Health(health),
        }
    }

    #[test]
    fn first_result_decides_succeeded() {
        let mut s = ScriptState::new(3, 3, false);
        assert_eq!(s.health(), Health::Pending);
        assert_eq!(
            s.record(ScriptOutcome::Success),
            Some(ScriptTransition::Succeeded)
        );
        assert_eq!(s.health(), Health::Up);
        assert_eq!(s.result(), 5);
    }

    #[test]
    fn first_result_decides_failed() {
        let mut s = ScriptState::new(3, 3, false);
        assert_eq!(
            s.record(ScriptOutcome::Failure),
            Some(ScriptTransition::Failed)
        );
        assert_eq!(s.health(), Health::Down);
        assert_eq!(s.result(), 0);
    }

    #[test]
    fn init_fail_starts_ko_and_needs_rise_successes_without_logging_a_failure() {
        let mut s = ScriptState::new(2, 2, true);
        assert_eq!(s.health(), Health::Down);
        assert_eq!(s.record(ScriptOutcome::Failure), None);
        assert_eq!(s.record(ScriptOutcome::Success), None);
        assert_eq!(
            s.record(ScriptOutcome::Success),
            Some(ScriptTransition::Succeeded)
        );
    }

    #[test]
    fn fall_consecutive_failures_turn_ok_to_ko_and_a_success_resets_the_streak() {
        let mut s = ScriptState::new(1, 3, false);
        s.record(ScriptOutcome::Success);
        assert_eq!(s.record(ScriptOutcome::Failure), None);
        assert_eq!(s.record(ScriptOutcome::Failure), None);
        assert_eq!(s.record(ScriptOutcome::Success), None);
        assert_eq!(s.record(ScriptOutcome::Failure), None);
        assert_eq!(s.record(ScriptOutcome::Failure), None);
        assert_eq!(
            s.record(ScriptOutcome::TimedOut),
            Some(ScriptTransition::TimedOut)
        );
        assert_eq!(ScriptTransition::TimedOut.as_str(), "timed_out");
    }

    #[test]
    fn rise_consecutive_successes_turn_ko_to_ok_and_a_failure_resets_the_streak() {
        let mut s = ScriptState::new(3, 1, true);
        s.record(ScriptOutcome::Success);
        s.record(ScriptOutcome::Success);
        assert_eq!(s.record(ScriptOutcome::Failure), None);
        assert_eq!(s.record(ScriptOutcome::Success), None);
        assert_eq!(s.record(ScriptOutcome::Success), None);
        assert_eq!(
            s.record(ScriptOutcome::Success),
            Some(ScriptTransition::Succeeded)
        );
    }

    #[test]
    fn weighted_script_adds_while_ok_and_subtracts_while_ko() {
        assert_eq!(
            binary_contribution(10, false, Health::Up),
            Contribution::Delta(10)
        );
        assert_eq!(
            binary_contribution(10, false, Health::Down),
            Contribution::Delta(0)
        );
        assert_eq!(
            binary_contribution(-30, false, Health::Down),
            Contribution::Delta(-30)
        );
        assert_eq!(
            binary_contribution(-30, false, Health::Up),
            Contribution::Delta(0)
        );
        // reverse inverts the adjustment
        assert_eq!(
            binary_contribution(10, true, Health::Up),
            Contribution::Delta(-10)
        );
        assert_eq!(
            binary_contribution(-30, true, Health::Down),
            Contribution::Delta(30)
        );
    }

    #[test]
    fn unweighted_tracker_down_means_fault_and_weight_0_reverse_faults_while_up() {
        assert_eq!(
            binary_contribution(0, false, Health::Down),
            Contribution::Fault
        );
        assert_eq!(
            binary_contribution(0, false, Health::Up),
            Contribution::Delta(0)
        );
        assert_eq!(
            binary_contribution(0, true, Health::Up),
            Contribution::Fault
        );
        assert_eq!(
            binary_contribution(0, true, Health::Down),
            Contribution::Delta(0)
        );
    }

    #[test]
    fn pending_weighted_script_contributes_nothing_and_weight_0_one_holds_init() {
        assert_eq!(
            binary_contribution(50, false, Health::Pending),
            Contribution::Delta(0)
        );
        assert_eq!(
            binary_contribution(-50, false, Health::Pending),
            Contribution::Delta(0)
        );
        assert_eq!(
            binary_contribution(0, false, Health::Pending),
            Contribution::Pending
        );
        assert_eq!(
            effective_priority(100, &[script(0, false, Health::Pending)]),
            Err(FaultCause::AwaitingFirstResult { name: "chk".into() })
        );
    }

    #[test]
    fn track_file_value_times_weight_capped_at_253_and_fault_at_minus_254() {
        assert_eq!(file_contribution(10, false, 3), Contribution::Delta(30));
        assert_eq!(file_contribution(10, false, 100), Contribution::Delta(253));
        assert_eq!(file_contribution(10, false, -25), Contribution::Delta(-250));
        assert_eq!(file_contribution(1, false, -253), Contribution::Delta(-253));
        assert_eq!(file_contribution(1, false, -254), Contribution::Fault);
        assert_eq!(file_contribution(-2, true, 5), Contribution::Delta(10));
        assert_eq!(
            file_contribution(i32::MAX, false, i64::MIN),
            Contribution::Fault
        );
        assert_eq!(
            file_contribution(i32::MIN, false, i64::MIN),
            Contribution::Delta(253)
        );
    }

    #[test]
    fn track_file_weight_0_nonzero_value_is_fault() {
        assert_eq!(file_contribution(0, false, 1), Contribution::Fault);
        assert_eq!(file_contribution(0, false, -7), Contribution::Fault);
        assert_eq!(file_contribution(0, false, 0), Contribution::Delta(0));
        assert_eq!(file_contribution(0, true, 0), Contribution::Fault);
        assert_eq!(file_contribution(0, true, 1), Contribution::Delta(0));
    }

    #[test]
    fn changing_effective_priority_from_100_to_70() {
        // inventory §7: weighted eth2 down -> "Changing effective priority from 100 to 70"
        let eth2 = Tracker {
            kind: TrackerKind::Interface,
            name: "eth2".into(),
            weight: -30,
            reverse: false,
            observation: Observation::Health(Health::Down),
        };
        assert_eq!(effective_priority(100, [&eth2]), Ok(70));
    }

    #[test]
    fn trackers_cannot_lift_a_non_owner_to_255_nor_below_1() {
        let up = script(253, false, Health::Up);
        assert_eq!(effective_priority(200, [&up, &up]), Ok(254));
        let down = script(-253, false, Health::Down);
        assert_eq!(effective_priority(10, [&down]), Ok(1));
    }

    #[test]
    fn owner_priority_is_never_changed_but_still_faults() {
        let down = script(-100, false, Health::Down);
        assert_eq!(effective_priority(255, [&down]), Ok(255));
        let fault = Tracker {
            kind: TrackerKind::Interface,
            name: "eth1".into(),
            weight: 0,
            reverse: false,
            observation: Observation::Health(Health::Down),
        };
        assert_eq!(
            effective_priority(255, [&down, &fault]),
            Err(FaultCause::Fault {
                kind: TrackerKind::Interface,
                name: "eth1".into()
            })
        );
    }

    #[test]
    fn reload_keeps_ok_ko_and_restarts_a_pending_script() {
        let mut s = ScriptState::new(2, 3, false);
        assert_eq!(s.reloaded(5, 5), ScriptState::new(5, 5, false));
        s.record(ScriptOutcome::Success); // OK, result = top = 4
        s.record(ScriptOutcome::Failure); // falling streak, result 3
        let r = s.reloaded(4, 4);
        assert_eq!((r.health(), r.result()), (Health::Up, 5));
        let mut k = ScriptState::new(3, 1, true);
        k.record(ScriptOutcome::Success); // KO, 1 of 3 successes
        let r = k.reloaded(2, 1);
        assert_eq!((r.health(), r.result()), (Health::Down, 0));
        let r = k.reloaded(6, 1);
        assert_eq!((r.health(), r.result()), (Health::Down, 4));
    }

    #[test]
    fn process_quorum_bounds_are_inclusive() {
        assert!(!process_has_quorum(0, 1, u32::MAX));
        assert!(process_has_quorum(1, 1, u32::MAX));
        assert!(process_has_quorum(3, 2, 3));
        assert!(!process_has_quorum(4, 2, 3));
    }
}
