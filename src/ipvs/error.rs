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

/// The line keepalived logs when the kernel refuses a change, for the same op and errno:
/// `IPVS cmd IP_VS_SO_SET_ADD(1154) error: Scheduler or persistence engine not found(2)
/// (10.20.0.1:tcp:80)`, with ` -> ADDR:PORT` for a dest (keepalived's `ipvs_talk`; its
/// command names and numbers are those of the old sockopt interface, its texts those of
/// libipvs's `ipvs_strerror`). Errors that are not the kernel's (refused before sending, a
/// reply that did not parse, the socket) say what we were doing and why.
///
/// keepalived reads the kernel's errno through libnl, which folds it into its own codes and
/// back: ESRCH comes out as ENOENT, ENOBUFS as ENOMEM and so on ([`libnl_errno`]); its lines
/// show that errno, so ours do too. An errno libnl does not know comes out of keepalived as 1
/// ("Permission denied (you must be root)"), which would mislead: there we log the kernel's.
pub fn log_line(op: &crate::ipvs::plan::Op, e: &Error) -> String {
    use crate::ipvs::plan::Op;
    let Some(errno) = e.errno().filter(|_| !matches!(e, Error::Io(_))) else {
        return format!("IPVS: {op}: {e}");
    };
    let errno = libnl_errno(errno).unwrap_or(errno);
    let (name, num) = match op {
        Op::AddService(_) => ("IP_VS_SO_SET_ADD", 1154),
        Op::EditService(_) => ("IP_VS_SO_SET_EDIT", 1155),
        Op::DelService(_) => ("IP_VS_SO_SET_DEL", 1156),
        Op::AddDest(..) => ("IP_VS_SO_SET_ADDDEST", 1159),
        Op::DelDest(..) => ("IP_VS_SO_SET_DELDEST", 1160),
        Op::EditDest(..) => ("IP_VS_SO_SET_EDITDEST", 1161),
    };
    let text = match (op, errno) {
        (Op::AddService(_), libc::EEXIST) => "Service already exists".to_string(),
        (Op::AddService(_) | Op::EditService(_), libc::ENOENT) => {
            "Scheduler or persistence engine not found".to_string()
        }
        (Op::AddDest(..), libc::EEXIST) => "Destination already exists".to_string(),
        (Op::EditDest(..) | Op::DelDest(..), libc::ENOENT) => "No such destination".to_string(),
        (_, libc::ESRCH) => "No such service".to_string(),
        (_, libc::EPERM) => "Permission denied (you must be root)".to_string(),
        (_, libc::EINVAL) => {
            "Invalid operation.  Possibly wrong module version, address not unicast, ..."
                .to_string()
        }
        (_, libc::ENOPROTOOPT) => "Protocol not available".to_string(),
        (_, libc::ENOMEM) => "Memory allocation problem".to_string(),
        (_, libc::EOPNOTSUPP) => "Operation not supported with IPv6".to_string(),
        (_, libc::EAFNOSUPPORT) => {
            "Operation not supported with specified address family".to_string()
        }
        (_, libc::EMSGSIZE) => "Module is wrong version".to_string(),
        (_, n) => strerror(n),
    };
    let (key, dest) = match op {
        Op::AddService(s) | Op::EditService(s) => (s.key, None),
        Op::DelService(k) => (*k, None),
        Op::AddDest(k, d) | Op::EditDest(k, d) => (*k, Some(d.key())),
        Op::DelDest(k, d) => (*k, Some(*d)),
    };
    let mut what = match key {
        crate::ipvs::ServiceKey::Fwmark { family, mark } => format!(
            "Fwm {mark}{}",
            if family == crate::ipvs::Family::V6 {
                " inet6"
            } else {
                ""
            }
        ),
        crate::ipvs::ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let proto = match protocol.number() {
                6 => "tcp".to_string(),
                17 => "udp".to_string(),
                132 => "sctp".to_string(),
                n => n.to_string(),
            };
            format!("{addr}:{proto}:{port}")
        }
    };
    if let Some(d) = dest {
        what.push_str(&format!(" -> {}:{}", d.addr, d.port));
    }
    format!("IPVS cmd {name}({num}) error: {text}({errno}) ({what})")
}

/// The errno keepalived sees for a kernel errno, after libnl 3 turned it into an NLE code
/// (`nl_syserr2nlerr`) and keepalived turned that back (`nlerr2syserr`); `None` for those
/// libnl folds into its generic failure.
pub fn libnl_errno(errno: i32) -> Option<i32> {
    use libc::*;
    Some(match errno {
        EBADF | ENOTSOCK => EBADF,
        EADDRINUSE | EEXIST => EEXIST,
        EADDRNOTAVAIL => EADDRNOTAVAIL,
        ESRCH | ENOENT => ENOENT,
        EINTR => EINTR,
        EAGAIN => EAGAIN,
        ENOPROTOOPT | EFAULT | EINVAL => EINVAL,
        EACCES => EACCES,
        ENOBUFS | ENOMEM => ENOMEM,
        EAFNOSUPPORT => EAFNOSUPPORT,
        EPROTONOSUPPORT => EPROTONOSUPPORT,
        EOPNOTSUPP => EOPNOTSUPP,
        EPERM => EPERM,
        EBUSY => EBUSY,
        ERANGE => ERANGE,
        ENODEV => ENODEV,
        _ => return None,
    })
}

/// The C library's text for an errno, without Rust's " (os error N)".
fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::plan::Op;
    use crate::ipvs::*;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    /// The lines Debian's keepalived 2.2.7 logged in the IPVS VM for the same refusals
    /// (tests/ipvs_errors_vm.rs compares the two daemons there).
    #[test]
    fn kernel_refusals_read_like_keepalived() {
        let web = ServiceKey::tcp(ip("10.20.0.1"), 80);
        let v6 = ServiceKey::tcp(ip("2001:db8::20"), 80);
        let add = Op::AddService(Service::new(web, "twos"));
        assert_eq!(
            log_line(&add, &Error::from_errno(libc::ENOENT, "x")),
            "IPVS cmd IP_VS_SO_SET_ADD(1154) error: Scheduler or persistence engine not found(2) (10.20.0.1:tcp:80)"
        );
        let d = Dest::new(ip("127.0.0.2"), 8080, Forward::Nat, 1);
        assert_eq!(
            log_line(&Op::AddDest(web, d), &Error::from_errno(libc::ENOENT, "x")),
            "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: No such file or directory(2) (10.20.0.1:tcp:80 -> 127.0.0.2:8080)"
        );
        let ll = Dest::new(ip("fe80::1"), 80, Forward::Dr, 1);
        assert_eq!(
            log_line(&Op::AddDest(v6, ll), &Error::from_errno(libc::EINVAL, "x")),
            "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Invalid operation.  Possibly wrong module version, address not unicast, ...(22) (2001:db8::20:tcp:80 -> fe80::1:80)"
        );
        assert_eq!(
            log_line(&Op::DelDest(web, d.key()), &Error::from_errno(libc::ENOENT, "x")),
            "IPVS cmd IP_VS_SO_SET_DELDEST(1160) error: No such destination(2) (10.20.0.1:tcp:80 -> 127.0.0.2:8080)"
        );
        let fwm = ServiceKey::Fwmark {
            family: Family::V6,
            mark: 7,
        };
        // the kernel's ESRCH reaches keepalived as ENOENT (through libnl)
        assert_eq!(
            log_line(&Op::DelService(fwm), &Error::from_errno(libc::ESRCH, "x")),
            "IPVS cmd IP_VS_SO_SET_DEL(1156) error: No such file or directory(2) (Fwm 7 inet6)"
        );
        assert_eq!(
            log_line(&Op::AddDest(web, d), &Error::from_errno(libc::ESRCH, "x")),
            "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: No such file or directory(2) (10.20.0.1:tcp:80 -> 127.0.0.2:8080)"
        );
        assert_eq!(
            log_line(&Op::AddDest(web, d), &Error::from_errno(libc::ENOBUFS, "x")),
            "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Memory allocation problem(12) (10.20.0.1:tcp:80 -> 127.0.0.2:8080)"
        );
        // where keepalived would say "Permission denied (you must be root)(1)": the truth
        assert_eq!(
            log_line(&Op::AddDest(web, d), &Error::from_errno(libc::E2BIG, "x")),
            "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Argument list too long(7) (10.20.0.1:tcp:80 -> 127.0.0.2:8080)"
        );
        // not the kernel's: what we did and why
        assert_eq!(
            log_line(&add, &Error::Malformed("no answer".into())),
            "IPVS: add service [10.20.0.1]:tcp:80: malformed IPVS netlink message: no answer"
        );
    }
}
