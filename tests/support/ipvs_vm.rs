//! What the IPVS VM tests share (tests/vm/run-ipvs-tests.sh runs them in a VM with Debian's
//! kernel): whether we are in the VM, `ipvsadm`, the sorted `ipvsadm -Sn` table, and waiting
//! for the table to get somewhere.
#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

/// True inside the VM (IPVSVM/KA_VM set). Elsewhere the test skips with a message, unless
/// run-ipvs-tests.sh meant it for the VM (IPVS_VM_EXPECTED on the host side): a test binary
/// that did not reach the VM must fail there, not skip.
pub fn in_vm(test: &str) -> bool {
    let vm = std::env::var_os("IPVSVM").is_some() || std::env::var_os("KA_VM").is_some();
    if !vm {
        assert!(
            std::env::var_os("IPVS_VM_EXPECTED").is_none(),
            "the IPVS VM runner was not used: this test ran on the host"
        );
        eprintln!("{test}: skipped: changes the kernel's IPVS table; runs inside the VM (tests/vm/run-ipvs-tests.sh) or with KA_VM=1");
    }
    vm
}

/// Runs ipvsadm, which must succeed; its output.
pub fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ipvsadm -S -n`, sorted.
pub fn save() -> Vec<String> {
    let mut v: Vec<String> = ipvsadm(&["-S", "-n"]).lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Polls `f` every 50 ms for up to `secs`; panics with the table when it never holds.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    for _ in 0..secs * 20 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "timed out waiting for {what}; ipvsadm -Sn:\n{}",
        save().join("\n")
    );
}

/// Our checker side on the configuration at `conf`, on its own thread and runtime as the
/// daemon runs it (services released at stop). Send `true` to stop it, then join.
pub fn spawn_driver(
    conf: &std::path::Path,
) -> (
    tokio::sync::watch::Sender<bool>,
    std::thread::JoinHandle<anyhow::Result<()>>,
) {
    let cfg = std::sync::Arc::new(keepalived_rs::config::load(conf, &Default::default()).model);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let driver = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(keepalived_rs::daemon::lvs::drive(
            cfg,
            keepalived_rs::daemon::lvs::Options {
                release_on_stop: true,
                log_detail: false,
            },
            stop_rx,
        ))
    });
    (stop_tx, driver)
}

/// A process (`sleep 60`) in a network namespace of its own, for a client "outside" the
/// machine (IPVS schedules packets arriving for a local address). Returned once `unshare`
/// has made the namespace (its netns link differs from ours): moving a veth into it earlier
/// lands in ours. Kill it when done.
pub fn client_netns() -> std::process::Child {
    let client = Command::new("unshare")
        .args(["-n", "sleep", "60"])
        .spawn()
        .expect("unshare");
    let pid = client.id();
    let mine = std::fs::read_link("/proc/self/ns/net").expect("own netns");
    for _ in 0..200 {
        match std::fs::read_link(format!("/proc/{pid}/ns/net")) {
            Ok(l) if l != mine => break,
            _ => std::thread::sleep(Duration::from_millis(25)),
        }
    }
    client
}
