//! The VRRP side's helpers, on one tokio runtime of their own (so none of them can delay the
//! VRRP thread): the notifier (notify scripts and FIFOs), SMTP alerts, the `vrrp_script` runner
//! and the `track_file` watcher.
//!
//! The VRRP thread reaches them only through [`Aux::sink`], which queues and returns (the
//! notifier and the mailer never block). Script results and track file values go back to the
//! VRRP thread through its [`ControlHandle`].
//!
//! Reload ([`Aux::reload`]): the script runner and the file watcher are stopped, a new notifier
//! and mailer are built from the new configuration and swapped in, the old notifier is shut
//! down (its queued scripts run, its FIFOs close); the caller then reloads the VRRP thread and
//! calls [`Aux::start_trackers`] again. Instances the new configuration removes keep their
//! notify scripts until then, so their DELETED/FAULT notification runs what was configured.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::vrrp::{ControlHandle, NotifySink};
use crate::exec::vrrp_script::{ScriptEvent, ScriptRunner, TrackedScript};
use crate::model;
use crate::notify::smtp::{vrrp_alerts_enabled, Alert, Mailer, SmtpSettings, VrrpAlertState};
use crate::notify::track_file::{TrackFileWatcher, WatchedFile};
use crate::notify::{Notifier, NotifyOptions};
use crate::vrrp::{Notify, NotifyEvent, NotifyKind, State};

/// How often track files are read (keepalived is told by inotify; we poll).
pub const TRACK_FILE_PERIOD: Duration = Duration::from_millis(200);

/// Per instance or group: does it mail, and does a removal say DELETED (`notify_deleted`)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AlertRule {
    enabled: bool,
    notify_deleted: bool,
}

/// What the sink delivers to; swapped as a whole at reload.
#[derive(Default)]
struct Outputs {
    notifier: Option<Notifier>,
    mailer: Option<Mailer>,
    rules: HashMap<(NotifyKind, String), AlertRule>,
    no_email_faults: bool,
    /// keepalived's `last_email_state`: one mail per state change.
    last_email: HashMap<(NotifyKind, String), VrrpAlertState>,
}

impl Outputs {
    fn deliver(&mut self, n: &Notify) {
        debug!(
            "notify {} \"{}\" {} {}",
            n.kind.as_str(),
            n.name,
            n.event.as_str(),
            n.priority
        );
        if let Some(nt) = &self.notifier {
            nt.send(n);
        }
        let Some(mailer) = &self.mailer else { return };
        let key = (n.kind, n.name.clone());
        let Some(rule) = self.rules.get(&key).copied() else {
            return;
        };
        if let Some(state) = alert_state(n, rule) {
            if rule.enabled
                && !(self.no_email_faults && state == VrrpAlertState::Fault)
                && self.last_email.get(&key) != Some(&state)
            {
                self.last_email.insert(key, state);
                let name = n.name.clone();
                mailer.send(&match n.kind {
                    NotifyKind::Instance => Alert::Instance { name, state },
                    NotifyKind::Group => Alert::Group { name, state },
                });
            }
        }
    }
}

/// The alert a notification is, by keepalived's `vrrp_smtp_notifier()` rules (a removal
/// without `notify_deleted` is reported as FAULT).
fn alert_state(n: &Notify, rule: AlertRule) -> Option<VrrpAlertState> {
    Some(match n.event {
        NotifyEvent::State(State::Master) => VrrpAlertState::Master,
        NotifyEvent::State(State::Backup) => VrrpAlertState::Backup,
        NotifyEvent::State(State::Fault) => VrrpAlertState::Fault,
        NotifyEvent::State(State::Stop) => VrrpAlertState::Stop,
        NotifyEvent::Deleted if rule.notify_deleted => VrrpAlertState::Deleted,
        NotifyEvent::Deleted => VrrpAlertState::Fault,
        _ => return None,
    })
}

fn alert_rules(cfg: &model::Config) -> HashMap<(NotifyKind, String), AlertRule> {
    let g = &cfg.global;
    let mut m = HashMap::new();
    for i in &cfg.vrrp_instances {
        m.insert(
            (NotifyKind::Instance, i.name.clone()),
            AlertRule {
                enabled: vrrp_alerts_enabled(i.smtp_alert, g),
                notify_deleted: i.parsed.contains_key("vrrp_instance/notify_deleted"),
            },
        );
    }
    for sg in &cfg.vrrp_sync_groups {
        m.insert(
            (NotifyKind::Group, sg.name.clone()),
            AlertRule {
                enabled: vrrp_alerts_enabled(sg.smtp_alert, g),
                notify_deleted: false,
            },
        );
    }
    m
}

/// The machine's host name (keepalived's default `router_id`, HELO name and sender domain).
pub fn local_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

/// The running helpers.
pub struct Aux {
    rt: tokio::runtime::Runtime,
    outputs: Arc<Mutex<Outputs>>,
    runner: Option<ScriptRunner>,
    watcher: Option<TrackFileWatcher>,
}

fn lock(m: &Mutex<Outputs>) -> std::sync::MutexGuard<'_, Outputs> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Aux {
    /// Starts the runtime, the notifier and the mailer for `cfg`. Call after the signal mask
    /// is set: the runtime's threads inherit it.
    pub fn start(cfg: &model::Config) -> std::io::Result<Aux> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ka-aux")
            .enable_all()
            .build()?;
        let aux = Aux {
            rt,
            outputs: Arc::default(),
            runner: None,
            watcher: None,
        };
        let out = aux.build_outputs(cfg);
        *lock(&aux.outputs) = out;
        Ok(aux)
    }

    fn build_outputs(&self, cfg: &model::Config) -> Outputs {
        let (notifier, warnings) = {
            let _g = self.rt.enter();
            Notifier::start(cfg, NotifyOptions::default())
        };
        for w in warnings {
            info!("{}", w.0);
        }
        let mailer = SmtpSettings::from_globals(&cfg.global, &local_name())
            .map(|s| Mailer::new(s, self.rt.handle().clone()));
        Outputs {
            notifier: Some(notifier),
            mailer,
            rules: alert_rules(cfg),
            no_email_faults: cfg.global.no_email_faults,
            last_email: HashMap::new(),
        }
    }

    /// The VRRP thread's notification sink: scripts, FIFO lines and mails, queued.
    pub fn sink(&self) -> NotifySink {
        let out = Arc::clone(&self.outputs);
        Box::new(move |n: &Notify| lock(&out).deliver(n))
    }

    /// Starts the `vrrp_script`s and the `track_file` watcher some instance tracks, feeding
    /// results to the VRRP thread.
    pub fn start_trackers(&mut self, cfg: &model::Config, ctl: &ControlHandle) {
        let used = tracked_names(cfg, |i| &i.track_script, |g| &g.track_script);
        let mut scripts = Vec::new();
        for s in cfg.vrrp_scripts.iter().filter(|s| used.contains(&s.name)) {
            match TrackedScript::from_model(s, &cfg.global) {
                Ok(t) => scripts.push(t),
                Err(e) => warn!("VRRP_Script({}) cannot be run: {e}", s.name),
            }
        }
        if !scripts.is_empty() {
            let (tx, mut rx) = mpsc::channel::<ScriptEvent>(64);
            let _g = self.rt.enter();
            self.runner = Some(ScriptRunner::start(scripts, tx));
            let ctl = ctl.clone();
            // The runner logged keepalived's lines; the driver only applies the outcome.
            self.rt.spawn(async move {
                while let Some(ev) = rx.recv().await {
                    if !ctl.script_event(&ev.name, ev.outcome) {
                        break;
                    }
                }
            });
        }
        let used = tracked_names(cfg, |i| &i.track_file, |g| &g.track_file);
        let files: Vec<WatchedFile> = cfg
            .track_files
            .iter()
            .filter(|f| used.contains(&f.name))
            .filter_map(|f| {
                f.file.as_ref().map(|p| WatchedFile {
                    name: f.name.clone(),
                    path: p.into(),
                })
            })
            .collect();
        if !files.is_empty() {
            let (tx, mut rx) = mpsc::channel::<(String, i64)>(64);
            let _g = self.rt.enter();
            self.watcher = Some(TrackFileWatcher::start(files, TRACK_FILE_PERIOD, tx));
            let ctl = ctl.clone();
            self.rt.spawn(async move {
                while let Some((name, v)) = rx.recv().await {
                    if !ctl.track_file(&name, v) {
                        break;
                    }
                }
            });
        }
    }

    fn stop_trackers(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.stop();
        }
        if let Some(r) = self.runner.take() {
            self.rt.block_on(r.stop());
        }
    }

    /// First half of a reload: stops the trackers and swaps in a notifier and mailer for
    /// `new` (plus the scripts of instances `old` had and `new` drops, for their last
    /// notification). Then reload the VRRP thread and call [`Aux::start_trackers`].
    pub fn reload(&mut self, old: &model::Config, new: &model::Config) {
        self.stop_trackers();
        let mut merged = new.clone();
        for i in &old.vrrp_instances {
            if !merged.vrrp_instances.iter().any(|n| n.name == i.name) {
                merged.vrrp_instances.push(i.clone());
            }
        }
        let fresh = self.build_outputs(&merged);
        let previous = {
            let mut o = lock(&self.outputs);
            let last = std::mem::take(&mut o.last_email);
            let prev = std::mem::replace(&mut *o, fresh);
            o.last_email = last;
            prev
        };
        if let Some(n) = previous.notifier {
            self.rt.block_on(n.shutdown());
        }
        // A FIFO the old notifier created was unlinked when it closed; open the new one
        // again so that it exists under its name.
        let gone = [&new.global.notify_fifo, &new.global.vrrp_notify_fifo]
            .into_iter()
            .flatten()
            .filter_map(|s| s.args.first())
            .any(|p| !std::path::Path::new(p).exists());
        if gone {
            let fresh = self.build_outputs(&merged);
            let stale = {
                let mut o = lock(&self.outputs);
                let last = std::mem::take(&mut o.last_email);
                let prev = std::mem::replace(&mut *o, fresh);
                o.last_email = last;
                prev
            };
            if let Some(n) = stale.notifier {
                self.rt.block_on(n.shutdown());
            }
        }
    }

    /// At stop, after the VRRP thread ended (its STOP notifications are queued): stops the
    /// trackers, runs what the notifier has queued (STOP scripts get keepalived's 1 s), closes
    /// the FIFOs, and gives mails in flight a moment.
    pub fn shutdown(mut self) {
        self.stop_trackers();
        let n = lock(&self.outputs).notifier.take();
        if let Some(n) = n {
            self.rt.block_on(n.shutdown());
        }
        self.rt.shutdown_timeout(Duration::from_millis(500));
    }
}

/// Names an instance (or its sync group) tracks with the given keyword.
fn tracked_names(
    cfg: &model::Config,
    inst: impl Fn(&model::VrrpInstance) -> &Vec<model::TrackRef>,
    group: impl Fn(&model::SyncGroup) -> &Vec<model::TrackRef>,
) -> BTreeSet<String> {
    cfg.vrrp_instances
        .iter()
        .flat_map(|i| inst(i).iter())
        .chain(cfg.vrrp_sync_groups.iter().flat_map(|g| group(g).iter()))
        .map(|r| r.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: NotifyKind, event: NotifyEvent) -> Notify {
        Notify {
            kind,
            name: "VI_1".into(),
            event,
            priority: 100,
        }
    }

    #[test]
    fn a_removal_mails_as_fault_unless_notify_deleted() {
        let plain = AlertRule {
            enabled: true,
            notify_deleted: false,
        };
        let del = AlertRule {
            notify_deleted: true,
            ..plain
        };
        let d = n(NotifyKind::Instance, NotifyEvent::Deleted);
        assert_eq!(alert_state(&d, plain), Some(VrrpAlertState::Fault));
        assert_eq!(alert_state(&d, del), Some(VrrpAlertState::Deleted));
        let p = n(NotifyKind::Instance, NotifyEvent::MasterPriority);
        assert_eq!(alert_state(&p, plain), None);
        let i = n(NotifyKind::Instance, NotifyEvent::State(State::Init));
        assert_eq!(alert_state(&i, plain), None);
    }
}
