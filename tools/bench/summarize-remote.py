#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# summarize-remote.py - the broker tables of docs/benchmarks.md from a
# BENCH_OUT folder of tools/bench/run-remote.sh run with BENCH_REPEAT=N:
# runs NAME-r1..NAME-rN are one row, with msg/s as min / median / max over
# the repeats and the other figures as their median.
#
#   tools/bench/summarize-remote.py BENCH_OUT > table.md

import glob
import json
import os
import re
import statistics
import sys


def us(ns):
    """Nanoseconds as the doc writes latency: us, or ms from 1 ms."""
    if ns >= 1e6:
        return "%.1f ms" % (ns / 1e6)
    return "%d" % round(ns / 1e3)


def mmm(v, fmt="{:,.0f}"):
    v = sorted(v)
    return " / ".join(fmt.format(x) for x in (v[0], statistics.median(v), v[-1]))


def med(v):
    return statistics.median(v)


def server_cpu(path):
    """CPU seconds of all server threads, from NAME.cpu."""
    total = 0.0
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("server."):
                    total += float(line.split()[1])
    except OSError:
        return None
    return total


def load1(path):
    try:
        with open(path) as f:
            m = re.search(r"load average: ([0-9.]+)", f.read())
            return float(m.group(1)) if m else None
    except OSError:
        return None


def lat(phase):
    return phase["latency_ns"]


def main():
    out = sys.argv[1]
    runs = {}
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        name = os.path.basename(path)[:-5]
        base = re.sub(r"-r[0-9]+$", "", name)
        with open(path) as f:
            try:
                d = json.load(f)
            except ValueError:
                print("# %s: not JSON" % name, file=sys.stderr)
                continue
        d["_cpu"] = server_cpu(os.path.join(out, name + ".cpu"))
        d["_load"] = load1(os.path.join(out, name + ".load"))
        runs.setdefault(base, []).append(d)

    print("| run | repeats | failed | msg/s min / median / max | MB/s | "
          "latency p50 / p99 / p99.9 / max | CPU s server / bench | load |")
    print("|---|---|---|---|---|---|---|---|")
    for base, ds in runs.items():
        mode = ds[0]["mode"]
        key = "produce" if mode == "pipeline" else mode
        ph = [d[key] for d in ds]
        rate = [p["records_per_s"] for p in ph]
        mb = med([p["body_MB_per_s"] for p in ph])
        l = [lat(p) for p in ph]
        lats = " / ".join(us(med([x[k] for x in l]))
                          for k in ("p50", "p99", "p99_9", "max"))
        if mode == "consume":
            # Send to listener of a backlog written before: its age.
            lats = "(age of the backlog)"
        cpu = [d["_cpu"] for d in ds if d["_cpu"] is not None]
        bcpu = med([d["cpu_s"]["user"] + d["cpu_s"]["system"] for d in ds])
        loads = [d["_load"] for d in ds if d["_load"] is not None]
        failed = sum(1 for d in ds if not d["ok"])
        print("| %s | %d | %d | %s | %.1f | %s | %s / %.1f | %s |" % (
            base, len(ds), failed, mmm(rate), mb, lats,
            "%.1f" % med(cpu) if cpu else "-", bcpu,
            "%.1f-%.1f" % (min(loads), max(loads)) if loads else "-"))
        if mode == "pipeline":
            c = [d["consume"] for d in ds]
            cl = [lat(p) for p in c]
            print("| %s (consume, end to end) | %d | %d | %s | %.1f | %s | | |"
                  % (base, len(ds), failed,
                     mmm([p["records_per_s"] for p in c]),
                     med([p["body_MB_per_s"] for p in c]),
                     " / ".join(us(med([x[k] for x in cl]))
                                for k in ("p50", "p99", "p99_9", "max"))))


if __name__ == "__main__":
    main()
