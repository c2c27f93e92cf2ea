//! Notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`), as keepalived 2.2.7
//! handles them (lib/notify.c `fifo_open()`/`fifo_close()`, vrrp_notify.c `notify_fifo()`):
//! created with mode 0644 when missing (and then owned by the FIFO's user/group and removed
//! again at close), opened read-write and non-blocking (so opening never waits for a reader and
//! writing never blocks: a full FIFO loses the line, as keepalived ignores EAGAIN), one
//! `write()` per line.

use crate::exec::Credentials;
use crate::vrrp::{Notify, NotifyEvent, NotifyKind, State};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// An open notify FIFO.
#[derive(Debug)]
pub struct Fifo {
    path: PathBuf,
    fd: OwnedFd,
    created: bool,
}

impl Fifo {
    /// Creates the FIFO if it does not exist (chowned to `owner` when that differs from us),
    /// then opens it. Use [`Fifo::create`] + [`Fifo::open_created`] to start a reader script in
    /// between, as keepalived does.
    pub fn open(path: &Path, owner: Option<Credentials>) -> io::Result<Fifo> {
        let created = Fifo::create(path, owner)?;
        Fifo::open_created(path, created)
    }

    /// `mkfifo(path, 0644)`; true if it was created by us, false if something already existed.
    pub fn create(path: &Path, owner: Option<Credentials>) -> io::Result<bool> {
        let c = cpath(path)?;
        // SAFETY: `c` is a valid NUL-terminated path.
        let r = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EEXIST) {
                return Ok(false);
            }
            return Err(e);
        }
        if let Some(o) = owner {
            let our = Credentials::current();
            if o != our {
                let uid = if o.uid != our.uid { o.uid } else { u32::MAX };
                let gid = if o.gid != our.gid { o.gid } else { u32::MAX };
                // SAFETY: valid path; -1 (u32::MAX) leaves an id unchanged.
                if unsafe { libc::chown(c.as_ptr(), uid, gid) } != 0 {
                    tracing::info!("Failed to set uid:gid for fifo {}", path.display());
                }
            }
        }
        Ok(true)
    }

    /// Opens an existing FIFO; `created` says whether to unlink it when closed.
    pub fn open_created(path: &Path, created: bool) -> io::Result<Fifo> {
        let c = cpath(path)?;
        // SAFETY: valid path; the returned fd is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOFOLLOW,
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            if created {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Fifo {
            path: path.to_path_buf(),
            fd,
            created,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` with one `write()`. A full FIFO (EAGAIN) or a short write is an error the
    /// caller may count; keepalived ignores both.
    pub fn write_line(&self, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: writing from a valid slice to an fd we own.
        let n = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                bytes.as_ptr() as *const libc::c_void,
                bytes.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != bytes.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        // keepalived unlinks first, so a reader that reopens in a loop cannot find it again.
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in FIFO path"))
}

/// The state word keepalived uses for a notification (FIFO line, generic `notify` argument);
/// a state it has no word for is `{UNKNOWN}`.
pub fn event_word(ev: NotifyEvent) -> &'static str {
    match ev {
        NotifyEvent::State(State::Init) => "{UNKNOWN}",
        other => other.as_str(),
    }
}

/// A VRRP FIFO line: `INSTANCE "VI_1" MASTER 150\n`, `GROUP "SG1" BACKUP 0\n`.
pub fn vrrp_line(n: &Notify) -> String {
    let kind = match n.kind {
        NotifyKind::Instance => "INSTANCE",
        NotifyKind::Group => "GROUP",
    };
    format!(
        "{kind} \"{}\" {} {}\n",
        n.name,
        event_word(n.event),
        n.priority
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_the_capture() {
        let n = Notify {
            kind: NotifyKind::Group,
            name: "SG1".into(),
            event: NotifyEvent::State(State::Backup),
            priority: 0,
        };
        assert_eq!(vrrp_line(&n), "GROUP \"SG1\" BACKUP 0\n");
        let n = Notify {
            kind: NotifyKind::Instance,
            name: "VI_1".into(),
            event: NotifyEvent::MasterRxLowerPri,
            priority: 90,
        };
        assert_eq!(vrrp_line(&n), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 90\n");
        let n = Notify {
            event: NotifyEvent::State(State::Init),
            ..n
        };
        assert_eq!(vrrp_line(&n), "INSTANCE \"VI_1\" {UNKNOWN} 90\n");
    }
}
