# SPDX-License-Identifier: Apache-2.0
"""Runs wrk once against a target and returns bench.lua's result line, parsed."""

import json
import os
import subprocess

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA_SCRIPT = os.path.join(HERE, "bench.lua")

# wrk is given its duration plus this much before it is treated as hung and killed.
WRK_EXTRA_TIMEOUT_S = 30.0
# wrk's per-request timeout: far above any latency we expect, so a timeout means a stall.
WRK_REQUEST_TIMEOUT = "10s"


def wrkThreads(connections, maxThreads):
    """wrk needs at least one connection per thread."""
    return max(1, min(connections, maxThreads))


def run(port, scenario, duration, connections, maxThreads, cpus):
    """Runs wrk for `duration` seconds with `connections` connections. Returns the WB_RESULT
    dict (requests, duration_us, bytes, err_*, latency figures) or raises RuntimeError with wrk's
    output."""
    cmd = [
        "wrk", "-t", str(wrkThreads(connections, maxThreads)), "-c", str(connections),
        "-d", f"{duration}s", "--timeout", WRK_REQUEST_TIMEOUT, "-s", LUA_SCRIPT,
        f"http://127.0.0.1:{port}/",
    ]
    if cpus:
        cmd = ["taskset", "-c", cpus] + cmd
    env = dict(os.environ)
    env["WB_POST_BYTES"] = str(scenario.postBytes)
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=duration + WRK_EXTRA_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"wrk did not finish within {duration + WRK_EXTRA_TIMEOUT_S:.0f}s")
    for line in r.stdout.splitlines():
        if line.startswith("WB_RESULT "):
            return json.loads(line[len("WB_RESULT "):])
    raise RuntimeError(f"wrk exited {r.returncode} without a result:\n{r.stdout}\n{r.stderr}")


def errorCount(result):
    """Failed requests wrk counted: connect/read/write errors, timeouts and statuses >= 400."""
    return sum(v for k, v in result.items() if k.startswith("err_"))
