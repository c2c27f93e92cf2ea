#!/bin/bash
# ipvs-vm.sh: run one command under a real Linux kernel that has IPVS, and exit with its status.
#
#   tests/vm/ipvs-vm.sh [options] -- CMD [ARGS...]
#   tests/vm/ipvs-vm.sh --prepare          # only install/prepare (kernel, initramfs); print dir
#
# Why: CI machines (and this sandbox) run a kernel without ip_vs. We boot Debian's stock
# kernel (package linux-image-amd64, downloaded with apt-get, never installed) under QEMU with
# a small busybox initramfs. The guest mounts the host's / read-only over virtio-9p with a
# tmpfs overlay on top, so host binaries (cargo test binaries, ipvsadm, keepalived) run there
# unchanged; its writes vanish at power-off. ip_vs and every scheduler module are loaded
# before CMD runs; CMD's stdout+stderr come back on our stdout.
#
# Options:
#   -f FILE      copy FILE into the guest's /ipvsvm/files (also $IPVSVM_FILES)
#   --rw DIR     share host DIR read-write at the same path (e.g. to collect output)
#   -e VAR[=VAL] pass an environment variable (CARGO_* and RUST_* always pass)
#   -t SECS      kill the guest after SECS (default 900); exit status 124
#   -m MB        guest memory (default 1024)
#   -v           timings and the kernel console on stderr
#
# Exit status: CMD's; 124 timeout; 125 harness failure (the console tail is printed).
# Needs root (apt-get; the guest shares / as root). Installs what is missing on Debian:
# qemu-system-x86, busybox-static. Cache: ${IPVSVM_CACHE:-~/.cache/ipvs-vm} (~450 MB).
# Environment: IPVSVM_KPKG=linux-image-X pins a kernel package; IPVSVM_REFRESH=1 picks the
# newest again; IPVSVM_ACCEL=auto|kvm|tcg (auto uses KVM only where it can boot a stock
# kernel: real VT-x/AMD-V, not the "kvm_pvm" device of some sandboxes).
set -euo pipefail

me=${0##*/}
fail() { echo "$me: $*" >&2; exit 125; }
say() { [ "$verbose" = 0 ] || echo "$me: $*" >&2; }
stamp() { date +%s.%N; }

files=() envs=() rw=() timeout_s=900 mem=1024 verbose=0 prepare_only=0
while [ $# -gt 0 ]; do
  case $1 in
    -f) files+=("$2"); shift 2 ;;
    --rw) rw+=("$(realpath -e -- "$2")") || fail "no directory $2"; shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    -t) timeout_s=$2; shift 2 ;;
    -m) mem=$2; shift 2 ;;
    -v) verbose=1; shift ;;
    --prepare) prepare_only=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) fail "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || [ "$prepare_only" = 1 ] || fail "no command (see --help)"
[ "$(id -u)" = 0 ] || fail "run as root"
t0=$(stamp)

# --------------------------------------------------------------------------- host packages
updated=0
apt_update() { [ "$updated" = 1 ] || { apt-get update -qq >&2; updated=1; }; }
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
# a static busybox goes into the initramfs ("ldd" fails on a static binary)
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then missing+=(busybox-static); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "$me: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # a fresh image may have stale package lists: update and retry once
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt_update; apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
    fail "cannot install ${missing[*]}"
fi

# ----------------------------------------------------------------- kernel, once per package
cache=${IPVSVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipvs-vm}
mkdir -p "$cache"

newest_kpkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}

# Parallel test binaries may all call us at once: the first prepares under a lock.
prepare_kernel() {
  local dir=$cache/$kpkg work kv off
  [ -f "$dir/ready" ] && return 0
  exec 8>"$cache/.lock"; flock 8
  if [ -f "$dir/ready" ]; then exec 8>&-; return 0; fi
  rm -rf "$cache"/.prep.*
  work=$(mktemp -d "$cache/.prep.XXXXXX")
  echo "$me: preparing $kpkg (first use only)" >&2
  if ! (cd "$work" && apt-get download -o APT::Sandbox::User=root "$kpkg" >&2); then
    # the archive keeps only the newest build: refresh the lists, resolve again
    apt_update
    [ -n "${IPVSVM_KPKG:-}" ] || kpkg=$(newest_kpkg)
    dir=$cache/$kpkg
    if [ -f "$dir/ready" ]; then rm -rf "$work"; exec 8>&-; return 0; fi
    (cd "$work" && apt-get download -o APT::Sandbox::User=root "$kpkg" >&2) ||
      fail "apt-get download $kpkg failed"
  fi
  dpkg-deb -x "$work/${kpkg}"_*.deb "$work/root"
  rm -f "$work"/*.deb
  kv=$(ls "$work/root/lib/modules")
  # the package's postinst would run depmod; we never install it, so do it here
  /bin/busybox depmod -b "$work/root" "$kv"
  # Booting the compressed bzImage under TCG spends ~2.5 s decompressing it. Debian builds
  # with CONFIG_PVH, so QEMU can start the plain ELF vmlinux instead: dig the xz stream out.
  cp "$work/root/boot/vmlinuz-$kv" "$work/vmlinuz"
  echo vmlinuz >"$work/kimage"
  if grep -q '^CONFIG_PVH=y' "$work/root/boot/config-$kv" && command -v xz >/dev/null; then
    off=$(set +o pipefail; LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$work/vmlinuz" | head -1 | cut -d: -f1)
    if [ -n "$off" ] &&
       (set +o pipefail; tail -c +$((off + 1)) "$work/vmlinuz" | xz -dc --single-stream >"$work/vmlinux" 2>/dev/null) &&
       [ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      echo vmlinux >"$work/kimage"
    else
      rm -f "$work/vmlinux"
    fi
  fi
  echo "$kv" >"$work/kver"
  rm -rf "$dir"; mv "$work" "$dir"; touch "$dir/ready"
  exec 8>&-
}

# ------------------------------------------------------- initramfs, once per script version
# Named after a hash of this script, so editing the guest's init can never boot a stale one.
prepare_initramfs() {
  local dir=$cache/$kpkg kv mdir tree m rel order=() seen=" "
  initrd=$dir/initramfs-$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12).gz
  [ -f "$initrd" ] && return 0
  exec 8>"$cache/.lock"; flock 8
  if [ -f "$initrd" ]; then exec 8>&-; return 0; fi
  rm -rf "$dir"/.ird.*
  tree=$(mktemp -d "$dir/.ird.XXXXXX")
  kv=$(cat "$dir/kver"); mdir=$dir/root/lib/modules/$kv
  mkdir -p "$tree"/{bin,dev,proc,sys,lower,rw,newroot,mod,lib/modules}
  cp /bin/busybox "$tree/bin/busybox"
  # modules for the 9p root and the overlay, then IPVS and its schedulers; dependencies first
  want() {
    local r=$1 d
    case $seen in *" $r "*) return ;; esac
    for d in $(awk -v m="$r:" '$1 == m {for (i = NF; i >= 2; i--) print $i}' "$mdir/modules.dep"); do
      want "$d"
    done
    case $seen in *" $r "*) return ;; esac
    seen="$seen$r "; order+=("$r")
  }
  for m in virtio_mmio virtio_pci 9pnet_virtio 9p overlay crc32c_generic ip_vs \
           ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_fo ip_vs_ovf ip_vs_lblc ip_vs_lblcr \
           ip_vs_dh ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq; do
    rel=$(awk -v n="/$m.ko:" 'index($1, n) {print substr($1, 1, length($1) - 1); exit}' "$mdir/modules.dep")
    [ -n "$rel" ] || fail "$kpkg has no module $m"
    want "$rel"
  done
  for rel in "${order[@]}"; do cp "$mdir/$rel" "$tree/mod/"; basename "$rel" .ko; done >"$tree/mod/order"
  echo "$kv" >"$tree/kver"
  echo "$dir/root" >"$tree/kroot"
  cat >"$tree/init" <<'GUEST_INIT'
#!/bin/busybox sh
# Guest PID 1: host / (9p, ro) + tmpfs overlay as the new root, IPVS loaded, then
# /ipvsvm/cmd.sh in a chroot; its status goes to /ipvsvm/exit, then power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
die() { echo "ipvs-vm guest: $*" >/dev/ttyS0; poweroff -f; }
T0=$(cut -d' ' -f1 /proc/uptime)
for m in $(cat /mod/order); do insmod /mod/$m.ko || die "insmod $m"; done
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $o,ro,cache=loose hostroot /lower || die "mount host root"
mount -t tmpfs -o mode=0755 rw /rw; mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
  die "mount overlay"
R=/newroot
mkdir -p $R/ipvsvm
mount -t 9p -o $o,cache=none ipvsvm $R/ipvsvm || die "mount run share"
KV=$(cat /kver); KROOT=$(cat /kroot)
# the unpacked kernel's modules, for on-demand loading both by the kernel's helper and in the chroot
for base in "" $R; do
  mkdir -p $base/lib/modules/$KV && mount --bind /lower$KROOT/lib/modules/$KV $base/lib/modules/$KV
done
echo /bin/modprobe >/proc/sys/kernel/modprobe
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts -o ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
# a fresh /run: the host's pid files must not confuse daemons started in here
mount -t tmpfs -o mode=0755 tmpfs $R/run
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mkdir -p $R/run/ipvsvm/bin; cp /bin/busybox $R/run/ipvsvm/bin/
for a in modprobe insmod rmmod lsmod modinfo; do ln -s busybox $R/run/ipvsvm/bin/$a; done
i=0
while read -r d; do
  [ -n "$d" ] || continue
  mkdir -p "$R$d" && mount -t 9p -o $o,cache=none rw$i "$R$d" || die "mount --rw $d"
  i=$((i + 1))
done <$R/ipvsvm/rwdirs
ip link set lo up
hostname ipvs-vm
stty -F /dev/ttyS1 raw -echo 2>/dev/null
T1=$(cut -d' ' -f1 /proc/uptime)
chroot $R /bin/bash /ipvsvm/cmd.sh </dev/null >/dev/ttyS1 2>&1
echo $? >$R/ipvsvm/exit
T2=$(cut -d' ' -f1 /proc/uptime)
echo "$T0 $T1 $T2" >$R/ipvsvm/uptime
sync
poweroff -f
GUEST_INIT
  chmod +x "$tree/init"
  (cd "$tree" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$tree.gz"
  rm -rf "$tree"; mv "$tree.gz" "$initrd"
  exec 8>&-
}

kpkg=${IPVSVM_KPKG:-}
if [ -z "$kpkg" ] && [ -z "${IPVSVM_REFRESH:-}" ] && [ -f "$cache/current" ]; then
  kpkg=$(cat "$cache/current")    # skip apt-cache (0.6 s) when a kernel is ready
  [ -f "$cache/$kpkg/ready" ] || kpkg=
fi
if [ -z "$kpkg" ]; then
  kpkg=$(newest_kpkg)
  [ -n "$kpkg" ] || { apt_update; kpkg=$(newest_kpkg); }
fi
[ -n "$kpkg" ] || fail "cannot resolve linux-image-amd64 to a kernel package"
prepare_kernel
prepare_initramfs
[ -n "${IPVSVM_KPKG:-}" ] || echo "$kpkg" >"$cache/current"
kdir=$cache/$kpkg
t1=$(stamp)
if [ "$prepare_only" = 1 ]; then echo "$kdir"; exit 0; fi

# ---------------------------------------------------------------------------------- one run
run=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-vm.XXXXXX")
qemu=
trap 'if [ -n "$qemu" ]; then kill "$qemu" 2>/dev/null; fi; rm -rf "$run"' EXIT
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP
mkdir -p "$run/files"
for f in ${files[@]+"${files[@]}"}; do cp -a -- "$f" "$run/files/" || fail "cannot copy $f"; done
printf '%s\n' ${rw[@]+"${rw[@]}"} >"$run/rwdirs"
{
  echo '# written by ipvs-vm.sh'
  # busybox's modprobe first: it reads the text modules.dep we made (kmod wants .bin files)
  printf 'export PATH=%q\n' "/run/ipvsvm/bin:${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"
  echo 'export HOME=/root TERM=dumb LANG=C.UTF-8 IPVSVM=1 IPVSVM_FILES=/ipvsvm/files'
  for v in $(compgen -e | grep -E '^(CARGO|RUST)_' || true); do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  for e in ${envs[@]+"${envs[@]}"}; do
    case $e in
      *=*) printf 'export %s=%q\n' "${e%%=*}" "${e#*=}" ;;
      *) if [ -n "${!e+x}" ]; then printf 'export %s=%q\n' "$e" "${!e}"; fi ;;
    esac
  done
  printf 'cd %q 2>/dev/null || cd /ipvsvm/files\n' "$PWD"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$run/cmd.sh"

accel=${IPVSVM_ACCEL:-auto}
if [ "$accel" = auto ]; then
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] &&
     grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; fi
fi
case $accel in
  kvm) accel_opts=(-accel kvm -accel tcg); smp=2 ;;
  tcg) accel_opts=(-accel tcg); smp=1 ;;
  *) fail "IPVSVM_ACCEL must be auto, kvm or tcg" ;;
esac
shares=()
share() {  # tag path options; a comma inside a QEMU option value is doubled
  shares+=(-fsdev "local,id=fs_$1,path=${2//,/,,},$3,multidevs=remap"
           -device "virtio-9p-pci,fsdev=fs_$1,mount_tag=$1")
}
share hostroot / security_model=none,readonly=on
share ipvsvm "$run" security_model=none
i=0
for d in ${rw[@]+"${rw[@]}"}; do share "rw$i" "$d" security_model=passthrough; i=$((i + 1)); done

say "kernel $kpkg ($(cat "$kdir/kver")), accel $accel"
rc=0
# --foreground keeps QEMU in our process group, so whoever stops us (cargo, CI) stops it too
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 \
  -machine pc -nodefaults -no-user-config -display none -no-reboot \
  "${accel_opts[@]}" -cpu max -m "$mem" -smp "$smp" \
  -kernel "$kdir/$(cat "$kdir/kimage")" -initrd "$initrd" \
  -append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init mitigations=off cryptomgr.notests tsc=reliable i8042.noaux i8042.nokbd ${IPVSVM_APPEND:-}" \
  -serial "file:$run/console.log" \
  -chardev stdio,id=out,signal=off -device isa-serial,chardev=out,iobase=0x2f8,irq=3 \
  "${shares[@]}" </dev/null &
qemu=$!
wait "$qemu" || rc=$?
qemu=
t2=$(stamp)

if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "$me: guest timed out after ${timeout_s}s; console:" >&2
  tail -n 40 "$run/console.log" >&2 || true
  exit 124
fi
if [ ! -s "$run/exit" ]; then
  echo "$me: the guest reported no exit status (qemu status $rc); console:" >&2
  tail -n 60 "$run/console.log" >&2 || true
  exit 125
fi
status=$(cat "$run/exit")
if [ "$verbose" = 1 ]; then
  read -r g0 g1 g2 <"$run/uptime" || true
  awk -v a="$accel" -v s="$t0" -v p="$t1" -v e="$t2" -v g0="$g0" -v g1="$g1" -v g2="$g2" 'BEGIN {
    printf "ipvs-vm: %s; prepare %.2fs; qemu %.2fs = boot to init %.2fs + init to command %.2fs + command %.2fs + power-off/exit %.2fs\n",
      a, p - s, e - p, g0, g1 - g0, g2 - g1, (e - p) - g2 }' >&2
  echo "---- kernel console ----" >&2; cat "$run/console.log" >&2
fi
exit "$status"
