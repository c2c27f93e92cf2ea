//! FILE_CHECK in the core (keepalived 2.2.7 `check_file.c`, `track_file.c`): a checker with
//! nothing to run. Its state follows the value of a `track_file`, which the driver reports
//! with [`Lvs::track_file`]:
//! - at start (the value the driver read before the core was built, [`FileSpec::initial`])
//!   the checker is down when [`FileSpec::down_at_start`], and otherwise adds
//!   [`FileSpec::weight_at_start`] to its real server's weight;
//! - later, a new value's status ([`FileSpec::status`]) that is the fault value puts the
//!   checker down and takes its weight away; leaving the fault value adds the new weight and
//!   puts it up; any other change moves the real server's weight by the difference
//!   (keepalived's `update_svr_wgt`: "Changing weight from A to B for ...", quorum).

use std::path::PathBuf;

use super::{CheckerId, Lvs};
use crate::check::spec::{CheckSpec, FileSpec, Probe};

/// A checker's state at start: (is_up, has_run, weight it adds, file value). keepalived marks
/// FILE_CHECK checkers as run and never alpha: their state is known at once.
pub(super) fn start_state(c: &CheckSpec) -> (bool, bool, i64, i64) {
    match &c.probe {
        Probe::File(f) => (
            !f.down_at_start(f.initial),
            true,
            f.weight_at_start(f.initial),
            f.initial,
        ),
        _ => (!c.alpha, false, 0, 0),
    }
}

impl Lvs {
    /// `-D`: also log keepalived's detail lines (a tracked file entering or leaving FAULT).
    pub fn set_log_detail(&mut self, on: bool) {
        self.log_detail = on;
    }

    /// The track files FILE_CHECK checkers follow: (name, path), each once, in config order.
    pub fn track_files(&self) -> Vec<(String, PathBuf)> {
        let mut out: Vec<(String, PathBuf)> = Vec::new();
        for c in &self.ck {
            if let Probe::File(f) = &c.spec.probe {
                if !out.iter().any(|(n, _)| n == &f.name) {
                    out.push((f.name.clone(), f.path.clone()));
                }
            }
        }
        out
    }

    /// The track file `name` now holds `value` (keepalived's `update_track_file_status` for
    /// each FILE_CHECK that follows it, in config order).
    pub fn track_file(&mut self, name: &str, value: i64) {
        let ids: Vec<CheckerId> = (0..self.ck.len())
            .filter(|&id| matches!(&self.ck[id].spec.probe, Probe::File(f) if f.name == name))
            .collect();
        for id in ids {
            self.file_update(id, value);
        }
    }

    fn file_update(&mut self, id: CheckerId, value: i64) {
        let Probe::File(f) = &self.ck[id].spec.probe else {
            return;
        };
        let last = self.ck[id].file_value;
        if value == last {
            return;
        }
        let (new, prev) = (f.status(value), f.status(last));
        let name = f.name.clone();
        self.ck[id].file_value = value;
        if new == prev {
            return;
        }
        let (vi, ri) = (self.ck[id].vs, self.ck[id].rs);
        let rs = self.labels(id).0.to_string();
        if new == FileSpec::FAULT {
            if self.log_detail {
                self.log(format!("({rs}): tracked file {name} now FAULT state"));
            }
            self.update_checker_state(id, false);
            self.vs[vi].rs[ri].weight -= self.ck[id].cur_weight;
            self.ck[id].cur_weight = 0;
        } else if prev == FileSpec::FAULT {
            if self.log_detail {
                self.log(format!("({rs}): tracked file {name} leaving FAULT state"));
            }
            self.ck[id].cur_weight = new;
            self.vs[vi].rs[ri].weight += new;
            self.update_checker_state(id, true);
        } else {
            let w = self.vs[vi].rs[ri].weight + new - prev;
            self.update_weight(vi, ri, w);
            self.ck[id].cur_weight = new;
        }
    }
}
