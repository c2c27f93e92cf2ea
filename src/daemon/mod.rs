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
pub mod log;
pub mod pidfile;
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

/// The checker side (keepalived's `Keepalived_healthcheckers` child), on its own thread.
struct Checkers {
    stop: tokio::sync::watch::Sender<lvs::StopMode>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

/// Starts the checker side when the config has virtual servers and `-P` was not given;
/// `adopt` are the services a previous configuration programmed (at reload).
fn start_checkers(
    model: &model::Config,
    settings: &Settings,
    adopt: std::collections::BTreeSet<crate::ipvs::ServiceKey>,
) -> Option<Checkers> {
    if !settings.run_checkers || model.virtual_servers.is_empty() {
        return None;
    }
    let (stop, rx) = tokio::sync::watch::channel(lvs::StopMode::Running);
    let cfg = std::sync::Arc::new(model.clone());
    let settings = settings.clone();
    match std::thread::Builder::new()
        .name("checkers".into())
        .spawn(move || lvs::run_reloadable(cfg, &settings, adopt, rx))
    {
        Ok(thread) => Some(Checkers { stop, thread }),
        Err(e) => {
            warn!("Unable to start the healthchecker thread: {e}");
            None
        }
    }
}

impl Checkers {
    fn end(self, mode: lvs::StopMode) {
        let _ = self.stop.send(mode);
        match self.thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!("Healthchecker stopped with an error: {e}"),
            Err(_) => warn!("Healthchecker thread panicked"),
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
    model: &mut model::Config,
    ctl: Option<&vrrp::ControlHandle>,
    aux: Option<&mut auxiliary::Aux>,
    checkers: &mut Option<Checkers>,
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
    let new = loaded.model;
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
        c.end(lvs::StopMode::Handover);
        *checkers = start_checkers(&new, settings, lvs::owned_services(model));
    } else {
        *checkers = start_checkers(&new, settings, Default::default());
    }
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

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            libc::sigaddset(&mut s, sig);
        }
        s
    }
}

fn rusage_line() -> String {
    // SAFETY: getrusage fills the structs we own.
    let (s, c) = unsafe {
        let mut s: libc::rusage = std::mem::zeroed();
        let mut c: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut s);
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut c);
        (s, c)
    };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    format!(
        "Stopped - used (self/children) {:.6}/{:.6} user time, {:.6}/{:.6} system time",
        t(s.ru_utime),
        t(c.ru_utime),
        t(s.ru_stime),
        t(c.ru_stime)
    )
}

/// Runs keepalived with these settings until it stops; returns the process exit status.
pub fn run(settings: Settings) -> u8 {
    log::init(&log::LogSetup {
        console: settings.log_console,
        syslog: !settings.no_syslog,
        facility: settings.log_facility.to_libc(),
        ident: "Keepalived_vrrp".into(),
        debug: settings.log_extra_detail,
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
    info!("Command line: {}", quote_args());
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
    let mut model = loaded.model;
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
    if checkers.is_some() {
        info!("Starting Healthcheck child process, pid={pid}");
    }
    // Debian's unit is Type=notify with --dont-fork: tell systemd we are up (a no-op without
    // NOTIFY_SOCKET).
    if settings.dont_fork {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    }

    let timeout = libc::timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    };
    loop {
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
            ),
            libc::SIGUSR1 | libc::SIGUSR2 => {}
            _ => {
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
    // Let the last adverts leave before the sockets close with the process.
    std::thread::sleep(Duration::from_millis(10));
    for p in &written {
        pidfile::remove_if_ours(p, pid);
    }
    info!("{}", rusage_line());
    info!("Stopped {KEEPALIVED_VERSION_STRING}");
    status
}
pub mod lvs;
