//! Running keepalived "scripts": `vrrp_script`, `notify*`, `*_fifo_script`, `MISC_CHECK`.
//!
//! What a script gets, as keepalived 2.2.7 gives it (lib/notify.c `system_call_script()`):
//! * the configured argv, already split by `config::lexer::command_words` (keepalived's
//!   `alloc_strvec_quoted_escaped`), exec'd directly, no shell, environment inherited;
//! * only when `argv[0]` starts with `<` or `>` (keepalived's "redirection only" test scripts),
//!   or the file has no `#!` and the kernel refuses it (ENOEXEC; keepalived detects that with
//!   libmagic), it goes through `/bin/sh -c` with keepalived's quoting ([`cmd_str`]);
//! * uid/gid of the script's `USER [GROUP]`, else `script_user`, else `keepalived_script` if
//!   that user exists, else keepalived's own (see [`default_credentials`]); supplementary groups
//!   reduced to the one gid (when we are root);
//! * its own process group (so a timeout kills everything it started), default signal
//!   dispositions and an empty signal mask, SIGTERM as parent-death signal, stdin/stdout/stderr
//!   on /dev/null;
//! * on timeout: SIGTERM to the group, SIGKILL to the group [`TERM_GRACE`] (2 s) later, and a
//!   SIGKILL to the group after a SIGTERM-induced exit so its children die too
//!   (vrrp_scheduler.c `vrrp_script_child_thread()`). The child is always reaped.

pub mod vrrp_script;

use crate::model::{GlobalDefs, Script};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The name keepalived looks for when no `script_user` is configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Time between SIGTERM and SIGKILL for a script that overran its timeout (keepalived's 2 s).
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// Who a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
}

impl Credentials {
    /// Our own effective uid/gid (keepalived's `our_uid`/`our_gid`).
    pub fn current() -> Credentials {
        Credentials {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        }
    }
}

/// Why a script cannot be prepared or started.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("Script user '{0}' does not exist")]
    NoUser(String),
    #[error("Script group '{0}' does not exist")]
    NoGroup(String),
    #[error("Unable to resolve script username '{0}' - {1}")]
    UserLookup(String, nix::Error),
    #[error("Unable to resolve script group name '{0}' - {1}")]
    GroupLookup(String, nix::Error),
    #[error("empty script command")]
    Empty,
    #[error("Error exec-ing command '{cmd}', error {errno}: {source}")]
    Spawn {
        cmd: String,
        errno: i32,
        source: io::Error,
    },
}

/// Resolves `USER [GROUP]` the way keepalived's `set_uid_gid()` does: the user's uid and primary
/// gid, the gid replaced by GROUP's when given.
pub fn resolve_user(user: &str, group: Option<&str>) -> Result<Credentials, ExecError> {
    let pw = nix::unistd::User::from_name(user)
        .map_err(|e| ExecError::UserLookup(user.to_string(), e))?
        .ok_or_else(|| ExecError::NoUser(user.to_string()))?;
    let mut creds = Credentials {
        uid: pw.uid.as_raw(),
        gid: pw.gid.as_raw(),
    };
    if let Some(g) = group {
        let gr = nix::unistd::Group::from_name(g)
            .map_err(|e| ExecError::GroupLookup(g.to_string(), e))?
            .ok_or_else(|| ExecError::NoGroup(g.to_string()))?;
        creds.gid = gr.gid.as_raw();
    }
    Ok(creds)
}

/// The default script user (keepalived's `get_default_script_user()` after global_defs):
/// `script_user` when configured (an error if it does not resolve: keepalived then refuses every
/// script without its own user), else `keepalived_script` if it exists, else ourselves.
pub fn default_credentials(
    script_user: Option<&(String, Option<String>)>,
) -> Result<Credentials, ExecError> {
    match script_user {
        Some((u, g)) => resolve_user(u, g.as_deref()),
        None => match resolve_user(DEFAULT_SCRIPT_USER, None) {
            Ok(c) => Ok(c),
            Err(_) => Ok(Credentials::current()),
        },
    }
}

/// A script ready to run: argv and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    pub creds: Credentials,
}

impl Command {
    pub fn new(argv: Vec<String>, creds: Credentials) -> Command {
        Command { argv, creds }
    }

    /// A configured script with its credentials: its own `USER [GROUP]`, else the default.
    pub fn from_script(script: &Script, global: &GlobalDefs) -> Result<Command, ExecError> {
        Command::from_parts(script, None, global)
    }

    /// Like `from_script`, with a fallback user (a `vrrp_script`'s `user` keyword) that comes
    /// before the global default.
    pub fn from_parts(
        script: &Script,
        fallback_user: Option<(&str, Option<&str>)>,
        global: &GlobalDefs,
    ) -> Result<Command, ExecError> {
        if script.args.is_empty() {
            return Err(ExecError::Empty);
        }
        let creds = match (&script.user, fallback_user) {
            (Some(u), _) => resolve_user(u, script.group.as_deref())?,
            (None, Some((u, g))) => resolve_user(u, g)?,
            (None, None) => default_credentials(global.script_user.as_ref())?,
        };
        Ok(Command {
            argv: script.args.clone(),
            creds,
        })
    }

    /// This command with `extra` appended to its argv (generic `notify`, `*_fifo_script`).
    pub fn with_args<I, S>(&self, extra: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut c = self.clone();
        c.argv.extend(extra.into_iter().map(Into::into));
        c
    }

    /// keepalived's one-line rendering (`cmd_str()`), used for `/bin/sh -c`.
    pub fn cmd_str(&self) -> String {
        cmd_str(&self.argv)
    }

    /// Whether keepalived hands this one to `system()` rather than `execve()`.
    fn needs_shell(&self) -> bool {
        self.argv
            .first()
            .is_some_and(|a| a.starts_with('<') || a.starts_with('>'))
    }
}

/// keepalived's `cmd_str_r()`: words joined by spaces, each in single quotes, except a first
/// word starting with `<` or `>` (a redirection-only test). Quotes inside words are not escaped
/// (keepalived does not either).
pub fn cmd_str(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let quote = i > 0 || !(a.starts_with('<') || a.starts_with('>'));
        if quote {
            out.push('\'');
        }
        out.push_str(a);
        if quote {
            out.push('\'');
        }
    }
    out
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Exited with this status (also after our SIGTERM, if the script caught it and exited:
    /// keepalived then uses the status too).
    Code(i32),
    /// Killed by a signal we did not send, or by one we sent for another reason.
    Signal(i32),
    /// Overran its time limit and died of the SIGTERM/SIGKILL we sent.
    TimedOut,
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }

    fn from_status(st: ExitStatus) -> Exit {
        match (st.code(), st.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(s)) => Exit::Signal(s),
            // Neither: cannot happen for a reaped child; call it a failure.
            (None, None) => Exit::Code(-1),
        }
    }
}

/// What to do when a run overruns its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// SIGTERM to the group, SIGKILL to the group `grace` later (vrrp_script, MISC_CHECK).
    TermThenKill { grace: Duration },
    /// SIGKILL to the group at once (notify STOP scripts at shutdown: keepalived's 1 s timer).
    Kill,
}

impl OnTimeout {
    /// keepalived's vrrp_script behaviour.
    pub const fn term_then_kill() -> OnTimeout {
        OnTimeout::TermThenKill { grace: TERM_GRACE }
    }
}

fn signal_group(pgid: i32, sig: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) has no memory-safety preconditions. ESRCH (group already gone) is fine.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// Sends SIGKILL to a script's process group when a run is abandoned (its future dropped), so a
/// cancelled run never leaves processes behind. tokio reaps the dropped child.
struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, libc::SIGKILL);
        }
    }
}

/// Starts `cmd` (see the module docs for the child's environment). The child is its own process
/// group leader: its pid is the group id.
pub fn spawn(cmd: &Command) -> Result<tokio::process::Child, ExecError> {
    if cmd.argv.is_empty() {
        return Err(ExecError::Empty);
    }
    let err = |e: io::Error| ExecError::Spawn {
        cmd: cmd.argv[0].clone(),
        errno: e.raw_os_error().unwrap_or(0),
        source: e,
    };
    if cmd.needs_shell() {
        return build(cmd, true).spawn().map_err(err);
    }
    match build(cmd, false).spawn() {
        Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => build(cmd, true).spawn().map_err(err),
        r => r.map_err(err),
    }
}

fn build(cmd: &Command, shell: bool) -> tokio::process::Command {
    let mut c = if shell {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(cmd.cmd_str());
        c
    } else {
        let mut c = tokio::process::Command::new(&cmd.argv[0]);
        c.args(&cmd.argv[1..]);
        c
    };
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    let Credentials { uid, gid } = cmd.creds;
    let our = Credentials::current();
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
    // system calls (sigaction, sigprocmask, setgid, setgroups, setuid, prctl, getppid); it
    // allocates nothing.
    unsafe {
        c.pre_exec(move || child_setup(uid, gid, our));
    }
    c
}

fn child_setup(uid: u32, gid: u32, our: Credentials) -> io::Result<()> {
    // SAFETY: plain system calls on values owned by this frame (see `build`).
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        for sig in 1..=libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

        if gid != our.gid && libc::setgid(gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        // keepalived clears supplementary groups to the script's gid; only root may.
        if our.uid == 0 {
            let g: libc::gid_t = gid;
            if libc::setgroups(1, &g) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if uid != our.uid && libc::setuid(uid) != 0 {
            return Err(io::Error::last_os_error());
        }
        // If we die, the script gets SIGTERM (keepalived: PR_SET_PDEATHSIG).
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    Ok(())
}

/// Runs `cmd` to completion, or until `limit` elapses and `on_timeout` has killed it; always
/// reaps. `terminating`, when given, is set while the run is being killed (for keepalived's
/// "is being timed out" wording). Dropping the returned future SIGKILLs the script's group.
pub async fn run(
    cmd: &Command,
    limit: Option<Duration>,
    on_timeout: OnTimeout,
    terminating: Option<&AtomicBool>,
) -> Result<Exit, ExecError> {
    let never = std::future::pending::<()>();
    run_cancellable(cmd, limit, on_timeout, terminating, never, OnTimeout::Kill)
        .await
        .map(|(e, _)| e)
}

/// Like [`run`], and when `cancel` completes first the script is ended with `on_cancel` (and
/// reaped); the flag says whether that happened.
pub async fn run_cancellable<F: std::future::Future<Output = ()>>(
    cmd: &Command,
    limit: Option<Duration>,
    on_timeout: OnTimeout,
    terminating: Option<&AtomicBool>,
    cancel: F,
    on_cancel: OnTimeout,
) -> Result<(Exit, bool), ExecError> {
    let mut child = spawn(cmd)?;
    let pgid = child.id().map(|p| p as i32).unwrap_or(0);
    let mut guard = GroupGuard { pgid, armed: true };
    let wait_err = |e: io::Error| ExecError::Spawn {
        cmd: cmd.argv[0].clone(),
        errno: e.raw_os_error().unwrap_or(0),
        source: e,
    };
    let deadline = async {
        match limit {
            Some(l) => tokio::time::sleep(l).await,
            None => std::future::pending::<()>().await,
        }
    };
    enum Why {
        Done(io::Result<ExitStatus>),
        Timeout,
        Cancel,
    }
    let why = tokio::select! {
        st = child.wait() => Why::Done(st),
        _ = deadline => Why::Timeout,
        _ = cancel => Why::Cancel,
    };
    let (policy, cancelled) = match why {
        Why::Done(st) => {
            guard.armed = false;
            return Ok((Exit::from_status(st.map_err(wait_err)?), false));
        }
        Why::Timeout => (on_timeout, false),
        Why::Cancel => (on_cancel, true),
    };
    if let Some(t) = terminating {
        t.store(true, Ordering::Relaxed);
    }
    let exit = kill_overrun(&mut child, pgid, policy).await;
    if let Some(t) = terminating {
        t.store(false, Ordering::Relaxed);
    }
    guard.armed = false;
    Ok((exit.map_err(wait_err)?, cancelled))
}

/// keepalived's termination sequence for an overrun script, and its classification of the
/// result (`vrrp_script_child_thread()`).
async fn kill_overrun(
    child: &mut tokio::process::Child,
    pgid: i32,
    on_timeout: OnTimeout,
) -> io::Result<Exit> {
    match on_timeout {
        OnTimeout::TermThenKill { grace } => {
            signal_group(pgid, libc::SIGTERM);
            match tokio::time::timeout(grace, child.wait()).await {
                Ok(st) => {
                    let st = st?;
                    if st.signal() == Some(libc::SIGTERM) {
                        // Make sure whatever it started dies too.
                        signal_group(pgid, libc::SIGKILL);
                        return Ok(Exit::TimedOut);
                    }
                    Ok(Exit::from_status(st))
                }
                Err(_) => {
                    signal_group(pgid, libc::SIGKILL);
                    let st = child.wait().await?;
                    match st.signal() {
                        Some(s) if s == libc::SIGKILL || s == libc::SIGTERM => Ok(Exit::TimedOut),
                        _ => Ok(Exit::from_status(st)),
                    }
                }
            }
        }
        OnTimeout::Kill => {
            signal_group(pgid, libc::SIGKILL);
            let st = child.wait().await?;
            match st.signal() {
                Some(s) if s == libc::SIGKILL => Ok(Exit::TimedOut),
                _ => Ok(Exit::from_status(st)),
            }
        }
    }
}

/// Starts `cmd` and forgets it (keepalived's `notify_exec()`), reaping it in the background.
/// Must be called inside a tokio runtime.
pub fn spawn_detached(cmd: &Command) -> Result<u32, ExecError> {
    let mut child = spawn(cmd)?;
    let pid = child.id().unwrap_or(0);
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cmd_str_quotes_every_word_but_a_leading_redirection() {
        assert_eq!(cmd_str(&v(&["/bin/x", "a b", "c"])), "'/bin/x' 'a b' 'c'");
        assert_eq!(
            cmd_str(&v(&["</dev/tcp/127.0.0.1/80", ">x"])),
            "</dev/tcp/127.0.0.1/80 '>x'"
        );
        assert_eq!(cmd_str(&[]), "");
    }

    #[test]
    fn unknown_user_and_group_are_errors_with_keepalived_wording() {
        let e = resolve_user("no_such_user_ka_rs", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Script user 'no_such_user_ka_rs' does not exist"
        );
        let e = resolve_user("root", Some("no_such_group_ka_rs")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Script group 'no_such_group_ka_rs' does not exist"
        );
    }

    #[test]
    fn user_resolves_to_uid_and_primary_gid_group_overrides() {
        let c = resolve_user("root", None).unwrap();
        assert_eq!(c, Credentials { uid: 0, gid: 0 });
        let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
        let nogroup = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(65534))
            .ok()
            .flatten();
        if let (Some(_), Some(g)) = (nobody, nogroup) {
            let c = resolve_user("root", Some(&g.name)).unwrap();
            assert_eq!(c, Credentials { uid: 0, gid: 65534 });
        }
    }

    #[test]
    fn default_user_is_script_user_else_keepalived_script_else_us() {
        let su = ("root".to_string(), None);
        assert_eq!(
            default_credentials(Some(&su)).unwrap(),
            Credentials { uid: 0, gid: 0 }
        );
        let bad = ("no_such_user_ka_rs".to_string(), None);
        assert!(default_credentials(Some(&bad)).is_err());
        let expect = resolve_user(DEFAULT_SCRIPT_USER, None).unwrap_or(Credentials::current());
        assert_eq!(default_credentials(None).unwrap(), expect);
    }

    #[test]
    fn from_parts_prefers_own_user_then_fallback_then_global() {
        let g = GlobalDefs {
            script_user: Some(("root".into(), None)),
            ..Default::default()
        };
        let mut s = Script {
            args: v(&["/bin/true"]),
            user: None,
            group: None,
            security: Default::default(),
        };
        assert_eq!(Command::from_script(&s, &g).unwrap().creds.uid, 0);
        if nix::unistd::User::from_name("nobody")
            .ok()
            .flatten()
            .is_some()
        {
            let c = Command::from_parts(&s, Some(("nobody", None)), &g).unwrap();
            assert_eq!(c.creds.uid, 65534);
            s.user = Some("root".into());
            let c = Command::from_parts(&s, Some(("nobody", None)), &g).unwrap();
            assert_eq!(c.creds.uid, 0);
        }
        s.args.clear();
        assert!(matches!(
            Command::from_script(&s, &g),
            Err(ExecError::Empty)
        ));
    }
}
