//! The healthchecker driver (keepalived's `Keepalived_healthcheckers` process): programs IPVS
//! from the configuration, runs every checker as its own tokio task (each bounded by its own
//! timeouts, so one slow real server delays no other check), feeds the outcomes to the pure
//! core ([`crate::check::core::Lvs`]) and carries out what it decides: IPVS changes (through
//! `ipvs::plan` against a shadow of what we programmed), log lines, notify scripts, FIFO lines.
//!
//! Services that we did not create are never touched; ours are removed at stop unless
//! `--dont-release-ipvs`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::check::core::{Action, Carry, CheckerId, Lvs, Outcome};
use crate::check::probe::{self, TlsConfigs};
use crate::ipvs::desired::{self, LvsConfig};
use crate::ipvs::plan::{plan, Op, Table};
use crate::ipvs::{Client, ServiceKey, Timeouts};
use crate::model::{Config, Script};
use crate::sys::clock;

/// Runs the healthchecker until `stop` turns true. Blocking: owns its own multi-thread tokio
/// runtime. Errors only when IPVS cannot be used at all.
pub fn run(
    cfg: Arc<Config>,
    settings: &crate::cli::Settings,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (tx, rx) = watch::channel(StopMode::Running);
    let mut stop = stop;
    let rt = runtime()?;
    rt.spawn(async move {
        loop {
            if *stop.borrow_and_update() {
                let _ = tx.send(StopMode::Stop);
                return;
            }
            if stop.changed().await.is_err() {
                let _ = tx.send(StopMode::Stop);
                return;
            }
        }
    });
    rt.block_on(drive_with(cfg, options(settings), Takeover::default(), rx))
        .map(|_| ())
}

/// How the driver is asked to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    Running,
    /// Shut down: omega notifies, our services removed (unless `--dont-release-ipvs`).
    Stop,
    /// A reload: end without touching IPVS; the next driver adopts the table.
    Handover,
}

/// What a checker side hands to its successor at a reload.
#[derive(Debug, Clone, Default)]
pub struct Takeover {
    /// The services it programmed: those the new configuration no longer has are removed,
    /// the others are corrected in place by a delta (untouched ones keep their connections
    /// and counters).
    pub services: BTreeSet<ServiceKey>,
    /// Its real-server and checker states, so that a failed real server stays out and a
    /// healthy one is not re-added (keepalived's `migrate_checkers`).
    pub state: Carry,
    /// What it programmed into those services (its shadow of the kernel): the successor plans
    /// against it instead of dumping the whole kernel table, as keepalived diffs its old
    /// configuration. `None`: read the kernel.
    pub programmed: Option<Table>,
}

impl Takeover {
    /// Only the services (a previous checker side that left no state).
    pub fn services(services: BTreeSet<ServiceKey>) -> Takeover {
        Takeover {
            services,
            state: Carry::default(),
            programmed: None,
        }
    }
}

/// [`run`] for a daemon that reloads: takes over what a previous checker side left (see
/// [`Takeover`]), and `stop` can hand over to the next one instead of releasing, in which case
/// it returns what that one takes over.
pub fn run_reloadable(
    cfg: Arc<Config>,
    settings: &crate::cli::Settings,
    takeover: Takeover,
    stop: watch::Receiver<StopMode>,
) -> anyhow::Result<Option<Takeover>> {
    runtime()?.block_on(drive_with(cfg, options(settings), takeover, stop))
}

/// The services a configuration makes ours (what a later driver adopts at reload).
pub fn owned_services(cfg: &Config) -> BTreeSet<ServiceKey> {
    desired::build(cfg)
        .virtual_servers
        .iter()
        .flat_map(|v| v.keys.iter().copied())
        .collect()
}

fn options(settings: &crate::cli::Settings) -> Options {
    Options {
        release_on_stop: !settings.dont_release_ipvs,
        log_detail: settings.log_detail,
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ka-check")
        .enable_all()
        .build()
}

/// What the driver needs from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Remove our services at stop (keepalived without `-I`).
    pub release_on_stop: bool,
    /// `-D`: keepalived's detail lines too.
    pub log_detail: bool,
}

/// keepalived-style warnings about what this configuration uses that we do not do (yet), and
/// the corrections keepalived makes. Logged at start-up.
pub fn startup_warnings(cfg: &Config, lvs: &LvsConfig) -> Vec<String> {
    let mut w = lvs.warnings.clone();
    for vs in &cfg.virtual_servers {
        if vs.ha_suspend {
            w.push(
                "ha_suspend: checkers follow the virtual address being local, polled every second"
                    .into(),
            );
        }
    }
    w
}

/// `lvs_timeouts tcp N tcpfin N udp N`.
fn lvs_timeouts(cfg: &Config) -> Option<Timeouts> {
    let args = cfg.global.parsed.get("global_defs/lvs_timeouts")?.last()?;
    let mut t = Timeouts::default();
    let mut it = args.iter();
    while let Some(k) = it.next() {
        let v: u32 = it.next()?.parse().ok()?;
        match k.as_str() {
            "tcp" => t.tcp = v,
            "tcpfin" => t.tcp_fin = v,
            "udp" => t.udp = v,
            _ => return None,
        }
    }
    Some(t)
}

/// The FIFOs LVS lines go to (`notify_fifo`, `lvs_notify_fifo`).
struct Fifos(Vec<File>);

impl Fifos {
    fn open(cfg: &Config) -> Fifos {
        let mut v = Vec::new();
        for s in [&cfg.global.notify_fifo, &cfg.global.lvs_notify_fifo]
            .into_iter()
            .flatten()
        {
            let Some(path) = s.args.first() else { continue };
            if !std::path::Path::new(path).exists() {
                if let Err(e) = nix::unistd::mkfifo(
                    path.as_str(),
                    nix::sys::stat::Mode::from_bits_truncate(0o600),
                ) {
                    tracing::warn!("Unable to create notify FIFO {path}: {e}");
                    continue;
                }
            }
            // read-write so that opening never fails for want of a reader; non-blocking so a
            // full FIFO never stalls the checker (keepalived ignores EAGAIN too)
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
            {
                Ok(f) => v.push(f),
                Err(e) => tracing::warn!("Unable to open notify FIFO {path}: {e}"),
            }
        }
        Fifos(v)
    }

    fn write(&mut self, line: &str) {
        // keepalived writes the terminating NUL of its buffer too
        let mut b = line.as_bytes().to_vec();
        b.push(0);
        for f in &mut self.0 {
            let _ = f.write(&b);
        }
    }
}

/// SMTP alerts, when `smtp_server` and `notification_email` are configured.
struct Mail {
    mailer: Option<crate::notify::smtp::Mailer>,
    queued: u64,
}

impl Mail {
    fn new(cfg: &Config) -> Mail {
        let host = crate::config::host::SystemHost;
        let name = crate::config::host::Host::hostname(&host);
        let mailer = crate::notify::smtp::SmtpSettings::from_globals(&cfg.global, &name)
            .map(|s| crate::notify::smtp::Mailer::new(s, tokio::runtime::Handle::current()));
        Mail { mailer, queued: 0 }
    }

    fn send(&mut self, a: &crate::notify::smtp::Alert) {
        if let Some(m) = &self.mailer {
            m.send(a);
            self.queued += 1;
        }
    }

    /// Gives the mails queued at shutdown up to `max` to go out.
    async fn flush(&self, max: Duration) {
        let Some(m) = &self.mailer else { return };
        let deadline = clock::now() + max;
        while m.sent() + m.failed() < self.queued && clock::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Runs a notify script with exactly its arguments; fire and forget. Through [`crate::exec`],
/// so it gets keepalived's child set-up (default signals, empty mask: the daemon's threads
/// block SIGTERM and friends), its own process group and the configured user.
fn run_script(s: &Script) {
    let Some(prog) = s.args.first() else { return };
    let creds = match &s.user {
        Some(u) => crate::exec::resolve_user(u, s.group.as_deref())
            .unwrap_or_else(|_| crate::exec::Credentials::current()),
        None => crate::exec::Credentials::current(),
    };
    let cmd = crate::exec::Command::new(s.args.clone(), creds);
    match crate::exec::spawn(&cmd) {
        Ok(mut child) => {
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
        Err(e) => tracing::warn!("Unable to run notify script {prog}: {e}"),
    }
}

/// Applies ops (batched: many requests per send, each answer matched to its op), logging
/// each refusal as keepalived does, at its priority (LOG_INFO). Returns how many failed.
fn apply(client: &mut Client, ops: &[Op]) -> usize {
    let mut failed = 0;
    for (op, r) in ops.iter().zip(client.apply_batch(ops)) {
        if let Err(e) = r {
            failed += 1;
            tracing::info!("{}", crate::ipvs::error::log_line(op, &e));
        }
    }
    failed
}

/// Is `addr` configured on this machine? (binding to it succeeds only then)
fn is_local(addr: IpAddr) -> bool {
    std::net::UdpSocket::bind((addr, 0)).is_ok()
}

/// The driver loop (also used directly by tests, with a stop channel).
pub async fn drive(
    cfg: Arc<Config>,
    opts: Options,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (tx, rx) = watch::channel(StopMode::Running);
    let bridge = async move {
        loop {
            if *stop.borrow_and_update() || stop.changed().await.is_err() {
                let _ = tx.send(StopMode::Stop);
                return;
            }
        }
    };
    let (r, ()) = tokio::join!(drive_with(cfg, opts, Takeover::default(), rx), bridge);
    r.map(|_| ())
}

/// [`drive`] taking over from a previous checker side, with a hand-over stop (see
/// [`run_reloadable`]): returns what the next one takes over when it hands over.
pub async fn drive_with(
    cfg: Arc<Config>,
    opts: Options,
    takeover: Takeover,
    mut stop: watch::Receiver<StopMode>,
) -> anyhow::Result<Option<Takeover>> {
    let Takeover {
        services: adopt,
        state: carried,
        programmed,
    } = takeover;
    let mut lvs_cfg = desired::build(&cfg);
    for w in startup_warnings(&cfg, &lvs_cfg) {
        tracing::warn!("{w}");
    }
    // FILE_CHECK: keepalived reads the track files before it programs IPVS
    let (msgs, track_files) = crate::check::files::read_initial(&mut lvs_cfg);
    for m in msgs {
        tracing::warn!("{m}");
    }
    // keepalived's checker says so as it opens IPVS (debug level, shown with -l/-D)
    let reload = !adopt.is_empty() || !carried.is_empty();
    tracing::info!("{}nitializing ipvs", if reload { "Rei" } else { "I" });
    let mut client = tokio::task::block_in_place(Client::connect)?;
    if cfg.global.lvs_flush {
        if let Err(e) = client.flush() {
            tracing::error!("IPVS: {e}");
        }
    }
    if let Some(t) = lvs_timeouts(&cfg) {
        if let Err(e) = client.set_timeouts(t) {
            tracing::error!("IPVS: {e}");
        }
    }
    let tls = match TlsConfigs::from_ssl(cfg.ssl.as_ref()) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("{e} - SSL_GET checks run without a client certificate");
            TlsConfigs::new()?
        }
    };
    let seed = clock::wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ std::process::id() as u64;
    let pings = lvs_cfg
        .virtual_servers
        .iter()
        .flat_map(|v| &v.reals)
        .flat_map(|r| &r.checkers)
        .any(|c| matches!(c.probe, crate::check::spec::Probe::Ping));
    let ping_range = if pings {
        probe::widen_ping_group_range()
    } else {
        None
    };
    let mut core = if carried.is_empty() {
        Lvs::new(lvs_cfg, clock::now(), seed)
    } else {
        Lvs::reloaded(lvs_cfg, clock::now(), seed, &carried)
    };
    core.set_log_detail(opts.log_detail);

    // Program the start-up table: create or correct our services, leave others alone.
    let desired = core.table();
    let owned: BTreeSet<ServiceKey> = desired.services.keys().copied().collect();
    let actual = match programmed {
        Some(prev) => {
            tokio::task::block_in_place(|| known_table(&mut client, prev, &adopt, &desired))?
        }
        None => tokio::task::block_in_place(|| client.table())?,
    };
    let ops = plan(&desired, &actual, &owned.union(&adopt).copied().collect());
    let failed = tokio::task::block_in_place(|| apply(&mut client, &ops));
    let mut shadow = if failed == 0 {
        desired
    } else {
        tokio::task::block_in_place(|| client.table()).unwrap_or(desired)
    };
    core.take_dirty();

    // ha_suspend: which virtual servers follow their VIP
    let suspendable: Vec<(usize, Vec<IpAddr>)> = core
        .config()
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|(_, v)| v.ha_suspend)
        .map(|(i, v)| {
            let addrs = v
                .keys
                .iter()
                .filter_map(|k| match k {
                    ServiceKey::Addr { addr, .. } => Some(*addr),
                    _ => None,
                })
                .collect();
            (i, addrs)
        })
        .collect();
    let mut suspended = vec![false; core.config().virtual_servers.len()];
    let check_suspend = |core: &mut Lvs, suspended: &mut Vec<bool>| {
        for (vi, addrs) in &suspendable {
            let present = addrs.iter().any(|a| is_local(*a));
            if suspended[*vi] == present {
                suspended[*vi] = !present;
                core.set_enabled(*vi, present);
            }
        }
    };
    check_suspend(&mut core, &mut suspended);

    let mut fifos = Fifos::open(&cfg);
    let mut mail = Mail::new(&cfg);
    let (tx, mut rx) = mpsc::unbounded_channel::<(CheckerId, Outcome)>();
    let mut files =
        crate::check::files::FileWatch::start(track_files, super::auxiliary::TRACK_FILE_PERIOD);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        while let Some(a) = core.poll_action() {
            match a {
                Action::Probe(id) => {
                    let spec = core.probe_spec(id);
                    let tls = tls.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let outcome = probe::run(&spec, &tls).await;
                        let _ = tx.send((id, outcome));
                    });
                }
                Action::Log(l) => tracing::info!("{l}"),
                Action::Run(s) => run_script(&s),
                Action::Fifo(l) => fifos.write(&l),
                Action::Alert(a) => mail.send(&a),
            }
        }
        let dirty = core.take_dirty();
        if !dirty.is_empty() {
            let mut want = Table::new();
            for vi in &dirty {
                core.vs_table(*vi, &mut want);
            }
            let keys: BTreeSet<ServiceKey> = want.services.keys().copied().collect();
            let mut have = Table::new();
            for k in &keys {
                if let Some(vs) = shadow.services.get(k) {
                    have.services.insert(*k, vs.clone());
                }
            }
            let ops = plan(&want, &have, &keys);
            let failed = tokio::task::block_in_place(|| apply(&mut client, &ops));
            if failed == 0 {
                for (k, v) in want.services {
                    shadow.services.insert(k, v);
                }
            } else if let Ok(t) = tokio::task::block_in_place(|| client.table()) {
                shadow = t;
            }
        }

        let deadline = core.poll_timeout();
        tokio::select! {
            r = stop.changed() => {
                let mode = *stop.borrow();
                if r.is_err() || mode != StopMode::Running {
                    if mode == StopMode::Handover {
                        // the log lines and scripts already decided, then the state
                        flush_actions(&mut core, &mut fifos, &mut mail);
                        mail.flush(Duration::from_secs(2)).await;
                        probe::restore_ping_group_range(ping_range);
                        shadow.services.retain(|k, _| owned.contains(k));
                        return Ok(Some(Takeover {
                            services: owned,
                            state: core.into_carry(),
                            programmed: Some(shadow),
                        }));
                    }
                    break;
                }
            }
            Some((id, outcome)) = rx.recv() => {
                core.handle_result(clock::now(), id, outcome);
            }
            Some((name, value)) = files.next() => {
                core.track_file(&name, value);
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            } => {
                core.handle_timeout(clock::now());
            }
            _ = tick.tick(), if !suspendable.is_empty() => {
                check_suspend(&mut core, &mut suspended);
            }
        }
    }

    // Stop: keepalived's shutdown lines and omega notifies, then release our services.
    core.shutdown();
    flush_actions(&mut core, &mut fifos, &mut mail);
    mail.flush(Duration::from_secs(2)).await;
    probe::restore_ping_group_range(ping_range);
    if opts.release_on_stop {
        let ops: Vec<Op> = owned
            .iter()
            .filter(|k| shadow.services.contains_key(k))
            .map(|k| Op::DelService(*k))
            .collect();
        tokio::task::block_in_place(|| apply(&mut client, &ops));
    }
    Ok(None)
}

/// The part of the kernel table a reloaded driver plans against: the services the previous
/// driver owned as it programmed them (`prev`), and, read from the kernel, any service of the
/// new configuration it did not have (an operator's service with the same address is then
/// seen, as a full dump would). A 1,000-service reload so asks the kernel about the new
/// services only, instead of 1,001 dumps.
fn known_table(
    client: &mut Client,
    prev: Table,
    adopt: &BTreeSet<ServiceKey>,
    desired: &Table,
) -> Result<Table, crate::ipvs::Error> {
    let mut t = prev;
    t.services.retain(|k, _| adopt.contains(k));
    let missing: Vec<ServiceKey> = desired
        .services
        .keys()
        .chain(adopt.iter())
        .filter(|k| !t.services.contains_key(k))
        .copied()
        .collect();
    for k in missing {
        let service = match client.service(&k) {
            Ok(s) => s.service,
            Err(crate::ipvs::Error::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        let dests = client
            .dests(&k)?
            .into_iter()
            .map(|d| (d.dest.key(), d.dest))
            .collect();
        t.services
            .insert(k, crate::ipvs::VirtualService { service, dests });
    }
    Ok(t)
}

/// Carries out the pending actions except probes (at stop or hand-over).
fn flush_actions(core: &mut Lvs, fifos: &mut Fifos, mail: &mut Mail) {
    while let Some(a) = core.poll_action() {
        match a {
            Action::Log(l) => tracing::info!("{l}"),
            Action::Run(s) => run_script(&s),
            Action::Fifo(l) => fifos.write(&l),
            Action::Alert(a) => mail.send(&a),
            Action::Probe(_) => {}
        }
    }
}
