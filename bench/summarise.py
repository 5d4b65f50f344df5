#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turn the benchmark's raw results (JSON lines from bench/run.sh) into Markdown tables.

    summarise.py RESULTS.jsonl [MORE.jsonl...]

Every figure is the median of the runs, with [min-max] beside it when there were several;
a ratio between responders is the median of the runs' ratios.
The targets of issue 7 are printed beside the figures as met / NOT MET, and those of issue 17
(the journaled host against "journal": false, @ftrack/api and the floor; bytes written per
event; wake-ups; memory) in a table of their own, every ratio with MET / NOT MET."""
import json
import os
import statistics
import sys



def rss_growth(ref):
    """RSS change (MB) from the first sample to the last, and the highest rise above the first:
    flat means it never grew, not that it never shrank."""
    first = ref[0]["rss_kb"]
    return ((ref[-1]["rss_kb"] - first) / 1024,
            max(r["rss_kb"] - first for r in ref) / 1024)

def load(paths):
    rows = []
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def responder_cpu(r):
    return r["cpu_us_per_event"]["responder"]


def paired(rt, a, b, c, get=responder_cpu):
    """The ratio of responder a's figure to b's at concurrency c: the median over the runs of
    each run's ratio. run.sh measures the responders of a run seconds apart, so each ratio is
    taken on the machine as it was then; a ratio of medians would mix machine states."""
    ratios = []
    for run in sorted({r["run"] for r in rt}):
        x = [get(r) for r in rt if r["responder"] == a and r["concurrency"] == c and r["run"] == run]
        y = [get(r) for r in rt if r["responder"] == b and r["concurrency"] == c and r["run"] == run]
        if x and y and x[0] is not None and y[0]:
            ratios.append(x[0] / y[0])
    return med(ratios)


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000 and digits <= 1:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def span(values, digits=1):
    """median [min–max] of a list of numbers."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    m = statistics.median(values)
    if len(values) == 1:
        return fmt(m, digits)
    return f"{fmt(m, digits)} [{fmt(min(values), digits)}–{fmt(max(values), digits)}]"


def ratio(a, b):
    return a / b if a is not None and b else None


def wb_per_event(r):
    """Bytes the responder wrote (write_bytes of /proc/<pid>/io) per answered event."""
    return (r.get("write_bytes_per_event") or {}).get("responder")


def journal_per_event(r):
    """Growth of the journal on disk over a run, per event published (probe and warm-up too)."""
    d = r.get("journal_bytes_delta")
    return d / r["published"] if d is not None and r.get("published") else None


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


CONCURRENCIES = (1, 64, 256)


def main():
    rows = load(sys.argv[1:])
    by = {}
    for r in rows:
        by.setdefault(r.get("bench"), []).append(r)
    out = []
    targets = []
    machine = (by.get("machine") or [{}])[0]
    out.append("## Benchmark results\n")
    out.append(
        f"Machine: {machine.get('nproc', '?')} cores, {machine.get('cpu', '?')}, Linux "
        f"{machine.get('kernel', '?')}; {machine.get('date', '?')}. libwebsockets "
        f"{machine.get('lws', '?')}, json-c {machine.get('jsonc', '?')}, Node "
        f"{machine.get('node', '?')} with @ftrack/api {machine.get('ftrack_api', '?')}. "
        f"Each figure: median [min–max] of {machine.get('runs', '?')} runs. CPU is per event "
        f"(per delivery for fan-out), from /proc/<pid>/task/*/schedstat, kernel and user.\n"
    )

    # ---- round trip --------------------------------------------------------------------
    rt = by.get("roundtrip", [])
    cpu_at = {}
    p99_host_c1 = None
    if rt:
        out.append("### 1. Round trip (load generator → hub → responder → hub → load generator)\n")
        names = {"host": "ftrack-host + no-op plugin (journaled, the default)",
                 "host_nj": "ftrack-host + no-op plugin, \"journal\": false",
                 "js": "@ftrack/api (Node)", "floor": "floor (lws + json-c)"}
        lines = []
        for resp in ("host", "host_nj", "js", "floor"):
            for c in CONCURRENCIES:
                rs = [r for r in rt if r["responder"] == resp and r["concurrency"] == c]
                if not rs:
                    continue
                cpu = [r["cpu_us_per_event"]["responder"] for r in rs]
                cpu_at[(resp, c)] = med(cpu)
                if resp == "host" and c == 1:
                    p99_host_c1 = med([r["lat_us"]["p99"] for r in rs])
                lines.append([
                    names[resp], c,
                    span([r["replies_per_s"] for r in rs], 0),
                    span([r["lat_us"]["p50"] for r in rs], 0),
                    span([r["lat_us"]["p99"] for r in rs], 0),
                    span([r["lat_us"]["p999"] for r in rs], 0),
                    span(cpu),
                    span([r["cpu_us_per_event"]["hub"] for r in rs]),
                    span([r["cpu_us_per_event"]["loadgen"] for r in rs]),
                    span([wb_per_event(r) for r in rs], 0),
                ])
        out.append(table(["responder", "concurrency", "replies/s", "p50 µs", "p99 µs", "p999 µs",
                          "responder CPU µs/event", "hub CPU µs/event",
                          "load generator CPU µs/event", "responder bytes written/event"],
                         lines))
        rl = []
        for c in CONCURRENCIES:
            rl.append([c] + [fmt(paired(rt, a, b, c), 2) + "×" for a, b in
                             (("host", "floor"), ("host_nj", "floor"), ("js", "floor"),
                              ("js", "host"), ("js", "host_nj"))])
        out.append("\nResponder CPU per event, as ratios (the median of each run's ratio):\n")
        out.append(table(["concurrency", "ftrack-host / floor", "ftrack-host (journal off) / floor",
                          "@ftrack/api / floor", "@ftrack/api / ftrack-host",
                          "@ftrack/api / ftrack-host (journal off)"], rl))
        out.append("")
        f, j = cpu_at.get(("floor", 64)), cpu_at.get(("js", 64))
        for key, label in (("host", "journaled"), ("host_nj", "journal off")):
            h = cpu_at.get((key, 64))
            hf, jh = paired(rt, key, "floor", 64), paired(rt, "js", key, 64)
            if hf is not None:
                targets.append([f"host CPU per answered event (concurrency 64) ≤ 1.25× floor "
                                f"({label})",
                                f"{fmt(h)} µs vs floor {fmt(f)} µs: {fmt(hf, 2)}×",
                                hf <= 1.25])
            if jh is not None:
                targets.append([f"host CPU per event ≥ 2× below @ftrack/api (concurrency 64, "
                                f"{label})",
                                f"@ftrack/api / host = {fmt(jh, 2)} ({fmt(j)} µs vs "
                                f"{fmt(h)} µs)", jh >= 2])
        if p99_host_c1 is not None:
            targets.append(["round trip p99 ≤ 1 ms at concurrency 1 (ftrack-host)",
                            f"{fmt(p99_host_c1, 0)} µs", p99_host_c1 <= 1000])

    # ---- fan-out ----------------------------------------------------------------------
    fo = by.get("fanout", [])
    if fo:
        out.append("### 2. Fan-out (one publisher, M subscribing connections, through the hub)\n")
        lines = []
        best = None
        for m in (1, 10, 100):
            rs = [r for r in fo if r["subscribers"] == m]
            if not rs:
                continue
            rate = med([r["deliveries_per_s"] for r in rs])
            hub = med([r["cpu_us_per_event"]["hub"] for r in rs])
            lines.append([m, rs[0]["events"], span([r["deliveries_per_s"] for r in rs], 0),
                          span([r["cpu_us_per_event"]["hub"] for r in rs], 2),
                          span([r["cpu_us_per_event"]["receivers"] for r in rs], 2)])
            if m == 100:
                best = (rate, hub)
        out.append(table(["subscribers", "events", "deliveries/s", "hub CPU µs/delivery",
                          "receivers+publisher CPU µs/delivery"], lines))
        out.append("")
        if best:
            targets.append(["hub CPU ≤ 10 µs per delivery (100 subscribers)",
                            f"{fmt(best[1], 2)} µs", best[1] <= 10])
            targets.append(["hub ≥ 100,000 deliveries/s (100 subscribers)",
                            f"{fmt(best[0], 0)}/s", best[0] >= 100000])

    # ---- dispatch ---------------------------------------------------------------------
    dp = by.get("dispatch", [])
    if dp:
        out.append("### 3. Dispatch through ftrack-host to N plugin instances\n")
        out.append("A burst of events (50% ftrack.update, 25% discover, 25% launch) published "
                   "as fast as the SDK takes them; each instance subscribes a realistic "
                   "expression (five kinds, see docs/benchmarks.md); done when every instance "
                   "answered the marker that follows the burst.\n")
        lines = []
        for n in (1, 10, 100):
            rs = [r for r in dp if r["instances"] == n]
            if not rs:
                continue
            per_delivery = []
            for r in rs:
                d = r.get("deliveries", 0) / r["events"] if r["events"] else 0
                per_delivery.append(r["cpu_us_per_event"]["host"] / d if d else None)
            lines.append([n, rs[0]["events"], span([r["events_per_s"] for r in rs], 0),
                          fmt(med([r.get("deliveries", 0) / r["events"] for r in rs]), 2),
                          span([r["cpu_us_per_event"]["host"] for r in rs]),
                          span(per_delivery),
                          span([r["cpu_us_per_event"]["hub"] for r in rs]),
                          span([r["cpu_us_per_event"]["loadgen"] for r in rs])])
        out.append(table(["instances", "events", "events/s", "deliveries/event",
                          "host CPU µs/event", "host CPU µs/delivery", "hub CPU µs/event",
                          "publisher CPU µs/event"], lines))
        out.append("")

    # ---- footprint ----------------------------------------------------------------------
    idle = by.get("idle", [])
    host_rss = host_anon = js_rss = None
    if idle:
        out.append("### 4. Footprint\n")
        names = {"host_10_plugins": "ftrack-host, 10 plugins, connected to a hub",
                 "host_10_plugins_embedded_hub": "ftrack-host, 10 plugins, its own embedded hub",
                 "hub_alone": "ftrack-host hub (standalone)",
                 "js_responder": "@ftrack/api responder (Node)",
                 "floor_responder": "floor responder (lws + json-c)",
                 "host_after_roundtrip": "ftrack-host, 1 plugin, after the round-trip runs",
                 "host_nj_after_roundtrip": "ftrack-host, 1 plugin (journal off), after the "
                                            "round-trip runs",
                 "js_after_roundtrip": "@ftrack/api responder, after the round-trip runs",
                 "floor_after_roundtrip": "floor responder, after the round-trip runs"}
        lines = []
        for key, label in names.items():
            rs = [r for r in idle if r["name"] == key]
            if not rs:
                continue
            lines.append([label, span([r["rss_kb"] / 1024 for r in rs], 1),
                          span([r["anon_kb"] / 1024 for r in rs], 2),
                          span([r["file_kb"] / 1024 for r in rs], 1)])
            if key == "host_10_plugins":
                host_rss = med([r["rss_kb"] / 1024 for r in rs])
                host_anon = med([r["anon_kb"] / 1024 for r in rs])
            if key == "js_after_roundtrip" or (key == "js_responder" and js_rss is None):
                js_rss = med([r["rss_kb"] / 1024 for r in rs])  # warm, when measured
        out.append("Idle, resident (MB):\n")
        out.append(table(["process", "RSS MB", "anonymous MB", "file-backed MB"], lines))
        out.append("")
        if host_rss is not None:
            targets.append(["host idle RSS ≤ 20 MB with 10 plugins", f"{fmt(host_rss)} MB",
                            host_rss <= 20])
            targets.append(["host private (anonymous) memory ≤ 4 MB", f"{fmt(host_anon, 2)} MB",
                            host_anon <= 4])
        if host_rss and js_rss:
            targets.append(["host idle RSS 6× below the JS responder (warm)",
                            f"{fmt(js_rss / host_rss, 1)}× ({fmt(js_rss)} MB vs {fmt(host_rss)} MB)",
                            js_rss >= 6 * host_rss])
    fp = by.get("footprint", [])
    samples = [r for r in fp if r.get("kind") == "rss" and r.get("name") == "host"]
    # the run's last sample repeats the count of the one taken at it: keep one per count
    samples = [r for i, r in enumerate(samples)
               if i + 1 == len(samples) or samples[i + 1]["events"] != r["events"]]
    if samples:
        out.append("RSS of ftrack-host (10 plugins) while events flow (round trip at concurrency "
                   "64; one run):\n")
        out.append(table(["events", "RSS MB", "anonymous MB"],
                         [[f"{r['events']:,}", fmt(r["rss_kb"] / 1024, 2),
                           fmt(r["anon_kb"] / 1024, 2)] for r in samples]))
        out.append("")
        ref = [r for r in samples if r["events"] >= 100000]
        last = samples[-1]["events"]
        if last < 1000000:
            targets.append(["RSS flat after 1,000,000 events",
                            f"not reached: the run stopped at {last:,} events "
                            f"({fmt((samples[-1]['rss_kb'] - samples[0]['rss_kb']) / 1024, 2)} MB "
                            f"more than at its start)", False])
        elif len(ref) >= 2:
            growth, peak = rss_growth(ref)
            targets.append([f"RSS flat after {ref[-1]['events']:,} events",
                            f"{growth:+.2f} MB from {ref[0]['events']:,} to "
                            f"{ref[-1]['events']:,} events (highest {peak:+.2f} MB)",
                            peak <= 1.0])
        done = [r for r in fp if r.get("kind") == "roundtrip"]
        if done:
            r = done[-1]
            out.append(f"That run: {r['replies']:,} replies at {fmt(r['replies_per_s'], 0)}/s, "
                       f"host CPU {fmt(r['cpu_us_per_event']['host'])} µs/event.\n")

    wk = by.get("wakeups", [])
    if wk:
        out.append("Idle wake-ups of ftrack-host on its own embedded hub, no events (voluntary and "
                   "involuntary context switches of all its threads, from /proc/<pid>/task/*/status):\n")
        lines = []
        for n in (10, 100):
            rs = [r for r in wk if r["instances"] == n]
            if not rs:
                continue
            lines.append([n, rs[0]["threads"], rs[0]["seconds"],
                          span([r["wakeups_per_s"] for r in rs], 1)])
            if n == 100:
                w = med([r["wakeups_per_s"] for r in rs])
                targets.append(["idle wake-ups with 100 plugin instances: heartbeats and timers "
                                "only (≤ 10/s)", f"{fmt(w)}/s", w <= 10])
        out.append(table(["plugin instances", "threads", "seconds watched", "wake-ups/s"], lines))
        out.append("")

    st = by.get("startup", [])
    if st:
        out.append("Start-up with 50 plugins (50 distinct shared objects), exec → ready:\n")
        lines = []
        srv = [r for r in st if r["mode"] == "server"]
        emb = [r for r in st if r["mode"] == "embedded"]
        if srv:
            lines.append(["connecting to a running hub", span([r["ready_ms"] for r in srv]),
                          span([r["first_reply_ms"] for r in srv])])
        if emb:
            lines.append(["on its own embedded hub", span([r["ready_ms"] for r in emb]), "–"])
        out.append(table(["mode", "\"ready:\" line ms", "first reply ms"], lines))
        out.append("")
        if srv:
            r = med([x["ready_ms"] for x in srv])
            targets.append(["ready ≤ 100 ms with 50 plugins (\"ready:\" line)", f"{fmt(r)} ms",
                            r <= 100])
            f = med([x["first_reply_ms"] for x in srv])
            targets.append(["first successful reply ≤ 100 ms with 50 plugins", f"{fmt(f)} ms",
                            f <= 100])

    # ---- micro ------------------------------------------------------------------------
    mc = by.get("micro", [])
    if mc:
        out.append("### 5. Micro-benchmarks (ns per operation)\n")
        cases = []
        for r in mc:
            if r["case"] not in cases:
                cases.append(r["case"])
        lines = []
        for c in cases:
            rs = [r for r in mc if r["case"] == c]
            lines.append([c, rs[0].get("bytes") or "", span([r["ns"] for r in rs], 0)])
        out.append(table(["case", "bytes", "ns"], lines))
        out.append("")

    if targets:
        out.append("### Targets (issue 7)\n")
        out.append(table(["target", "measured", ""],
                         [[t, m, "met" if ok else "**NOT MET**"] for t, m, ok in targets]))
        out.append("")
    out += issue17(by)
    print("\n".join(out))


def verdict(ok):
    if ok is None:
        return "–"
    return "MET" if ok else "**NOT MET**"


def issue17(by):
    """The "Targets (issue 17)" table: target | measured | ratio | MET / NOT MET."""
    rt = by.get("roundtrip", [])
    rows = []

    def at(resp, c, get):
        return med([get(r) for r in rt if r["responder"] == resp and r["concurrency"] == c])

    def cpu(resp, c):
        return at(resp, c, lambda r: r["cpu_us_per_event"]["responder"])

    def add(target, measured, value, limit, below=True, unit="×"):
        """A row whose ratio `value` must be ≤ limit (below) or ≥ limit."""
        if value is None:
            rows.append([target, measured or "not measured (step roundtrip)", "–", "–"])
            return
        ok = value <= limit if below else value >= limit
        rows.append([target, measured, f"{fmt(value, 2)}{unit}", verdict(ok)])

    for c in CONCURRENCIES:
        h, n = cpu("host", c), cpu("host_nj", c)
        add(f"journaled host CPU/answered event ≤ 1.2× \"journal\": false (concurrency {c})",
            f"{fmt(h)} µs vs {fmt(n)} µs" if h and n else None,
            paired(rt, "host", "host_nj", c), 1.2)
    for c in CONCURRENCIES:
        h, j = cpu("host", c), cpu("js", c)
        add(f"journaled host CPU/event never above @ftrack/api (concurrency {c}): host / js ≤ 1",
            f"{fmt(h)} µs vs {fmt(j)} µs" if h and j else None, paired(rt, "host", "js", c), 1.0)
    h, j = cpu("host", 256), cpu("js", 256)
    add("journaled host CPU/event ≥ 2× below @ftrack/api (concurrency 256): js / host ≥ 2",
        f"{fmt(j)} µs vs {fmt(h)} µs" if h and j else None, paired(rt, "js", "host", 256), 2.0,
        below=False)
    n, f = cpu("host_nj", 64), cpu("floor", 64)
    add("\"journal\": false CPU/event ≤ 1.1× floor (concurrency 64)",
        f"{fmt(n)} µs vs {fmt(f)} µs" if n and f else None, paired(rt, "host_nj", "floor", 64),
        1.1)

    def rps(r):
        return r["replies_per_s"]

    hr, jr, fr = at("host", 256, rps), at("js", 256, rps), at("floor", 256, rps)
    add("replies/s at concurrency 256: journaled host ≥ 1.5× @ftrack/api",
        f"{fmt(hr, 0)}/s vs {fmt(jr, 0)}/s" if hr and jr else None,
        paired(rt, "host", "js", 256, rps), 1.5, below=False)
    # The hub and the load generator share the two cores with the responder; the floor
    # responder's replies/s show what that leaves any responder here.
    fj = paired(rt, "floor", "js", 256, rps)
    if fj is not None:
        rows.append(["(for reading the row above: the floor responder's replies/s at "
                     "concurrency 256 against @ftrack/api's)",
                     f"{fmt(fr, 0)}/s vs {fmt(jr, 0)}/s", f"{fmt(fj, 2)}×", "–"])
    p99 = at("host", 1, lambda r: r["lat_us"]["p99"])
    add("p99 of the journaled host at concurrency 1 < 1 ms",
        f"{fmt(p99, 0)} µs" if p99 is not None else None,
        p99 / 1000 if p99 is not None else None, 1.0, unit=" ms")
    for c in CONCURRENCIES:
        wb = at("host", c, wb_per_event)
        ev = at("host", c, lambda r: r.get("event_bytes"))
        jb = at("host", c, journal_per_event)
        grew = f"; journal on disk grew {fmt(jb, 0)} B/event published" if jb is not None else ""
        add(f"journaled host bytes written to disk/event ≤ 2× the event (concurrency {c}; "
            f"write_bytes of /proc/<pid>/io)",
            f"{fmt(wb, 0)} B/event vs event {fmt(ev, 0)} B{grew}"
            if wb is not None and ev else None, ratio(wb, ev), 2.0)

    wk = [r for r in by.get("wakeups", []) if r["instances"] == 100]
    w = med([r["wakeups_per_s"] for r in wk])
    rows.append(["idle wake-ups with 100 plugin instances: only heartbeats and timers "
                 "(read as ≤ 10/s)",
                 f"{fmt(w)}/s" if w is not None else "not measured (step wakeups)",
                 f"{fmt(w / 10, 2)}× the 10/s" if w is not None else "–",
                 verdict(w <= 10 if w is not None else None)])
    idle = [r for r in by.get("idle", []) if r["name"] == "host_10_plugins"]
    rss = med([r["rss_kb"] / 1024 for r in idle])
    rows.append(["idle RSS ≤ 20 MB with 10 plugins",
                 f"{fmt(rss)} MB" if rss is not None else "not measured (step idle)",
                 f"{fmt(rss / 20, 2)}× the limit" if rss is not None else "–",
                 verdict(rss <= 20 if rss is not None else None)])
    fp = [r for r in by.get("footprint", []) if r.get("kind") == "rss" and r.get("name") == "host"]
    ref = [r for r in fp if r["events"] >= 100000]
    if not fp:
        rows.append(["RSS flat after 1,000,000 events (10 plugins)",
                     "not measured (step footprint)", "–", "–"])
    elif fp[-1]["events"] < 1000000 or len(ref) < 2:
        rows.append(["RSS flat after 1,000,000 events (10 plugins)",
                     f"not reached: the run stopped at {fp[-1]['events']:,} events", "–",
                     verdict(False)])
    else:
        growth, peak = rss_growth(ref)
        rows.append(["RSS flat after 1,000,000 events (10 plugins; read as never more than "
                     "1 MB above its size at 100,000 events)",
                     f"{growth:+.2f} MB from {ref[0]['events']:,} to "
                     f"{ref[-1]['events']:,} events (highest {peak:+.2f} MB)", "–",
                     verdict(peak <= 1.0)])
    return ["### Targets (issue 17)\n",
            "CPU is the responder's, per answered event (median of the runs); a ratio is the "
            "median of each run's ratio (run.sh measures the responders of a run seconds "
            "apart). \"Journaled "
            "host\" is ftrack-host as configured by default, \"journal\": false the same "
            "instance without its journal. Bytes written: the delta of write_bytes in "
            "/proc/<responder pid>/io over the measured seconds (pages dirtied, mmap writes "
            "included) per answered event; the event's size is its JSON as the load generator "
            "publishes it. The journal's growth on disk (du -B1 of <data dir>/journal/ or of "
            "journal.sqlite with its -wal and -shm, over the whole run with its probe and "
            "warm-up, per event published) is printed beside it for information; a checkpoint "
            "can make it shrink.\n",
            table(["target", "measured", "ratio", ""], rows), ""]


if __name__ == "__main__":
    main()
