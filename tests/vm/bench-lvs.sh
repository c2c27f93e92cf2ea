#!/bin/bash
# LVS benchmarks inside the IPVS VM, ours vs Debian's keepalived 2.2.7 (BENCHMARKS.md, "LVS"):
#
#   tests/vm/bench-lvs.sh program [N]   # start-up programming of 1,000 VS x 10 RS, N samples
#                                       # each (default 5), one fresh VM per sample
#   tests/vm/bench-lvs.sh tcp [WHO]     # CPU per 10,000 TCP_CHECK probes (one VM per daemon;
#                                       # WHO = ours | keepalived, default both)
#   tests/vm/bench-lvs.sh reload [N]    # SIGHUP with one real server's weight changed on a
#                                       # running 1,000 x 10: time to the new weight and CPU,
#                                       # N runs per daemon (default 3), interleaved in one VM
#
# Builds tests/ipvs_bench_vm.rs (release profile) on the host and runs the ignored benchmark in
# the VM; the "BENCH" lines are the results, medians are printed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench-lvs.sh: needs root" >&2; exit 2; }
"$here/ipvs-vm.sh" --prepare >/dev/null
cd "$root"
bin=$(cargo test --release --test ipvs_bench_vm --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and "ipvs_bench_vm" in m["executable"]: print(m["executable"])' | tail -1)
[ -n "$bin" ] || { echo "bench-lvs.sh: build failed" >&2; exit 1; }
vm() { "$here/ipvs-vm.sh" -t 1800 -m 2048 -e KA_VM=1 -e "LVS2_BENCH_WHO=$1" -- "$bin" --ignored --nocapture --test-threads 1 --exact "$2" 2>&1; }
case "${1:-program}" in
  program)
    n=${2:-5}
    for i in $(seq "$n"); do
      for who in ours keepalived; do vm "$who" bench_program | grep 'BENCH' | grep -v ratio; done
    done | tee /dev/stderr | python3 -c '
import re,sys,statistics
t={}
for l in sys.stdin:
    m=re.search(r"program 1000x10: (.*): runs \[([0-9.]+)(m?s)\]",l)
    if m: t.setdefault(m.group(1),[]).append(float(m.group(2))/(1000 if m.group(3)=="ms" else 1))
for k,v in t.items(): print("median %s: %.2f s over %s" % (k, statistics.median(v), v))
if len(t)==2:
    a,b=[statistics.median(v) for v in t.values()]; print("ratio ours/keepalived: %.2f" % (a/b))'
    ;;
  tcp)
    for who in ${2:-ours keepalived}; do vm "$who" bench_tcp_check_cpu | grep -E 'BENCH|panicked|timed out' || true; done
    ;;
  reload)
    # one VM, the daemons interleaved run by run (the guest's speed drifts between VMs)
    "$here/ipvs-vm.sh" -t 3600 -m 2048 -e KA_VM=1 -e "LVS2_BENCH_RUNS=${2:-3}" -- \
      "$bin" --ignored --nocapture --test-threads 1 --exact bench_reload 2>&1 | grep -E 'BENCH|panicked|timed out' || true
    ;;
  *) echo "usage: $0 program [N] | tcp | reload [N]" >&2; exit 2 ;;
esac
