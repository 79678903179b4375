# SPDX-License-Identifier: Apache-2.0
"""From measured runs to the report: medians per cell (scenario, shape, concurrency, target),
ratios to the base target of the same run, the design's goals, and the JSON document and
Markdown text. Pure functions of plain data: no processes, no files (tests/bench covers them)."""

import statistics

MIB = 1024 * 1024

# The figures kept per cell (medians over its runs) and compared with the base target.
METRICS = ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_ms_per_req", "rss_mib", "pss_mib",
           "rss_app_mib", "rss_httpd_mib", "httpd_child_rss_mib", "httpd_child_uss_mib",
           "mib_per_s", "other_pct", "steal_pct",
           "vcs_per_req", "ivcs_per_req")
# Ratios are target / base for each of these: above 1 is better for rps, worse for the others.
RATIO_METRICS = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_req", "rss_mib")

# A run during which the host took more than this share of one server core, for other guests
# (steal%) or for processes that are not the target's (other%), is flagged: such runs measure
# the host more than the target (docs/performance.md "The report"), while a tenth of a core is
# within the spread of quiet runs.
DISTURBED_PCT = 10.0


def median(values):
    """Median of the values that are not None, or None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def summarize(runs):
    """One cell from its runs: per-metric medians over the runs that succeeded, and the cell
    fails when any run failed (a failed run's requests never count as throughput)."""
    ok = [r for r in runs if "failure" not in r]
    cell = {"runs": len(runs), "failed_runs": len(runs) - len(ok)}
    for key in METRICS:
        cell[key] = median([r.get(key) for r in ok])
    failed = [r["failure"] for r in runs if "failure" in r]
    cell["status"] = "failed" if failed or not runs else "ok"
    if failed:
        cell["failure"] = failed[0]
    return cell


def ratios(cell, base):
    """{metric: cell / base} for RATIO_METRICS, or None unless both cells succeeded."""
    if cell is None or base is None or cell["status"] != "ok" or base["status"] != "ok":
        return None
    return {m: ratio(cell.get(m), base.get(m)) for m in RATIO_METRICS}


def runDisturbed(run):
    """Whether the host took more than DISTURBED_PCT of a core during one measured run."""
    return (run.get("steal_pct") or 0.0) > DISTURBED_PCT or \
        (run.get("other_pct") or 0.0) > DISTURBED_PCT


def disturbedRuns(entry):
    """The runs of a result entry the host disturbed (runDisturbed), as (run number from 1,
    steal%, other%)."""
    return [(i, r.get("steal_pct") or 0.0, r.get("other_pct") or 0.0)
            for i, r in enumerate((entry or {}).get("run_details") or [], start=1)
            if runDisturbed(r)]


def buildResults(cells, order, base):
    """The result entries, one per measured cell, in report order, each with its medians, its
    ratios to `base` at the same scenario, shape and concurrency, and its runs.
    `cells`: {(scenario, shape, concurrency, target): [run, ...]};
    `order`: {"scenarios": [...], "shapes": [...], "concurrency": [...], "targets": [...]}."""
    rank = {k: {v: i for i, v in enumerate(order[k])} for k in order}

    def sortKey(key):
        sc, shape, conc, target = key
        return (rank["scenarios"].get(sc, 99), rank["shapes"].get(shape, 99),
                rank["concurrency"].get(conc, 99), rank["targets"].get(target, 99))

    summaries = {key: summarize(runs) for key, runs in cells.items()}
    entries = []
    for key in sorted(summaries, key=sortKey):
        sc, shape, conc, target = key
        entry = {"scenario": sc, "shape": shape, "concurrency": conc, "target": target}
        entry.update(summaries[key])
        entry["ratios"] = ratios(summaries[key], summaries.get((sc, shape, conc, base)))
        entry["run_details"] = cells[key]
        entries.append(entry)
    return entries


# ---- the design's goals (DESIGN.md "Performance targets", issue 10) ---------------------------

class Goal:
    """mod_wsgid's `metric` against `other`'s in `scenario`, at the same shape and concurrency:
    ratio >= / <= limit, or (op "<=+") difference <= limit."""

    def __init__(self, text, scenario, metric, other, op, limit):
        self.text = text
        self.scenario = scenario
        self.metric = metric
        self.other = other
        self.op = op
        self.limit = limit


GOALS = [
    Goal("hello world: req/s >= 1.15x mod_wsgi embedded", "hello", "rps",
         "mod_wsgi-embedded", ">=", 1.15),
    Goal("hello world: p99 <= mod_wsgi daemon", "hello", "p99_ms", "mod_wsgi-daemon", "<=", 1.0),
    Goal("Flask: req/s >= 1.5x mod_wsgi daemon", "flask", "rps", "mod_wsgi-daemon", ">=", 1.5),
    Goal("Flask: req/s > uWSGI", "flask", "rps", "uwsgi", ">", 1.0),
    Goal("Flask: req/s >= 0.9x mod_wsgi embedded", "flask", "rps", "mod_wsgi-embedded", ">=",
         0.9),
    Goal("Flask: p99 <= mod_wsgi daemon", "flask", "p99_ms", "mod_wsgi-daemon", "<=", 1.0),
    Goal("Django: req/s >= 1.5x mod_wsgi daemon", "django", "rps", "mod_wsgi-daemon", ">=", 1.5),
    Goal("Django: req/s > uWSGI", "django", "rps", "uwsgi", ">", 1.0),
    Goal("Django: req/s >= 0.9x mod_wsgi embedded", "django", "rps", "mod_wsgi-embedded", ">=",
         0.9),
    Goal("Django: p99 <= mod_wsgi daemon", "django", "p99_ms", "mod_wsgi-daemon", "<=", 1.0),
    Goal("1 MiB file_wrapper: req/s >= 0.8x Apache serving the file", "file", "rps", "apache",
         ">=", 0.8),
    Goal("1 MiB POST echo: req/s >= 2x mod_wsgi daemon", "post", "rps", "mod_wsgi-daemon", ">=",
         2.0),
    Goal("64 KiB body: req/s >= 2x mod_wsgi daemon", "body64k", "rps", "mod_wsgi-daemon", ">=",
         2.0),
    Goal("1000 yields: req/s >= 10x mod_wsgi daemon", "yields", "rps", "mod_wsgi-daemon", ">=",
         10.0),
    Goal("Django: app processes' RSS <= mod_wsgi daemon's", "django", "rss_app_mib",
         "mod_wsgi-daemon", "<=", 1.0),
    Goal("hello world: RSS per httpd child <= Apache alone's + 1 MiB", "hello",
         "httpd_child_rss_mib", "apache", "<=+", 1.0),
    # The same goal read as private memory: RSS also counts library code shared by every child
    # (mod_wsgid.so, libstdc++), which a further child does not add.
    Goal("hello world: private memory (USS) per httpd child <= Apache alone's + 1 MiB", "hello",
         "httpd_child_uss_mib", "apache", "<=+", 1.0),
]


def evaluateGoal(goal, mine, other):
    """(value, met) for one goal from two result entries; (None, None) when either is missing or
    failed. value is the ratio, or the difference in MiB for an additive goal."""
    if not mine or not other or mine["status"] != "ok" or other["status"] != "ok":
        return None, None
    a, b = mine.get(goal.metric), other.get(goal.metric)
    if goal.op == "<=+":
        if a is None or b is None:
            return None, None
        value = a - b
        return value, value <= goal.limit
    value = ratio(a, b)
    if value is None:
        return None, None
    met = {">=": value >= goal.limit, ">": value > goal.limit, "<=": value <= goal.limit}[goal.op]
    return value, met


def goals(entries, target="mod_wsgid"):
    """Every goal at every shape and concurrency where both sides were measured (met is None
    when either failed)."""
    index = {(e["scenario"], e["shape"], e["concurrency"], e["target"]): e for e in entries}
    shapes = list(dict.fromkeys(e["shape"] for e in entries))
    combos = sorted({(e["shape"], e["concurrency"]) for e in entries},
                    key=lambda combo: (shapes.index(combo[0]), combo[1]))
    out = []
    for g in GOALS:
        for shape, conc in combos:
            mine = index.get((g.scenario, shape, conc, target))
            other = index.get((g.scenario, shape, conc, g.other))
            if mine is None or other is None:
                continue  # not both measured: nothing to say
            value, met = evaluateGoal(g, mine, other)
            out.append({"goal": g.text, "scenario": g.scenario, "shape": shape,
                        "concurrency": conc, "against": g.other, "value": value, "met": met,
                        "disturbed": bool(disturbedRuns(mine) or disturbedRuns(other))})
    return out


# ---- Markdown ----------------------------------------------------------------------------------


def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def shapeTitle(shape):
    p, _, t = shape.partition("x")
    return f"processes={p} threads={t}"


def cellText(entry, base, key="rps"):
    """A summary cell: the ratio to the base entry (marked * when either had a disturbed run),
    FAILED, or '-' when not measured."""
    if entry is None:
        return "-"
    if entry["status"] != "ok":
        return "FAILED"
    r = (entry.get("ratios") or {}).get(key)
    mark = "*" if r is not None and (disturbedRuns(entry) or disturbedRuns(base)) else ""
    return fmt(r, ".2f") + mark


def markdown(doc):
    """The whole report as Markdown: a summary of req/s ratios per shape and concurrency, the
    goals, the details per scenario (absolute figures and ratios), failures and skips."""
    entries = doc["results"]
    s = doc["settings"]
    base = s["base"]
    targets = s["targets"]
    m = doc.get("machine", {})
    out = [f"# mod_wsgid benchmark, {m.get('date', '?')}", ""]
    if doc.get("interrupted"):
        out += ["**Interrupted: these results are partial.**", ""]
    out.append(f"Machine: {m.get('cpus', '?')} CPUs ({m.get('cpu', '?')}), {m.get('os', '?')}, "
               f"kernel {m.get('kernel', '?')}; server CPUs `{s.get('server_cpus') or 'any'}`, "
               f"wrk CPUs `{s.get('client_cpus') or 'any'}`.")
    out.append(f"Runs: {s.get('duration')} s measured after {s.get('warmup')} s of warm-up, "
               f"repeat {s.get('repeat')} (medians), order alternating between targets; "
               f"mod_wsgid {m.get('mod_wsgid_commit') or '?'}.")
    if s.get("httpd_sendfile"):
        out.append(f"Every target's httpd: EnableSendfile {s['httpd_sendfile'].capitalize()}, "
                   "EnableMMAP On.")
    out.append("")
    index = {(e["scenario"], e["shape"], e["concurrency"], e["target"]): e for e in entries}
    scenarios = [sc for sc in s["scenarios"] if any(e["scenario"] == sc for e in entries)]
    titles = doc.get("scenario_titles", {})
    others = [t for t in targets if t != base]

    out.append(f"## Requests/s as a ratio to {base} (same run)")
    out.append("")
    out.append("A cell says FAILED when a request failed or the target did not start (see "
               "Failures), - when it was not measured; * marks a ratio from a cell with a run "
               "the host disturbed (see Disturbed runs).")
    for shape in s["shapes"]:
        for conc in s["concurrency"]:
            out += ["", f"### {shapeTitle(shape)}, {conc} connection{'s' if conc > 1 else ''}", ""]
            out.append(f"| scenario | {base} req/s | " + " | ".join(others) + " |")
            out.append("| --- | ---: | " + " | ".join("---:" for _ in others) + " |")
            for sc in scenarios:
                b = index.get((sc, shape, conc, base))
                bText = "-" if b is None else (
                    "FAILED" if b["status"] != "ok" else fmt(b.get("rps"), ".0f"))
                cells = [cellText(index.get((sc, shape, conc, t)), b) for t in others]
                out.append(f"| {titles.get(sc, sc)} | {bText} | " + " | ".join(cells) + " |")

    gl = doc.get("goals") or []
    if gl:
        out += ["", "## The design's goals (mod_wsgid against the target named)", ""]
        combos = []
        for g in gl:
            if (g["shape"], g["concurrency"]) not in combos:
                combos.append((g["shape"], g["concurrency"]))
        out.append("| goal | " + " | ".join(f"{sh} c{c}" for sh, c in combos) + " |")
        out.append("| --- | " + " | ".join("---" for _ in combos) + " |")
        byGoal = {}
        for g in gl:
            byGoal.setdefault(g["goal"], {})[(g["shape"], g["concurrency"])] = g
        for text, cells in byGoal.items():
            row = []
            for combo in combos:
                g = cells.get(combo)
                if g is None or g["met"] is None:
                    row.append("-")
                else:
                    unit = " MiB" if "+" in text else "x"
                    mark = "*" if g.get("disturbed") else ""
                    row.append(f"{g['value']:.2f}{unit}{mark} "
                               f"{'met' if g['met'] else 'NOT met'}")
            out.append(f"| {text} | " + " | ".join(row) + " |")

    out += ["", "## Details", "",
            "Absolute figures (medians), and in parentheses the ratio to "
            f"{base} at the same shape and concurrency. req/s: higher is better; latency, "
            "server CPU per request and memory: lower is better. RSS: every process of the "
            "target (httpd parent and children, daemons, uWSGI or gunicorn) after the run, and "
            "PSS, which counts shared pages once; app: the processes that run Python apart "
            "from httpd. cs/req: voluntary context switches of the target's threads per request "
            "(the hand-offs between threads and processes a request pays), then involuntary "
            "ones (preemptions: they grow with the machine's load)."]
    for shape in s["shapes"]:
        for sc in scenarios:
            rows = [e for e in entries if e["scenario"] == sc and e["shape"] == shape]
            if not rows:
                continue
            out += ["", f"### {titles.get(sc, sc)}, {shapeTitle(shape)}", ""]
            out.append("| target | c | req/s | p50 ms | p99 ms | server CPU ms/req | RSS MiB "
                       "| PSS MiB | app RSS MiB | cs/req | other% | steal% |")
            out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                       "| ---: | ---: |")
            for e in rows:
                if e["status"] != "ok":
                    why = " ".join(e.get("failure", "").split())[:120]
                    out.append(f"| {e['target']} | {e['concurrency']} | FAILED: {why} "
                               "| | | | | | | | | |")
                    continue
                r = e.get("ratios") or {}

                def both(key, spec, rkey=None):
                    v = fmt(e.get(key), spec)
                    rv = r.get(rkey or key)
                    return v if rv is None or e["target"] == base else f"{v} ({rv:.2f})"

                out.append(f"| {e['target']} | {e['concurrency']} | {both('rps', '.0f')} "
                           f"| {both('p50_ms', '.2f')} | {both('p99_ms', '.2f')} "
                           f"| {both('cpu_ms_per_req', '.3f')} | {both('rss_mib', '.1f')} "
                           f"| {fmt(e.get('pss_mib'), '.1f')} "
                           f"| {fmt(e.get('rss_app_mib'), '.1f')} "
                           f"| {fmt(e.get('vcs_per_req'), '.1f')}"
                           f"+{fmt(e.get('ivcs_per_req'), '.1f')} "
                           f"| {fmt(e.get('other_pct'), '.0f')} "
                           f"| {fmt(e.get('steal_pct'), '.0f')} |")

    out += ["", "## Disturbed runs", "",
            f"Runs during which the host took more than {DISTURBED_PCT:.0f} % of a server core: "
            "steal is CPU time the hypervisor gave to other guests, other is CPU time of "
            "processes that are not the target's. Their cells' figures measure the host as much "
            "as the target; ratios and goals from them are marked * above. Measure those cells "
            "again (`--repeat` takes the median of several runs).", ""]
    disturbed = [(e, run) for e in entries for run in disturbedRuns(e)]
    if not disturbed:
        out.append("None.")
    for e, (i, steal, other) in disturbed:
        out.append(f"- {e['target']}, {titles.get(e['scenario'], e['scenario'])}, "
                   f"{shapeTitle(e['shape'])}, {e['concurrency']} connections, run {i}: "
                   f"steal {steal:.0f} %, other {other:.0f} %")

    failures = doc.get("failures") or []
    out += ["", "## Failures", ""]
    if not failures:
        out.append("None: every target started and answered every request correctly.")
    for f in failures:
        where = ", ".join(str(f[k]) for k in ("scenario", "shape", "concurrency") if f.get(k))
        out.append(f"- **{f['target']}** ({where}): " + " ".join(f["failure"].split())[:300])
    skipped = doc.get("skipped") or []
    if skipped:
        out += ["", "## Not measured", ""]
        for sk in skipped:
            out.append(f"- {sk['target']}, {sk['scenario']}: {sk['reason']}")
    return "\n".join(out) + "\n"


# ---- soak --------------------------------------------------------------------------------------


def summarizeSoak(samples):
    """Memory over a long run of one target from its samples, in order; each sample is
    {"t": seconds, "requests": total so far, "processes": [{"pid", "role", "exe", "rss_kib"}]}.
    The first sample is taken after the first (warm-up) slice. Returns RSS of the whole tree
    after warm-up, at half the requests, at the end and at its largest (MiB), its growth over the
    whole run and over the second half (a leak keeps growing; a warming cache does not), and
    each process's first and last RSS. Processes that appeared or vanished meanwhile (a daemon
    recycled or respawned) are listed apart."""
    if not samples:
        return None

    def total(sample):
        return sum(p["rss_kib"] for p in sample["processes"]) / 1024.0

    last = samples[-1]
    half = next(s for s in samples if s["requests"] >= last["requests"] / 2)
    first = samples[0]
    seen = {}
    for s in samples:
        for p in s["processes"]:
            entry = seen.setdefault(p["pid"], {"pid": p["pid"], "role": p["role"],
                                               "exe": p["exe"], "first_kib": p["rss_kib"],
                                               "first_t": s["t"]})
            entry["last_kib"] = p["rss_kib"]
            entry["last_t"] = s["t"]
    firstPids = {p["pid"] for p in first["processes"]}
    lastPids = {p["pid"] for p in last["processes"]}
    steady = [dict(e, growth_kib=e["last_kib"] - e["first_kib"])
              for pid, e in seen.items() if pid in firstPids and pid in lastPids]
    return {
        "requests": last["requests"],
        "seconds": last["t"],
        "rss_first_mib": round(total(first), 1),
        "rss_half_mib": round(total(half), 1),
        "rss_last_mib": round(total(last), 1),
        "rss_max_mib": round(max(total(s) for s in samples), 1),
        "growth_mib": round(total(last) - total(first), 1),
        "growth_second_half_mib": round(total(last) - total(half), 1),
        "processes": sorted(steady, key=lambda e: -e["growth_kib"]),
        "appeared": sorted(pid for pid in seen if pid not in firstPids),
        "vanished": sorted(pid for pid in seen if pid not in lastPids),
    }


def markdownSoak(doc):
    """The soak report: per target, requests, failures and memory growth."""
    s = doc["settings"]
    out = [f"# mod_wsgid soak, {doc.get('machine', {}).get('date', '?')}", ""]
    if doc.get("interrupted"):
        out += ["**Interrupted: these results are partial.**", ""]
    out += [
        f"Scenario {s['scenario']}, {shapeTitle(s['shape'])}, {s['concurrency']} connections, "
        f"wrk slices of {s['interval']} s until {s['requests']} requests per target (at most "
        f"{s['max_minutes']} min); RSS of every process sampled after each slice.", "",
        "| target | requests | failed | RSS after warm-up MiB | at half | at end | max "
        "| growth | growth in 2nd half | processes replaced |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in doc["targets"]:
        sm = t.get("summary")
        if not sm:
            out.append(f"| {t['target']} | - | - | FAILED: "
                       f"{' '.join((t.get('failure') or '').split())[:120]} | | | | | | |")
            continue
        out.append(f"| {t['target']} | {sm['requests']} | {t['failed_requests']} "
                   f"| {sm['rss_first_mib']:.1f} | {sm['rss_half_mib']:.1f} "
                   f"| {sm['rss_last_mib']:.1f} | {sm['rss_max_mib']:.1f} "
                   f"| {sm['growth_mib']:+.1f} | {sm['growth_second_half_mib']:+.1f} "
                   f"| {len(sm['vanished'])} |")
    out += ["", "Per process (alive from the first sample to the last), RSS KiB:", "",
            "| target | pid | role | exe | after warm-up | at end | growth |",
            "| --- | ---: | --- | --- | ---: | ---: | ---: |"]
    for t in doc["targets"]:
        for p in (t.get("summary") or {}).get("processes", []):
            out.append(f"| {t['target']} | {p['pid']} | {p['role']} | {p['exe']} "
                       f"| {p['first_kib']} | {p['last_kib']} | {p['growth_kib']:+d} |")
    failures = [t for t in doc["targets"] if t.get("failure")]
    if failures:
        out += ["", "## Failures", ""]
        for t in failures:
            out.append(f"- **{t['target']}**: " + " ".join(t["failure"].split())[:300])
    return "\n".join(out) + "\n"
