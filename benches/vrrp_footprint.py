#!/usr/bin/env python3
"""VRRP footprint: memory and idle CPU as MASTER with N instances, ours vs keepalived 2.2.7.

For each N, both daemons run the same generated config at the same time, each alone in its
own network namespace (dumpsbO / dumpsbK: a veth pair, 10.95.0.1/24), so each is MASTER of
every instance and sends N adverts a second. After a settle time the script samples, over an
idle window, the CPU time (per-thread /proc/PID/task/TID/schedstat, in ns) and the memory of every process of
each daemon (keepalived: the parent and its VRRP child; ours: one process): the sum of VmRSS
and the sum of Pss (smaps_rollup, which shares pages that fork()ed processes have in common
fairly, so it does not double-count keepalived's copy-on-write pages).

Needs root, iproute2 and /usr/sbin/keepalived. Usage (from the repository root):

    cargo build --release
    sudo python3 benches/vrrp_footprint.py [--window 60] [--settle 20] [--counts 1,10,100]

Prints a Markdown table (the one in BENCHMARKS.md, "VRRP footprint").
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

KA = "/usr/sbin/keepalived"


def sh(*args, check=True):
    return subprocess.run(args, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def config(n):
    out = ["global_defs {", "   router_id footprint", "}"]
    for i in range(1, n + 1):
        out += [
            f"vrrp_instance VI_{i} {{",
            "   state MASTER",
            "   interface dv0",
            f"   virtual_router_id {i}",
            "   priority 150",
            "   advert_int 1",
            "   virtual_ipaddress {",
            f"      10.95.{1 + i // 250}.{1 + i % 250}/16",
            "   }",
            "}",
        ]
    return "\n".join(out) + "\n"


def netns(name):
    sh("ip", "netns", "del", name, check=False)
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "add", "dv0", "type", "veth", "peer", "name", "dv1")
    sh("ip", "-n", name, "addr", "add", "10.95.0.1/16", "dev", "dv0")
    for link in ("lo", "dv0", "dv1"):
        sh("ip", "-n", name, "link", "set", link, "up")


def tree(root):
    """root and all its descendants (keepalived's parent + children)."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (schedstat: exact, unlike 10 ms stat ticks)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(root):
    pids = tree(root)
    cpu = {p: cpu_ns(p) for p in pids}
    rss = sum(status_kb(p, "VmRSS") for p in pids)
    pss = sum(pss_kb(p) for p in pids)
    threads = sum(status_kb(p, "Threads") for p in pids)
    return pids, cpu, rss, pss, threads


def vips_up(ns, n):
    out = subprocess.run(["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "dv0"],
                         capture_output=True, text=True).stdout
    return out.count("10.95.") - 1 >= n  # minus the interface's own address


def run(counts, window, settle, ours, workdir):
    rows = []
    for n in counts:
        d = os.path.join(workdir, f"n{n}")
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "k.conf")
        with open(conf, "w") as f:
            f.write(config(n))
        procs = {}
        for tag, binary in (("ours", ours), ("keepalived", KA)):
            ns = "dumpsb" + tag[0].upper()
            netns(ns)
            p = lambda s: os.path.join(d, f"{tag}.{s}")
            log = open(p("log"), "w")
            procs[tag] = (ns, subprocess.Popen(
                ["ip", "netns", "exec", ns, binary, "-n", "-G", "-f", conf,
                 "-p", p("pid"), "-r", p("vrrp.pid"), "-c", p("check.pid"), "-b", p("bfd.pid")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True))
        try:
            deadline = time.monotonic() + 30
            while not all(vips_up(ns, n) for ns, _ in procs.values()):
                if time.monotonic() > deadline:
                    raise SystemExit(f"N={n}: not every instance became MASTER")
                time.sleep(0.2)
            time.sleep(settle)
            before = {t: sample(p.pid) for t, (_, p) in procs.items()}
            t0 = time.monotonic()
            time.sleep(window)
            elapsed = time.monotonic() - t0
            after = {t: sample(p.pid) for t, (_, p) in procs.items()}
            res = {}
            for t in procs:
                pids, c0, _, _, _ = before[t]
                _, c1, rss, pss, threads = after[t]
                ns = sum(c1.get(p, 0) - c0.get(p, 0) for p in pids)
                res[t] = dict(procs=len(pids), threads=threads, rss=rss, pss=pss,
                              cpu_s=ns / 1e9, cpu_pct=100.0 * ns / 1e9 / elapsed)
            rows.append((n, res))
        finally:
            for ns, p in procs.values():
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            for ns, p in procs.values():
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                sh("ip", "netns", "del", ns, check=False)
    return rows


def ratio(a, b):
    return "n/a" if b == 0 else f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=20.0)
    ap.add_argument("--counts", default="1,10,100")
    ap.add_argument("--ours", default="target/release/keepalived")
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists(KA):
        print(f"skipping: needs root and {KA}", file=sys.stderr)
        return 0
    ours = os.path.abspath(a.ours)
    counts = [int(c) for c in a.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="vrrp-footprint-") as wd:
        rows = run(counts, a.window, a.settle, ours, wd)
    print(f"Idle window {a.window:.0f} s after {a.settle:.0f} s settle, MASTER of every instance, "
          f"advert_int 1. Memory summed over every process of each daemon.\n")
    print("| instances | daemon | processes / threads | RSS sum (KiB) | PSS sum (KiB) | CPU in window (ms) | CPU (% of a core) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, res in rows:
        for t in ("ours", "keepalived"):
            r = res[t]
            print(f"| {n} | {t} | {r['procs']} / {r['threads']} | {r['rss']} | {r['pss']} | "
                  f"{r['cpu_s'] * 1000:.1f} | {r['cpu_pct']:.4f} |")
    print("\n| instances | RSS ours/keepalived | PSS ours/keepalived | CPU ours/keepalived |")
    print("|---:|---:|---:|---:|")
    for n, res in rows:
        o, k = res["ours"], res["keepalived"]
        print(f"| {n} | {ratio(o['rss'], k['rss'])} | {ratio(o['pss'], k['pss'])} | "
              f"{ratio(o['cpu_s'], k['cpu_s'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
