//! Pid files as keepalived 2.2.7 keeps them: `PID\n`, a live process named in one of ours
//! means "daemon is already running", a dead one is a zombie file to remove.

use std::io;
use std::path::Path;

/// What [`check`] found in one pid file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidState {
    Absent,
    /// Names a live process.
    Running(i32),
    /// Named a dead process: removed ("Remove a zombie pid file %s").
    Zombie,
    /// Unreadable contents: removed ("Error reading pid file %s"); keepalived then treats
    /// the daemon as running.
    Unreadable,
}

/// keepalived's `process_running()`.
pub fn check(path: &Path) -> PidState {
    let Ok(text) = std::fs::read_to_string(path) else {
        return PidState::Absent;
    };
    let pid: i32 = match text.split_whitespace().next().and_then(|s| s.parse().ok()) {
        Some(p) if p > 0 => p,
        _ => {
            let _ = std::fs::remove_file(path);
            return PidState::Unreadable;
        }
    };
    // SAFETY: kill with signal 0 only checks for existence.
    if unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    {
        PidState::Running(pid)
    } else {
        let _ = std::fs::remove_file(path);
        PidState::Zombie
    }
}

/// Writes `pid` (mode 0644).
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)?;
    writeln!(f, "{pid}")
}

/// Removes a pid file if it still names us.
pub fn remove_if_ours(path: &Path, pid: u32) {
    if let Ok(t) = std::fs::read_to_string(path) {
        if t.trim() == pid.to_string() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_dead_and_garbage() {
        let dir = std::env::temp_dir().join(format!("vrrpd-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("k.pid");
        assert_eq!(check(&p), PidState::Absent);
        write(&p, std::process::id()).expect("write");
        assert_eq!(check(&p), PidState::Running(std::process::id() as i32));
        // A pid that cannot exist (above pid_max).
        std::fs::write(&p, "99999999\n").expect("write");
        assert_eq!(check(&p), PidState::Zombie);
        assert!(!p.exists());
        std::fs::write(&p, "x\n").expect("write");
        assert_eq!(check(&p), PidState::Unreadable);
        assert!(!p.exists());
        write(&p, 1).expect("write");
        remove_if_ours(&p, std::process::id());
        assert!(p.exists(), "not ours: kept");
        write(&p, std::process::id()).expect("write");
        remove_if_ours(&p, std::process::id());
        assert!(!p.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
