//! The driver's seams, in process, on a real namespaced link with keepalived 2.2.7 as the
//! peer: `vrrp_script` results sent through `ControlHandle::script_result` move the VIP (weight
//! -60 takes 150 below the peer's 100, recovery takes it back), and the notification sink sees
//! every state change in order, STOP last.
//!
//! Needs root, iproute2 and /usr/sbin/keepalived; skips with a message otherwise. Namespaces
//! `vdsmA`/`vdsmB`, removed by a Drop guard with the keepalived it started.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived_rs::daemon::vrrp::{spawn, ControlHandle, DriverConfig};
use keepalived_rs::sys::clock;
use keepalived_rs::vrrp::track::ScriptOutcome;
use keepalived_rs::vrrp::{Notify, NotifyEvent, State};

const KA: &str = "/usr/sbin/keepalived";
const VIP: &str = "10.98.0.100";

fn sh(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .status()
        .expect("run");
    assert!(st.success(), "{args:?}");
}

fn vip_on(ns: &str) -> bool {
    Command::new("ip")
        .args(["-n", ns, "-4", "-o", "addr", "show", "dev", "vs0"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{VIP}/")))
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = clock::now() + timeout;
    while clock::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

struct Guard {
    ka: Option<Child>,
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = &mut self.ka {
            // SAFETY: kill(2) on the process group of the keepalived we started with setsid.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
        for ns in ["vdsmA", "vdsmB"] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const OURS_CONF: &str = r#"
vrrp_script chk {
    script "/bin/true"
    interval 1
    weight -60
}
vrrp_instance VI_1 {
    state MASTER
    interface vs0
    virtual_router_id 52
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.98.0.100/24
    }
    track_script {
        chk
    }
}
"#;

/// Runs the driver in namespace vdsmA (the thread that spawns it enters the namespace; the
/// driver's thread inherits it).
fn spawn_in_ns(
    cfg: DriverConfig,
    sink: keepalived_rs::daemon::vrrp::NotifySink,
) -> (std::thread::JoinHandle<std::io::Result<()>>, ControlHandle) {
    std::thread::spawn(move || {
        let f = std::fs::File::open("/var/run/netns/vdsmA").expect("netns");
        // SAFETY: setns on this short-lived thread only.
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        spawn(cfg, sink).expect("spawn driver")
    })
    .join()
    .expect("spawner")
}

#[test]
fn script_results_and_notify_sink() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new(KA).exists() {
        eprintln!("skipping: needs root and {KA}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vrrpd-seams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut g = Guard { ka: None, dir };
    for ns in ["vdsmA", "vdsmB"] {
        let _ = Command::new("ip")
            .args(["netns", "del", ns])
            .stderr(Stdio::null())
            .status();
        sh(&["ip", "netns", "add", ns]);
    }
    sh(&[
        "ip", "-n", "vdsmA", "link", "add", "vs0", "type", "veth", "peer", "name", "vs0", "netns",
        "vdsmB",
    ]);
    sh(&[
        "ip",
        "-n",
        "vdsmA",
        "addr",
        "add",
        "10.98.0.1/24",
        "dev",
        "vs0",
    ]);
    sh(&[
        "ip",
        "-n",
        "vdsmB",
        "addr",
        "add",
        "10.98.0.2/24",
        "dev",
        "vs0",
    ]);
    sh(&["ip", "-n", "vdsmA", "link", "set", "vs0", "up"]);
    sh(&["ip", "-n", "vdsmB", "link", "set", "vs0", "up"]);

    let kconf = g.dir.join("b.conf");
    std::fs::write(
        &kconf,
        "vrrp_instance VI_1 {\n state BACKUP\n interface vs0\n virtual_router_id 52\n priority 100\n advert_int 1\n virtual_ipaddress {\n  10.98.0.100/24\n }\n}\n",
    )
    .expect("conf");
    let p = |s: &str| g.dir.join(s).display().to_string();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", "vdsmB", KA, "-n", "-l", "-G", "-f"])
        .arg(&kconf)
        .args([
            "-p",
            &p("k.pid"),
            "-r",
            &p("v.pid"),
            "-c",
            &p("c.pid"),
            "-b",
            &p("b.pid"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    g.ka = Some(cmd.spawn().expect("keepalived"));

    let oconf = g.dir.join("a.conf");
    std::fs::write(&oconf, OURS_CONF).expect("conf");
    let loaded = keepalived_rs::config::load(&oconf, &Default::default());
    let (cfg, warnings) = DriverConfig::from_model(&loaded.model, false, false);
    assert!(warnings.is_empty(), "{warnings:?}");
    let seen: Arc<Mutex<Vec<Notify>>> = Arc::default();
    let s2 = seen.clone();
    let (h, ctl) = spawn_in_ns(
        cfg,
        Box::new(move |n: &Notify| s2.lock().expect("lock").push(n.clone())),
    );

    // Weighted script: no result yet contributes nothing; ours (150) wins.
    assert!(ctl.script_result("chk", ScriptOutcome::Success, None));
    assert!(
        wait_until(Duration::from_secs(8), || vip_on("vdsmA")
            && !vip_on("vdsmB")),
        "ours never MASTER"
    );
    let st = ctl.status().expect("status");
    assert_eq!(st.instances.len(), 1);
    assert_eq!(st.instances[0].state, State::Master);
    assert_eq!(st.instances[0].effective_priority, 150);
    assert!(
        st.instances[0].stats.advert_sent >= 1 && st.instances[0].stats.become_master == 1,
        "{st:?}"
    );
    // Failing: 150 - 60 = 90 < 100, keepalived preempts.
    assert!(ctl.script_result(
        "chk",
        ScriptOutcome::Failure,
        Some("(exited with status 1)".into())
    ));
    assert!(
        wait_until(Duration::from_secs(8), || vip_on("vdsmB")
            && !vip_on("vdsmA")),
        "VIP did not move to the peer"
    );
    let st = ctl.status().expect("status");
    assert_eq!(
        (st.instances[0].state, st.instances[0].effective_priority),
        (State::Backup, 90)
    );
    assert_eq!(
        st.instances[0].master_addr,
        Some("10.98.0.2".parse().expect("ip"))
    );
    // Recovered: back to 150, ours preempts back.
    assert!(ctl.script_result("chk", ScriptOutcome::Success, None));
    assert!(
        wait_until(Duration::from_secs(8), || vip_on("vdsmA")
            && !vip_on("vdsmB")),
        "VIP did not come back"
    );
    assert!(ctl.stop());
    h.join().expect("driver thread").expect("driver result");
    assert!(!vip_on("vdsmA"), "VIP not released on stop");

    let seen = seen.lock().expect("lock").clone();
    let states: Vec<(State, u8)> = seen
        .iter()
        .filter_map(|n| match n.event {
            NotifyEvent::State(s) => Some((s, n.priority)),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (State::Backup, 150),
            (State::Master, 150),
            (State::Backup, 90),
            (State::Master, 150),
            (State::Stop, 150),
        ],
        "{seen:?}"
    );
    assert!(seen.iter().all(|n| n.name == "VI_1"));
}
