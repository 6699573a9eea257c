#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# vmbench-summary.py - the summary tables of vmbench.sh from the VM's
# results (results.txt): the runs vmbench-run.sh framed between
# KMQ-VMBENCH-BEGIN and KMQ-VMBENCH-END lines, each holding kmq-bench's
# JSON summary (and, for a counted drain, a KMQ-VMBENCH-SYSC line with
# kmq_vm_sysc's counts of kmqd).
#
# Prints Markdown tables (docs/benchmarks.md takes them as they are):
# the store runs and the drain runs per cell, then the ratio kernel /
# userspace of each cell. Exit: 0; 1 when a run failed (exit status or
# its own checks), a cell is missing, or there were no runs at all.
#
# Usage: vmbench-summary.py [--json OUT] results.txt
import argparse
import json
import sys


def parse(path):
    """The framed runs of @path, in order: dicts with part, attrs, rc,
    secs, data (kmq-bench's JSON or None) and sysc (or None)."""
    runs, cur = [], None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("KMQ-VMBENCH-BEGIN "):
                words = line.split()[1:]
                attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                cur = {"part": words[0], "attrs": attrs, "lines": [],
                       "rc": None, "secs": None, "data": None, "sysc": None}
            elif cur is None:
                continue
            elif line.startswith("KMQ-VMBENCH-SYSC "):
                try:
                    cur["sysc"] = json.loads(line.split(" ", 1)[1])
                except ValueError:
                    cur["sysc"] = None
            elif line.startswith("KMQ-VMBENCH-END"):
                for w in line.split()[1:]:
                    k, _, v = w.partition("=")
                    cur[k] = float(v) if k == "secs" else int(v)
                text = "\n".join(cur.pop("lines"))
                try:
                    cur["data"] = json.loads(text) if text.strip() else None
                except ValueError:
                    cur["data"] = None
                runs.append(cur)
                cur = None
            elif not line.startswith("#") and not line.startswith("KMQ-"):
                cur["lines"].append(line)
    return runs


def ok(run):
    if run["attrs"].get("kind") == "idle":
        return run["rc"] == 0 and bool(run["sysc"])
    d = run["data"]
    return run["rc"] == 0 and isinstance(d, dict) and d.get("ok", False)


def per_call(sc):
    """Total per call and the three largest names, from a bench_sysc JSON
    object with its calls."""
    calls = sc.get("calls") or 0
    if not calls:
        return None, ""
    names = sorted(((v, k) for k, v in sc.get("by_name", {}).items() if v),
                   reverse=True)[:3]
    top = ", ".join("%s %.2f" % (k, v / calls) for v, k in names)
    return sc["total"] / calls, top


def with_top(v, top):
    """A per-call figure and, when there is one, its breakdown."""
    return "%s (%s)" % (fmt(v, 2), top) if top else fmt(v, 2)


def fmt(v, digits=0):
    if v is None:
        return "-"
    return "{:,.{}f}".format(v, digits)


def spread(c, key):
    """The median of @key, with the range of its runs when it had more
    than one."""
    xs = [x for x in c.get(key + "_all") or [] if x is not None]
    if len(xs) < 2:
        return fmt(c.get(key))
    return "%s (%s-%s)" % (fmt(c.get(key)), fmt(min(xs)), fmt(max(xs)))


def ratio(k, u):
    if k is None or u is None or not u:
        return "-"
    return "%.2f" % (k / u)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2.0


# Per-call breakdowns: text, kept from the last repetition.
TEXT = ("app_top", "read_top", "top", "ioctls")


def reduce_cells(cells):
    """Each cell's lists of values (one per repetition) become their
    median; "<key>_all" keeps the list, "reps" how many there were."""
    for c in cells.values():
        for k in [k for k, v in c.items() if isinstance(v, list)]:
            xs = c[k]
            c[k + "_all"] = xs
            c["reps"] = max(c.get("reps", 0), len(xs))
            c[k] = (xs[-1] if xs else "") if k in TEXT else median(xs)
    return cells


def add(c, key, v):
    c.setdefault(key, []).append(v)


def store_cells(runs):
    cells = {}
    for r in runs:
        if r["part"] != "store":
            continue
        a = r["attrs"]
        key = (int(a["size"]), int(a["batch"]), a["backend"])
        c = cells.setdefault(key, {"ok": True})
        c["ok"] = c["ok"] and ok(r)
        if not ok(r):
            continue    # reported, and kept out of the figures
        d = r["data"] or {}
        ap, rd = d.get("append") or {}, d.get("read") or {}
        if a.get("kind") == "speed":
            add(c, "records", ap.get("records"))
            add(c, "app_rate", ap.get("records_per_s"))
            add(c, "app_mb", ap.get("body_MB_per_s"))
            add(c, "app_p50", (ap.get("latency_ns") or {}).get("p50"))
            add(c, "read_rate", rd.get("records_per_s"))
            add(c, "read_mb", rd.get("body_MB_per_s"))
        else:
            v, top = per_call(ap.get("syscalls") or {})
            add(c, "app_sc", v)
            add(c, "app_top", top)
            v, top = per_call(rd.get("syscalls") or {})
            add(c, "read_sc", v)
            add(c, "read_top", top)
    return reduce_cells(cells)


def drain_cells(runs):
    """Per (size, backend): speed, and kmqd's system calls per pull, all
    of them and net of what kmqd makes idle (its timers) over as long."""
    cells, idle = {}, {}
    for r in runs:
        if r["part"] not in ("drain", "backlog"):
            continue
        a = r["attrs"]
        key = (int(a["size"]), a["backend"])
        c = cells.setdefault(key, {"ok": True})
        c["ok"] = c["ok"] and ok(r)
        if not ok(r):
            continue    # reported, and kept out of the figures
        d = r["data"] or {}
        if r["part"] == "backlog":
            p = d.get("produce") or {}
            add(c, "produce_rate", p.get("records_per_s"))
            continue
        p = d.get("drain") or {}
        if a.get("kind") == "idle":
            sy = r["sysc"] or {}
            secs = sy.get("seconds") or 0
            if secs:
                rate = {"total": sy["syscalls"]["total"] / secs}
                for k, v in (sy.get("kmq_ioctls") or {}).items():
                    rate[k] = v / secs
                idle[key] = rate
                add(c, "idle_rate", rate["total"])
            continue
        if a.get("kind") == "speed":
            add(c, "msgs", p.get("records", p.get("expected")))
            add(c, "rate", p.get("records_per_s"))
            add(c, "mb", p.get("body_MB_per_s"))
            add(c, "pulls", p.get("pulls"))
        else:
            sc = (r["sysc"] or {}).get("syscalls")
            pulls = p.get("pulls")
            if sc and pulls:
                secs = r["sysc"].get("seconds") or 0
                base = idle.pop(key, {})
                sc = dict(sc, calls=pulls)
                v, top = per_call(sc)
                add(c, "sc", v)
                add(c, "top", top)
                add(c, "sc_net", max(0.0, (sc["total"] - base.get(
                    "total", 0) * secs) / pulls))
                ki = r["sysc"].get("kmq_ioctls") or {}
                net = {k: max(0.0, (v - base.get(k, 0) * secs) / pulls)
                       for k, v in ki.items()}
                add(c, "ioctls", ", ".join(
                    "%s %.2f" % (k, v) for v, k in
                    sorted(((v, k) for k, v in net.items()), reverse=True)
                    if v >= 0.005))
            else:
                c["ok"] = False
    return reduce_cells(cells)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("results")
    args = ap.parse_args()
    runs = parse(args.results)
    status = 0 if runs else 1
    for r in runs:
        if not ok(r):
            status = 1
            print("# FAILED: %s %s: rc %s, %s" % (
                r["part"], " ".join("%s=%s" % kv for kv in
                                    r["attrs"].items()),
                r["rc"], (r["data"] or {}).get("first_failure")))
    st, dr = store_cells(runs), drain_cells(runs)
    out = {"store": [], "drain": []}

    if st:
        reps = max(c.get("reps", 1) for c in st.values())
        print("\nkmq-bench store, ASYNC_FLUSH, in one process "
              "(syscalls: of every thread, per call)%s\n" % (
                  "; median of %d runs (range)" % reps if reps > 1 else ""))
        print("| body | batch | backend | records | append rec/s | "
              "append MB/s | append p50 | syscalls / append call | "
              "read rec/s | read MB/s | syscalls / read call |")
        print("|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---|")
        for (size, batch, be), c in sorted(st.items()):
            print("| %d B | %d | %s | %s | %s | %s | %s | %s | %s | "
                  "%s | %s |" % (
                      size, batch, be, fmt(c.get("records")),
                      spread(c, "app_rate"), fmt(c.get("app_mb"), 1),
                      fmt((c.get("app_p50") or 0) / 1000.0, 1) + " us",
                      with_top(c.get("app_sc"), c.get("app_top")),
                      spread(c, "read_rate"), fmt(c.get("read_mb"), 1),
                      with_top(c.get("read_sc"), c.get("read_top"))))
            out["store"].append(dict(c, size=size, batch=batch,
                                     backend=be))
        print("\nratio kernel / userspace (above 1: kmq.ko is faster, "
              "or makes more syscalls)\n")
        print("| body | batch | append rec/s | read rec/s | "
              "syscalls / append call (k, u) | syscalls / read call (k, u) |")
        print("|---:|---:|---:|---:|---|---|")
        for size, batch in sorted({(s, b) for s, b, _ in st}):
            k = st.get((size, batch, "kernel"))
            u = st.get((size, batch, "userspace"))
            if not k or not u:
                status = 1
                print("| %d B | %d | missing | | | |" % (size, batch))
                continue
            print("| %d B | %d | %s | %s | %s, %s | %s, %s |" % (
                size, batch, ratio(k.get("app_rate"), u.get("app_rate")),
                ratio(k.get("read_rate"), u.get("read_rate")),
                fmt(k.get("app_sc"), 2), fmt(u.get("app_sc"), 2),
                fmt(k.get("read_sc"), 2), fmt(u.get("read_sc"), 2)))

    if dr:
        reps = max(c.get("reps", 1) for c in dr.values())
        print("\nkmqd drain: kmq-bench drain, pulls of 32, ASYNC_FLUSH "
              "(syscalls: every kmqd thread, per pull)%s\n" % (
                  "; median of %d runs (range)" % reps if reps > 1 else ""))
        print("| body | backend | backlog | produce msg/s | drain msg/s | "
              "drain MB/s | pulls | kmqd idle syscalls/s | "
              "kmqd syscalls / pull | net of idle | "
              "/dev/kmq ioctls / pull, net of idle |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|")
        for (size, be), c in sorted(dr.items()):
            print("| %d B | %s | %s | %s | %s | %s | %s | %s | %s | "
                  "%s | %s |" % (
                      size, be, fmt(c.get("msgs")),
                      fmt(c.get("produce_rate")), spread(c, "rate"),
                      fmt(c.get("mb"), 1), fmt(c.get("pulls")),
                      fmt(c.get("idle_rate"), 1),
                      with_top(c.get("sc"), c.get("top")),
                      fmt(c.get("sc_net"), 2),
                      c.get("ioctls") or "-"))
            out["drain"].append(dict(c, size=size, backend=be))
        print("\nratio kernel / userspace\n")
        print("| body | drain msg/s | kmqd syscalls / pull, net of idle "
              "(k, u) |")
        print("|---:|---:|---|")
        for size in sorted({s for s, _ in dr}):
            k, u = dr.get((size, "kernel")), dr.get((size, "userspace"))
            if not k or not u:
                status = 1
                print("| %d B | missing | |" % size)
                continue
            print("| %d B | %s | %s, %s |" % (
                size, ratio(k.get("rate"), u.get("rate")),
                fmt(k.get("sc_net"), 2), fmt(u.get("sc_net"), 2)))

    for c in out["store"] + out["drain"]:
        if not c["ok"]:
            status = 1
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return status


if __name__ == "__main__":
    sys.exit(main())
