//! IPVS errors: the kernel's errno mapped to what a caller acts on.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// EEXIST: the service or dest is already there.
    #[error("{context}: already exists")]
    Exists { context: String },
    /// ESRCH / ENOENT: no such service or dest (ENOENT also: scheduler or PE module missing).
    #[error("{context}: not found ({})", io::Error::from_raw_os_error(*errno))]
    NotFound { errno: i32, context: String },
    /// Any other errno from the kernel (EINVAL, EPERM, ERANGE, ...).
    #[error("{context}: {}", io::Error::from_raw_os_error(*errno))]
    Other { errno: i32, context: String },
    /// Refused before sending: the kernel would answer EINVAL without saying why.
    #[error("invalid IPVS request: {0}")]
    Invalid(String),
    /// The kernel's answer did not parse. Never a panic.
    #[error("malformed IPVS netlink message: {0}")]
    Malformed(String),
    /// The generic-netlink family "IPVS" is not registered (no ip_vs module).
    #[error("IPVS is not available in this kernel (generic netlink family \"IPVS\" not found; is the ip_vs module loaded?)")]
    NoFamily,
    #[error("IPVS netlink socket: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// Maps a kernel errno (positive) to an error, with what we were doing.
    pub fn from_errno(errno: i32, context: impl Into<String>) -> Error {
        let context = context.into();
        match errno {
            libc::EEXIST => Error::Exists { context },
            libc::ESRCH | libc::ENOENT => Error::NotFound { errno, context },
            _ => Error::Other { errno, context },
        }
    }

    pub(crate) fn invalid(what: String) -> Error {
        Error::Invalid(what)
    }

    /// The kernel's errno, if the error came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Exists { .. } => Some(libc::EEXIST),
            Error::NotFound { errno, .. } | Error::Other { errno, .. } => Some(*errno),
            Error::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}
