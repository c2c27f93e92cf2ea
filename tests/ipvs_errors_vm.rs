//! Kernel refusals give clear log lines, the same as keepalived's: in the IPVS VM, a config
//! the kernel partly rejects (a scheduler this kernel lacks, `twos`, which arrived in Linux
//! 6.2; an IPv6 link-local real server) runs under Debian's keepalived 2.2.7 (the oracle) and
//! then under our driver. Every "IPVS cmd ... error" line keepalived logs at start-up, naming
//! the service or dest and the kernel's error text, must be in our log word for word, and
//! the table both leave behind must be the same.
//!
//! Runs only inside the VM (tests/vm/run-ipvs-tests.sh, IPVSVM/KA_VM set); skips elsewhere.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "support/ipvs_vm.rs"]
mod ipvs_vm;
use ipvs_vm::{in_vm, save, spawn_driver, wait_for};

const CONF: &str = r#"
global_defs {
    router_id errs_vm
}
virtual_server 10.20.0.1 80 {
    delay_loop 60
    lb_algo twos
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.2 8080 {
        weight 1
    }
}
virtual_server 2001:db8::20 80 {
    delay_loop 60
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server fe80::1 80 {
        weight 1
    }
    real_server 2001:db8::21 80 {
        weight 1
    }
}
"#;

/// What the kernel accepts of CONF.
const TABLE: [&str; 2] = [
    "-A -t [2001:db8::20]:80 -s rr",
    "-a -t [2001:db8::20]:80 -r [2001:db8::21]:80 -g -w 1",
];

fn ipvs_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.find("IPVS cmd ").map(|i| l[i..].trim_end().to_string()))
        .collect()
}

/// A `tracing` writer into a shared buffer (our log).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn kernel_refusals_are_logged_like_keepalived() {
    if !in_vm("kernel_refusals_are_logged_like_keepalived") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("errs-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let _ = Command::new("ipvsadm").arg("-C").status();
    let want_table: Vec<String> = TABLE.iter().map(|s| s.to_string()).collect();

    // 1. the oracle
    let ka = std::path::Path::new("/usr/sbin/keepalived");
    let oracle = if ka.exists() {
        let log = dir.join("keepalived.log");
        let mut child = Command::new(ka)
            .args(["-n", "-l", "-D", "-C", "-f"])
            .arg(&conf)
            .args(["-p", "/run/errs-vm-ka.pid", "-c", "/run/errs-vm-ka-chk.pid"])
            // -l: the log goes to the console (stderr)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        wait_for("keepalived's start-up", 60, || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Startup complete"))
        });
        assert_eq!(save(), want_table, "keepalived's table");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = child.wait();
        let text = std::fs::read_to_string(&log).unwrap();
        let startup = &text[..text.find("Startup complete").unwrap()];
        let lines = ipvs_lines(startup);
        eprintln!("keepalived:\n{}", lines.join("\n"));
        wait_for("keepalived to remove its services", 20, || {
            save().is_empty()
        });
        Some(lines)
    } else {
        eprintln!("keepalived not installed: oracle comparison skipped");
        None
    };

    // 2. ours, with its log captured
    let captured = Captured::default();
    let w = captured.clone();
    let _ = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
    let (stop_tx, driver) = spawn_driver(&conf);
    wait_for("our refusals to be logged", 30, || {
        ipvs_lines(&captured.text()).len() >= 3
    });
    wait_for("our table", 10, || save() == want_table);
    std::thread::sleep(Duration::from_millis(500));
    let ours = ipvs_lines(&captured.text());
    eprintln!("ours:\n{}", ours.join("\n"));
    stop_tx.send(true).unwrap();
    driver.join().unwrap().unwrap();
    assert!(save().is_empty(), "stop removed our services");

    // the kernel's words, naming the service or dest
    for want in [
        "IPVS cmd IP_VS_SO_SET_ADD(1154) error: Scheduler or persistence engine not found(2) (10.20.0.1:tcp:80)",
        "IPVS cmd IP_VS_SO_SET_ADDDEST(1159) error: Invalid operation.  Possibly wrong module version, address not unicast, ...(22) (2001:db8::20:tcp:80 -> fe80::1:80)",
    ] {
        assert!(ours.iter().any(|l| l == want), "missing {want:?} in {ours:#?}");
    }
    if let Some(oracle) = oracle {
        for l in &oracle {
            assert!(
                ours.contains(l),
                "keepalived logged {l:?}; ours:\n{ours:#?}"
            );
        }
        for l in &ours {
            assert!(
                oracle.contains(l),
                "we logged {l:?}, keepalived did not:\n{oracle:#?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
