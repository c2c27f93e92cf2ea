//! The healthchecker driver against a real kernel's IPVS, with Debian's keepalived 2.2.7 as the
//! oracle in the same guest: for one config (NAT/wlc/persistence + TCP_CHECK, DR/rr + HTTP_GET,
//! fwmark, a virtual_server_group, IPv6, inhibit_on_failure) `ipvsadm -Sn` must be the same
//! under both; then a real server whose port closes is removed (or set to weight 0 with
//! inhibit_on_failure) and comes back, and stop removes only our services.
//!
//! Runs only inside the VM (tests/vm/run-ipvs-tests.sh, IPVSVM/KA_VM set); skips elsewhere.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "support/ipvs_vm.rs"]
mod ipvs_vm;
use ipvs_vm::{in_vm, ipvsadm, save, spawn_driver, wait_for};

/// A listener that accepts (and answers HTTP) until stopped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(addr: &str) -> Server {
        let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 2048];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Server {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const CONF: &str = r#"
global_defs {
    router_id lvs_vm
}
virtual_server 10.10.0.1 80 {
    delay_loop 1
    lb_algo wlc
    lb_kind NAT
    persistence_timeout 50
    protocol TCP
    real_server 127.0.0.2 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 127.0.0.3 8080 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 127.0.0.4 8080 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 10.10.0.2 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 127.0.0.5 80 {
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 2
        }
    }
}
virtual_server fwmark 7 {
    delay_loop 2
    lb_algo sh
    lb_kind DR
    real_server 127.0.0.6 0 {
        weight 4
    }
}
virtual_server_group VSG1 {
    10.10.1.1-3 443
}
virtual_server group VSG1 {
    delay_loop 2
    lb_algo lc
    lb_kind TUN
    protocol TCP
    real_server 127.0.0.7 443 {
    }
}
virtual_server 2001:db8::10 443 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 2001:db8::5 443 {
        weight 2
    }
}
"#;

#[test]
fn same_table_as_keepalived_and_follows_health() {
    if !in_vm("same_table_as_keepalived_and_follows_health") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("lvs-vm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    let _ = ipvsadm(&["-C"]);

    let _s2 = Server::start("127.0.0.2:8080");
    let s3 = Server::start("127.0.0.3:8080");
    let _s4 = Server::start("127.0.0.4:8080");
    let _s5 = Server::start("127.0.0.5:80");
    let _s7 = Server::start("127.0.0.7:443");
    let expected_lines = 5 /* services incl. 3 from the group */ + 2 + 3 + 1 + 1 + 3 + 1;

    // 1. the oracle: Debian's keepalived, checker process only
    let ka = std::path::Path::new("/usr/sbin/keepalived");
    let oracle = if ka.exists() {
        let t = keepalived_rs::sys::clock::now();
        let mut child = Command::new(ka)
            .args(["-n", "-l", "-D", "-C", "-f"])
            .arg(&conf)
            .args(["-p", "/run/lvs-vm-ka.pid", "-c", "/run/lvs-vm-ka-chk.pid"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("keepalived to program the table", 60, || {
            save().len() == expected_lines
        });
        // let its first checks run (all up) and the table settle
        std::thread::sleep(Duration::from_secs(4));
        let s = save();
        eprintln!(
            "keepalived programmed {} lines in {:?}",
            s.len(),
            t.elapsed()
        );
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = child.wait();
        wait_for("keepalived to remove its services", 20, || {
            save().is_empty()
        });
        Some(s)
    } else {
        eprintln!("keepalived not installed: oracle comparison skipped");
        None
    };

    // an operator's service that must survive us
    ipvsadm(&["-A", "-t", "10.10.9.9:22", "-s", "rr"]);

    // 2. our driver
    let t = keepalived_rs::sys::clock::now();
    let (stop_tx, driver) = spawn_driver(&conf);
    wait_for("our driver to program the table", 30, || {
        save().len() == expected_lines + 1
    });
    eprintln!("keepalived-rs programmed the table in {:?}", t.elapsed());
    std::thread::sleep(Duration::from_secs(3));
    let ours: Vec<String> = save()
        .into_iter()
        .filter(|l| !l.contains("10.10.9.9:22"))
        .collect();
    if let Some(o) = &oracle {
        assert_eq!(&ours, o, "ipvsadm -Sn: ours vs keepalived's");
    }
    eprintln!("ipvsadm -Sn (ours):\n{}", ours.join("\n"));

    // 3. health: 127.0.0.2 closes -> removed; comes back -> added
    drop(_s2);
    let t = keepalived_rs::sys::clock::now();
    wait_for("127.0.0.2 to be removed", 15, || {
        !save().iter().any(|l| l.contains("127.0.0.2:8080"))
    });
    eprintln!("removed after {:?}", t.elapsed());
    let _s2 = Server::start("127.0.0.2:8080");
    wait_for("127.0.0.2 to come back", 15, || {
        save()
            .iter()
            .any(|l| l.contains("-r 127.0.0.2:8080 -m -w 1"))
    });
    // inhibit_on_failure: weight 0, then 2 again
    drop(s3);
    wait_for("127.0.0.3 to be quiesced", 15, || {
        save()
            .iter()
            .any(|l| l.contains("-r 127.0.0.3:8080 -m -w 0"))
    });
    let _s3 = Server::start("127.0.0.3:8080");
    wait_for("127.0.0.3 to be enabled", 15, || {
        save()
            .iter()
            .any(|l| l.contains("-r 127.0.0.3:8080 -m -w 2"))
    });

    // 4. stop: our services go, the operator's stays
    stop_tx.send(true).unwrap();
    driver.join().unwrap().unwrap();
    assert_eq!(save(), vec!["-A -t 10.10.9.9:22 -s rr".to_string()]);
    let _ = ipvsadm(&["-C"]);
    let _ = std::fs::remove_dir_all(&dir);
}
