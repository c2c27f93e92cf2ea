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
