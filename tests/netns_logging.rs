//! What our daemon sends to syslog and journald, against keepalived 2.2.7.
//!
//! Each daemon runs in its own network namespace and a private mount namespace in which `/dev`
//! is a fresh tmpfs (with null/zero/random/urandom bound back) whose `log` is a socket this
//! test listens on, and `/run/systemd/journal/socket` is another: nothing reaches the host's
//! logger. Needs root, iproute2, util-linux `unshare` and /usr/sbin/keepalived; skips with a
//! message otherwise.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "support/netns_lab.rs"]
mod netns_lab;
use netns_lab::{sh, wait_until};

const KA: &str = "/usr/sbin/keepalived";
const OURS: &str = env!("CARGO_BIN_EXE_keepalived");

const CONF: &str = "vrrp_instance VI_1 {
   state BACKUP
   interface dv0
   virtual_router_id 71
   priority 150
   advert_int 1
   virtual_ipaddress {
      10.94.0.100/24
   }
}
";

/// Sets up the private /dev and /run, then execs the daemon (argv after the directory).
const WRAP: &str = r#"set -e
D=$1; shift
mkdir -p "$D/origdev"
mount --bind /dev "$D/origdev"
mount -t tmpfs none /dev
for f in null zero urandom random; do touch /dev/$f; mount --bind "$D/origdev/$f" /dev/$f; done
ln -s "$D/log" /dev/log
mount -t tmpfs none /run
mkdir -p /run/systemd/journal
ln -s "$D/journal" /run/systemd/journal/socket
exec "$@""#;

fn have_tools() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = |c: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !(root && ok("ip") && ok("unshare") && Path::new(KA).exists()) {
        eprintln!("skipping: needs root, iproute2, unshare and {KA}");
        return false;
    }
    true
}

/// A socket collecting every datagram sent to it.
struct Sink {
    got: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Sink {
    fn bind(path: &Path) -> Sink {
        let _ = std::fs::remove_file(path);
        let s = UnixDatagram::bind(path).expect("bind");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            loop {
                match s.recv(&mut buf) {
                    Ok(n) => g.lock().expect("lock").push(buf[..n].to_vec()),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        if Arc::strong_count(&g) == 1 {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        Sink { got }
    }

    fn texts(&self) -> Vec<String> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .collect()
    }
}

struct Run {
    ns: String,
    dir: PathBuf,
    child: std::process::Child,
    syslog: Sink,
    journal: Sink,
}

impl Run {
    fn start(tag: &str, bin: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let ns = format!("dumpsL{tag}");
        let dir = std::env::temp_dir().join(format!("dumps-log-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("k.conf"), CONF).expect("conf");
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", &ns]);
        sh(&[
            "ip", "-n", &ns, "link", "add", "dv0", "type", "veth", "peer", "name", "dv1",
        ]);
        sh(&["ip", "-n", &ns, "addr", "add", "10.94.0.1/24", "dev", "dv0"]);
        sh(&["ip", "-n", &ns, "link", "set", "dv0", "up"]);
        sh(&["ip", "-n", &ns, "link", "set", "dv1", "up"]);
        let syslog = Sink::bind(&dir.join("log"));
        let journal = Sink::bind(&dir.join("journal"));
        let p = |f: &str| dir.join(f).display().to_string();
        let d = dir.display().to_string();
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &ns,
            "unshare",
            "-m",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", WRAP, "sh", &d, bin, "-n"])
        .args(extra)
        .args(["-f", &p("k.conf"), "-p", &p("pid"), "-r", &p("vrrp.pid")])
        .args(["-c", &p("check.pid"), "-b", &p("bfd.pid")])
        .env_remove("JOURNAL_STREAM")
        .env_remove("INVOCATION_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr"));
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().expect("start");
        Run {
            ns,
            dir,
            child,
            syslog,
            journal,
        }
    }

    fn vip(&self) -> bool {
        Command::new("ip")
            .args(["-n", &self.ns, "-4", "-o", "addr", "show", "dev", "dv0"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("10.94.0.100/"))
    }

    /// Waits for MASTER, asks for a data dump, stops the daemon and returns what it logged.
    fn finish(mut self) -> (Vec<String>, Vec<String>) {
        let pid = self.child.id() as i32;
        let master = wait_until(Duration::from_secs(8), || self.vip());
        // SAFETY: kill(2) on the daemon this test started.
        unsafe { libc::kill(pid, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let stopped = wait_until(Duration::from_secs(6), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !stopped {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = self.child.wait();
        }
        std::thread::sleep(Duration::from_millis(300));
        let err = std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default();
        assert!(master, "{} never became MASTER: {err}", self.ns);
        (self.syslog.texts(), self.journal.texts())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill(2) on the daemon this test started.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
            let _ = self.child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MSG` -> (PRI, IDENT, MSG with pids blanked).
fn parse_syslog(l: &str) -> Option<(u32, String, String)> {
    let rest = l.strip_prefix('<')?;
    let (pri, rest) = rest.split_once('>')?;
    let rest = rest.get(16..)?;
    let (ident, msg) = rest.split_once(": ")?;
    let ident = ident.split('[').next()?.to_string();
    let mut m = String::new();
    let mut digits = false;
    for c in msg.chars() {
        if c.is_ascii_digit() {
            if !digits {
                m.push('N');
            }
            digits = true;
        } else {
            digits = false;
            m.push(c);
        }
    }
    Some((pri.parse().ok()?, ident, m))
}

/// The lines both daemons log without -D, as (PRI, IDENT, MSG) with paths and pids masked.
fn lifecycle(lines: &[String]) -> Vec<(u32, String, String)> {
    const WANT: &[&str] = &[
        "Starting Keepalived",
        "Command line:",
        "Configuration file ",
        "Starting VRRP child process",
        "Startup complete",
        "(VI_N) Entering BACKUP STATE (init)",
        "(VI_N) Entering MASTER STATE",
        "Printing parent data",
        "Printing VRRP data",
        "Stopping",
        "Stopped",
    ];
    let mut out: Vec<(u32, String, String)> = lines
        .iter()
        .filter_map(|l| parse_syslog(l))
        .filter(|(_, _, m)| WANT.iter().any(|w| m.starts_with(w)))
        .map(|(p, i, m)| {
            let m = if m.starts_with("Command line:") || m.starts_with("Configuration file") {
                m.split(' ').take(2).collect::<Vec<_>>().join(" ")
            } else {
                m
            };
            (p, i, m)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn syslog_idents_facility_and_lifecycle_lines_are_keepalived_s() {
    if !have_tools() {
        return;
    }
    let ours = Run::start("O", OURS, &["-S", "3"], &[]);
    let ka = Run::start("K", KA, &["-S", "3"], &[]);
    let (ko, _) = ka.finish();
    let (oo, oj) = ours.finish();
    let (lo, lk) = (lifecycle(&oo), lifecycle(&ko));
    assert!(
        lk.iter()
            .any(|(_, i, m)| i == "Keepalived_vrrp" && m.contains("MASTER")),
        "keepalived's own lines not captured: {ko:#?}"
    );
    assert_eq!(lo, lk, "ours:\n{oo:#?}\nkeepalived:\n{ko:#?}");
    // local3.info is <158> on every line (keepalived logs everything at LOG_INFO).
    for l in &oo {
        assert!(l.starts_with("<158>"), "{l}");
    }
    // -D detail lines stay out without -D.
    assert!(!oo.iter().any(|l| l.contains("Registering")), "{oo:#?}");
    assert!(oj.is_empty(), "journald used without systemd: {oj:#?}");
}

#[test]
fn detail_stop_lines_follow_keepalived() {
    if !have_tools() {
        return;
    }
    let ours = Run::start("D", OURS, &["-D"], &[]);
    let (oo, _) = ours.finish();
    let msgs: Vec<(u32, String, String)> = oo.iter().filter_map(|l| parse_syslog(l)).collect();
    let has = |ident: &str, prefix: &str| {
        msgs.iter()
            .any(|(p, i, m)| *p == 30 && i == ident && m.starts_with(prefix))
    };
    // daemon.info: <30>.
    assert!(
        has("Keepalived_vrrp", "Registering Kernel netlink reflector"),
        "{oo:#?}"
    );
    // Our rusage includes what the wrapper shell's children used before it exec'd us, so
    // either of keepalived's forms may appear.
    assert!(
        has(
            "Keepalived_vrrp",
            "Stopped - used N.N user time, N.N system time"
        ) || has(
            "Keepalived_vrrp",
            "Stopped - used (self/children) N.N/N.N user time, N.N/N.N system time"
        ),
        "{oo:#?}"
    );
    assert!(
        has(
            "Keepalived",
            "CPU usage (self/children) user: N.N/N.N system: N.N/N.N"
        ),
        "{oo:#?}"
    );
    assert!(
        has("Keepalived", "Stopped Keepalived vN.N.N (N/N,N)"),
        "{oo:#?}"
    );
}

/// journald's native protocol: `KEY=VALUE\n`, or `KEY\n` + 64-bit LE length + bytes + `\n`.
fn journal_fields(d: &str) -> Vec<(String, String)> {
    let b = d.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let Some(nl) = b[i..].iter().position(|&c| c == b'\n') else {
            break;
        };
        let line = &b[i..i + nl];
        if let Some(eq) = line.iter().position(|&c| c == b'=') {
            out.push((
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                String::from_utf8_lossy(&line[eq + 1..]).into_owned(),
            ));
            i += nl + 1;
        } else {
            let key = String::from_utf8_lossy(line).into_owned();
            let start = i + nl + 1;
            let Some(len) = b.get(start..start + 8) else {
                break;
            };
            let mut n = [0u8; 8];
            n.copy_from_slice(len);
            let n = usize::try_from(u64::from_le_bytes(n)).unwrap_or(usize::MAX);
            let Some(v) = b.get(start + 8..start + 8 + n) else {
                break;
            };
            out.push((key, String::from_utf8_lossy(v).into_owned()));
            i = start + 8 + n + 1;
        }
    }
    out
}

#[test]
fn journald_when_started_by_systemd() {
    if !have_tools() {
        return;
    }
    let ours = Run::start(
        "J",
        OURS,
        &["-S", "2"],
        &[("INVOCATION_ID", "0123456789abcdef")],
    );
    let (oo, oj) = ours.finish();
    assert!(oo.is_empty(), "syslog used as well: {oo:#?}");
    let entries: Vec<Vec<(String, String)>> = oj.iter().map(|d| journal_fields(d)).collect();
    let field = |e: &Vec<(String, String)>, k: &str| -> Option<String> {
        e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    let find = |msg: &str| -> Option<Vec<(String, String)>> {
        entries
            .iter()
            .find(|e| field(e, "MESSAGE").is_some_and(|m| m.starts_with(msg)))
            .cloned()
    };
    let start = find("Starting Keepalived v2.2.7").unwrap_or_else(|| panic!("{oj:#?}"));
    assert_eq!(
        field(&start, "SYSLOG_IDENTIFIER").as_deref(),
        Some("Keepalived")
    );
    assert_eq!(field(&start, "PRIORITY").as_deref(), Some("6"));
    assert_eq!(field(&start, "SYSLOG_FACILITY").as_deref(), Some("18"));
    let master = find("(VI_1) Entering MASTER STATE").unwrap_or_else(|| panic!("{oj:#?}"));
    let data = find("Printing VRRP data").unwrap_or_else(|| panic!("{oj:#?}"));
    assert_eq!(
        field(&data, "SYSLOG_IDENTIFIER").as_deref(),
        Some("Keepalived_vrrp")
    );
    assert_eq!(
        field(&master, "SYSLOG_IDENTIFIER").as_deref(),
        Some("Keepalived_vrrp")
    );
    let stop = find("Stopped Keepalived").unwrap_or_else(|| panic!("{oj:#?}"));
    assert_eq!(
        field(&stop, "SYSLOG_IDENTIFIER").as_deref(),
        Some("Keepalived")
    );
}
