# SPDX-License-Identifier: Apache-2.0
"""The measuring loop: for each scenario and daemon shape, start every target (each in its own
httpd), check each answers correctly, then for each concurrency run wrk against them in turn,
alternating the order, and collect each run's figures. A target that fails is reported with its
logs; the others go on."""

import os
import sys

from . import proctree, report, wrk
from .targets import Instance

MIB = 1024 * 1024


def memoryFigures(rows):
    """Tree totals from Instance.memory() rows (MiB): RSS and PSS of every process, RSS of the app
    processes and of httpd's own, the largest httpd child by RSS and by private memory (USS)."""
    rss = sum(r["rss"] for r in rows)
    pss = None if any(r["pss"] is None for r in rows) else sum(r["pss"] for r in rows)
    app = [r["rss"] for r in rows if r["role"] == "app"]
    httpd = [r["rss"] for r in rows if r["role"].startswith("httpd")]
    children = [r["rss"] for r in rows if r["role"] == "httpd-child"]
    childrenUss = [r["uss"] for r in rows if r["role"] == "httpd-child"]
    return {
        "rss_mib": round(rss / MIB, 1),
        "pss_mib": None if pss is None else round(pss / MIB, 1),
        "rss_app_mib": round(sum(app) / MIB, 1) if app else None,
        "rss_httpd_mib": round(sum(httpd) / MIB, 1),
        "httpd_child_rss_mib": round(max(children) / MIB, 1) if children else None,
        "httpd_child_uss_mib": (round(max(childrenUss) / MIB, 1)
                                if childrenUss and None not in childrenUss else None),
        "server_cpus_seen": sorted({r["cpus"] for r in rows if r["cpus"]}),
        "processes": [{"pid": r["pid"], "role": r["role"], "exe": r["exe"],
                       "rss_kib": r["rss"] // 1024,
                       "pss_kib": None if r["pss"] is None else r["pss"] // 1024,
                       "uss_kib": None if r["uss"] is None else r["uss"] // 1024}
                      for r in rows],
    }


def measureRun(inst, conc, args):
    """One measured run against a started instance: warm-up, then wrk with CPU time of the
    target's whole process tree read before and after, memory after, the answer re-checked.
    Returns the run's figures, with "failure" when a request failed or the server broke."""
    result = {}
    try:
        if not inst.alive():
            result["failure"] = "the server is no longer running"
            return result
        if args.warmup > 0:
            wrk.run(inst.port, inst.scenario, args.warmup, conc, args.wrk_threads,
                    args.client_cpus)
        if not inst.alive():
            result["failure"] = "the server exited during the warm-up"
            return result
        inst.markLogs()
        load1 = os.getloadavg()[0]
        sys0, irq0, steal0 = proctree.systemCpuTicks()
        client0 = proctree.childrenCpuSeconds()
        cpu0 = inst.cpuTicks()
        cs0 = inst.contextSwitches()
        w = wrk.run(inst.port, inst.scenario, args.duration, conc, args.wrk_threads,
                    args.client_cpus)
        cs1 = inst.contextSwitches()
        cpu1 = inst.cpuTicks()
        client1 = proctree.childrenCpuSeconds()
        sys1, irq1, steal1 = proctree.systemCpuTicks()
        secs = w["duration_us"] / 1e6
        reqs = w["requests"]
        serverSecs = (cpu1 - cpu0) / proctree.CLK_TCK
        otherSecs = max(0.0, (sys1 - sys0 - (cpu1 - cpu0)) / proctree.CLK_TCK
                        - (client1 - client0))
        result.update({
            "requests": reqs,
            "seconds": round(secs, 3),
            "rps": round(reqs / secs, 1) if secs > 0 else 0.0,
            "p50_ms": w["p50_us"] / 1000.0,
            "p90_ms": w["p90_us"] / 1000.0,
            "p99_ms": w["p99_us"] / 1000.0,
            "mean_ms": round(w["lat_mean_us"] / 1000.0, 3),
            "max_ms": w["lat_max_us"] / 1000.0,
            "mib_per_s": round(w["bytes"] / MIB / secs, 1) if secs > 0 else 0.0,
            "server_cpu_s": round(serverSecs, 3),
            "cpu_ms_per_req": round(serverSecs * 1000.0 / reqs, 4) if reqs else None,
            # Context switches of the target's threads per request: voluntary ones are the
            # hand-offs a request pays (waits on sockets, locks, other threads), involuntary
            # ones preemptions (they grow with the machine's load).
            "vcs_per_req": round((cs1[0] - cs0[0]) / reqs, 2) if reqs else None,
            "ivcs_per_req": round((cs1[1] - cs0[1]) / reqs, 2) if reqs else None,
            "client_cpu_s": round(client1 - client0, 3),
            # CPU the machine spent on anything but this target and wrk during the run (other
            # users of a shared machine): a high value means the run is not trustworthy.
            "other_cpu_s": round(otherSecs, 3),
            "other_pct": round(100.0 * otherSecs / secs, 1) if secs > 0 else None,
            "steal_cpu_s": round((steal1 - steal0) / proctree.CLK_TCK, 3),
            # CPU time the hypervisor gave to other guests while this one wanted it: on a
            # shared host it slows every target by turns, which other_pct does not show.
            "steal_pct": (round(100.0 * (steal1 - steal0) / proctree.CLK_TCK / secs, 1)
                          if secs > 0 else None),
            "irq_cpu_s": round((irq1 - irq0) / proctree.CLK_TCK, 3),
            "load1_before": round(load1, 2),
            "errors": {k[4:]: v for k, v in w.items() if k.startswith("err_")},
        })
        result.update(memoryFigures(inst.memory()))
        bad = inst.newLogLines()
        if bad:
            result["log"] = bad[:20]
        failed = wrk.errorCount(w)
        if failed:
            result["failure"] = (f"{failed} of {reqs + failed} requests failed "
                                 f"(wrk: {result['errors']})")
            return result
        # A run without errors can still have gone wrong: check the answer once more.
        problem = inst.check() if inst.alive() else "the server exited during the run"
        if problem:
            result["failure"] = f"after the run: {problem}"
        return result
    except Exception as e:  # one run's boundary: record what went wrong, go on with the next
        result["failure"] = f"{type(e).__name__}: {e}"
        return result


def progressLine(r):
    if "failure" in r:
        return "FAILED: " + " ".join(r["failure"].split())[:200]
    return (f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"cpu {r['cpu_ms_per_req'] or 0:.3f} ms/req, "
            f"cs {r['vcs_per_req'] or 0:.1f}+{r['ivcs_per_req'] or 0:.1f}/req, rss {r['rss_mib']:.1f} MiB, "
            f"other {r['other_pct'] or 0:.0f}%, steal {r.get('steal_pct') or 0:.0f}%"
            + (" (disturbed)" if report.runDisturbed(r) else ""))


class Benchmark:
    """Collects cells {(scenario, shape, concurrency, target): [run, ...]}, failures (with log
    tails) and skipped combinations over the whole plan."""

    def __init__(self, args, workDir):
        self.args = args
        self.workDir = workDir
        self.cells = {}
        self.failures = []
        self.skipped = []
        self.leftovers = []  # processes that had to be killed: a clean stop leaves none
        self.index = 0

    def fail(self, inst, problem, conc=None):
        logs = inst.logTails()
        self.failures.append({"target": inst.target.name, "scenario": inst.scenario.name,
                              "shape": inst.shape.name, "concurrency": conc,
                              "failure": problem, "log": logs})
        where = f"{inst.scenario.name} {inst.shape.name}" + (f" c{conc}" if conc else "")
        print(f"FAILED {inst.target.name} ({where}): {problem}", file=sys.stderr, flush=True)
        for line in logs[-15:]:
            print(f"    {line}", file=sys.stderr)
        sys.stderr.flush()

    def stop(self, inst):
        inst.stop()
        for note in inst.notes:
            self.leftovers.append(f"{inst.target.name} {inst.scenario.name}: {note}")
            print(f"  note: {inst.target.name} {inst.scenario.name}: {note}", file=sys.stderr)

    def startAll(self, scenario, shape):
        """Instances of every selected target that runs `scenario`, started and checked; the
        ones that failed are reported and left out."""
        live = []
        for target in self.args.targetList:
            if target.unsupported(scenario):
                continue
            self.index += 1
            inst = Instance(target, scenario, shape, self.args, self.workDir, self.index)
            problem = target.missing(self.args)
            if problem is None:
                inst.prepare()
                problem = inst.start()
                if problem is None:
                    problem = inst.checkUntilReady()
                    if problem:
                        problem = f"functional check failed: {problem}"
            if problem:
                self.fail(inst, problem)
                for conc in self.args.concurrencyList:
                    self.cells[(scenario.name, shape.name, conc, target.name)] = [
                        {"failure": f"did not start: {problem}"}]
                self.stop(inst)
                continue
            live.append(inst)
        return live

    def runGroup(self, scenario, shape):
        """Every concurrency and repeat of one scenario and shape, targets alternating."""
        live = self.startAll(scenario, shape)
        broken = set()
        try:
            turn = 0
            for conc in self.args.concurrencyList:
                for rep in range(self.args.repeat):
                    # Reverse the order every other round so slow drift of the machine does not
                    # always favour the same target.
                    order = live if turn % 2 == 0 else list(reversed(live))
                    turn += 1
                    for inst in order:
                        key = (scenario.name, shape.name, conc, inst.target.name)
                        if inst.target.name in broken:
                            self.cells.setdefault(key, []).append(
                                {"failure": "not run: the server broke in an earlier run"})
                            continue
                        r = measureRun(inst, conc, self.args)
                        self.cells.setdefault(key, []).append(r)
                        print(f"  {scenario.name:<8} {shape.name:<5} c{conc:<3} "
                              f"{inst.target.name:<18} run {rep + 1}: {progressLine(r)}",
                              flush=True)
                        if "failure" in r:
                            self.fail(inst, r["failure"], conc)
                            if not inst.alive():
                                broken.add(inst.target.name)
        finally:
            for inst in live:
                self.stop(inst)

    def run(self):
        """The whole plan. Returns True when it ran to the end, False when interrupted."""
        for scenario in self.args.scenarioList:
            for target in self.args.targetList:
                why = target.unsupported(scenario)
                if why:
                    self.skipped.append({"target": target.name, "scenario": scenario.name,
                                         "reason": why})
        try:
            for scenario in self.args.scenarioList:
                for shape in self.args.shapeList:
                    self.runGroup(scenario, shape)
        except KeyboardInterrupt:
            print("interrupted; servers stopped", file=sys.stderr)
            return False
        return True


# Measured on the development machine: wrk's start and the checks around a run take about half a
# second; starting, checking and stopping a target about a second and a half.
RUN_OVERHEAD_S = 0.5
START_STOP_S = 1.5


def estimateSeconds(args):
    """Rough wall time of the plan, for the first line of output."""
    runs = starts = 0
    for sc in args.scenarioList:
        n = sum(1 for t in args.targetList if not t.unsupported(sc))
        starts += n * len(args.shapeList)
        runs += n * len(args.shapeList) * len(args.concurrencyList) * args.repeat
    return runs * (args.warmup + args.duration + RUN_OVERHEAD_S) + starts * START_STOP_S
