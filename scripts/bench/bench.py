#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Benchmark driver: measures mod_wsgid against Debian's mod_wsgi (daemon and embedded mode), uWSGI
# behind mod_proxy_uwsgi, gunicorn behind mod_proxy_http and Apache serving the same bytes, with
# wrk against a real /usr/sbin/apache2 on 127.0.0.1, and writes the report (JSON and Markdown) with
# every figure as a ratio to mod_wsgi daemon mode from the same run. Standard library only; run it
# through bench.sh, which installs what it needs. docs/performance.md says how to read it.

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from wsgibench import machine, report, runner, scenarios, soak, targets  # noqa: E402

DEFAULT_REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SHAPES = "1x15,2x16"
DEFAULT_CONCURRENCY = "1,16,64"
# Seconds per measured run and its warm-up: a full run (every scenario, target, shape and
# concurrency: 252 runs) then takes about 35 minutes; --repeat multiplies it.
DEFAULT_DURATION = 5
DEFAULT_WARMUP = 2
# --quick: a smoke check of every target in a minute and a half.
QUICK = {"scenarios": ",".join(scenarios.QUICK), "shapes": "2x16", "concurrency": "16",
         "duration": 2, "warmup": 1}
# --soak: long enough that a leak of a few bytes per request shows up as megabytes.
SOAK_REQUESTS = 1_000_000
SOAK = {"targets": "mod_wsgid,mod_wsgi-daemon", "scenarios": "hello", "shapes": "2x16",
        "concurrency": "16", "warmup": 0, "duration": 0}
# Packages every target needs: the load generator, the web server, the frameworks the apps use.
COMMON_PACKAGES = ("wrk", "apache2", "python3-flask", "python3-django")


def splitList(text):
    return [x.strip() for x in text.split(",") if x.strip()]


def parseArgs(argv):
    p = argparse.ArgumentParser(
        description="Benchmark mod_wsgid against mod_wsgi (daemon and embedded), uWSGI, gunicorn "
                    "and Apache alone with wrk; see docs/performance.md.")
    p.add_argument("--targets", help="comma-separated, of: " + ", ".join(targets.BY_NAME) +
                   " (default: all)")
    p.add_argument("--base", default=targets.DEFAULT_BASE,
                   help=f"the target every ratio is relative to (default {targets.DEFAULT_BASE})")
    p.add_argument("--scenarios", help="comma-separated, of: " + ", ".join(scenarios.BY_NAME) +
                   " (default: all)")
    p.add_argument("--shapes", help="daemon shapes PROCESSESxTHREADS, comma-separated "
                   f"(default {DEFAULT_SHAPES}); uWSGI and gunicorn get the same counts")
    p.add_argument("--concurrency", help="wrk connections, comma-separated "
                   f"(default {DEFAULT_CONCURRENCY})")
    p.add_argument("--duration", type=int, help=f"seconds per measured run (default "
                   f"{DEFAULT_DURATION})")
    p.add_argument("--warmup", type=int, help=f"seconds of unmeasured warm-up before each run "
                   f"(default {DEFAULT_WARMUP}; 0: none)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per cell, order alternating; medians are reported (default 1)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke check: scenarios {QUICK['scenarios']}, shape {QUICK['shapes']}, "
                   f"{QUICK['concurrency']} connections, {QUICK['duration']} s runs (options "
                   "given explicitly win)")
    p.add_argument("--soak", type=int, nargs="?", const=SOAK_REQUESTS, default=None,
                   metavar="REQUESTS", help=f"soak mode: REQUESTS (default {SOAK_REQUESTS}) per "
                   "target, sampling every process's RSS, and report its growth (default targets "
                   f"{SOAK['targets']}, scenario {SOAK['scenarios']}, shape {SOAK['shapes']}, "
                   f"{SOAK['concurrency']} connections)")
    p.add_argument("--soak-interval", type=int, default=10,
                   help="soak: seconds of each wrk slice between two samples (default 10)")
    p.add_argument("--soak-max-minutes", type=int, default=180,
                   help="soak: stop after this long even if REQUESTS were not reached "
                        "(default 180)")
    p.add_argument("--wrk-threads", type=int, default=2,
                   help="wrk threads, at most one per connection (default 2)")
    p.add_argument("--server-cpus", default=None,
                   help="taskset CPU list for every server process (default: CPU 1 when the "
                        "machine has 2 or more, else no pinning)")
    p.add_argument("--client-cpus", default=None,
                   help="taskset CPU list for wrk (default: CPU 0 when the machine has 2 or more)")
    p.add_argument("--no-pin", action="store_true", help="no CPU pinning at all")
    p.add_argument("--wsgid-daemon-options", default="",
                   help="extra WSGIDaemonProcess options for mod_wsgid only (e.g. log-rate=0)")
    p.add_argument("--httpd-sendfile", choices=("off", "on"), default="on",
                   help="httpd's EnableSendfile for every target (default on: Apache alone sends "
                        "its file with sendfile, the ceiling of the file_wrapper target; off is "
                        "httpd's own default, which Debian's apache2.conf keeps)")
    p.add_argument("--out", default="/tmp", help="directory for the JSON and Markdown reports")
    p.add_argument("--repo", default=DEFAULT_REPO, help="source tree (for version info)")
    p.add_argument("--build-dir", default=None,
                   help="build tree with .libs/mod_wsgid.so and wsgid-daemon (default: --repo)")
    p.add_argument("--compare-build", default=None, metavar="DIR",
                   help=f"a second mod_wsgid build tree, measured in the same run as the target "
                        f"{targets.COMPARE_TARGET} (default targets then include it)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work dir (generated configs and logs of every server)")
    p.add_argument("--list-packages", action="store_true",
                   help="print the Debian packages the selected targets need, and exit")
    args = p.parse_args(argv)

    mode = SOAK if args.soak is not None else QUICK if args.quick else {}
    defaultTargets = [n for n in targets.BY_NAME
                      if n != targets.COMPARE_TARGET or args.compare_build]
    defaults = {"targets": ",".join(defaultTargets), "scenarios": ",".join(scenarios.BY_NAME),
                "shapes": DEFAULT_SHAPES, "concurrency": DEFAULT_CONCURRENCY,
                "duration": DEFAULT_DURATION, "warmup": DEFAULT_WARMUP}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, mode.get(key, value))

    args.repo = os.path.abspath(args.repo)
    args.buildDir = os.path.abspath(args.build_dir or args.repo)
    args.builds = {targets.BUILD_MAIN: machine.Build(args.buildDir)}
    if args.compare_build:
        args.builds[targets.BUILD_COMPARE] = machine.Build(os.path.abspath(args.compare_build))
    unknown = [n for n in splitList(args.targets) if n not in targets.BY_NAME]
    if unknown or not splitList(args.targets):
        p.error(f"--targets: unknown {', '.join(unknown) or '(empty)'}; "
                f"known: {', '.join(targets.BY_NAME)}")
    args.targetList = [targets.BY_NAME[n] for n in splitList(args.targets)]
    unknown = [n for n in splitList(args.scenarios) if n not in scenarios.BY_NAME]
    if unknown or not splitList(args.scenarios):
        p.error(f"--scenarios: unknown {', '.join(unknown) or '(empty)'}; "
                f"known: {', '.join(scenarios.BY_NAME)}")
    args.scenarioList = [scenarios.BY_NAME[n] for n in splitList(args.scenarios)]
    try:
        args.shapeList = [targets.Shape(s) for s in splitList(args.shapes)]
        args.concurrencyList = [int(c) for c in splitList(args.concurrency)]
    except ValueError:
        p.error("--shapes takes PROCESSESxTHREADS (e.g. 2x16), --concurrency numbers")
    if not args.shapeList or not args.concurrencyList or min(args.concurrencyList) < 1:
        p.error("--shapes and --concurrency need at least one positive value")
    if args.base not in targets.BY_NAME:
        p.error(f"--base: unknown target {args.base}")
    if args.soak is None and (args.duration < 1 or args.warmup < 0 or args.repeat < 1):
        p.error("--duration and --repeat must be at least 1, --warmup at least 0")
    if args.soak is not None and (args.soak < 1 or args.soak_interval < 1):
        p.error("--soak and --soak-interval must be at least 1")
    if args.wrk_threads < 1:
        p.error("--wrk-threads must be at least 1")
    if args.no_pin:
        args.server_cpus = args.client_cpus = ""
    elif (os.cpu_count() or 1) >= 2:
        # One core for every server process, one for wrk: the setting of the design's targets.
        args.server_cpus = "1" if args.server_cpus is None else args.server_cpus
        args.client_cpus = "0" if args.client_cpus is None else args.client_cpus
    else:
        args.server_cpus = args.server_cpus or ""
        args.client_cpus = args.client_cpus or ""
    return args


def stopOnSignal(signum, frame):
    """SIGTERM/SIGHUP end the benchmark the way Ctrl-C does: the servers are stopped."""
    raise KeyboardInterrupt


def makeWorkDir():
    """A short temp dir (Unix socket paths are limited to 108 bytes) with the apps, the data
    files and the files Apache serves, readable by the servers' user."""
    workDir = tempfile.mkdtemp(prefix="wb", dir="/tmp")
    appsDir = os.path.join(workDir, "apps")
    shutil.copytree(os.path.join(HERE, "apps"), appsDir)
    scenarios.writeData(appsDir, os.path.join(workDir, "static"))
    for root, dirs, files in os.walk(workDir):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return workDir


def writeReport(args, doc, text, kind):
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(args.out, f"wsgid-{kind}-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(base + ".md", "w") as f:
        f.write(text)
    return base


def settingsOf(args):
    return {
        "targets": [t.name for t in args.targetList],
        "base": args.base,
        "scenarios": [s.name for s in args.scenarioList],
        "shapes": [s.name for s in args.shapeList],
        "concurrency": args.concurrencyList,
        "duration": args.duration,
        "warmup": args.warmup,
        "repeat": args.repeat,
        "wrk_threads": args.wrk_threads,
        "server_cpus": args.server_cpus,
        "client_cpus": args.client_cpus,
        "wsgid_daemon_options": args.wsgid_daemon_options,
        "httpd_sendfile": args.httpd_sendfile,
        "mpm": f"event (StartServers 2, ThreadsPerChild "
               f"{targets.threadsPerChild(args.concurrencyList)})",
    }


def benchmark(args, info, workDir):
    print(f"wsgid bench: {info['date']}, {info['cpus']} CPUs ({info['cpu']}); targets "
          f"{', '.join(t.name for t in args.targetList)}; server CPUs "
          f"{args.server_cpus or 'any'}, wrk CPUs {args.client_cpus or 'any'}; about "
          f"{runner.estimateSeconds(args) / 60:.0f} min; work dir {workDir}", flush=True)
    bench = runner.Benchmark(args, workDir)
    complete = bench.run()
    order = {"scenarios": [s.name for s in args.scenarioList],
             "shapes": [s.name for s in args.shapeList],
             "concurrency": args.concurrencyList,
             "targets": [t.name for t in args.targetList]}
    entries = report.buildResults(bench.cells, order, args.base)
    for e in entries:
        # Embedded mode and Apache alone run the same config in every shape's group.
        e["shape_applies"] = targets.BY_NAME[e["target"]].shaped
    doc = {
        "kind": "mod_wsgid benchmark",
        "machine": info,
        "settings": settingsOf(args),
        "scenario_titles": {s.name: s.title for s in scenarios.SCENARIOS},
        "target_titles": {t.name: t.title for t in targets.TARGETS},
        "interrupted": not complete,
        "results": entries,
        "goals": report.goals(entries),
        "failures": bench.failures,
        "skipped": bench.skipped,
        "leftovers": bench.leftovers,
    }
    text = report.markdown(doc)
    print()
    print(text)
    path = writeReport(args, doc, text, "bench")
    print(f"report: {path}.md, {path}.json")
    for f in bench.failures:
        where = " ".join(str(f[k]) for k in ("scenario", "shape", "concurrency") if f.get(k))
        print(f"\n{f['target']} failed ({where}): {f['failure']}", file=sys.stderr)
        for line in f["log"][-20:]:
            print(f"    {line}", file=sys.stderr)
    return 0 if complete and not bench.failures else 1


def soakMode(args, info, workDir):
    print(f"wsgid soak: {info['date']}, {args.soak} requests per target "
          f"({', '.join(t.name for t in args.targetList)}), scenario "
          f"{args.scenarioList[0].name}, {args.shapeList[0]}, {args.concurrencyList[0]} "
          f"connections; work dir {workDir}", flush=True)
    states, interrupted = soak.runSoak(args, workDir)
    for s in states:
        s["summary"] = report.summarizeSoak(s["samples"])
    doc = {
        "kind": "mod_wsgid soak",
        "machine": info,
        "settings": {"scenario": args.scenarioList[0].name, "shape": args.shapeList[0].name,
                     "concurrency": args.concurrencyList[0], "requests": args.soak,
                     "interval": args.soak_interval, "max_minutes": args.soak_max_minutes,
                     "server_cpus": args.server_cpus, "client_cpus": args.client_cpus},
        "interrupted": interrupted,
        "targets": states,
    }
    text = report.markdownSoak(doc)
    print()
    print(text)
    path = writeReport(args, doc, text, "soak")
    print(f"report: {path}.md, {path}.json")
    return 1 if interrupted or any(s["failure"] for s in states) else 0


def main(argv):
    args = parseArgs(argv)
    if args.list_packages:
        print(" ".join(list(COMMON_PACKAGES) +
                       targets.packagesFor(t.name for t in args.targetList)))
        return 0
    missing = [what for what, ok in (("wrk", shutil.which("wrk")),
                                     (targets.APACHE2, os.path.exists(targets.APACHE2)))
               if not ok]
    if missing:
        print(f"missing: {', '.join(missing)} (scripts/bench/bench.sh installs them)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, stopOnSignal)
    signal.signal(signal.SIGHUP, stopOnSignal)
    workDir = makeWorkDir()
    info = machine.machineInfo(args.repo)
    for t in args.targetList:
        if isinstance(t, targets.ModWsgid) and t.missing(args) is None:
            info[f"{t.name}_build"] = args.builds[t.build].snapshot(workDir, t.name)
    try:
        if args.soak is not None:
            return soakMode(args, info, workDir)
        return benchmark(args, info, workDir)
    finally:
        if args.keep:
            print(f"kept {workDir}")
        else:
            shutil.rmtree(workDir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
