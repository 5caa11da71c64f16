#!/usr/bin/python3
"""Turns koyomi-bench JSON reports (--json) of several servers into the
Markdown tables of docs/performance.md: medians, throughput and correctness
per server and phase, ratios against Koyomi and the replay floor, and where
each target of the performance issue stands. Standard library only; it knows
the report format of internal/bench and nothing of the servers themselves.

    render.py --report koyomi-sqlite=a.json --report radicale=b.json \
              [--missing xandikos] [--meta key=value ...]
"""

import argparse
import json
import sys

LABELS = {
    "koyomi-sqlite": "Koyomi (SQLite)",
    "koyomi-postgres": "Koyomi (PostgreSQL)",
    "radicale": "Radicale",
    "xandikos": "Xandikos",
}
OTHERS = ("radicale", "xandikos")
# Phases whose target is throughput; every other phase is a read whose
# target is latency.
THROUGHPUT_PHASES = ("put-ifmatch", "mixed")
READ_SPEEDUP, WRITE_SPEEDUP, FLOOR_FACTOR = 50, 20, 5


def label(name):
    return LABELS.get(name, name)


def row_key(r):
    return (r["phase"], r["concurrency"] if r["phase"] == "mixed" else 0)


def row_name(key):
    phase, conc = key
    return f"{phase} c={conc}" if phase == "mixed" else phase


def is_read(key):
    return key[0] not in THROUGHPUT_PHASES


def bad(r):
    """Why a result cannot count as a measurement of correct answers."""
    if r is None:
        return "not run"
    parts = []
    if r["wrong"]:
        parts.append(f"{r['wrong']} wrong")
    if r["errors"]:
        parts.append(f"{r['errors']} errors")
    if r["count"] == 0:
        parts.append("no requests")
    return ", ".join(parts)


def num(x):
    """A latency or rate with about three significant digits."""
    if x == 0:
        return "0"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def times(x):
    return f"{num(x)}×"


class Run:
    """One server's report, indexed by phase row."""

    def __init__(self, name, report):
        self.name = name
        self.report = report
        self.server = {}
        self.floor = {}
        for r in report.get("results", []):
            (self.floor if r["target"] == "floor" else self.server)[row_key(r)] = r

    def mib(self):
        hwm = self.report.get("vm_hwm_kib") or 0
        peak = max((r.get("peak_rss_kib") or 0 for r in self.server.values()), default=0)
        return max(hwm, peak) / 1024


def speedup(key, k, o):
    """How many times faster k (Koyomi) is than o: by median latency for
    reads, by throughput for writes and the mixed load."""
    if is_read(key):
        return o["p50_ms"] / k["p50_ms"] if k["p50_ms"] > 0 else None
    return k["rps"] / o["rps"] if o["rps"] > 0 else None


def ratio_cell(key, k, o, other_label):
    if k is None or o is None:
        return "—"
    s = speedup(key, k, o)
    if s is None:
        return "—"
    why = []
    if bad(k):
        why.append(f"Koyomi {bad(k)}")
    if bad(o):
        why.append(f"{other_label} {bad(o)}")
    if why:
        # A ratio against wrong answers is no result; strike it through.
        return f"~~{times(s)}~~ ({'; '.join(why)})"
    return times(s)


def render(runs, missing, meta):
    out = []
    w = out.append
    order = [n for n in LABELS if n in runs] + [n for n in runs if n not in LABELS]
    koyomis = [n for n in order if n.startswith("koyomi")]
    others = [n for n in order if n in OTHERS]
    floor = next((runs[n].floor for n in koyomis if runs[n].floor), {})
    floor_of = next((n for n in koyomis if runs[n].floor), None)

    keys = []
    for n in order:
        for key in runs[n].server:
            if key not in keys:
                keys.append(key)
    first = runs[order[0]].report if order else {}

    w("### How this was measured")
    w("")
    w(f"- Command: `{meta.get('command', '?')}` (started {meta.get('started', '?')})")
    w(f"- Data: {first.get('events', '?')} events, {first.get('contacts', '?')} contacts, "
      f"rand-seed {first.get('rand_seed', '?')}; {meta.get('duration', '?')}; other phases one worker")
    w(f"- Machine: {meta.get('cpus', '?')}, {meta.get('memory', '?')} memory; load average {meta.get('load', '?')}")
    w(f"- Versions: Koyomi {meta.get('koyomi', '?')}; PostgreSQL {meta.get('postgres', '?')}; "
      f"Radicale {meta.get('radicale', '?')}; Xandikos {meta.get('xandikos', '?')}")
    if missing:
        w(f"- No report from: {', '.join(label(m) for m in missing)} (see the script's output)")
    w("")

    w("### Medians and throughput")
    w("")
    w("p50 is the median latency in milliseconds; \"answers\" is `ok` when every answer was right and no "
      "request failed. A median over wrong answers or failed requests is marked ✗: it is not a result.")
    w("")
    head = ["phase"]
    for n in order:
        head += [f"{label(n)} p50", "req/s", "answers"]
    if floor:
        head.append("floor p50")
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for key in keys:
        cells = [row_name(key)]
        for n in order:
            r = runs[n].server.get(key)
            if r is None:
                cells += ["—", "—", "not run"]
                continue
            b = bad(r)
            mark = "✗ " if b else ""
            cells += [mark + num(r["p50_ms"]), mark + num(r["rps"]), f"**{b}**" if b else "ok"]
        if floor:
            f = floor.get(key)
            cells.append(num(f["p50_ms"]) if f else "—")
        w("| " + " | ".join(cells) + " |")
    w("")
    w("Peak RSS (the highest VmRSS/VmHWM of the server process): " + ", ".join(
        f"{label(n)} {runs[n].mib():.0f} MiB" for n in order) + ".")
    w("")
    w("Seeding: " + "; ".join(seeding(runs[n]) for n in order) + ".")
    w("")

    if koyomis:
        w("### Ratios")
        w("")
        w("How many times faster Koyomi is: the other server's median latency over Koyomi's for reads, "
          "Koyomi's requests per second over the other's for `put-ifmatch` and `mixed`. \"÷ floor\" is "
          f"Koyomi's median over the floor's (the replay handler, measured in the {label(floor_of) if floor_of else '—'} "
          "run): how far Koyomi is from only writing the bytes. A ratio involving wrong answers or failed "
          "requests is struck through.")
        w("")
        head = ["phase", "vs others by"]
        for k in koyomis:
            short = label(k).replace("Koyomi (", "").rstrip(")")
            for o in others:
                head.append(f"{short} vs {label(o)}")
            if floor:
                head.append(f"{short} ÷ floor (p50)")
        w("| " + " | ".join(head) + " |")
        w("|" + "---|" * len(head))
        for key in keys:
            cells = [row_name(key), "p50" if is_read(key) else "req/s"]
            for k in koyomis:
                kr = runs[k].server.get(key)
                for o in others:
                    cells.append(ratio_cell(key, kr, runs[o].server.get(key), label(o)))
                if floor:
                    f = floor.get(key)
                    if kr is None or f is None or f["p50_ms"] <= 0:
                        cells.append("—")
                    else:
                        c = times(kr["p50_ms"] / f["p50_ms"])
                        cells.append(f"~~{c}~~ ({bad(kr)})" if bad(kr) else c)
            w("| " + " | ".join(cells) + " |")
        w("")

    w("### Targets at this size")
    w("")
    for k in koyomis:
        w(f"{label(k)}:")
        w("")
        for line in targets(k, runs, others, floor, keys):
            w(f"- {line}")
        w("")
    return "\n".join(out).rstrip("\n")


def targets(k, runs, others, floor, keys):
    kr = runs[k].server
    lines = []
    failing = [f"{row_name(key)} ({bad(kr[key])})" for key in keys if key in kr and bad(kr[key])]
    not_run = [row_name(key) for key in keys if key not in kr]
    verdict = "met" if not failing and not not_run else "not met"
    detail = "zero wrong answers and zero failed requests in every phase"
    if failing:
        detail = "failures in " + ", ".join(failing)
    if not_run:
        detail += "; not run: " + ", ".join(not_run)
    lines.append(f"Correctness: **{verdict}** — {detail}.")

    def versus(pred, want, what):
        ratios, missing = [], []
        for key in keys:
            if not pred(key) or key not in kr:
                continue
            best = None
            for o in others:
                orow = runs[o].server.get(key)
                if orow is None:
                    continue
                s = speedup(key, kr[key], orow)
                if s is not None and (best is None or s < best[0]):
                    best = (s, o, bool(bad(orow)))
            if best is None:
                missing.append(row_name(key))
            else:
                ratios.append((best[0], key, best[1], best[2]))
        if not ratios:
            return f"{what}: **not measured** (no other server ran)."
        below = [r for r in ratios if r[0] < want]
        verdict = "met" if not below and not bad_any(kr, [r[1] for r in ratios]) else "not met"
        low = min(ratios)
        text = (f"{what}: **{verdict}** — {len(ratios) - len(below)} of {len(ratios)} at ≥{want}×; "
                f"lowest {times(low[0])} ({row_name(low[1])}, against {label(low[2])}")
        text += ", which answered wrongly there)" if low[3] else ")"
        if below:
            text += "; below: " + ", ".join(f"{row_name(r[1])} {times(r[0])}" for r in sorted(below))
        if missing:
            text += "; no comparison for " + ", ".join(missing)
        return text + "."

    lines.append(versus(is_read, READ_SPEEDUP,
                        f"Every read phase ≥{READ_SPEEDUP}× faster (p50) than the faster of Radicale and Xandikos"))
    if floor:
        over = []
        reads = [key for key in keys if is_read(key) and key in kr and key in floor and floor[key]["p50_ms"] > 0]
        for key in reads:
            f = kr[key]["p50_ms"] / floor[key]["p50_ms"]
            if f > FLOOR_FACTOR:
                over.append((f, key))
        verdict = "met" if not over else "not met"
        text = (f"Every read phase within {FLOOR_FACTOR}× of the floor (p50): **{verdict}** — "
                f"{len(reads) - len(over)} of {len(reads)} within")
        if over:
            text += "; over: " + ", ".join(f"{row_name(key)} {times(f)}" for f, key in sorted(over, reverse=True))
        lines.append(text + ".")
    else:
        lines.append(f"Every read phase within {FLOOR_FACTOR}× of the floor: **not measured** (no floor run).")
    lines.append(versus(lambda key: not is_read(key), WRITE_SPEEDUP,
                        f"PUT and mixed ≥{WRITE_SPEEDUP}× the throughput of the faster of Radicale and Xandikos"))
    mixed = [key for key in keys if key[0] == "mixed" and key in kr]
    if mixed:
        top = max(mixed, key=lambda key: key[1])
        b = bad(kr[top])
        lines.append(f"No errors and no wrong answers in {row_name(top)}: **{'not met' if b else 'met'}** — "
                     f"{b or 'none'} in {kr[top]['count']} requests.")
    events = runs[k].report.get("events", 0)
    mib = runs[k].mib()
    if events >= 100_000:
        verdict = "met" if mib * 2**20 < 150e6 else "not met"
        lines.append(f"Peak RSS under 150 MB: **{verdict}** — {mib:.0f} MiB.")
    else:
        lines.append(f"Peak RSS under 150 MB: **not measured at the target size** (100,000 events and "
                     f"20,000 contacts; this run has {events:,} and peaked at {mib:.0f} MiB).")
    return lines


def seeding(run):
    """How the server's collections were filled, and how long it took. Only
    PUT seeding measures the server; files written into its storage measure
    the disk, and the check after them the server's reads."""
    r = run.report
    if r.get("seeding") == "preseeded":
        how = r.get("storage_seeding", "filled before the run")
        took = r.get("storage_seed_seconds")
        took = f" in {seconds(took)}" if took is not None else ""
        return (f"{label(run.name)} {how}{took}, then every object checked over HTTP in "
                f"{seconds(r.get('check_seconds', 0))} (no PUT time)")
    return f"{label(run.name)} by PUT over HTTP, eight workers, in {seconds(r.get('seed_seconds', 0))}"


def seconds(x):
    return f"{x:.1f} s" if x < 10 else f"{x:.0f} s"


def bad_any(rows, keys):
    return any(bad(rows[key]) for key in keys)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--report", action="append", default=[], help="NAME=PATH of a koyomi-bench --json report")
    p.add_argument("--missing", action="append", default=[], help="a server that gave no report")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the header")
    a = p.parse_args(argv)
    runs = {}
    for spec in a.report:
        name, _, path = spec.partition("=")
        with open(path, encoding="utf-8") as f:
            runs[name] = Run(name, json.load(f))
    meta = dict(m.partition("=")[::2] for m in a.meta)
    print(render(runs, a.missing, meta))


if __name__ == "__main__":
    main(sys.argv[1:])
