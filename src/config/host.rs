//! What the config pipeline needs to know about the machine, behind a trait so that tests (and
//! the corpus differential test) can pin it down. `SystemHost` asks the real system.

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// File facts used by include checks and script security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    pub is_file: bool,
    pub is_dir: bool,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Only from [`Host::lstat`]: the path itself is a symbolic link.
    pub is_symlink: bool,
}

pub trait Host {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// `stat()` (follows symlinks).
    fn stat(&self, path: &Path) -> Option<FileStat>;
    /// Paths matching a glob pattern (no braces; the caller expands them), sorted, with
    /// directories marked by a trailing `/` as glob's GLOB_MARK does.
    fn glob(&self, pattern: &str) -> Vec<String>;
    fn interface_exists(&self, name: &str) -> bool;
    /// (uid, primary gid) of a user name.
    fn user(&self, name: &str) -> Option<(u32, u32)>;
    fn group(&self, name: &str) -> Option<u32>;
    fn hostname(&self) -> String;
    /// Whether a host name resolves (used for `smtp_server NAME`).
    fn resolves(&self, name: &str) -> bool;
    /// Directories of `PATH`, for scripts given without a directory.
    fn path_dirs(&self) -> Vec<PathBuf>;
    /// The process working directory, for relative paths.
    fn cwd(&self) -> PathBuf;
    /// The path with symlinks resolved (include-cycle detection); the path itself when the
    /// host cannot tell.
    fn canonical(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }
    /// `lstat()` (does not follow a final symlink); script security walks paths with it.
    fn lstat(&self, path: &Path) -> Option<FileStat> {
        self.stat(path)
    }
    /// `realpath()`: the absolute path with symlinks, `.` and `..` resolved, or `None` when
    /// some part of it does not exist.
    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        self.stat(path).map(|_| path.to_path_buf())
    }
    /// (effective uid, effective gid) of the process that would run the scripts.
    fn euid(&self) -> (u32, u32) {
        (0, 0)
    }
    /// Whether the named network namespace exists (keepalived opens `/run/netns/NAME`).
    fn netns_exists(&self, name: &str) -> bool {
        !name.contains('/') && self.stat(&Path::new("/run/netns").join(name)).is_some()
    }
}

/// The real machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn stat(&self, path: &Path) -> Option<FileStat> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileStat {
            is_file: m.is_file(),
            is_dir: m.is_dir(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            is_symlink: false,
        })
    }

    fn lstat(&self, path: &Path) -> Option<FileStat> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(FileStat {
            is_file: m.is_file(),
            is_dir: m.is_dir(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            is_symlink: m.file_type().is_symlink(),
        })
    }

    fn realpath(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    fn euid(&self) -> (u32, u32) {
        // SAFETY: geteuid/getegid cannot fail and have no preconditions.
        unsafe { (libc::geteuid(), libc::getegid()) }
    }

    fn glob(&self, pattern: &str) -> Vec<String> {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let Ok(paths) = glob::glob_with(pattern, opts) else {
            return Vec::new();
        };
        let mut out: Vec<String> = paths
            .filter_map(Result::ok)
            .map(|p| {
                let mut s = p.to_string_lossy().into_owned();
                if p.is_dir() {
                    s.push('/');
                }
                s
            })
            .collect();
        out.sort();
        out
    }

    fn interface_exists(&self, name: &str) -> bool {
        if name.is_empty() || name.len() >= 16 || name.contains('/') || name == "." || name == ".."
        {
            return false;
        }
        // Ask the kernel (respects the current network namespace, unlike /sys/class/net).
        let Ok(c) = CString::new(name) else {
            return false;
        };
        // SAFETY: c is a valid NUL-terminated string for the duration of the call.
        unsafe { libc::if_nametoindex(c.as_ptr()) != 0 }
    }

    fn user(&self, name: &str) -> Option<(u32, u32)> {
        let c = CString::new(name).ok()?;
        // SAFETY: getpwnam returns a pointer to static storage or NULL; we copy the ids out
        // immediately and the process is single-threaded while loading a config.
        let pw = unsafe { libc::getpwnam(c.as_ptr()) };
        if pw.is_null() {
            return None;
        }
        // SAFETY: pw is non-null and points to a valid passwd record.
        let pw = unsafe { &*pw };
        Some((pw.pw_uid, pw.pw_gid))
    }

    fn group(&self, name: &str) -> Option<u32> {
        let c = CString::new(name).ok()?;
        // SAFETY: as for getpwnam.
        let gr = unsafe { libc::getgrnam(c.as_ptr()) };
        if gr.is_null() {
            return None;
        }
        // SAFETY: gr is non-null and points to a valid group record.
        Some(unsafe { (*gr).gr_gid })
    }

    fn hostname(&self) -> String {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its length; gethostname NUL-terminates on success.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return String::new();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }

    fn resolves(&self, name: &str) -> bool {
        use std::net::ToSocketAddrs;
        (name, 25)
            .to_socket_addrs()
            .map(|mut a| a.next().is_some())
            .unwrap_or(false)
    }

    fn path_dirs(&self) -> Vec<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        std::env::split_paths(&path).collect()
    }

    fn cwd(&self) -> PathBuf {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// An in-memory machine (tests, the config fuzz target): files by absolute path, a fixed
/// interface list, host `vm`, cwd `/etc`, no users; every name resolves.
#[derive(Debug, Default, Clone)]
pub struct MemHost {
    pub files: std::collections::BTreeMap<String, String>,
    pub interfaces: Vec<String>,
    /// Explicit file facts (owner, mode, directories) overriding the default of a root-owned
    /// 0644 file for every entry of `files` and a root-owned 0755 directory for their parents.
    pub stats: std::collections::BTreeMap<String, FileStat>,
    /// Users: name -> (uid, gid).
    pub users: std::collections::BTreeMap<String, (u32, u32)>,
    /// Directories searched for bare script names.
    pub path: Vec<PathBuf>,
    /// How many user lookups were made (a real one costs NSS and userdb file reads).
    pub user_lookups: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl MemHost {
    pub fn new(files: &[(&str, &str)], interfaces: &[&str]) -> Self {
        MemHost {
            files: files
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
}

impl Host for MemHost {
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files
            .get(&*path.to_string_lossy())
            .map(|s| s.clone().into_bytes())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn stat(&self, path: &Path) -> Option<FileStat> {
        let p = path.to_string_lossy();
        if let Some(s) = self.stats.get(&*p) {
            return Some(*s);
        }
        let file = |is_file: bool, mode: u32| FileStat {
            is_file,
            is_dir: !is_file,
            mode,
            uid: 0,
            gid: 0,
            is_symlink: false,
        };
        if self.files.contains_key(&*p) {
            return Some(file(true, 0o100644));
        }
        let dir = if p.ends_with('/') {
            p.to_string()
        } else {
            format!("{p}/")
        };
        self.files
            .keys()
            .chain(self.stats.keys())
            .any(|k| k.starts_with(&dir))
            .then(|| file(false, 0o40755))
    }
    fn glob(&self, pattern: &str) -> Vec<String> {
        let Ok(p) = glob::Pattern::new(pattern) else {
            return Vec::new();
        };
        self.files
            .keys()
            .filter(|k| p.matches(k))
            .cloned()
            .collect()
    }
    fn interface_exists(&self, name: &str) -> bool {
        self.interfaces.iter().any(|i| i == name)
    }
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        self.user_lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.users.get(name).copied()
    }
    fn group(&self, _: &str) -> Option<u32> {
        None
    }
    fn hostname(&self) -> String {
        "vm".into()
    }
    fn resolves(&self, _: &str) -> bool {
        true
    }
    fn path_dirs(&self) -> Vec<PathBuf> {
        self.path.clone()
    }
    fn cwd(&self) -> PathBuf {
        "/etc".into()
    }
}
