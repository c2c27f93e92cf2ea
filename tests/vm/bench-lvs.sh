#!/bin/bash
# LVS benchmarks inside the IPVS VM, ours vs Debian's keepalived 2.2.7 (BENCHMARKS.md, "LVS"):
#
#   tests/vm/bench-lvs.sh [bench_program|bench_tcp_check_cpu]
#
# Builds tests/ipvs_bench_vm.rs (release profile) on the host and runs the chosen ignored
# benchmark (both by default) in the VM; results are the "BENCH" lines on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench-lvs.sh: needs root" >&2; exit 2; }
"$here/ipvs-vm.sh" --prepare >/dev/null
cd "$root"
CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$here/ipvs-vm.sh -t 1800 -m 2048 -e KA_VM=1 --" \
  exec cargo test --release --test ipvs_bench_vm -- --ignored --nocapture --test-threads 1 "${1:-bench_}"
