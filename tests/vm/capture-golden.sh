#!/bin/bash
# Regenerates tests/fixtures/ipvs/*.nl: the netlink bytes that Debian's ipvsadm sends to, and
# receives from, a real kernel's IPVS family, for a few representative commands.  Runs itself
# inside the IPVS VM (tests/vm/ipvs-vm.sh).  Needs root, ipvsadm and strace.
#
#   tests/vm/capture-golden.sh            # on the host: boots the VM, writes the fixtures
#
# Fixture format (read by tests/ipvs_golden.rs): '#' comment lines, then one netlink message a
# line: '> HEX' sent by ipvsadm, '< HEX' received from the kernel (whole nlmsghdr included).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../fixtures/ipvs
if [ -z "${IPVSVM:-}" ]; then
  mkdir -p "$out"
  for p in strace ipvsadm; do
    command -v $p >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $p >&2
  done
  exec "$here/ipvs-vm.sh" --rw "$out" -- bash "$here/capture-golden.sh"
fi

# strace -e write=3/read=3 hexdumps every buffer sent/received on the netlink socket (fd 3).
# Each syscall line is followed by ' | 00000  hex..  ascii |' lines; MSG_PEEK reads are skipped.
tohex() {
  awk '
    /^(sendmsg|recvmsg)\(/ {
      flush(); dir = ($0 ~ /^sendmsg/) ? ">" : "<"; skip = ($0 ~ /MSG_PEEK/ || $0 ~ /= -1/); next }
    /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / {
      if (skip) next
      line = substr($0, 11, 49); gsub(/ /, "", line); buf = buf line; next }
    END { flush() }
    function hexval(h,   i, v) {
      v = 0
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v
    }
    function flush(   n, len, i) {
      # split the buffer into netlink messages by nlmsg_len (little endian u32)
      while (length(buf) >= 8) {
        len = 0
        for (i = 3; i >= 0; i--) len = len * 256 + hexval(substr(buf, i * 2 + 1, 2))
        if (len < 16 || len * 2 > length(buf)) { print dir, buf; buf = ""; break }
        n = int((len + 3) / 4) * 4
        print dir, substr(buf, 1, len * 2)
        buf = substr(buf, n * 2 + 1)
      }
      buf = ""
    }'
}
cap() {
  local name=$1; shift
  local tr; tr=$(mktemp)
  strace -qq -e trace=sendmsg,recvmsg -e write=3 -e read=3 -xx -s 0 -o "$tr" "$@" >/dev/null
  { echo "# $*"; tohex <"$tr"; } >"$out/$name.nl"
  rm -f "$tr"
}

ipvsadm -C
cap svc_add_tcp_wlc_persist ipvsadm -A -t 192.168.10.1:80 -s wlc -p 300
cap dest_add_nat_thresholds ipvsadm -a -t 192.168.10.1:80 -r 10.0.0.11:8080 -m -w 2 -x 100 -y 10
ipvsadm -a -t 192.168.10.1:80 -r 10.0.0.12:8080 -m -w 1
cap svc_add_udp_rr_ops ipvsadm -A -u 192.168.10.2:53 -s rr -o
cap dest_add_dr ipvsadm -a -u 192.168.10.2:53 -r 10.0.0.21 -g -w 1
cap svc_add_fwmark_sh ipvsadm -A -f 42 -s sh -b sh-port,sh-fallback
cap dest_add_tun_gue ipvsadm -a -f 42 -r 10.0.0.31 -i --tun-type gue --tun-port 6080 --tun-nocsum -w 3
cap svc_add_v6_mh ipvsadm -A -t '[2001:db8::1]:443' -s mh -b mh-port -p 60 -M 64
cap dest_add_v6_dr ipvsadm -a -t '[2001:db8::1]:443' -r '[2001:db8::10]:443' -g -w 5
cap svc_add_sctp_pe ipvsadm -A --sctp-service 192.168.10.3:5060 -s lc -p 30 --pe sip
cap dest_edit_weight ipvsadm -e -t 192.168.10.1:80 -r 10.0.0.11:8080 -m -w 7 -x 100 -y 10
cap svc_edit ipvsadm -E -t 192.168.10.1:80 -s rr -p 600 -M 255.255.255.0
cap config_set ipvsadm --set 900 120 300
cap config_get ipvsadm -L --timeout
cap daemon_new ipvsadm --start-daemon master --mcast-interface lo --syncid 7 --sync-maxlen 1400 --mcast-group 224.0.0.81 --mcast-port 8848 --mcast-ttl 2
cap daemon_dump ipvsadm -L --daemon
cap daemon_del ipvsadm --stop-daemon master
cap dump_all ipvsadm -S -n
cap dest_del ipvsadm -d -t 192.168.10.1:80 -r 10.0.0.12:8080
cap svc_del ipvsadm -D -u 192.168.10.2:53
cap svc_del_missing ipvsadm -D -u 192.168.10.2:53 || true
cap flush ipvsadm -C
ipvsadm --set 0 0 0 2>/dev/null || true
echo "captured $(ls "$out"/*.nl | wc -l) fixtures"
