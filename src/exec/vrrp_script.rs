//! The `vrrp_script` runner: each script runs at once and then every `interval`, limited to
//! `timeout` (default: the interval), and every completed run becomes a [`ScriptEvent`] on a
//! channel, in completion order per script. It logs keepalived's lines (inventory §6.1):
//! ``Script `chk` now returning 1`` when the exit status changes (the first run is compared
//! with 0, as keepalived's zeroed `last_status`), `VRRP_Script(chk) succeeded`,
//! `VRRP_Script(chk) failed (exited with status 1)` / `(due to signal 9)`,
//! `VRRP_Script(chk) timed_out` on OK/KO changes (from [`ScriptState`]), and
//! `Track script chk is already running, expect idle - skipping run` (or `is being timed out`).
//!
//! keepalived 2.2.7 logs "skipping run" but then starts the script anyway (a missing `return`
//! in `vrrp_script_thread()`), so two runs can overlap; we do what the line says and skip.

use super::{Command, ExecError, Exit, OnTimeout};
use crate::model::{GlobalDefs, VrrpScript};
use crate::vrrp::track::{ScriptOutcome, ScriptState, ScriptTransition};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long a running script gets after SIGTERM at [`ScriptRunner::stop`] before SIGKILL
/// (keepalived's `script_killall()` + 1 s child timer at shutdown).
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// One `vrrp_script`, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedScript {
    pub name: String,
    pub command: Command,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    /// False when the config side disabled it (script security, not found, not executable):
    /// it is then never run and produces no events.
    pub runnable: bool,
}

impl TrackedScript {
    /// From the model: the `script` argv, the `user USER [GROUP]` keyword (kept verbatim by
    /// `config` as `vrrp_script/user`), else the global default user; `timeout` defaults to
    /// `interval`. `runnable` is the config's script-security verdict.
    pub fn from_model(s: &VrrpScript, global: &GlobalDefs) -> Result<TrackedScript, ExecError> {
        let script = s.script.as_ref().ok_or(ExecError::Empty)?;
        let user = s
            .parsed
            .get("vrrp_script/user")
            .and_then(|occ| occ.last())
            .and_then(|a| {
                a.first()
                    .map(|u| (u.as_str(), a.get(1).map(String::as_str)))
            });
        Ok(TrackedScript {
            name: s.name.clone(),
            command: Command::from_parts(script, user, global)?,
            interval: s.interval,
            timeout: s.timeout.unwrap_or(s.interval),
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
            // keepalived disables scripts its security checks rejected (config side).
            runnable: script.runnable(),
        })
    }
}

/// One completed run of a tracked script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptEvent {
    pub name: String,
    /// What to feed `ScriptState::record` / the VRRP core.
    pub outcome: ScriptOutcome,
    /// The raw result.
    pub exit: Exit,
    /// The OK/KO change this run caused in the runner's own `ScriptState` (the one it logs);
    /// a consumer feeding `outcome` into a `ScriptState` built with the same rise/fall/init_fail
    /// gets the same transitions.
    pub transition: Option<ScriptTransition>,
}

/// How a run's result counts (keepalived: status 0 succeeds; any other status, or a signal we
/// did not cause, fails; our own termination is "timed_out"). A script that could not be
/// started counts as a failure.
pub fn outcome_of(exit: Exit) -> ScriptOutcome {
    match exit {
        Exit::Code(0) => ScriptOutcome::Success,
        Exit::Code(_) | Exit::Signal(_) => ScriptOutcome::Failure,
        Exit::TimedOut => ScriptOutcome::TimedOut,
    }
}

/// The `VRRP_Script(NAME) ...` line for a transition, with keepalived's failure reason.
pub fn transition_line(name: &str, t: ScriptTransition, exit: Exit) -> String {
    match (t, exit) {
        (ScriptTransition::Failed, Exit::Code(c)) => {
            format!("VRRP_Script({name}) failed (exited with status {c})")
        }
        (ScriptTransition::Failed, Exit::Signal(s)) => {
            format!("VRRP_Script({name}) failed (due to signal {s})")
        }
        _ => format!("VRRP_Script({name}) {}", t.as_str()),
    }
}

/// The running scripts. Dropping it without `stop` aborts the tasks (running scripts' groups
/// get SIGKILL).
pub struct ScriptRunner {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ScriptRunner {
    /// Starts one task per runnable script on the current tokio runtime. Events go to `tx` (a
    /// full channel delays that script's next run, never loses an event); when the receiver is
    /// dropped the tasks end.
    pub fn start(scripts: Vec<TrackedScript>, tx: mpsc::Sender<ScriptEvent>) -> ScriptRunner {
        let (stop, stop_rx) = watch::channel(false);
        let tasks = scripts
            .into_iter()
            .filter(|s| s.runnable)
            .map(|s| tokio::spawn(script_task(s, tx.clone(), stop_rx.clone())))
            .collect();
        ScriptRunner { stop, tasks }
    }

    /// Stops every script: a running one gets SIGTERM to its group, SIGKILL [`STOP_GRACE`]
    /// later; returns when all are reaped.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn script_task(
    s: TrackedScript,
    tx: mpsc::Sender<ScriptEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let mut state = ScriptState::new(s.rise, s.fall, s.init_fail);
    let mut last_status = 0;
    let mut ticker = tokio::time::interval(s.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let terminating = Arc::new(AtomicBool::new(false));
    let mut running: Option<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>> = None;
    loop {
        if *stop.borrow() && running.is_none() {
            return;
        }
        tokio::select! {
            _ = ticker.tick() => {
                if running.is_some() {
                    let what = if terminating.load(std::sync::atomic::Ordering::Relaxed) {
                        "being timed out"
                    } else {
                        "already running"
                    };
                    tracing::info!(
                        "Track script {} is {}, expect idle - skipping run",
                        s.name, what
                    );
                    continue;
                }
                let cmd = s.command.clone();
                let limit = s.timeout;
                let term = terminating.clone();
                let stop_rx = stop.clone();
                running = Some(Box::pin(async move {
                    run_once(&cmd, limit, &term, stop_rx).await
                }));
            }
            res = async { running.as_mut().expect("guarded by if").await }, if running.is_some() => {
                running = None;
                let exit = match res {
                    Ok(e) => e,
                    Err(RunEnd::Stopped) => return,
                    Err(RunEnd::Error(e)) => {
                        tracing::info!("{e}");
                        Exit::Code(-1)
                    }
                };
                if let Exit::Code(c) = exit {
                    if c != last_status {
                        tracing::info!("Script `{}` now returning {}", s.name, c);
                    }
                    last_status = c;
                }
                let outcome = outcome_of(exit);
                let transition = state.record(outcome);
                if let Some(t) = transition {
                    tracing::info!("{}", transition_line(&s.name, t, exit));
                }
                let ev = ScriptEvent { name: s.name.clone(), outcome, exit, transition };
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
            r = stop.changed() => {
                // With a run in flight, its own stop handling ends it; otherwise we are done.
                if r.is_err() || (*stop.borrow() && running.is_none()) {
                    return;
                }
            }
        }
    }
}

enum RunEnd {
    Stopped,
    Error(ExecError),
}

/// One run, which also ends (TERM, then KILL after `STOP_GRACE`) when the runner is stopped.
async fn run_once(
    cmd: &Command,
    limit: Duration,
    terminating: &AtomicBool,
    mut stop: watch::Receiver<bool>,
) -> Result<Exit, RunEnd> {
    let cancel = async move {
        let _ = stop.wait_for(|v| *v).await;
    };
    match super::run_cancellable(
        cmd,
        Some(limit),
        OnTimeout::term_then_kill(),
        Some(terminating),
        cancel,
        OnTimeout::TermThenKill { grace: STOP_GRACE },
    )
    .await
    {
        Ok((_, true)) => Err(RunEnd::Stopped),
        Ok((e, false)) => Ok(e),
        Err(e) => Err(RunEnd::Error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_keepalived() {
        assert_eq!(outcome_of(Exit::Code(0)), ScriptOutcome::Success);
        assert_eq!(outcome_of(Exit::Code(3)), ScriptOutcome::Failure);
        assert_eq!(outcome_of(Exit::Signal(11)), ScriptOutcome::Failure);
        assert_eq!(outcome_of(Exit::TimedOut), ScriptOutcome::TimedOut);
    }

    #[test]
    fn transition_lines_are_keepalived_wording() {
        let f = ScriptTransition::Failed;
        assert_eq!(
            transition_line("chk", f, Exit::Code(1)),
            "VRRP_Script(chk) failed (exited with status 1)"
        );
        assert_eq!(
            transition_line("chk", f, Exit::Signal(9)),
            "VRRP_Script(chk) failed (due to signal 9)"
        );
        assert_eq!(
            transition_line("chk", ScriptTransition::Succeeded, Exit::Code(0)),
            "VRRP_Script(chk) succeeded"
        );
        assert_eq!(
            transition_line("chk", ScriptTransition::TimedOut, Exit::TimedOut),
            "VRRP_Script(chk) timed_out"
        );
    }
}
