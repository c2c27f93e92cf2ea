#!/usr/bin/env bash
# parse-bench.sh — config-check speed and memory, ours vs Debian's keepalived 2.2.7, side by side.
#
#   sudo benches/parse-bench.sh            # after: cargo build --release
#
# For each size, gen-bigconf.py writes N virtual_servers (4 real_servers each, TCP_CHECK) plus
# 255 vrrp_instances on interface kleth0; each repetition runs ours
# (`target/release/keepalived --check -f FILE`) and then keepalived (`keepalived -t -f FILE`)
# on the same file, so both see the same machine load. Wall time = EPOCHREALTIME around
# /usr/bin/time (includes its fork/exec); peak RSS = /usr/bin/time -v "Maximum resident set
# size". Median of PB_REPS runs. Runs inside a private network namespace (cfgxP) holding the
# veth kleth0 the configs name, so `-t` finds the interface; nothing is sent anywhere.
#
# Environment: PB_SIZES [1000 10000], PB_REPS [5], OURS [target/release/keepalived],
#              KA [/usr/sbin/keepalived], PB_DIR [/tmp/cfgx-pb] (deleted at the end).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OURS=${OURS:-$HERE/../target/release/keepalived}
KA=${KA:-/usr/sbin/keepalived}
SIZES=${PB_SIZES:-1000 10000}
REPS=${PB_REPS:-5}
WORK=${PB_DIR:-/tmp/cfgx-pb}
NS=cfgxP

[[ $EUID -eq 0 ]] || { echo "parse-bench: needs root (network namespace)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "parse-bench: needs GNU time (apt-get install time)" >&2; exit 1; }
[[ -x $OURS ]] || { echo "parse-bench: $OURS missing (cargo build --release)" >&2; exit 1; }
[[ -x $KA ]] || { echo "parse-bench: $KA missing (apt-get install keepalived)" >&2; exit 1; }

cleanup() { ip netns del $NS 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK"
ip netns list | grep -qw $NS && { echo "namespace $NS exists (stale run?)" >&2; trap - EXIT; exit 1; }
ip netns add $NS
ip -n $NS link set lo up
ip -n $NS link add kleth0 type veth peer name klpeer0
ip -n $NS link set kleth0 up

# run_one OUT BIN ARGS... -> "wall_ms rss_kB rc"
run_one() {
    local o=$1; shift
    ip netns exec $NS bash -c 't0=$EPOCHREALTIME; /usr/bin/time -v -o "$1.time" "${@:2}" > "$1.out" 2>&1; rc=$?
        echo "$t0 $EPOCHREALTIME $rc"' _ "$o" "$@" > "$o.wall"
    local rss
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$o.time")
    awk -v rss="$rss" '{printf "%.1f %s %s\n", ($2-$1)*1000, rss, $3}' "$o.wall"
}
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

echo "# parse-bench $(date -u +%FT%TZ), $(nproc) CPUs, $REPS runs per cell (median)"
echo "# ours: $OURS --check -f FILE"
echo "# keepalived: $KA -t -f FILE ($("$KA" -v 2>&1 | head -1))"
echo
echo "| virtual_servers | lines | ours wall ms | keepalived wall ms | time ratio | ours RSS MB | keepalived RSS MB | RSS ratio | exit ours/ka |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    conf=$WORK/vs$n.conf
    python3 "$HERE/gen-bigconf.py" --vs "$n" --rs 4 --vrrp 255 > "$conf"
    lines=$(wc -l < "$conf")
    : > "$WORK/ours"; : > "$WORK/ka"
    for r in $(seq "$REPS"); do
        run_one "$WORK/o$n.$r" "$OURS" --check -f "$conf" >> "$WORK/ours"
        run_one "$WORK/k$n.$r" "$KA" -t -f "$conf" >> "$WORK/ka"
    done
    ow=$(cut -d' ' -f1 "$WORK/ours" | median); kw=$(cut -d' ' -f1 "$WORK/ka" | median)
    orss=$(cut -d' ' -f2 "$WORK/ours" | median); krss=$(cut -d' ' -f2 "$WORK/ka" | median)
    orc=$(cut -d' ' -f3 "$WORK/ours" | sort -u | tr '\n' ' '); krc=$(cut -d' ' -f3 "$WORK/ka" | sort -u | tr '\n' ' ')
    printf '| %s | %s | %.1f | %.1f | %.2fx | %.1f | %.1f | %.2fx | %s/ %s|\n' "$n" "$lines" "$ow" "$kw" \
        "$(echo "$ow / $kw" | bc -l)" "$(echo "$orss / 1024" | bc -l)" "$(echo "$krss / 1024" | bc -l)" \
        "$(echo "$orss / $krss" | bc -l)" "$orc" "$krc"
    if [[ $orc != "0 " ]]; then echo "ours said:"; head -5 "$WORK/o$n.1.out"; fi
done
