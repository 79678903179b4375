# SPDX-License-Identifier: Apache-2.0
"""Tests of the benchmark driver (scripts/bench): its pure parts (medians, ratios, goals, the
reports), its options, the configs it writes for each target, and two short functional runs
against a real apache2 (mod_wsgid and Apache alone: nothing beyond the test packages needed).
No timed assertions: the runs are checked for structure and correctness, never for speed."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "scripts" / "bench"
sys.path.insert(0, str(BENCH_DIR))

import bench  # noqa: E402
from wsgibench import machine, proctree, report, runner, scenarios, soak, targets  # noqa: E402

BUILD_DIR = Path(os.environ.get("WSGID_BUILDDIR", REPO))
# Bound on one functional run: two targets, a second of wrk each, start and stop included.
RUN_TIMEOUT_S = 180


# ---- pure parts --------------------------------------------------------------------------------


def run(rps, p99=1.0, cpu=0.1, rss=10.0, failure=None):
    r = {"rps": rps, "p50_ms": p99 / 2, "p90_ms": p99, "p99_ms": p99, "cpu_ms_per_req": cpu,
         "rss_mib": rss}
    if failure:
        r["failure"] = failure
    return r


def test_median_ignores_missing_values():
    assert report.median([3, None, 1, 2]) == 2
    assert report.median([None]) is None
    assert report.median([1, 2]) == 1.5


def test_a_failed_run_fails_its_cell_and_never_counts_as_throughput():
    cell = report.summarize([run(100), run(10000, failure="3 of 5 requests failed")])
    assert cell["status"] == "failed"
    assert cell["failure"] == "3 of 5 requests failed"
    assert cell["rps"] == 100  # the median of the good runs only
    assert cell["failed_runs"] == 1


def test_ratios_are_target_over_base_and_only_between_good_cells():
    base = report.summarize([run(100, p99=4.0, cpu=0.2, rss=50.0)])
    mine = report.summarize([run(250, p99=2.0, cpu=0.1, rss=60.0)])
    r = report.ratios(mine, base)
    assert r["rps"] == pytest.approx(2.5)
    assert r["p99_ms"] == pytest.approx(0.5)
    assert r["cpu_ms_per_req"] == pytest.approx(0.5)
    assert r["rss_mib"] == pytest.approx(1.2)
    failed = report.summarize([run(100, failure="did not start")])
    assert report.ratios(mine, failed) is None
    assert report.ratios(failed, base) is None


def cellsFor(rows):
    """{(scenario, shape, concurrency, target): [run]} from (scenario, target, rps[, failure])."""
    cells = {}
    for row in rows:
        sc, target, rps = row[:3]
        failure = row[3] if len(row) > 3 else None
        cells[(sc, "2x16", 16, target)] = [run(rps, failure=failure)]
    return cells


ORDER = {"scenarios": ["hello", "flask", "file"], "shapes": ["2x16"], "concurrency": [16],
         "targets": ["mod_wsgid", "mod_wsgi-daemon", "mod_wsgi-embedded", "uwsgi", "apache"]}


def test_results_are_ordered_and_compared_with_the_base_of_the_same_cell():
    cells = cellsFor([("flask", "uwsgi", 300), ("hello", "mod_wsgi-daemon", 1000),
                      ("hello", "mod_wsgid", 2000), ("flask", "mod_wsgi-daemon", 200),
                      ("flask", "mod_wsgid", 100, "wrk counted errors")])
    entries = report.buildResults(cells, ORDER, "mod_wsgi-daemon")
    assert [(e["scenario"], e["target"]) for e in entries] == [
        ("hello", "mod_wsgid"), ("hello", "mod_wsgi-daemon"), ("flask", "mod_wsgid"),
        ("flask", "mod_wsgi-daemon"), ("flask", "uwsgi")]
    byKey = {(e["scenario"], e["target"]): e for e in entries}
    assert byKey[("hello", "mod_wsgid")]["ratios"]["rps"] == pytest.approx(2.0)
    assert byKey[("hello", "mod_wsgi-daemon")]["ratios"]["rps"] == pytest.approx(1.0)
    assert byKey[("flask", "uwsgi")]["ratios"]["rps"] == pytest.approx(1.5)
    assert byKey[("flask", "mod_wsgid")]["ratios"] is None
    assert byKey[("flask", "mod_wsgid")]["status"] == "failed"


def test_goals_compare_mod_wsgid_with_the_target_each_names():
    cells = cellsFor([("hello", "mod_wsgid", 1200), ("hello", "mod_wsgi-embedded", 1000),
                      ("hello", "mod_wsgi-daemon", 500), ("file", "mod_wsgid", 700),
                      ("file", "apache", 1000), ("hello", "apache", 3000),
                      ("flask", "mod_wsgid", 100),
                      ("flask", "uwsgi", 120, "did not start")])
    entries = report.buildResults(cells, ORDER, "mod_wsgi-daemon")
    for e in entries:  # give the httpd-child goals something to compare
        e["httpd_child_rss_mib"] = {"mod_wsgid": 6.0, "apache": 4.5}.get(e["target"])
        e["httpd_child_uss_mib"] = {"mod_wsgid": 2.25, "apache": 1.5}.get(e["target"])
    got = {g["goal"]: g for g in report.goals(entries)}
    hello = got["hello world: req/s >= 1.15x mod_wsgi embedded"]
    assert hello["value"] == pytest.approx(1.2) and hello["met"] is True
    p99 = got["hello world: p99 <= mod_wsgi daemon"]
    assert p99["value"] == pytest.approx(1.0) and p99["met"] is True
    file = got["1 MiB file_wrapper: req/s >= 0.8x Apache serving the file"]
    assert file["value"] == pytest.approx(0.7) and file["met"] is False
    assert got["Flask: req/s > uWSGI"]["met"] is None  # uWSGI failed: no verdict
    child = got["hello world: RSS per httpd child <= Apache alone's + 1 MiB"]
    assert child["value"] == pytest.approx(1.5) and child["met"] is False
    private = got["hello world: private memory (USS) per httpd child <= Apache alone's + 1 MiB"]
    assert private["value"] == pytest.approx(0.75) and private["met"] is True
    assert "Django: req/s >= 1.5x mod_wsgi daemon" not in got  # nothing measured


def docFor(cells, failures=(), skipped=()):
    entries = report.buildResults(cells, ORDER, "mod_wsgi-daemon")
    return {
        "machine": {"date": "2026-01-01", "cpus": 2},
        "settings": {"targets": ORDER["targets"], "base": "mod_wsgi-daemon",
                     "scenarios": ORDER["scenarios"], "shapes": ["2x16"], "concurrency": [16],
                     "duration": 5, "warmup": 2, "repeat": 1},
        "scenario_titles": {s.name: s.title for s in scenarios.SCENARIOS},
        "results": entries,
        "goals": report.goals(entries),
        "failures": list(failures),
        "skipped": list(skipped),
    }


def test_markdown_report_has_ratios_failures_and_skips():
    cells = cellsFor([("hello", "mod_wsgi-daemon", 1000), ("hello", "mod_wsgid", 2110),
                      ("hello", "uwsgi", 1650, "did not start: uwsgi exited")])
    doc = docFor(cells, failures=[{"target": "uwsgi", "scenario": "hello", "shape": "2x16",
                                   "concurrency": None, "failure": "uwsgi exited", "log": []}],
                 skipped=[{"target": "apache", "scenario": "flask", "reason": "no equivalent"}])
    text = report.markdown(doc)
    assert "| scenario | mod_wsgi-daemon req/s | mod_wsgid | mod_wsgi-embedded | uwsgi | apache |" \
        in text
    assert "| hello world (12-byte body) | 1000 | 2.11 | - | FAILED | - |" in text
    assert "| mod_wsgid | 16 | 2110 (2.11) |" in text
    assert "- **uwsgi** (hello, 2x16): uwsgi exited" in text
    assert "- apache, flask: no equivalent" in text
    assert "hello world: req/s >= 1.15x mod_wsgi embedded" not in text  # embedded not measured
    assert "Interrupted" not in text
    doc["interrupted"] = True
    assert "**Interrupted: these results are partial.**" in report.markdown(doc)


def test_details_show_the_other_and_the_stolen_cpu_of_each_cell():
    cells = {("hello", "2x16", 16, "mod_wsgi-daemon"): [run(1000)],
             ("hello", "2x16", 16, "mod_wsgid"): [dict(run(2000), other_pct=1.0, steal_pct=40.0),
                                                  dict(run(2100), other_pct=3.0, steal_pct=2.0),
                                                  dict(run(2200), other_pct=0.0, steal_pct=0.0)]}
    doc = docFor(cells)
    cell = next(e for e in doc["results"] if e["target"] == "mod_wsgid")
    assert cell["steal_pct"] == 2.0 and cell["other_pct"] == 1.0  # medians, as every metric
    text = report.markdown(doc)
    assert "| cs/req | other% | steal% |" in text
    row = next(line for line in text.splitlines() if line.startswith("| mod_wsgid | 16 |"))
    assert row.endswith("| 1 | 2 |")
    daemon = next(line for line in text.splitlines()
                  if line.startswith("| mod_wsgi-daemon | 16 |"))
    assert daemon.endswith("| - | - |")  # not recorded: shown as missing, not as 0


def test_runs_the_host_disturbed_are_listed_and_their_ratios_marked():
    quiet = dict(run(1000), other_pct=1.0, steal_pct=2.0)
    cells = {("hello", "2x16", 16, "mod_wsgi-daemon"): [quiet, quiet],
             ("hello", "2x16", 16, "mod_wsgid"): [quiet, dict(run(2000), steal_pct=40.0)],
             ("hello", "2x16", 16, "mod_wsgi-embedded"): [quiet, quiet],
             ("flask", "2x16", 16, "mod_wsgi-daemon"): [quiet],
             ("flask", "2x16", 16, "mod_wsgid"): [dict(run(1500), other_pct=25.0)]}
    doc = docFor(cells)
    mine = next(e for e in doc["results"]
                if e["target"] == "mod_wsgid" and e["scenario"] == "hello")
    assert report.disturbedRuns(mine) == [(2, 40.0, 0.0)]
    embedded = next(e for e in doc["results"] if e["target"] == "mod_wsgi-embedded")
    assert report.disturbedRuns(embedded) == []
    text = report.markdown(doc)
    # mod_wsgid's hello ratio is marked, embedded's (both cells quiet) is not.
    assert "| hello world (12-byte body) | 1000 | 1.50* | 1.00 | - | - |" in text
    assert "| Flask route (JSON) | 1000 | 1.50* |" in text
    assert ("- mod_wsgid, hello world (12-byte body), processes=2 threads=16, 16 connections, "
            "run 2: steal 40 %, other 0 %") in text
    assert ("- mod_wsgid, Flask route (JSON), processes=2 threads=16, 16 connections, run 1: "
            "steal 0 %, other 25 %") in text
    assert not any("mod_wsgi-daemon," in line for line in text.splitlines()
                   if line.startswith("- "))
    goal = next(g for g in doc["goals"] if g["goal"].startswith("hello world: req/s"))
    assert goal["disturbed"] is True
    assert "| hello world: req/s >= 1.15x mod_wsgi embedded | 1.50x* met |" in text
    assert "(disturbed)" in runner.progressLine(dict(run(10), cpu_ms_per_req=0.1,
                                                     vcs_per_req=1, ivcs_per_req=0,
                                                     other_pct=0, steal_pct=11))
    assert "(disturbed)" not in runner.progressLine(dict(run(10), vcs_per_req=1,
                                                         ivcs_per_req=0, other_pct=10,
                                                         steal_pct=10))
    quietDoc = docFor({("hello", "2x16", 16, "mod_wsgi-daemon"): [quiet],
                       ("hello", "2x16", 16, "mod_wsgid"): [quiet]})
    quietText = report.markdown(quietDoc)
    assert "## Disturbed runs\n\nRuns during" in quietText and "\nNone.\n" in quietText
    tables = [line for line in quietText.split("## Details")[0].splitlines()
              if line.startswith("| ")]
    assert "| hello world (12-byte body) | 1000 | 1.00 | - | - | - |" in tables
    assert not any("*" in line for line in tables)


def test_context_switches_of_a_process_count_its_threads_waits():
    slept, counted = threading.Event(), threading.Event()
    before = proctree.threadContextSwitches(os.getpid())

    def waiter():
        for _ in range(20):
            time.sleep(0.001)  # each sleep blocks: one voluntary switch at least
        slept.set()
        counted.wait(timeout=10)  # stay alive: an exited thread's switches are gone from /proc

    t = threading.Thread(target=waiter)
    t.start()
    assert slept.wait(timeout=10)
    during = proctree.threadContextSwitches(os.getpid())
    counted.set()
    t.join(timeout=10)
    assert during[0] - before[0] >= 20
    assert proctree.threadContextSwitches(2**22 + 1) == (0, 0)  # no such pid: nothing counted


def sample(t, requests, rss):
    return {"t": t, "requests": requests,
            "processes": [{"pid": pid, "role": "app", "exe": "x", "rss_kib": kib}
                          for pid, kib in rss.items()]}


def test_private_memory_is_what_a_process_does_not_share():
    rollup = ["Rss:               10036 kB", "Pss:                4557 kB",
              "Shared_Clean:       5000 kB", "Private_Clean:       120 kB",
              "Private_Dirty:      3900 kB", "Swap:                   0 kB"]
    pss, uss = proctree.rollupMemory(rollup)
    assert pss == 4557 * 1024
    assert uss == (120 + 3900) * 1024
    assert proctree.rollupMemory(["Rss: 10 kB", "Pss: 5 kB"]) == (5 * 1024, None)


def test_memory_figures_take_the_largest_child_by_each_measure():
    mib = 1024 * 1024
    rows = [{"pid": 1, "role": "httpd-parent", "exe": "apache2", "rss": 6 * mib, "pss": 2 * mib,
             "uss": 1 * mib, "cpus": "1"},
            {"pid": 2, "role": "httpd-child", "exe": "apache2", "rss": 10 * mib, "pss": 4 * mib,
             "uss": 3 * mib, "cpus": "1"},
            {"pid": 3, "role": "httpd-child", "exe": "apache2", "rss": 9 * mib, "pss": 5 * mib,
             "uss": 4 * mib, "cpus": "1"}]
    got = runner.memoryFigures(rows)
    assert got["httpd_child_rss_mib"] == pytest.approx(10.0)
    assert got["httpd_child_uss_mib"] == pytest.approx(4.0)
    assert [p["uss_kib"] for p in got["processes"]] == [1024, 3072, 4096]
    rows[2]["uss"] = None  # smaps_rollup unreadable: no figure rather than a wrong one
    assert runner.memoryFigures(rows)["httpd_child_uss_mib"] is None


def test_soak_summary_reports_growth_overall_and_in_the_second_half():
    s = report.summarizeSoak([
        sample(10, 100, {1: 1024, 2: 2048}),
        sample(20, 500, {1: 2048, 2: 2048}),
        sample(30, 1000, {1: 2048, 3: 1024}),  # 2 was replaced by 3
    ])
    assert s["requests"] == 1000
    assert s["rss_first_mib"] == 3.0
    assert s["rss_half_mib"] == 4.0
    assert s["rss_last_mib"] == 3.0
    assert s["rss_max_mib"] == 4.0
    assert s["growth_mib"] == 0.0
    assert s["growth_second_half_mib"] == -1.0
    assert s["processes"] == [{"pid": 1, "role": "app", "exe": "x", "first_kib": 1024,
                               "first_t": 10, "last_kib": 2048, "last_t": 30,
                               "growth_kib": 1024}]
    assert s["appeared"] == [3] and s["vanished"] == [2]
    assert report.summarizeSoak([]) is None


def test_soak_report_shows_growth_and_failures():
    samples = [sample(10, 100, {1: 1024}), sample(20, 1000, {1: 3072})]
    doc = {"machine": {"date": "2026-01-01"},
           "settings": {"scenario": "hello", "shape": "2x16", "concurrency": 16,
                        "requests": 1000, "interval": 10, "max_minutes": 180},
           "targets": [{"target": "mod_wsgid", "failed_requests": 0, "failure": None,
                        "summary": report.summarizeSoak(samples)},
                       {"target": "uwsgi", "failed_requests": 0, "failure": "did not start",
                        "summary": None}]}
    text = report.markdownSoak(doc)
    assert "| mod_wsgid | 1000 | 0 | 1.0 | 3.0 | 3.0 | 3.0 | +2.0 | +0.0 | 0 |" in text
    assert "| mod_wsgid | 1 | app | x | 1024 | 3072 | +2048 |" in text
    assert "- **uwsgi**: did not start" in text


# ---- options and configs -----------------------------------------------------------------------


def test_quick_mode_defaults_and_explicit_options_win():
    a = bench.parseArgs(["--quick"])
    assert [s.name for s in a.scenarioList] == list(scenarios.QUICK)
    assert [s.name for s in a.shapeList] == ["2x16"]
    assert a.concurrencyList == [16]
    assert [t.name for t in a.targetList] == [n for n in targets.BY_NAME
                                              if n != targets.COMPARE_TARGET]
    a = bench.parseArgs(["--quick", "--duration", "3", "--scenarios", "hello",
                         "--targets", "mod_wsgid,uwsgi", "--no-pin"])
    assert a.duration == 3 and [s.name for s in a.scenarioList] == ["hello"]
    assert [t.name for t in a.targetList] == ["mod_wsgid", "uwsgi"]
    assert a.server_cpus == "" and a.client_cpus == ""
    full = bench.parseArgs([])
    assert [s.name for s in full.shapeList] == ["1x15", "2x16"]
    assert full.concurrencyList == [1, 16, 64]


def test_soak_failures_say_what_wrk_counted():
    assert soak.kindsText({}) == ""
    assert soak.kindsText({"timeout": 1, "read": 3}) == " (wrk: read 3, timeout 1)"


def test_soak_mode_defaults():
    a = bench.parseArgs(["--soak"])
    assert a.soak == bench.SOAK_REQUESTS
    assert [t.name for t in a.targetList] == ["mod_wsgid", "mod_wsgi-daemon"]
    a = bench.parseArgs(["--soak", "5000", "--scenarios", "flask"])
    assert a.soak == 5000 and a.scenarioList[0].name == "flask"


@pytest.mark.parametrize("argv", [["--targets", "nginx"], ["--shapes", "2by16"],
                                  ["--concurrency", "0"], ["--base", "lighttpd"]])
def test_bad_options_are_refused(argv):
    with pytest.raises(SystemExit):
        bench.parseArgs(argv)


def instance(targetName, scenarioName, tmp_path, shape="2x16", httpdSendfile="on"):
    args = SimpleNamespace(builds={targets.BUILD_MAIN: machine.Build("/b"),
                                   targets.BUILD_COMPARE: machine.Build("/c")},
                           concurrencyList=[1, 16, 64], httpd_sendfile=httpdSendfile,
                           wsgid_daemon_options="", server_cpus="1", buildDir="/b")
    return targets.Instance(targets.BY_NAME[targetName], scenarios.BY_NAME[scenarioName],
                            targets.Shape(shape), args, str(tmp_path), 1)


@pytest.mark.parametrize("name", list(targets.BY_NAME))
def test_mod_wsgi_and_mod_wsgid_never_share_an_httpd(name, tmp_path):
    conf = instance(name, "post", tmp_path).httpdConfig()
    assert not ("wsgi_module" in conf and "wsgid_module" in conf)
    assert "LoadModule mpm_event_module" in conf
    # Two workers per connection of the largest concurrency: the MPM never sheds keep-alive
    # connections, which wrk would count as errors of the target.
    assert "ThreadsPerChild 128" in conf and "ThreadLimit 128" in conf


def test_every_target_gets_the_same_sendfile_and_mmap_settings(tmp_path):
    # Sendfile on by default (Apache alone's strictest ceiling); off gives httpd's own defaults,
    # which Debian's apache2.conf keeps. The same for every target either way.
    for name in targets.BY_NAME:
        conf = instance(name, "file", tmp_path).httpdConfig().splitlines()
        assert "EnableSendfile On" in conf and "EnableMMAP On" in conf
        assert "EnableSendfile Off" in instance(name, "file", tmp_path,
                                                httpdSendfile="off").httpdConfig().splitlines()
    assert bench.parseArgs([]).httpd_sendfile == "on"
    assert bench.parseArgs(["--httpd-sendfile", "off"]).httpd_sendfile == "off"


def test_no_target_looks_for_htaccess_files(tmp_path):
    # Debian's apache2.conf says AllowOverride None; httpd's default would open() a .htaccess
    # in each directory on the way to the script, for every request.
    for name in targets.BY_NAME:
        conf = instance(name, "hello", tmp_path).httpdConfig()
        assert "<Directory />\n    AllowOverride None\n" in conf
        assert "AllowOverride All" not in conf


def test_a_compare_build_is_a_target_of_its_own(tmp_path):
    main = instance("mod_wsgid", "hello", tmp_path).httpdConfig()
    other = instance(targets.COMPARE_TARGET, "hello", tmp_path).httpdConfig()
    assert "LoadModule wsgid_module /b/.libs/mod_wsgid.so" in main
    assert "LoadModule wsgid_module /c/.libs/mod_wsgid.so" in other
    assert "WSGIDaemonProgram /c/wsgid-daemon" in other
    # Only with --compare-build is it a default target; without one it says what it needs.
    assert targets.COMPARE_TARGET not in bench.parseArgs([]).targets.split(",")
    args = bench.parseArgs(["--compare-build", str(tmp_path)])
    assert targets.COMPARE_TARGET in args.targets.split(",")
    assert "--compare-build" in targets.BY_NAME[targets.COMPARE_TARGET].missing(
        SimpleNamespace(builds={}))


def test_every_daemon_gets_the_same_shape(tmp_path):
    for name in ("mod_wsgid", "mod_wsgid-compare", "mod_wsgi-daemon"):
        conf = instance(name, "hello", tmp_path, "3x7").httpdConfig()
        assert "WSGIDaemonProcess bench processes=3 threads=7" in conf
    uw = instance("uwsgi", "hello", tmp_path, "3x7").target.backendCommand(
        instance("uwsgi", "hello", tmp_path, "3x7"))
    assert uw[uw.index("--processes") + 1] == "3" and uw[uw.index("--threads") + 1] == "7"
    gi = instance("gunicorn", "hello", tmp_path, "3x7")
    cmd = gi.target.backendCommand(gi)
    assert cmd[cmd.index("--workers") + 1] == "3" and cmd[cmd.index("--threads") + 1] == "7"
    assert cmd[cmd.index("--worker-class") + 1] == "gthread"
    assert "WSGIDaemonProcess" not in instance("mod_wsgi-embedded", "hello",
                                               tmp_path).httpdConfig()


def test_every_mod_wsgi_family_target_loads_the_script_at_process_start(tmp_path):
    # Both options on the alias: a process's first request in a measured run would otherwise
    # pay the app's import (uWSGI and gunicorn load their app at start).
    for name, group in (("mod_wsgid", "bench"), ("mod_wsgid-compare", "bench"),
                        ("mod_wsgi-daemon", "bench"), ("mod_wsgi-embedded", "%{GLOBAL}")):
        inst = instance(name, "flask", tmp_path, "2x16")
        aliases = [line for line in inst.httpdConfig().splitlines()
                   if line.startswith("WSGIScriptAlias")]
        assert aliases == [f'WSGIScriptAlias / "{inst.appPath()}" process-group={group} '
                           "application-group=%{GLOBAL}"], name


def test_apache_serves_the_same_bytes_or_is_skipped_with_a_reason():
    apache = targets.BY_NAME["apache"]
    for name in ("hello", "body64k", "yields", "file", "post"):
        assert apache.unsupported(scenarios.BY_NAME[name]) is None
    assert "no static equivalent" in apache.unsupported(scenarios.BY_NAME["flask"])
    assert targets.BY_NAME["uwsgi"].unsupported(scenarios.BY_NAME["logline"])
    assert targets.BY_NAME["mod_wsgid"].unsupported(scenarios.BY_NAME["logline"]) is None


def test_answers_are_checked_exactly():
    hello = scenarios.BY_NAME["hello"]
    assert scenarios.checkBody(hello, b"Hello world!") is None
    assert scenarios.checkBody(hello, b"Hello world") is not None
    flask = scenarios.BY_NAME["flask"]
    assert scenarios.checkBody(flask, b'{"message": "Hello, World!"}') is None
    assert scenarios.checkBody(flask, b'{"message": "Hi"}') is not None
    assert scenarios.checkBody(flask, b"<html>") is not None


# ---- functional: the driver against a real apache2 ---------------------------------------------

needsBuild = pytest.mark.skipif(
    not (BUILD_DIR / ".libs" / "mod_wsgid.so").exists() or not shutil.which("wrk")
    or not os.path.exists(targets.APACHE2),
    reason="needs the built tree, wrk and /usr/sbin/apache2")


def runBench(tmp_path, *extra):
    out = tmp_path / "out"
    r = subprocess.run(
        ["/usr/bin/python3", str(BENCH_DIR / "bench.py"), "--build-dir", str(BUILD_DIR),
         "--targets", "mod_wsgid,apache", "--base", "apache", "--shapes", "1x2",
         "--concurrency", "2", "--duration", "1", "--warmup", "0", "--out", str(out), *extra],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    reports = sorted(out.glob("wsgid-bench-*.json"))
    assert len(reports) == 1, r.stdout + r.stderr
    assert reports[0].with_suffix(".md").exists()
    return r, json.loads(reports[0].read_text())


@needsBuild
def test_quick_run_reports_figures_and_ratios(tmp_path):
    r, doc = runBench(tmp_path, "--scenarios", "hello,post")
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["failures"] == [] and doc["leftovers"] == []
    assert doc["settings"]["base"] == "apache"
    got = {(e["scenario"], e["target"]): e for e in doc["results"]}
    assert set(got) == {("hello", "mod_wsgid"), ("hello", "apache"), ("post", "mod_wsgid"),
                        ("post", "apache")}
    for e in got.values():
        assert e["status"] == "ok" and e["shape"] == "1x2" and e["concurrency"] == 2
        for key in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_req", "rss_mib"):
            assert e[key] > 0, (key, e)
        # Every request waits at least once somewhere in the server (a worker for the next
        # connection's bytes), so each run counts voluntary context switches.
        assert e["vcs_per_req"] > 0, e
        assert set(e["ratios"]) == set(report.RATIO_METRICS)
        details = e["run_details"][0]
        assert details["errors"] == {"connect": 0, "read": 0, "write": 0, "status": 0,
                                     "timeout": 0}
        assert details["server_cpus_seen"] == [doc["settings"]["server_cpus"]] or \
            not doc["settings"]["server_cpus"]
    assert got[("hello", "apache")]["ratios"]["rps"] == pytest.approx(1.0)
    wsgid = got[("hello", "mod_wsgid")]
    assert wsgid["ratios"]["rps"] == pytest.approx(wsgid["rps"] / got[("hello", "apache")]["rps"])
    roles = {p["exe"]: p["role"] for p in wsgid["run_details"][0]["processes"]}
    assert roles["wsgid-daemon"] == "app"  # the daemons are inside the measured tree
    text = (sorted((tmp_path / "out").glob("*.md"))[0]).read_text()
    assert "| scenario | apache req/s | mod_wsgid |" in text


@needsBuild
def test_a_broken_target_fails_loudly_and_the_others_still_run(tmp_path):
    r, doc = runBench(tmp_path, "--scenarios", "hello", "--wsgid-daemon-options", "bogus=1")
    assert r.returncode == 1
    assert [f["target"] for f in doc["failures"]] == ["mod_wsgid"]
    assert "unknown option 'bogus'" in doc["failures"][0]["failure"]
    assert "mod_wsgid failed" in r.stderr and "unknown option 'bogus'" in r.stderr
    got = {e["target"]: e for e in doc["results"]}
    assert got["mod_wsgid"]["status"] == "failed" and got["mod_wsgid"]["ratios"] is None
    assert got["apache"]["status"] == "ok" and got["apache"]["rps"] > 0


def test_httpd_children_get_two_workers_per_connection():
    # At least 128 per child; two per connection when a larger concurrency is asked for.
    assert targets.threadsPerChild([1, 16, 64]) == 128
    assert targets.threadsPerChild([16]) == 128
    assert targets.threadsPerChild([16, 100]) == 200
