//! Carries out `lvs_sync_daemon` commands ([`crate::vrrp::syncd`]) against the kernel's IPVS,
//! with keepalived's log lines, for both sides: the VRRP driver (a named instance) and the
//! supervisor on behalf of the checker side ([`CheckerSyncd`]: no instance named, both
//! daemons run while virtual servers are configured).

use tracing::{debug, info};

use crate::ipvs::Client;
use crate::model;
use crate::vrrp::syncd::{self, SyncdCmd, SyncdConfig};

/// Opens the IPVS connection for sync-daemon commands (keepalived's `ipvs_start`, with its
/// line when IPVS cannot be used).
pub fn connect() -> Option<Client> {
    match Client::connect() {
        Ok(c) => Some(c),
        Err(e) => {
            info!("IPVS: Can't initialize ipvs: {e}");
            None
        }
    }
}

/// Sends the commands in order; logs the failures keepalived logs.
pub fn execute(client: &mut Client, cmds: Vec<SyncdCmd>) {
    for cmd in cmds {
        let r = match &cmd {
            SyncdCmd::Start { daemon, .. } => client.start_daemon(daemon),
            SyncdCmd::Stop { state, .. } => client.stop_daemon(*state),
        };
        match r {
            Ok(()) => debug!("lvs_sync_daemon: {cmd:?}"),
            Err(e) if cmd.ignore_error() => debug!("lvs_sync_daemon: {cmd:?}: {e}"),
            Err(e) => info!("{}", syncd::error_line(&cmd, e.errno(), &e.to_string())),
        }
    }
}

/// The checker side's sync daemons (keepalived's checker process runs the master and the
/// backup daemon when `lvs_sync_daemon` names no instance). Driven by the supervisor around
/// the checker thread: [`CheckerSyncd::start`] when it starts, [`CheckerSyncd::reload`] when a
/// reload restarts it, [`CheckerSyncd::stop`] when it ends.
#[derive(Default)]
pub struct CheckerSyncd {
    client: Option<Client>,
    /// What the running configuration asks for (`None`: nothing to do, even at stop).
    running: Option<SyncdConfig>,
}

impl CheckerSyncd {
    /// The checker side started on `cfg`.
    pub fn start(&mut self, cfg: &model::Config) {
        self.running = syncd::checker_config(cfg);
        if let Some(c) = &self.running {
            let cmds = syncd::checker_on_start(c);
            self.run(cmds);
        }
    }

    /// The checker side now runs on `cfg` (`checker_runs`: it does at all).
    pub fn reload(&mut self, cfg: &model::Config, checker_runs: bool) {
        let new = syncd::checker_config(cfg).filter(|_| checker_runs);
        let cmds =
            syncd::checker_on_reload(self.running.as_ref(), new.as_ref(), syncd::id_given(cfg));
        self.running = new;
        self.run(cmds);
    }

    /// The checker side ended.
    pub fn stop(&mut self) {
        if self.running.take().is_some() {
            self.run(syncd::checker_on_stop());
        }
    }

    fn run(&mut self, cmds: Vec<SyncdCmd>) {
        if cmds.is_empty() {
            return;
        }
        if self.client.is_none() {
            self.client = connect();
        }
        if let Some(c) = self.client.as_mut() {
            execute(c, cmds);
        }
    }
}
