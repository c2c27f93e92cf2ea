//! The running daemon: supervisor, signals, pid files, logging, and the VRRP driver.
//!
//! One process (keepalived forks a VRRP and a checker child; we run each subsystem on its own
//! thread instead). The main thread owns signals (blocked everywhere, taken with
//! `sigtimedwait`), the pid files and the lifecycle log lines; VRRP runs on its own thread
//! ([`vrrp::spawn`]).
//!
//! Around the VRRP thread: [`auxiliary::Aux`] (notify scripts, FIFOs, SMTP alerts, the
//! `vrrp_script` runner and the `track_file` watcher on a runtime of their own), and the
//! checker side ([`lvs::run`] on its own thread, not with `-P`). SIGHUP reloads all of them
//! ([`reload`]): a configuration with errors is refused and the running one kept.

pub mod auxiliary;
pub mod dump;
pub mod log;
pub mod memory;
pub mod pidfile;
pub mod syncd;
pub mod track;
pub mod vrrp;

use std::path::PathBuf;
use std::time::Duration;

use tracing::{error, info, warn};

/// What keepalived logs at start and stop (the version we are compatible with).
const KEEPALIVED_VERSION_STRING: &str = "Keepalived v2.2.7 (01/16,2022)";
use crate::cli::Settings;
use crate::config;
use crate::model;
use std::sync::Arc;

/// The checker side (keepalived's `Keepalived_healthcheckers` child), on its own thread.
struct Checkers {
    stop: tokio::sync::watch::Sender<lvs::StopMode>,
    thread: std::thread::JoinHandle<anyhow::Result<Option<lvs::Takeover>>>,
}

/// Starts the checker side when the config has virtual servers and `-P` was not given;
/// `takeover` is what a previous checker side left (at reload).
fn start_checkers(
    model: &Arc<model::Config>,
    settings: &Settings,
    takeover: lvs::Takeover,
) -> Option<Checkers> {
    if !settings.run_checkers || model.virtual_servers.is_empty() {
        return None;
    }
    let (stop, rx) = tokio::sync::watch::channel(lvs::StopMode::Running);
    let asked = rx.clone();
    // shared, not copied: a copy of a big configuration cost as much as planning it
    let cfg = Arc::clone(model);
    let settings = settings.clone();
    match std::thread::Builder::new()
        // The name picks the `Keepalived_healthcheckers` syslog ident (log.rs).
        .name(log::CHECKER_THREAD.into())
        .spawn(move || {
            let r = lvs::run_reloadable(cfg, &settings, takeover, rx);
            // The supervisor sleeps until a signal: tell it we ended on our own (it reports
            // why). Not when it asked us to end (a reload or a stop): it is joining us, and a
            // stray wake-up would have it poll for an end that is not coming.
            if *asked.borrow() == lvs::StopMode::Running {
                wake_supervisor();
            }
            r
        }) {
        Ok(thread) => Some(Checkers { stop, thread }),
        Err(e) => {
            warn!("Unable to start the healthchecker thread: {e}");
            None
        }
    }
}

impl Checkers {
    /// Ends the checker side; at a hand-over, returns what the next one takes over.
    fn end(self, mode: lvs::StopMode) -> Option<lvs::Takeover> {
        let _ = self.stop.send(mode);
        match self.thread.join() {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                warn!("Healthchecker stopped with an error: {e}");
                None
            }
            Err(_) => {
                warn!("Healthchecker thread panicked");
                None
            }
        }
    }
}

/// Whether a configuration loaded at reload may replace the running one: not when the load
/// reports an error keepalived itself would only survive by dropping part of the config (an
/// error, a fatal error or a parser abort). Warnings and script-security remarks pass.
pub fn reload_refused(loaded: &config::Loaded) -> bool {
    use config::diag::Severity;
    loaded.diagnostics.iter().any(|d| {
        matches!(
            d.severity,
            Severity::Error | Severity::Fatal | Severity::Abort
        )
    })
}

/// SIGHUP: load and validate the new configuration; refuse it (keeping the running one) on
/// errors; otherwise apply it without a flap: VRRP through the driver's reload, the notifier,
/// mailer and trackers rebuilt, IPVS handed over to a checker side on the new config that
/// changes only what differs.
fn reload(
    settings: &Settings,
    model: &mut Arc<model::Config>,
    ctl: Option<&vrrp::ControlHandle>,
    aux: Option<&mut auxiliary::Aux>,
    checkers: &mut Option<Checkers>,
    checker_syncd: &mut syncd::CheckerSyncd,
) {
    info!("Reloading ...");
    if settings.log_detail {
        info!("Opening file '{}'.", settings.config_file.display());
    }
    info!("Configuration file {}", settings.config_file.display());
    let loaded = config::load(&settings.config_file, &settings.load_options());
    let rendered = config::render::render(&loaded, config::render::Format::Keepalived, false);
    for line in rendered.lines().filter(|l| !l.trim().is_empty()) {
        info!("{line}");
    }
    if reload_refused(&loaded) {
        info!(
            "New config failed validation - keeping the running configuration (fix {} and reload again)",
            settings.config_file.display()
        );
        return;
    }
    let new = Arc::new(loaded.model);
    if new.global.net_namespace != model.global.net_namespace {
        // keepalived then carries on with the old configuration.
        info!("Cannot change network namespace at a reload - please restart keepalived");
        return;
    }
    if settings.dont_fork {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Reloading]);
    }
    if let (Some(ctl), Some(aux)) = (ctl, aux) {
        aux.reload(model, &new);
        let (cfg, warnings) =
            vrrp::DriverConfig::from_model(&new, settings.dont_release_vrrp, settings.log_detail);
        for w in warnings {
            info!("{w}");
        }
        if !ctl.reload(cfg, Duration::from_secs(30)) {
            warn!("VRRP did not confirm the reload");
        }
        aux.start_trackers(&new, ctl);
    } else if settings.run_vrrp && !new.vrrp_instances.is_empty() {
        warn!("VRRP was not running (no vrrp_instance at start): restart keepalived to start the new instances");
    }
    if let Some(c) = checkers.take() {
        // A checker side that ended without handing over leaves no state: adopt what the
        // running configuration programmed, with fresh checker states.
        let takeover = c
            .end(lvs::StopMode::Handover)
            .unwrap_or_else(|| lvs::Takeover::services(lvs::owned_services(model)));
        *checkers = start_checkers(&new, settings, takeover);
    } else {
        *checkers = start_checkers(&new, settings, Default::default());
    }
    checker_syncd.reload(&new, checkers.is_some());
    *model = new;
    if ctl.is_none() {
        // The VRRP thread says it when it runs.
        info!("Reload complete");
    }
    if settings.dont_fork {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    }
}

/// `net_namespace NAME`: join /run/netns/NAME (ip netns's path), as keepalived does.
fn enter_net_namespace(name: &str) -> Result<(), String> {
    let path = format!("/run/netns/{name}");
    let f = std::fs::File::open(&path).map_err(|_| format!("Failed to open {path}"))?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns() failed with error {}", e as i32))
}

/// keepalived's `check_conf_file`: the path (a glob) names at least one readable file.
fn config_file_readable(path: &std::path::Path) -> bool {
    let Ok(paths) = glob::glob(&path.to_string_lossy()) else {
        return false;
    };
    let files: Vec<PathBuf> = paths.flatten().collect();
    !files.is_empty() && files.iter().all(|f| std::fs::File::open(f).is_ok())
}

fn quote_args() -> String {
    std::env::args()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// keepalived's `log_options()`: `NAME: VALUE` cut at spaces into pieces of at most
/// `100 - len(NAME)` bytes, continuation lines indented under the value.
fn wrapped_option_lines(name: &str, value: &str) -> Vec<String> {
    let max = 100usize.saturating_sub(name.len()).max(1);
    let mut out = Vec::new();
    let mut p = value;
    loop {
        p = p.trim_start_matches(' ');
        if p.is_empty() {
            break;
        }
        let end = if p.len() <= max {
            p.len()
        } else if p.as_bytes()[max] == b' ' {
            max
        } else {
            match p.as_bytes()[..max].iter().rposition(|&b| b == b' ') {
                Some(i) if i > 0 => i,
                _ => max,
            }
        };
        let end = (0..=end)
            .rev()
            .find(|&i| p.is_char_boundary(i))
            .unwrap_or(0)
            .max(1);
        let end = (end..=p.len())
            .find(|&i| p.is_char_boundary(i))
            .unwrap_or(p.len());
        let piece = &p[..end];
        if out.is_empty() {
            out.push(format!("{name}: {piece}"));
        } else {
            out.push(format!("{}{piece}", " ".repeat(name.len() + 2)));
        }
        p = &p[end..];
    }
    out
}

fn uname() -> String {
    // SAFETY: uname fills the struct we own.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        let f = |b: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(b.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.version))
    }
}

/// keepalived's `xdaemon()`: fork, the parent exits 0, the child leaves the session and the
/// terminal.
fn daemonize() -> std::io::Result<()> {
    // SAFETY: called before any thread exists; fork/setsid/dup2 on descriptors we own.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let _ = libc::chdir(c"/".as_ptr());
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// Sent by a subsystem thread to the supervisor when it ends (so the supervisor can sleep in
/// `sigtimedwait` instead of polling). A real-time signal keepalived does not use.
pub const SIG_THREAD_ENDED: libc::c_int = 40;

static SUPERVISOR: std::sync::OnceLock<libc::pthread_t> = std::sync::OnceLock::new();

/// Wakes the supervisor (a no-op outside the daemon, e.g. in tests that run the VRRP thread).
pub fn wake_supervisor() {
    if let Some(&t) = SUPERVISOR.get() {
        // SAFETY: t is the supervisor thread, which lives until the process exits, and has
        // SIG_THREAD_ENDED blocked and in its sigtimedwait set.
        unsafe { libc::pthread_kill(t, SIG_THREAD_ENDED) };
    }
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            dump::SIG_DATA,
            dump::SIG_STATS,
            dump::SIG_JSON,
            dump::SIG_STATS_CLEAR,
            SIG_THREAD_ENDED,
        ] {
            libc::sigaddset(&mut s, sig);
        }
        s
    }
}

fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage fills the struct we own.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut u);
        u
    }
}

fn tv(v: libc::timeval) -> String {
    format!("{}.{:06}", v.tv_sec, v.tv_usec)
}

/// keepalived's parent at exit with `-D`: `CPU usage (self/children) user: .../... system: ...`.
fn cpu_usage_line() -> String {
    let (s, c) = (rusage(libc::RUSAGE_SELF), rusage(libc::RUSAGE_CHILDREN));
    format!(
        "CPU usage (self/children) user: {}/{} system: {}/{}",
        tv(s.ru_utime),
        tv(c.ru_utime),
        tv(s.ru_stime),
        tv(c.ru_stime)
    )
}

/// keepalived's `log_stopping()`, logged by each child as it ends (here: a subsystem thread,
/// whose "self" is the thread): `Stopped`, or with `-D` its CPU use.
pub fn stopping_line(detail: bool) -> String {
    if !detail {
        return "Stopped".into();
    }
    let (s, c) = (rusage(libc::RUSAGE_THREAD), rusage(libc::RUSAGE_CHILDREN));
    if c.ru_utime.tv_sec != 0 || c.ru_utime.tv_usec != 0 {
        format!(
            "Stopped - used (self/children) {}/{} user time, {}/{} system time",
            tv(s.ru_utime),
            tv(c.ru_utime),
            tv(s.ru_stime),
            tv(c.ru_stime)
        )
    } else {
        format!(
            "Stopped - used {} user time, {} system time",
            tv(s.ru_utime),
            tv(s.ru_stime)
        )
    }
}

/// Runs keepalived with these settings until it stops; returns the process exit status.
pub fn run(settings: Settings) -> u8 {
    log::init(&log::LogSetup {
        console: settings.log_console,
        syslog: !settings.no_syslog,
        facility: settings.log_facility.to_libc(),
        debug: settings.log_extra_detail,
        journald: log::started_by_systemd(),
    });

    // keepalived_running(): our main pid file, and the VRRP one when VRRP runs.
    let mut pid_files: Vec<PathBuf> = vec![settings.pid_file.clone()];
    if settings.run_vrrp {
        pid_files.push(settings.vrrp_pid_file.clone());
    }
    for p in &pid_files {
        match pidfile::check(p) {
            pidfile::PidState::Running(_) => {
                info!("daemon is already running");
                return 0;
            }
            pidfile::PidState::Unreadable => {
                info!("Error reading pid file {}", p.display());
                info!("daemon is already running");
                return 0;
            }
            pidfile::PidState::Zombie => info!("Remove a zombie pid file {}", p.display()),
            pidfile::PidState::Absent => {}
        }
    }

    if !settings.dont_fork {
        if let Err(e) = daemonize() {
            warn!("Unable to daemonize: {e}");
            return 1;
        }
    }
    // SAFETY: umask has no failure mode.
    unsafe { libc::umask(settings.umask.unwrap_or(crate::cli::DEFAULT_UMASK) as libc::mode_t) };

    info!("Starting {KEEPALIVED_VERSION_STRING}");
    info!("Running on {}", uname());
    for l in wrapped_option_lines("Command line", &quote_args()) {
        info!("{l}");
    }
    if !config_file_readable(&settings.config_file) {
        // keepalived's check_conf_file(): nothing to run without a configuration.
        info!("Config files missing '{}'.", settings.config_file.display());
        info!("Stopped {KEEPALIVED_VERSION_STRING}");
        return 6;
    }
    if settings.log_detail {
        info!("Opening file '{}'.", settings.config_file.display());
    }
    info!("Configuration file {}", settings.config_file.display());
    let loaded = config::load(&settings.config_file, &settings.load_options());
    let rendered = config::render::render(&loaded, config::render::Format::Keepalived, false);
    for line in rendered.lines().filter(|l| !l.trim().is_empty()) {
        info!("{line}");
    }
    let mut model = Arc::new(loaded.model);
    if let Some(ns) = &model.global.net_namespace {
        // keepalived runs everything inside the configured network namespace (setns before
        // any socket is opened); without it there is nothing to do.
        if let Err(e) = enter_net_namespace(ns) {
            info!("{e}");
            error!("Unable to set network namespace {ns} - exiting");
            info!("Stopped {KEEPALIVED_VERSION_STRING}");
            return 0;
        }
    }

    // Signals are taken synchronously by this thread; every thread inherits the mask.
    let set = signal_set();
    // SAFETY: blocking signals in the calling thread before any other thread exists.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    // SAFETY: pthread_self has no preconditions.
    let _ = SUPERVISOR.set(unsafe { libc::pthread_self() });

    let run_vrrp =
        settings.run_vrrp && (!model.vrrp_instances.is_empty() || settings.run_all_children);
    // The notifier's runtime (its threads inherit the signal mask).
    let mut aux = None;
    if run_vrrp {
        match auxiliary::Aux::start(&model) {
            Ok(a) => aux = Some(a),
            Err(e) => warn!("Unable to start the notifier runtime: {e}"),
        }
    }

    let pid = std::process::id();
    let mut written: Vec<PathBuf> = Vec::new();
    let mut vrrp_thread = None;
    let mut ctl = None;
    if run_vrrp {
        let (cfg, warnings) =
            vrrp::DriverConfig::from_model(&model, settings.dont_release_vrrp, settings.log_detail);
        for w in warnings {
            info!("{w}");
        }
        let sink = aux
            .as_ref()
            .map_or_else(vrrp::log_notify_sink, auxiliary::Aux::sink);
        match vrrp::spawn(cfg, sink) {
            Ok((h, c)) => {
                if pidfile::write(&settings.vrrp_pid_file, pid).is_ok() {
                    written.push(settings.vrrp_pid_file.clone());
                }
                info!("Starting VRRP child process, pid={pid}");
                if let Some(a) = &mut aux {
                    a.start_trackers(&model, &c);
                }
                vrrp_thread = Some(h);
                ctl = Some(c);
            }
            Err(e) => warn!("Unable to start the VRRP thread: {e}"),
        }
    }
    // The main pid file last: whoever sees it finds the VRRP one already there.
    if let Err(e) = pidfile::write(&settings.pid_file, pid) {
        warn!(
            "Unable to write pid file {}: {e}",
            settings.pid_file.display()
        );
    } else {
        written.push(settings.pid_file.clone());
    }

    let mut checkers = start_checkers(&model, &settings, Default::default());
    // `lvs_sync_daemon` without an instance: the checker side's master and backup daemons.
    let mut checker_syncd = syncd::CheckerSyncd::default();
    if checkers.is_some() {
        info!("Starting Healthcheck child process, pid={pid}");
        checker_syncd.start(&model);
    }
    info!("Startup complete");
    // Debian's unit is Type=notify with --dont-fork: tell systemd we are up (a no-op without
    // NOTIFY_SOCKET).
    if settings.dont_fork {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    }

    // Once start-up has settled (instances through their first transition and its GARP
    // bursts), give back the pages only that used (see `memory`).
    let mut release_at = Some(crate::sys::clock::now() + memory::RELEASE_AFTER);
    loop {
        let now = crate::sys::clock::now();
        if release_at.is_some_and(|t| now >= t) {
            release_at = None;
            memory::release_startup_memory();
        }
        // Sleep until a signal (a subsystem thread ending sends SIG_THREAD_ENDED), or the
        // release point.
        let wait = release_at.map_or(Duration::from_secs(3600), |t| {
            t.saturating_duration_since(now) + Duration::from_millis(1)
        });
        let timeout = libc::timespec {
            tv_sec: wait.as_secs() as libc::time_t,
            tv_nsec: wait.subsec_nanos() as libc::c_long,
        };
        // SAFETY: sigtimedwait on a signal set we built; a null siginfo is allowed.
        let sig = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &timeout) };
        match sig {
            libc::SIGTERM | libc::SIGINT => {
                info!("Stopping");
                break;
            }
            // A burst of SIGHUPs coalesces: those arriving during a reload stay one pending
            // signal, taken by the next turn (one more reload, of the newest file).
            libc::SIGHUP => reload(
                &settings,
                &mut model,
                ctl.as_ref(),
                aux.as_mut(),
                &mut checkers,
                &mut checker_syncd,
            ),
            dump::SIG_DATA | dump::SIG_STATS | dump::SIG_JSON | dump::SIG_STATS_CLEAR => {
                let umask = settings.umask.unwrap_or(crate::cli::DEFAULT_UMASK);
                dump::on_signal(sig, &model, ctl.as_ref(), umask);
            }
            _ => {
                if sig == SIG_THREAD_ENDED {
                    // Sent just before the thread returns: give it a moment to be done.
                    let end = crate::sys::clock::now() + Duration::from_secs(1);
                    let done = |v: &Option<std::thread::JoinHandle<_>>, c: &Option<Checkers>| {
                        v.as_ref().is_some_and(|h| h.is_finished())
                            || c.as_ref().is_some_and(|c| c.thread.is_finished())
                    };
                    while !done(&vrrp_thread, &checkers) && crate::sys::clock::now() < end {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                if vrrp_thread.as_ref().is_some_and(|h| h.is_finished()) {
                    warn!("VRRP child process({pid}) died: Exiting");
                    break;
                }
                // The checker side ended on its own (IPVS unusable): say why now; VRRP goes on.
                if checkers.as_ref().is_some_and(|c| c.thread.is_finished()) {
                    if let Some(c) = checkers.take() {
                        c.end(lvs::StopMode::Stop);
                    }
                }
            }
        }
    }
    if settings.dont_fork {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    }
    if let Some(c) = ctl {
        c.stop();
    }
    let mut status = 0;
    if let Some(h) = vrrp_thread {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!("VRRP stopped with an error: {e}");
                status = 1;
            }
            Err(_) => status = 1,
        }
    }
    if let Some(a) = aux {
        a.shutdown();
    }
    if let Some(c) = checkers {
        c.end(lvs::StopMode::Stop);
    }
    checker_syncd.stop();
    // Let the last adverts leave before the sockets close with the process.
    std::thread::sleep(Duration::from_millis(10));
    for p in &written {
        pidfile::remove_if_ours(p, pid);
    }
    if settings.log_detail {
        info!("{}", cpu_usage_line());
    }
    info!("Stopped {KEEPALIVED_VERSION_STRING}");
    status
}
pub mod lvs;

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_is_wrapped_like_keepalived_s() {
        // From the 2.2.7 capture (two-node-A/log.txt).
        let args = "'keepalived' '-n' '-l' '-D' '-G' '-P' '-f' 'A/keepalived.conf' '-p' 'A/k.pid' '-r' 'A/v.pid' '-c' 'A/c.pid' '-b' 'A/b.pid'";
        assert_eq!(
            super::wrapped_option_lines("Command line", args),
            [
                "Command line: 'keepalived' '-n' '-l' '-D' '-G' '-P' '-f' 'A/keepalived.conf' '-p' 'A/k.pid' '-r'",
                "              'A/v.pid' '-c' 'A/c.pid' '-b' 'A/b.pid'",
            ]
        );
        assert_eq!(
            super::wrapped_option_lines("Command line", "'keepalived' '-n'"),
            ["Command line: 'keepalived' '-n'"]
        );
    }
}
