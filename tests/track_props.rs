//! Property tests of effective-priority tracking: clamp bounds, owner invariance, reverse
//! symmetry, and the script rise/fall counter against an independent streak model.

use keepalived_rs::vrrp::track::{
    binary_contribution, clamp_priority, effective_priority, file_contribution, Contribution,
    FaultCause, Health, Observation, ScriptOutcome, ScriptState, ScriptTransition, Tracker,
    TrackerKind,
};
use proptest::prelude::*;

fn any_health() -> impl Strategy<Value = Health> {
    prop_oneof![Just(Health::Pending), Just(Health::Up), Just(Health::Down)]
}

fn any_tracker() -> impl Strategy<Value = Tracker> {
    let kind = prop_oneof![
        Just(TrackerKind::Script),
        Just(TrackerKind::Process),
        Just(TrackerKind::Bfd),
        Just(TrackerKind::Interface),
        Just(TrackerKind::File),
    ];
    (
        kind,
        -253i32..=253,
        any::<bool>(),
        any_health(),
        -300i64..=300,
    )
        .prop_map(|(kind, weight, reverse, health, value)| Tracker {
            kind,
            name: format!("{kind:?}"),
            weight,
            reverse,
            observation: if kind == TrackerKind::File {
                Observation::Value(value)
            } else {
                Observation::Health(health)
            },
        })
}

/// Trackers that can neither fault nor hold INIT: weighted, no file at the fault threshold.
fn harmless_tracker() -> impl Strategy<Value = Tracker> {
    any_tracker().prop_filter("no fault / pending", |t| {
        matches!(t.contribution(), Contribution::Delta(_))
    })
}

/// An independent statement of the rise/fall rules: explicit streak counters.
#[derive(Debug)]
struct Model {
    rise: u32,
    fall: u32,
    state: Health,
    streak: u32,
}

impl Model {
    fn new(rise: u32, fall: u32, init_fail: bool) -> Model {
        Model {
            rise,
            fall,
            state: if init_fail {
                Health::Down
            } else {
                Health::Pending
            },
            streak: 0,
        }
    }

    fn record(&mut self, o: ScriptOutcome) -> Option<ScriptTransition> {
        let ok = o == ScriptOutcome::Success;
        let fail_kind = if o == ScriptOutcome::TimedOut {
            ScriptTransition::TimedOut
        } else {
            ScriptTransition::Failed
        };
        match (self.state, ok) {
            (Health::Pending, true) => {
                self.state = Health::Up;
                self.streak = 0;
                Some(ScriptTransition::Succeeded)
            }
            (Health::Pending, false) => {
                self.state = Health::Down;
                self.streak = 0;
                Some(fail_kind)
            }
            (Health::Up, true) | (Health::Down, false) => {
                self.streak = 0;
                None
            }
            (Health::Up, false) => {
                self.streak += 1;
                (self.streak == self.fall).then(|| {
                    self.state = Health::Down;
                    self.streak = 0;
                    fail_kind
                })
            }
            (Health::Down, true) => {
                self.streak += 1;
                (self.streak == self.rise).then(|| {
                    self.state = Health::Up;
                    self.streak = 0;
                    ScriptTransition::Succeeded
                })
            }
        }
    }
}

fn any_outcome() -> impl Strategy<Value = ScriptOutcome> {
    prop_oneof![
        3 => Just(ScriptOutcome::Success),
        2 => Just(ScriptOutcome::Failure),
        1 => Just(ScriptOutcome::TimedOut),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn non_owner_priority_stays_within_1_to_254(base in 1u8..=254, ts in proptest::collection::vec(harmless_tracker(), 0..12)) {
        let p = effective_priority(base, &ts).expect("harmless trackers");
        prop_assert!((1..=254).contains(&p));
    }

    #[test]
    fn clamp_is_identity_inside_the_range(base in 1u8..=254, sum in -300i64..300) {
        let p = clamp_priority(base, sum);
        let total = i64::from(base) + sum;
        if (1..=254).contains(&total) {
            prop_assert_eq!(i64::from(p), total);
        } else {
            prop_assert_eq!(p, if total < 1 { 1 } else { 254 });
        }
    }

    #[test]
    fn owner_stays_255_unless_a_tracker_faults(ts in proptest::collection::vec(any_tracker(), 0..12)) {
        match effective_priority(255, &ts) {
            Ok(p) => prop_assert_eq!(p, 255),
            Err(FaultCause::Fault { .. }) => prop_assert!(ts.iter().any(|t| t.contribution() == Contribution::Fault)),
            Err(FaultCause::AwaitingFirstResult { .. }) => prop_assert!(ts.iter().any(|t| t.contribution() == Contribution::Pending)),
        }
    }

    #[test]
    fn a_fault_wins_over_everything(base in 1u8..=255, mut ts in proptest::collection::vec(any_tracker(), 0..8), at in any::<prop::sample::Index>()) {
        let fault = Tracker { kind: TrackerKind::Interface, name: "down".into(), weight: 0, reverse: false, observation: Observation::Health(Health::Down) };
        let i = at.index(ts.len() + 1);
        ts.insert(i, fault);
        let faulted = matches!(effective_priority(base, &ts), Err(FaultCause::Fault { .. }));
        prop_assert!(faulted);
    }

    #[test]
    fn reverse_negates_weighted_contributions(w in -253i32..=253, h in any_health()) {
        prop_assume!(w != 0);
        let (a, b) = (binary_contribution(w, false, h), binary_contribution(w, true, h));
        match (a, b) {
            (Contribution::Delta(x), Contribution::Delta(y)) => prop_assert_eq!(x, -y),
            _ => prop_assert!(false, "weighted trackers never fault: {:?} {:?}", a, b),
        }
    }

    #[test]
    fn reverse_swaps_up_and_down_for_unweighted(h in prop_oneof![Just(Health::Up), Just(Health::Down)]) {
        let other = if h == Health::Up { Health::Down } else { Health::Up };
        prop_assert_eq!(binary_contribution(0, false, h), binary_contribution(0, true, other));
    }

    #[test]
    fn file_reverse_equals_negated_weight(w in -300i32..=300, v in -1000i64..=1000) {
        prop_assume!(w != 0);
        prop_assert_eq!(file_contribution(w, true, v), file_contribution(-w, false, v));
    }

    #[test]
    fn weight_sign_decides_when_a_tracker_counts(w in 1i32..=253, reverse in any::<bool>()) {
        // W > 0 only ever counts while up, W < 0 only while down.
        prop_assert_eq!(binary_contribution(w, reverse, Health::Down), Contribution::Delta(0));
        prop_assert_eq!(binary_contribution(-w, reverse, Health::Up), Contribution::Delta(0));
    }

    #[test]
    fn script_counter_matches_the_streak_model(
        rise in 1u32..6, fall in 1u32..6, init_fail in any::<bool>(),
        runs in proptest::collection::vec(any_outcome(), 0..60),
    ) {
        let mut s = ScriptState::new(rise, fall, init_fail);
        let mut m = Model::new(rise, fall, init_fail);
        prop_assert_eq!(s.health(), m.state);
        for o in runs {
            prop_assert_eq!(s.record(o), m.record(o), "after {:?}", o);
            prop_assert_eq!(s.health(), m.state);
            prop_assert!(s.result() < rise + fall);
        }
    }

    #[test]
    fn reload_preserves_ok_ko(
        rise in 1u32..6, fall in 1u32..6, init_fail in any::<bool>(),
        runs in proptest::collection::vec(any_outcome(), 0..30),
        new_rise in 1u32..6, new_fall in 1u32..6,
    ) {
        let mut s = ScriptState::new(rise, fall, init_fail);
        for o in runs {
            s.record(o);
        }
        let r = s.reloaded(new_rise, new_fall);
        prop_assert_eq!(r.health(), s.health());
        prop_assert!(r.result() < new_rise + new_fall);
        prop_assert_eq!((r.rise(), r.fall()), (new_rise, new_fall));
    }
}
