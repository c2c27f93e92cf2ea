//! Notifications: notify scripts, FIFO lines and SMTP alerts, in keepalived's formats.
//!
//! [`Notifier`] turns the VRRP core's [`Notify`] values into what keepalived 2.2.7 does in
//! `send_instance_notifies()` / `send_group_notifies()` / `send_event_notify()`
//! (vrrp_notify.c), inventory §5.1–5.2:
//! * state `S` of an instance or group: the `notify_<s>` script with exactly its configured
//!   arguments, then the generic `notify` with `INSTANCE|GROUP NAME STATE PRIORITY` appended
//!   (priority 0 for groups, as the core sends it), then one FIFO line per open FIFO;
//! * `MasterRxLowerPri`: `notify_master_rx_lower_pri` (no arguments appended) and the FIFO line;
//! * `MasterPriority` / `BackupPriority`: FIFO lines only (the core only emits them with
//!   `notify_priority_changes`);
//! * STOP: the instance's `notify_stop` and every generic `notify ... STOP` get keepalived's
//!   1 s shutdown timer, after which their process group is SIGKILLed.
//!
//! Delivery: [`Notifier::send`] never blocks. FIFO lines are written right away (non-blocking
//! fd, one `write()`, so they are in `send` order). Scripts go to a bounded queue per instance
//! or group; one task per queue runs them in order, waiting for each to exit (up to
//! [`NotifyOptions::order_wait`], after which it is left running and reaped in the background)
//! before starting the next. keepalived only forks them in order and never waits, so two of
//! its scripts can finish out of order (visible in the runtime capture); ours cannot unless one
//! overruns `order_wait`. A full queue drops the notification's scripts and counts it
//! ([`Notifier::dropped`]).

pub mod fifo;
pub mod smtp;
pub mod track_file;

use crate::exec::{self, Command, OnTimeout};
use crate::model::{Config, GlobalDefs, Parsed, Script};
use crate::vrrp::{Notify, NotifyEvent, NotifyKind, State};
use fifo::Fifo;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// keepalived's timer for STOP notify scripts at shutdown (`TIMER_HZ`).
pub const STOP_SCRIPT_LIMIT: Duration = Duration::from_secs(1);

/// Tuning of the delivery queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyOptions {
    /// Notifications waiting per instance/group before new ones are dropped.
    pub queue_capacity: usize,
    /// How long a lane waits for one script before starting the next anyway.
    pub order_wait: Duration,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            queue_capacity: 256,
            order_wait: Duration::from_secs(10),
        }
    }
}

/// The scripts configured for one instance or sync group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<Command>,
    pub backup: Option<Command>,
    pub fault: Option<Command>,
    pub stop: Option<Command>,
    /// `notify_master_rx_lower_pri` (instances only).
    pub master_rx_lower_pri: Option<Command>,
    /// Generic `notify`.
    pub generic: Option<Command>,
    /// `notify_deleted` was given (instances only): removal by a reload is reported as
    /// DELETED, with its optional script; otherwise keepalived reports it as FAULT through the
    /// generic script and the FIFOs only.
    pub notify_deleted: bool,
    /// The script of `notify_deleted SCRIPT`.
    pub deleted: Option<Command>,
}

/// One script run a lane performs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptJob {
    pub command: Command,
    /// Some(limit): SIGKILL the group after it (STOP scripts); None: wait up to `order_wait`.
    pub kill_after: Option<Duration>,
}

impl NotifyScripts {
    /// The runs keepalived makes for `n`, in its order.
    pub fn jobs_for(&self, n: &Notify) -> Vec<ScriptJob> {
        let mut out = Vec::new();
        let plain = |c: &Option<Command>, out: &mut Vec<ScriptJob>, kill_after| {
            if let Some(c) = c {
                out.push(ScriptJob {
                    command: c.clone(),
                    kill_after,
                });
            }
        };
        match n.event {
            NotifyEvent::State(st) => {
                let stop_timer = Some(STOP_SCRIPT_LIMIT);
                match st {
                    State::Master => plain(&self.master, &mut out, None),
                    State::Backup => plain(&self.backup, &mut out, None),
                    State::Fault => plain(&self.fault, &mut out, None),
                    // Groups' notify_stop is a plain notify_exec() in keepalived.
                    State::Stop => plain(
                        &self.stop,
                        &mut out,
                        (n.kind == NotifyKind::Instance).then_some(STOP_SCRIPT_LIMIT),
                    ),
                    State::Init => {}
                }
                if let Some(g) = &self.generic {
                    let kind = match n.kind {
                        NotifyKind::Instance => "INSTANCE",
                        NotifyKind::Group => "GROUP",
                    };
                    out.push(ScriptJob {
                        command: g.with_args([
                            kind.to_string(),
                            n.name.clone(),
                            fifo::event_word(n.event).to_string(),
                            n.priority.to_string(),
                        ]),
                        kill_after: (st == State::Stop).then_some(()).and(stop_timer),
                    });
                }
            }
            NotifyEvent::MasterRxLowerPri => plain(&self.master_rx_lower_pri, &mut out, None),
            NotifyEvent::MasterPriority | NotifyEvent::BackupPriority => {}
            NotifyEvent::Deleted => {
                if self.notify_deleted {
                    plain(&self.deleted, &mut out, None);
                }
                if let Some(g) = &self.generic {
                    out.push(ScriptJob {
                        command: g.with_args([
                            "INSTANCE".to_string(),
                            n.name.clone(),
                            self.deleted_word().to_string(),
                            n.priority.to_string(),
                        ]),
                        kill_after: None,
                    });
                }
            }
        }
        out
    }

    /// The word a deletion is reported with.
    pub fn deleted_word(&self) -> &'static str {
        if self.notify_deleted {
            "DELETED"
        } else {
            "FAULT"
        }
    }
}

/// A problem found while building the notifier (the script or FIFO is then left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupWarning(pub String);

/// Builds the scripts of every instance and group from the model. Scripts whose user does not
/// resolve are left out with keepalived's message.
pub fn scripts_from_model(
    cfg: &Config,
) -> (
    HashMap<(NotifyKind, String), NotifyScripts>,
    Vec<SetupWarning>,
) {
    let mut warnings = Vec::new();
    let mut map = HashMap::new();
    let g = &cfg.global;
    for i in &cfg.vrrp_instances {
        let mut w = |kw: &str, s: Option<&Script>| cmd(kw, s, g, &mut warnings);
        let s = NotifyScripts {
            master: w("notify_master", i.notify_master.as_ref()),
            backup: w("notify_backup", i.notify_backup.as_ref()),
            fault: w("notify_fault", i.notify_fault.as_ref()),
            stop: w("notify_stop", i.notify_stop.as_ref()),
            master_rx_lower_pri: w(
                "notify_master_rx_lower_pri",
                parsed_script(&i.parsed, "vrrp_instance/notify_master_rx_lower_pri").as_ref(),
            ),
            generic: w("notify", i.notify.as_ref()),
            notify_deleted: i.parsed.contains_key("vrrp_instance/notify_deleted"),
            deleted: w(
                "notify_deleted",
                parsed_script(&i.parsed, "vrrp_instance/notify_deleted").as_ref(),
            ),
        };
        map.insert((NotifyKind::Instance, i.name.clone()), s);
    }
    for sg in &cfg.vrrp_sync_groups {
        let mut w = |kw: &str, s: Option<&Script>| cmd(kw, s, g, &mut warnings);
        let s = NotifyScripts {
            master: w("notify_master", sg.notify_master.as_ref()),
            backup: w("notify_backup", sg.notify_backup.as_ref()),
            fault: w("notify_fault", sg.notify_fault.as_ref()),
            stop: w("notify_stop", sg.notify_stop.as_ref()),
            master_rx_lower_pri: None,
            generic: w("notify", sg.notify.as_ref()),
            notify_deleted: false,
            deleted: None,
        };
        map.insert((NotifyKind::Group, sg.name.clone()), s);
    }
    (map, warnings)
}

fn cmd(
    kw: &str,
    s: Option<&Script>,
    g: &GlobalDefs,
    warnings: &mut Vec<SetupWarning>,
) -> Option<Command> {
    let s = s?;
    match Command::from_script(s, g) {
        Ok(c) => Some(c),
        Err(e) => {
            let first = s.args.first().map(String::as_str).unwrap_or("");
            warnings.push(SetupWarning(format!(
                "{e}; Invalid user/group for {kw} script {first} - ignoring"
            )));
            None
        }
    }
}

/// A script keyword the model keeps verbatim (`notify_master_rx_lower_pri`): the command string
/// split keepalived's way, then USER [GROUP].
fn parsed_script(parsed: &Parsed, key: &str) -> Option<Script> {
    let occ = parsed.get(key)?.last()?;
    let words = crate::config::lexer::command_words(occ.first()?).ok()?;
    if words.is_empty() {
        return None;
    }
    Some(Script {
        args: words,
        user: occ.get(1).cloned(),
        group: occ.get(2).cloned(),
        security: Default::default(),
    })
}

/// A running `*_notify_fifo_script`.
struct FifoScript {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Delivers notifications. Cheap to share (`Arc<Notifier>`); `send` may be called from any
/// thread, the work runs on the tokio runtime `start` was called in.
pub struct Notifier {
    lanes: HashMap<(NotifyKind, String), mpsc::Sender<Vec<ScriptJob>>>,
    scripts: HashMap<(NotifyKind, String), NotifyScripts>,
    fifos: Vec<Arc<Fifo>>,
    dropped: Arc<AtomicU64>,
    fifo_lost: AtomicU64,
    tasks: Vec<JoinHandle<()>>,
    fifo_scripts: Vec<FifoScript>,
}

impl Notifier {
    /// Builds everything from the model and starts it (inside a tokio runtime): opens
    /// `notify_fifo` then `vrrp_notify_fifo` (creating them, starting their `*_fifo_script`
    /// with the FIFO path appended before opening, as keepalived does), and one delivery task
    /// per instance and sync group.
    pub fn start(cfg: &Config, opts: NotifyOptions) -> (Notifier, Vec<SetupWarning>) {
        let (scripts, mut warnings) = scripts_from_model(cfg);
        let g = &cfg.global;
        let mut fifos = Vec::new();
        let mut fifo_scripts = Vec::new();
        for (fifo, script, what) in [
            (&g.notify_fifo, &g.notify_fifo_script, ""),
            (&g.vrrp_notify_fifo, &g.vrrp_notify_fifo_script, "vrrp_"),
        ] {
            let Some(f) = fifo else { continue };
            match open_fifo(f, script.as_ref(), g, what, &mut fifo_scripts) {
                Ok(f) => fifos.push(Arc::new(f)),
                Err(w) => warnings.push(w),
            }
        }
        let mut n = Notifier::with_scripts(scripts, fifos, opts);
        n.fifo_scripts = fifo_scripts;
        (n, warnings)
    }

    /// The same with explicit scripts and FIFOs (no model).
    pub fn with_scripts(
        scripts: HashMap<(NotifyKind, String), NotifyScripts>,
        fifos: Vec<Arc<Fifo>>,
        opts: NotifyOptions,
    ) -> Notifier {
        let mut lanes = HashMap::new();
        let mut tasks = Vec::new();
        for key in scripts.keys() {
            let (tx, rx) = mpsc::channel(opts.queue_capacity.max(1));
            tasks.push(tokio::spawn(lane(rx, opts.order_wait)));
            lanes.insert(key.clone(), tx);
        }
        Notifier {
            lanes,
            scripts,
            fifos,
            dropped: Arc::new(AtomicU64::new(0)),
            fifo_lost: AtomicU64::new(0),
            tasks,
            fifo_scripts: Vec::new(),
        }
    }

    /// Delivers one notification; never blocks, never fails (see the module docs).
    pub fn send(&self, n: &Notify) {
        let key = (n.kind, n.name.clone());
        if let (Some(s), Some(lane)) = (self.scripts.get(&key), self.lanes.get(&key)) {
            let jobs = s.jobs_for(n);
            if !jobs.is_empty() && lane.try_send(jobs).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !self.fifos.is_empty() {
            let line = match (n.event, self.scripts.get(&key)) {
                (NotifyEvent::Deleted, s) if !s.is_some_and(|s| s.notify_deleted) => {
                    fifo::vrrp_line(&Notify {
                        event: NotifyEvent::State(State::Fault),
                        ..n.clone()
                    })
                }
                _ => fifo::vrrp_line(n),
            };
            for f in &self.fifos {
                if f.write_line(line.as_bytes()).is_err() {
                    self.fifo_lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Notifications whose scripts were dropped because their queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// FIFO lines that could not be written (FIFO full); keepalived loses them silently.
    pub fn fifo_lost(&self) -> u64 {
        self.fifo_lost.load(Ordering::Relaxed)
    }

    /// The open FIFOs (`notify_fifo` first when configured): the checker side may write its
    /// LVS lines to the shared `notify_fifo`.
    pub fn fifos(&self) -> &[Arc<Fifo>] {
        &self.fifos
    }

    /// Runs what is queued (STOP scripts are killed after their 1 s), then stops the FIFO
    /// scripts (SIGTERM to their group, SIGKILL 1 s later) and closes the FIFOs (removing those
    /// we created).
    pub async fn shutdown(mut self) {
        self.lanes.clear();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        for fs in std::mem::take(&mut self.fifo_scripts) {
            let _ = fs.stop.send(true);
            let _ = fs.task.await;
        }
        self.fifos.clear();
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        for fs in &self.fifo_scripts {
            let _ = fs.stop.send(true);
        }
    }
}

fn open_fifo(
    f: &Script,
    script: Option<&Script>,
    g: &GlobalDefs,
    what: &str,
    fifo_scripts: &mut Vec<FifoScript>,
) -> Result<Fifo, SetupWarning> {
    let Some(path) = f.args.first().map(PathBuf::from) else {
        return Err(SetupWarning(format!("No {what}notify_fifo name specified")));
    };
    let owner = match &f.user {
        Some(u) => exec::resolve_user(u, f.group.as_deref()).ok(),
        None => exec::default_credentials(g.script_user.as_ref()).ok(),
    };
    let created = Fifo::create(&path, owner).map_err(|_| {
        SetupWarning(format!(
            "Unable to create {what}notify fifo {}",
            path.display()
        ))
    })?;
    if let Some(s) = script {
        match Command::from_script(s, g) {
            Ok(c) => {
                let c = c.with_args([path.to_string_lossy().into_owned()]);
                match start_fifo_script(&c, what) {
                    Ok(fs) => fifo_scripts.push(fs),
                    Err(e) => tracing::info!("{e}"),
                }
            }
            Err(e) => tracing::info!("{e}; {what}notify_fifo_script ignored"),
        }
    }
    Fifo::open_created(&path, created).map_err(|e| {
        SetupWarning(format!(
            "Unable to open {what}notify fifo {} - errno {}",
            path.display(),
            e.raw_os_error().unwrap_or(0)
        ))
    })
}

fn start_fifo_script(c: &Command, what: &str) -> Result<FifoScript, exec::ExecError> {
    let (stop, mut stop_rx) = watch::channel(false);
    let c = c.clone();
    let _ = what;
    let mut child = exec::spawn(&c)?;
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let task = tokio::spawn(async move {
        tokio::select! {
            _ = child.wait() => {
                // keepalived's VRRP process says this for both of its FIFO scripts.
                tracing::info!("vrrp notify fifo script terminated");
            }
            _ = async { let _ = stop_rx.wait_for(|v| *v).await; } => {
                // SAFETY: kill(2) on the script's own process group.
                unsafe { libc::kill(-pgid, libc::SIGTERM) };
                if tokio::time::timeout(Duration::from_secs(1), child.wait()).await.is_err() {
                    unsafe { libc::kill(-pgid, libc::SIGKILL) };
                    let _ = child.wait().await;
                }
            }
        }
    });
    Ok(FifoScript { stop, task })
}

/// One instance's or group's delivery task.
async fn lane(mut rx: mpsc::Receiver<Vec<ScriptJob>>, order_wait: Duration) {
    while let Some(jobs) = rx.recv().await {
        for j in jobs {
            run_job(&j, order_wait).await;
        }
    }
}

async fn run_job(j: &ScriptJob, order_wait: Duration) {
    if let Some(limit) = j.kill_after {
        if let Err(e) = exec::run(&j.command, Some(limit), OnTimeout::Kill, None).await {
            tracing::info!("{e}");
        }
        return;
    }
    let mut child = match exec::spawn(&j.command) {
        Ok(c) => c,
        Err(e) => {
            tracing::info!("{e}");
            return;
        }
    };
    if tokio::time::timeout(order_wait, child.wait())
        .await
        .is_err()
    {
        // Still running: let it be (keepalived never waits) and reap it when it ends.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<Notifier>();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(argv: &[&str]) -> Command {
        Command::new(
            argv.iter().map(|s| s.to_string()).collect(),
            exec::Credentials::current(),
        )
    }

    fn deleted(name: &str) -> Notify {
        Notify {
            kind: NotifyKind::Instance,
            name: name.into(),
            event: NotifyEvent::Deleted,
            priority: 150,
        }
    }

    #[test]
    fn a_deletion_is_fault_to_the_generic_script_unless_notify_deleted() {
        let mut s = NotifyScripts {
            fault: Some(c(&["/f"])),
            generic: Some(c(&["/g"])),
            ..Default::default()
        };
        // keepalived: no notify_fault script, generic gets FAULT.
        let jobs = s.jobs_for(&deleted("VI_1"));
        let argv: Vec<Vec<String>> = jobs.iter().map(|j| j.command.argv.clone()).collect();
        assert_eq!(argv, vec![vec!["/g", "INSTANCE", "VI_1", "FAULT", "150"]]);
        s.notify_deleted = true;
        s.deleted = Some(c(&["/d", "x"]));
        let jobs = s.jobs_for(&deleted("VI_1"));
        let argv: Vec<Vec<String>> = jobs.iter().map(|j| j.command.argv.clone()).collect();
        assert_eq!(
            argv,
            vec![
                vec!["/d", "x"],
                vec!["/g", "INSTANCE", "VI_1", "DELETED", "150"]
            ]
        );
    }
}
