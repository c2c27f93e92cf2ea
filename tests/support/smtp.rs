//! The aiosmtpd recorder (tests/support/smtp_server.py) as a test fixture: a real SMTP server on
//! loopback whose received messages arrive on `lines` as JSON values.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    pub lines: mpsc::Receiver<serde_json::Value>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the recorder, or says why the test cannot run.
pub fn server() -> Option<Server> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIP: python3 with aiosmtpd is not installed (pip install aiosmtpd)");
        return None;
    }
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start smtp server");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let first: serde_json::Value = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("smtp server did not start");
    let port = first["port"].as_u64().expect("port") as u16;
    Some(Server {
        child,
        _stdin: stdin,
        port,
        lines: rx,
    })
}
