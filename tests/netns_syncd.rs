//! `lvs_sync_daemon` on a kernel without IPVS (this machine and CI; the VM test
//! tests/ipvs_syncd_vm.rs covers a kernel with it): ours logs keepalived's "IPVS: Can't
//! initialize ipvs" line and goes on with VRRP (it becomes MASTER and adds its VIP) instead of
//! ending its VRRP side as keepalived 2.2.7 does (a deliberate difference: the sync daemons
//! are an optimisation, the VIP is the service). Needs root and iproute2 (tests/support/
//! netns_lab.rs); skips where IPVS is present.

#[path = "support/netns_lab.rs"]
mod lab;

use std::time::Duration;

use lab::{wait_until, Impl, Lab};

#[test]
fn without_ipvs_vrrp_goes_on() {
    if !lab::can_run(&[]) {
        return;
    }
    let loadable = std::process::Command::new("modinfo")
        .arg("ip_vs")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if std::path::Path::new("/proc/net/ip_vs").exists() || loadable {
        eprintln!("skipping: this kernel has IPVS (tests/ipvs_syncd_vm.rs covers it)");
        return;
    }
    let mut lab = Lab::new("sy", "10.9.7");
    let conf = "global_defs {\n    router_id ours\n    lvs_sync_daemon vd0 VI_1\n}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface vd0\n    virtual_router_id 71\n    priority 150\n    advert_int 1\n    virtual_ipaddress {\n        10.9.7.100/24\n    }\n}\n";
    lab.start("A", Impl::Ours, conf);
    assert!(
        wait_until(Duration::from_secs(20), || lab.has_addr("A", "10.9.7.100")),
        "no VIP:\n{}",
        lab.log("A")
    );
    let log = lab.log("A");
    assert!(log.contains("Initializing ipvs"), "{log}");
    assert!(log.contains("IPVS: Can't initialize ipvs: "), "{log}");
    assert!(log.contains("(VI_1) Entering MASTER STATE"), "{log}");
    assert!(lab.running("A"), "{log}");
    assert_eq!(lab.terminate("A"), Some(0), "{}", lab.log("A"));
}
