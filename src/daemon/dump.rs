//! keepalived's dump signals: SIGUSR1 writes `keepalived.data` (and the parent's
//! `keepalived_parent.data`), SIGUSR2 `keepalived.stats`, signal 36 `keepalived.json`,
//! SIGRTMAX-1 (63) writes the stats and then zeroes the counters. Files go to `$TMPDIR` when it
//! is an absolute path, else `/tmp`, and are written the way keepalived's `fopen_safe` does:
//! a fresh `O_EXCL|O_NOFOLLOW` temporary file, mode `0666 & ~umask`, renamed over the target
//! (so a symlink or a file someone else holds open is never written through). Unlike
//! keepalived we rename after writing, so a reader never sees a half-written file.
//!
//! The VRRP thread supplies the live state ([`vrrp::DumpState`]); the config-only details
//! (notify scripts, `smtp_alert`, script commands, global definitions) come from the model.

use std::ffi::CString;
use std::io::{self, Write as _};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tracing::info;

use super::vrrp::{ControlHandle, DumpState};
use crate::exec::{cmd_str, Command};
use crate::model;
use crate::notify::{self, NotifyScripts};
use crate::vrrp::dump::{self as render, GlobalEnv, ScriptDump, ScriptStateDump};
use crate::vrrp::track::Health;
use crate::vrrp::NotifyKind;

/// keepalived's signal numbers for the dumps (Linux/glibc, as `--signum` prints them).
pub const SIG_DATA: i32 = libc::SIGUSR1;
pub const SIG_STATS: i32 = libc::SIGUSR2;
/// `SIGRTMIN+2` with glibc: the literal 36 the exporters send.
pub const SIG_JSON: i32 = 36;
/// `SIGRTMAX-1` with glibc.
pub const SIG_STATS_CLEAR: i32 = 63;

/// Where the dumps go: `$TMPDIR` if it is absolute, else `/tmp` (keepalived's `tmp_dir`).
pub fn tmp_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if d.as_bytes().first() == Some(&b'/') => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// Writes `contents` to `path` like keepalived's `fopen_safe(path, "w")`: a new temporary
/// file next to it (`O_CREAT|O_EXCL|O_NOFOLLOW`, owner-only), filled, `fchmod` to
/// `0666 & !umask`, then renamed over `path`.
pub fn write_safe(path: &Path, contents: &[u8], umask: u32) -> io::Result<()> {
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for attempt in 0..16u32 {
        let tag = crate::sys::clock::wall_now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            ^ (std::process::id() << 8)
            ^ attempt.wrapping_mul(0x9e37_79b9);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!("{tag:06x}"));
        let tmp = PathBuf::from(tmp);
        let c = CString::new(tmp.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: open(2) with a NUL-terminated path; the descriptor is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd < 0 {
            last = io::Error::last_os_error();
            if last.kind() == io::ErrorKind::AlreadyExists {
                continue;
            }
            return Err(last);
        }
        // SAFETY: fd was just returned by open(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut f = std::fs::File::from(fd);
        let res = f.write_all(contents).and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))
        });
        let res = res.and_then(|()| std::fs::rename(&tmp, path));
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return res;
    }
    Err(last)
}

/// keepalived's `local_name`: the canonical name of `uname -n` (getaddrinfo `AI_CANONNAME`),
/// else the node name.
pub fn local_name() -> String {
    // SAFETY: uname fills the struct we own.
    let node = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        std::ffi::CStr::from_ptr(u.nodename.as_ptr())
            .to_string_lossy()
            .into_owned()
    };
    let Ok(c) = CString::new(node.clone()) else {
        return node;
    };
    // SAFETY: getaddrinfo with a NUL-terminated host, zeroed hints and an out pointer we free.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 {
            return node;
        }
        let name = if !res.is_null() && !(*res).ai_canonname.is_null() {
            std::ffi::CStr::from_ptr((*res).ai_canonname)
                .to_string_lossy()
                .into_owned()
        } else {
            node
        };
        libc::freeaddrinfo(res);
        name
    }
}

fn script_dump(c: &Option<Command>) -> Option<ScriptDump> {
    c.as_ref().map(|c| ScriptDump {
        cmd: cmd_str(&display_argv(&c.argv)),
        uid: c.creds.uid,
        gid: c.creds.gid,
    })
}

fn creds(s: Option<&model::Script>, g: &model::GlobalDefs) -> (u32, u32) {
    let c = match s {
        Some(s) if !s.args.is_empty() => Command::from_script(s, g).map(|c| c.creds),
        _ => crate::exec::default_credentials(g.script_user.as_ref()),
    };
    c.map_or((0, 0), |c| (c.uid, c.gid))
}

/// The global-definitions environment of this process.
pub fn global_env(cfg: &model::Config, umask: u32, vrrp_process: bool) -> GlobalEnv {
    let g = &cfg.global;
    GlobalEnv {
        local_name: local_name(),
        umask,
        show_argv: display_argv,
        script_creds: crate::exec::default_credentials(g.script_user.as_ref())
            .ok()
            .map(|c| (c.uid, c.gid)),
        fifo_creds: [
            creds(g.notify_fifo.as_ref(), g),
            creds(g.vrrp_notify_fifo.as_ref(), g),
            creds(g.lvs_notify_fifo.as_ref(), g),
        ],
        vrrp_process,
    }
}

/// The dumps' content, rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub data: String,
    pub stats: String,
    pub json: String,
}

/// Completes the VRRP thread's state with what only the config knows and renders the three
/// VRRP files.
pub fn render(cfg: &model::Config, mut st: DumpState, env: &GlobalEnv) -> Rendered {
    let g = &cfg.global;
    let (scripts, _) = notify::scripts_from_model(cfg);
    let none = NotifyScripts::default();
    for d in &mut st.instances {
        let mi = cfg.vrrp_instances.iter().find(|i| i.name == d.name);
        let s = scripts
            .get(&(NotifyKind::Instance, d.name.clone()))
            .unwrap_or(&none);
        d.script_master = script_dump(&s.master);
        d.script_backup = script_dump(&s.backup);
        d.script_fault = script_dump(&s.fault);
        d.script_stop = script_dump(&s.stop);
        d.script_deleted = script_dump(&s.deleted);
        d.script = script_dump(&s.generic);
        d.script_master_rx_lower_pri = script_dump(&s.master_rx_lower_pri);
        d.notify_deleted = s.notify_deleted;
        d.smtp_alert = notify::smtp::vrrp_alerts_enabled(mi.and_then(|i| i.smtp_alert), g);
        if let Some(mi) = mi {
            d.dont_track_primary = mi.dont_track_primary;
            d.promote_secondaries = mi.parsed.contains_key("vrrp_instance/promote_secondaries");
        }
        for t in &mut d.track_script {
            t.3 = cfg
                .vrrp_scripts
                .iter()
                .find(|s| s.name == t.0)
                .and_then(|s| s.script.as_ref())
                .map(|s| cmd_str(&display_argv(&s.args)))
                .unwrap_or_default();
        }
    }
    for gd in &mut st.groups {
        let s = scripts
            .get(&(NotifyKind::Group, gd.name.clone()))
            .unwrap_or(&none);
        gd.script_master = script_dump(&s.master);
        gd.script_backup = script_dump(&s.backup);
        gd.script_fault = script_dump(&s.fault);
        gd.script_stop = script_dump(&s.stop);
        gd.script = script_dump(&s.generic);
        let own = cfg
            .vrrp_sync_groups
            .iter()
            .find(|x| x.name == gd.name)
            .and_then(|x| x.smtp_alert);
        gd.smtp_alert = notify::smtp::vrrp_alerts_enabled(own, g);
    }
    let script_states: Vec<ScriptStateDump> = cfg
        .vrrp_scripts
        .iter()
        .map(|s| {
            let state = st
                .scripts
                .iter()
                .find(|(n, _)| *n == s.name)
                .map(|(_, x)| *x);
            let (result, rise, pending) = state.map_or((0, s.rise, true), |x| {
                (x.result(), x.rise(), x.health() == Health::Pending)
            });
            let (uid, gid) = creds(s.script.as_ref(), g);
            ScriptStateDump {
                name: s.name.clone(),
                cmd: s
                    .script
                    .as_ref()
                    .map(|x| cmd_str(&display_argv(&x.args)))
                    .unwrap_or_default(),
                interval: s.interval,
                timeout: s.timeout.unwrap_or_default(),
                weight: s.weight,
                weight_reverse: s.weight_reverse,
                rise: s.rise,
                fall: s.fall,
                result,
                insecure: s
                    .script
                    .as_ref()
                    .is_some_and(|x| x.security == model::ScriptSecurity::Insecure),
                init_state: if pending { "INIT" } else { "unknown" },
                status_good: result >= rise,
                uid,
                gid,
                tracking: st
                    .instances
                    .iter()
                    .flat_map(|i| {
                        i.track_script
                            .iter()
                            .filter(|t| t.0 == s.name)
                            .map(|t| (i.name.clone(), t.1))
                    })
                    .collect(),
                state: "idle".into(),
            }
        })
        .collect();
    let global = render::data_global(cfg, env);
    Rendered {
        data: render::data_file(
            &global,
            &st.instances,
            &st.sockets,
            &st.groups,
            &script_states,
        ),
        stats: render::stats_file(&st.instances),
        json: render::json_file(&st.instances),
    }
}

/// Handles one dump signal the way keepalived's parent and VRRP child do together: the log
/// lines, then the files. `ctl` is `None` when VRRP is not running (only the parent's data is
/// written then).
pub fn on_signal(sig: i32, cfg: &model::Config, ctl: Option<&ControlHandle>, umask: u32) {
    let pid = std::process::id();
    let dir = tmp_dir();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        if let Err(e) = write_safe(&p, text.as_bytes(), umask) {
            info!(
                "Unable to open '{}' - errno {} ({e})",
                p.display(),
                e.raw_os_error().unwrap_or(0)
            );
        }
    };
    if sig == SIG_DATA {
        info!("Printing parent data for process({pid}) on signal");
        write(
            "keepalived_parent.data",
            &render::data_global(cfg, &global_env(cfg, umask, false)),
        );
    }
    let Some(ctl) = ctl else { return };
    // keepalived's VRRP child logs these: same ident here.
    const V: &str = "Keepalived_vrrp";
    match sig {
        SIG_DATA => info!(target: V, "Printing VRRP data for process({pid}) on signal"),
        SIG_STATS => info!(target: V, "Printing VRRP stats for process({pid}) on signal"),
        SIG_STATS_CLEAR => info!(
            target: V,
            "Printing and clearing VRRP stats for process({pid}) on signal"
        ),
        SIG_JSON => info!(target: V, "Printing VRRP as json for process({pid}) on signal"),
        _ => return,
    }
    let Some(st) = ctl.dump(sig == SIG_STATS_CLEAR) else {
        info!("VRRP thread did not answer the dump request");
        return;
    };
    let r = render(cfg, st, &global_env(cfg, umask, true));
    match sig {
        SIG_DATA => write("keepalived.data", &r.data),
        SIG_JSON => write("keepalived.json", &r.json),
        _ => write("keepalived.stats", &r.stats),
    }
}

/// A script's argv as keepalived shows it after its script checks: a bare name found on
/// `PATH`, and the path resolved like `realpath(3)` (keeping the configured file name when it
/// is another name for the same file), e.g. `/bin/true` -> `/usr/bin/true` on a merged /usr.
pub fn display_argv(argv: &[String]) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut v = argv.to_vec();
    let Some(first) = v.first().cloned() else {
        return v;
    };
    if first.starts_with('<') {
        return v;
    }
    let found = if first.contains('/') {
        Some(std::path::PathBuf::from(&first))
    } else {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/bin:/usr/bin".into());
        path.split(':')
            .map(|d| std::path::Path::new(d).join(&first))
            .find(|p| p.is_file())
    };
    let Some(found) = found else { return v };
    let Ok(real) = std::fs::canonicalize(&found) else {
        return v;
    };
    let orig_name = found.file_name();
    let mut shown = real.clone();
    if real.file_name() != orig_name {
        if let (Some(dir), Some(name)) = (real.parent(), orig_name) {
            let alt = dir.join(name);
            let same = match (std::fs::metadata(&real), std::fs::metadata(&alt)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            if same {
                shown = alt;
            }
        }
    }
    v[0] = shown.to_string_lossy().into_owned();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ka-dump-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn write_safe_replaces_and_applies_the_umask() {
        let d = dir("w");
        let p = d.join("keepalived.stats");
        std::fs::write(&p, "old and longer content\n").expect("seed");
        write_safe(&p, b"new\n", 0o177).expect("write");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "new\n");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write_safe(&p, b"x", 0o022).expect("write");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&d).expect("ls").count(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn write_safe_never_writes_through_a_symlink() {
        let d = dir("s");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious\n").expect("seed");
        let p = d.join("keepalived.data");
        std::os::unix::fs::symlink(&victim, &p).expect("symlink");
        write_safe(&p, b"dump\n", 0o177).expect("write");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("read"),
            "precious\n"
        );
        assert!(!std::fs::symlink_metadata(&p)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "dump\n");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn tmp_dir_is_tmpdir_only_when_absolute() {
        // Reads the environment only; the values are checked against the rule.
        let t = tmp_dir();
        match std::env::var_os("TMPDIR") {
            Some(d) if d.as_bytes().first() == Some(&b'/') => assert_eq!(t, PathBuf::from(d)),
            _ => assert_eq!(t, PathBuf::from("/tmp")),
        }
    }
}
