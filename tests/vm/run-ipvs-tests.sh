#!/bin/bash
# Runs the IPVS integration tests (tests/ipvs_*_vm.rs, tests/ipvs_vm.rs: tables, reloads, quorum, sync daemon, kernel errors) inside a VM with a real IPVS kernel.
#
#   tests/vm/run-ipvs-tests.sh [cargo test args...]     # e.g. -- --nocapture
#
# For CI (root, Debian, fresh machine): installs ipvsadm (the test's oracle) if missing; the
# VM harness installs qemu-system-x86 and busybox-static and downloads the kernel on first use
# (~30 s once), after which a run is a build plus ~3-4 s of VM. The tests must not run on the
# host: they flush the kernel's IPVS table (they skip outside the VM).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run-ipvs-tests.sh: needs root" >&2; exit 2; }
if ! command -v ipvsadm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends ipvsadm >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends ipvsadm >&2; }
fi
"$here/ipvs-vm.sh" --prepare >/dev/null
cd "$root"
# cargo builds on the host, then hands the test binary to the harness, which runs it in the VM
IPVS_VM_EXPECTED=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$here/ipvs-vm.sh -t 600 -e KA_VM=1 --" \
  exec cargo test --test ipvs_vm --test ipvs_lvs_vm --test ipvs_reload_vm --test ipvs_daemon_vm --test ipvs_syncd_vm --test ipvs_errors_vm "$@"
