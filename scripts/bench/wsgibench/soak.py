# SPDX-License-Identifier: Apache-2.0
"""Soak mode: one scenario, one shape, one concurrency, for a long run (a million requests by
default) per target, in wrk slices that alternate between the targets; after each slice the RSS
of every process of the target is sampled, and the report says how much each grew."""

import sys
import time

from . import wrk
from .runner import memoryFigures
from .targets import Instance


def kindsText(errors):
    """The kinds of failure wrk counted so far, as ' (wrk: read 3, timeout 1)'; '' for none."""
    if not errors:
        return ""
    return " (wrk: " + ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) + ")"


def runSoak(args, workDir):
    """Returns ({"target", "samples", "failed_requests", "failure"} per target, interrupted)."""
    scenario = args.scenarioList[0]
    shape = args.shapeList[0]
    conc = args.concurrencyList[0]
    states = []
    for i, target in enumerate(args.targetList):
        state = {"target": target.name, "samples": [], "requests": 0, "failed_requests": 0,
                 "errors": {}, "failure": None, "inst": None}
        states.append(state)
        why = target.unsupported(scenario) or target.missing(args)
        if why:
            state["failure"] = why
            continue
        inst = Instance(target, scenario, shape, args, workDir, i + 1)
        state["inst"] = inst
        inst.prepare()
        problem = inst.start() or inst.checkUntilReady()
        if problem:
            state["failure"] = f"did not start: {problem}; " + " | ".join(inst.logTails()[-10:])
            print(f"FAILED {target.name}: {state['failure']}", file=sys.stderr, flush=True)
    started = time.monotonic()
    deadline = started + args.soak_max_minutes * 60
    interrupted = False
    try:
        turn = 0
        while time.monotonic() < deadline:
            active = [s for s in states if s["failure"] is None and s["requests"] < args.soak]
            if not active:
                break
            for s in (active if turn % 2 == 0 else list(reversed(active))):
                inst = s["inst"]
                try:
                    w = wrk.run(inst.port, scenario, args.soak_interval, conc,
                                args.wrk_threads, args.client_cpus)
                except RuntimeError as e:
                    s["failure"] = str(e)
                    continue
                s["requests"] += w["requests"]
                s["failed_requests"] += wrk.errorCount(w)
                for kind, count in w.items():
                    if kind.startswith("err_") and count:
                        s["errors"][kind[4:]] = s["errors"].get(kind[4:], 0) + count
                mem = memoryFigures(inst.memory())
                s["samples"].append({"t": round(time.monotonic() - started, 1),
                                     "requests": s["requests"], "rss_mib": mem["rss_mib"],
                                     "processes": mem["processes"]})
                print(f"  {s['target']:<18} {s['requests']:>9} requests, "
                      f"{s['failed_requests']} failed{kindsText(s['errors'])}, "
                      f"rss {mem['rss_mib']:.1f} MiB", flush=True)
                if not inst.alive():
                    s["failure"] = "the server exited: " + " | ".join(inst.logTails()[-10:])
                elif s["failed_requests"] and not s["failure"]:
                    problem = inst.check()
                    if problem:
                        s["failure"] = problem
            turn += 1
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted; servers stopped", file=sys.stderr)
    finally:
        for s in states:
            if s["inst"] is not None:
                s["inst"].stop()
                s["notes"] = s["inst"].notes
    for s in states:
        del s["inst"]
        if s["failure"] is None and s["requests"] < args.soak:
            s["failure"] = (f"reached {s['requests']} of {args.soak} requests within "
                            f"{args.soak_max_minutes} min")
        if s["failure"] is None and s["failed_requests"]:
            s["failure"] = f"{s['failed_requests']} requests failed{kindsText(s['errors'])}"
    return states, interrupted
