#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Benchmark driver: runs each scenario with wrk against a real /usr/sbin/apache2 (mpm_event) on
# 127.0.0.1, once with Debian's mod_wsgi in daemon mode and once with mod_wsgid, each in its own
# freshly started server, and reports requests/s, latency, server CPU per request and the ratio.
# Standard library only; run it through bench.sh, which installs what it needs.

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import pwd
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REPO = os.path.dirname(os.path.dirname(HERE))
APACHE2 = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
MOD_WSGI_SO = os.path.join(APACHE_MODULES, "mod_wsgi.so")
LUA_SCRIPT = os.path.join(HERE, "bench.lua")

MIB = 1024 * 1024

# Bounds on every wait, so a hung server can never hang the benchmark.
# A cold server (a daemon importing Django) answers well within this; longer means it is broken.
SERVER_READY_TIMEOUT_S = 30.0
# One functional check request: 1 MiB over loopback takes milliseconds, so this is generous.
CHECK_REQUEST_TIMEOUT_S = 30.0
# httpd's own graceful stop waits for its children and daemons a few seconds; allow more.
SERVER_STOP_TIMEOUT_S = 20.0
# Processes of the server's tree still alive this long after the parent exited are killed.
LEFTOVER_GRACE_S = 5.0
# wrk is given its duration plus this much before it is treated as hung and killed.
WRK_EXTRA_TIMEOUT_S = 30.0
# wrk's per-request timeout: far above any latency we expect, so a timeout means a stall.
WRK_REQUEST_TIMEOUT = "10s"

SERVERS = ("mod_wsgi", "mod_wsgid")
# With --baseline, the file scenario also runs against httpd serving data.bin itself: the
# "close to Apache serving the file itself" reference of the design's target.
STATIC = "static"
DIR_PREFIX = {"mod_wsgi": "wsgi", "mod_wsgid": "wsgid", STATIC: "static"}


class Scenario:
    """One benchmark case: the app it serves, the request wrk sends, and how to check the answer."""

    def __init__(self, name, app, title, target, post_bytes=0):
        self.name = name
        self.app = app
        self.title = title
        self.target = target  # minimum requests/s ratio mod_wsgid / mod_wsgi from DESIGN.md
        self.post_bytes = post_bytes


SCENARIOS = [
    Scenario("hello", "hello.wsgi", "hello world (GET, 12-byte body)", 2.0),
    Scenario("file", "file.wsgi", "1 MiB via wsgi.file_wrapper", 3.0),
    Scenario("post", "echo.wsgi", "1 MiB POST echo", 1.5, post_bytes=MIB),
    Scenario("yields", "yields.wsgi", "1000 yields of 16 bytes", 5.0),
    Scenario("flask", "flask_view.wsgi", "Flask view (JSON)", 1.5),
    Scenario("django", "django_view.wsgi", "Django view (JSON)", 1.5),
    # No design target: it measures the output path (print() to the error log), hello's target.
    Scenario("logline", "logline.wsgi", "hello world + one print() line per request", 2.0),
]
SCENARIO_BY_NAME = {s.name: s for s in SCENARIOS}


def postBody(size):
    """The POST body bench.lua sends for `size` bytes, rebuilt here to check the echo."""
    return b"0123456789abcdef" * (size // 16) + b"x" * (size % 16)


def expectedBody(scenario, appsDir):
    """What a correct server answers for `scenario`, or None when only JSON equality is checked."""
    if scenario.name in ("hello", "logline"):
        return b"Hello world!"
    if scenario.name == "file":
        with open(os.path.join(appsDir, "data.bin"), "rb") as f:
            return f.read()
    if scenario.name == "post":
        return postBody(scenario.post_bytes)
    if scenario.name == "yields":
        return b"0123456789abcde\n" * 1000
    return None


# ---- /proc accounting --------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def readProcStat(pid):
    """(ppid, utime+stime, cutime+cstime, starttime) in clock ticks, or None if `pid` is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = data[data.rfind(")") + 2:].split()
    ppid = int(fields[1])
    own = int(fields[11]) + int(fields[12])
    children = int(fields[13]) + int(fields[14])
    start = int(fields[19])
    return ppid, own, children, start


def processTree(rootPid):
    """{pid: (own ticks, starttime)} for `rootPid` and all its descendants, plus the root's
    reaped-children ticks. Children that exited and were reaped still count through the root."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = readProcStat(int(entry))
            if st is not None:
                stats[int(entry)] = st
    if rootPid not in stats:
        return {}, 0
    kids = {}
    for pid, st in stats.items():
        kids.setdefault(st[0], []).append(pid)
    tree = {}
    todo = [rootPid]
    while todo:
        pid = todo.pop()
        if pid in tree:
            continue
        tree[pid] = (stats[pid][1], stats[pid][3])
        todo.extend(kids.get(pid, []))
    return tree, stats[rootPid][2]


def systemCpuTicks():
    """(process time, interrupt time, steal) clock ticks of the whole machine since boot, from
    /proc/stat. Interrupt time is apart because loopback networking runs largely in softirq
    context, which no process's utime/stime includes."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system, irq + softirq, steal


def childrenCpuSeconds():
    """CPU seconds of our reaped child processes (wrk, once it has exited)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def treeExecutables(rootPid):
    """Sorted basenames of the executables running in `rootPid`'s tree, e.g. to confirm that the
    Python daemons are inside the tree whose CPU time we add up."""
    tree, _ = processTree(rootPid)
    names = []
    for pid in tree:
        try:
            names.append(os.path.basename(os.readlink(f"/proc/{pid}/exe")))
        except OSError:
            pass
    return sorted(names)


def treeCpuTicks(rootPid):
    """Total CPU ticks used so far by the server: live processes plus reaped children."""
    tree, reaped = processTree(rootPid)
    return sum(t for t, _ in tree.values()) + reaped, len(tree)


# ---- servers -----------------------------------------------------------------------------------


def freePort():
    """A port on 127.0.0.1 free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runUser():
    """User/Group httpd's children switch to: www-data when we are root, else nothing."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("www-data")
        return "www-data"
    except KeyError:
        return None


class Server:
    """One apache2 instance with its own config in its own temp dir, started with -DFOREGROUND
    as our child and stopped by pid. Not thread-safe; one owner."""

    def __init__(self, kind, scenario, args, workDir, appsDir, index):
        self.kind = kind
        self.scenario = scenario
        self.args = args
        self.dir = os.path.join(workDir, f"{DIR_PREFIX[kind]}{index}")
        self.appsDir = appsDir
        self.port = freePort()
        self.proc = None
        self.errorLog = os.path.join(self.dir, "error.log")
        self.logOffset = 0
        self.leftovers = []

    def config(self):
        d = self.dir
        user = runUser()
        a = self.args
        lines = [
            "# Generated by scripts/bench/bench.py; one server, one scenario.",
            f'ServerRoot "{d}"',
            "ServerName 127.0.0.1",
            f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{d}/httpd.pid"',
            f'DefaultRuntimeDir "{d}/run"',
            f'ErrorLog "{d}/error.log"',
            "LogLevel warn",
            # Same Server header for both (mod_wsgi would add its version to it).
            "ServerTokens Prod",
            f"LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so",
            f"LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so",
        ]
        if user:
            lines += [f"User {user}", f"Group {user}"]
        lines += [
            # Debian's stock mpm_event.conf values, identical for both servers.
            "StartServers 2",
            "MinSpareThreads 25",
            "MaxSpareThreads 75",
            "ThreadLimit 64",
            "ThreadsPerChild 25",
            "MaxRequestWorkers 150",
            "MaxConnectionsPerChild 0",
            # Keep wrk's connections open for the whole run: we measure the module, not TCP.
            "KeepAlive On",
            "MaxKeepAliveRequests 0",
            "KeepAliveTimeout 5",
            "Timeout 60",
            "EnableSendfile On",
            "<Directory />",
            "    Require all denied",
            "</Directory>",
            f'<Directory "{self.appsDir}">',
            "    Require all granted",
            "</Directory>",
        ]
        if self.kind == STATIC:
            return "\n".join(lines + [
                f"LoadModule alias_module {APACHE_MODULES}/mod_alias.so",
                f'Alias / "{os.path.join(self.appsDir, "data.bin")}"',
            ]) + "\n"
        group = f"processes={a.processes} threads={a.daemon_threads}"
        if self.kind == "mod_wsgi":
            lines += [
                f"LoadModule wsgi_module {MOD_WSGI_SO}",
                "WSGIRestrictEmbedded On",
                f'WSGISocketPrefix "{d}/run/wsgi"',
            ]
        else:
            lines += [
                f"LoadModule wsgid_module {a.wsgid_module}",
                f"WSGIDaemonProgram {a.wsgid_daemon}",
            ]
            if a.wsgid_daemon_options:
                group += " " + a.wsgid_daemon_options
        lines += [
            f"WSGIDaemonProcess bench {group}",
            "WSGIProcessGroup bench",
            "WSGIApplicationGroup %{GLOBAL}",
            f'WSGIScriptAlias / "{os.path.join(self.appsDir, self.scenario.app)}"',
        ]
        return "\n".join(lines) + "\n"

    def prepare(self):
        os.makedirs(os.path.join(self.dir, "run"))
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "run"), 0o755)
        user = runUser()
        if user and self.kind == "mod_wsgi":
            # mod_wsgi puts its sockets under run/; let the children's user reach them.
            # mod_wsgid refuses a socket directory that anyone but root can write (WG0010) and
            # gives each socket to User itself.
            pw = pwd.getpwnam(user)
            os.chown(os.path.join(self.dir, "run"), pw.pw_uid, pw.pw_gid)
        self.confPath = os.path.join(self.dir, "httpd.conf")
        with open(self.confPath, "w") as f:
            f.write(self.config())

    def env(self):
        # A clean environment: no PYTHONPATH/PYTHONHOME or pyenv shims leak into the daemons.
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

    def configTest(self):
        """None when `apache2 -t` accepts the config, else its output."""
        r = subprocess.run(
            [APACHE2, "-t", "-f", self.confPath],
            env=self.env(), capture_output=True, text=True, timeout=SERVER_READY_TIMEOUT_S,
        )
        if r.returncode == 0:
            return None
        return (r.stdout + r.stderr).strip()

    def start(self):
        """Starts httpd and waits until its port accepts. Returns None or an error string."""
        out = open(os.path.join(self.dir, "stdout.log"), "wb")
        cmd = [APACHE2, "-f", self.confPath, "-DFOREGROUND"]
        if self.args.server_cpus:
            cmd = ["taskset", "-c", self.args.server_cpus] + cmd
        self.proc = subprocess.Popen(
            cmd, env=self.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"apache2 exited with status {self.proc.returncode} during start-up"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return None
            except OSError:
                time.sleep(0.1)
        return f"apache2 did not accept on 127.0.0.1:{self.port} within {SERVER_READY_TIMEOUT_S}s"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpuTicks(self):
        return treeCpuTicks(self.proc.pid)

    def markLog(self):
        """Remembers the end of the error log, so newLogLines() returns only what follows."""
        try:
            self.logOffset = os.path.getsize(self.errorLog)
        except OSError:
            self.logOffset = 0

    def newLogLines(self):
        try:
            with open(self.errorLog, "rb") as f:
                f.seek(self.logOffset)
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def allLogLines(self):
        try:
            with open(self.errorLog, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def stop(self):
        """SIGTERM to our httpd parent by pid, a bounded wait, then SIGKILL by pid to anything of
        its tree still running. Records such leftovers: a clean server leaves none."""
        if self.proc is None:
            return
        tree, _ = processTree(self.proc.pid)
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.leftovers.append(f"httpd parent {self.proc.pid} ignored SIGTERM")
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
        deadline = time.monotonic() + LEFTOVER_GRACE_S
        remaining = {}
        while True:
            remaining = {}
            for pid, (_, start) in tree.items():
                if pid == self.proc.pid:
                    continue
                st = readProcStat(pid)
                if st is not None and st[3] == start:
                    remaining[pid] = start
            if not remaining or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        for pid in remaining:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                cmd = "?"
            self.leftovers.append(f"pid {pid} ({cmd}) still running {LEFTOVER_GRACE_S}s "
                                  "after httpd exited; killed")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ---- requests ----------------------------------------------------------------------------------


def oneRequest(port, scenario):
    """Sends the scenario's request once. Returns (status, body) or raises OSError/HTTPException."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CHECK_REQUEST_TIMEOUT_S)
    try:
        if scenario.post_bytes:
            conn.request("POST", "/", body=postBody(scenario.post_bytes),
                         headers={"Content-Type": "application/octet-stream"})
        else:
            conn.request("GET", "/")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def checkResponse(server, scenario):
    """One request, checked for status and exact body. None when right, else a description."""
    method = "POST" if scenario.post_bytes else "GET"
    what = f"{method} http://127.0.0.1:{server.port}/ ({scenario.app})"
    try:
        status, body = oneRequest(server.port, scenario)
    except (OSError, http.client.HTTPException) as e:
        return f"{what}: {type(e).__name__}: {e}"
    if status != 200:
        return f"{what}: status {status}, body {body[:300]!r}"
    expected = expectedBody(scenario, server.appsDir)
    if expected is not None:
        if body != expected:
            digest = hashlib.sha1(body).hexdigest()[:12]
            return (f"{what}: body of {len(body)} bytes (sha1 {digest}) differs from the "
                    f"expected {len(expected)} bytes; starts {body[:120]!r}")
    else:
        try:
            doc = json.loads(body)
        except ValueError:
            return f"{what}: not JSON: {body[:300]!r}"
        if doc != {"message": "Hello, World!"}:
            return f"{what}: unexpected JSON {doc!r}"
    return None


def runWrk(server, scenario, duration, args):
    """Runs wrk once: the parsed WB_RESULT dict, or RuntimeError carrying wrk's output."""
    cmd = [
        "wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{duration}s",
        "--timeout", WRK_REQUEST_TIMEOUT, "-s", LUA_SCRIPT, f"http://127.0.0.1:{server.port}/",
    ]
    if args.client_cpus:
        cmd = ["taskset", "-c", args.client_cpus] + cmd
    env = dict(os.environ)
    env["WB_POST_BYTES"] = str(scenario.post_bytes)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=duration + WRK_EXTRA_TIMEOUT_S)
    for line in r.stdout.splitlines():
        if line.startswith("WB_RESULT "):
            return json.loads(line[len("WB_RESULT "):])
    raise RuntimeError(f"wrk exited {r.returncode} without a result:\n{r.stdout}\n{r.stderr}")


def interestingLogLines(lines):
    """Error-log lines at level error or worse, plus Python tracebacks."""
    keep = []
    for line in lines:
        if any(f":{lvl}]" in line for lvl in ("error", "crit", "alert", "emerg")) \
                or "Traceback" in line:
            keep.append(line)
    return keep


def measure(kind, scenario, args, workDir, appsDir, index):
    """Starts a fresh server of `kind` for `scenario`, checks it answers correctly, warms it up,
    measures one wrk run, stops it. Returns a result dict (with "failure" when it failed)."""
    server = Server(kind, scenario, args, workDir, appsDir, index)
    result = {"server": kind, "scenario": scenario.name, "port": server.port}
    server.prepare()
    try:
        problem = server.configTest()
        if problem:
            result["failure"] = f"apache2 -t rejected the config: {problem}"
            return result
        problem = server.start()
        if problem:
            result["failure"] = problem
            return result
        # The first request may find the daemon still starting: retry a few times, bounded.
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        while True:
            problem = checkResponse(server, scenario)
            if problem is None or time.monotonic() >= deadline or not server.alive():
                break
            time.sleep(0.5)
        if problem:
            result["failure"] = f"functional check failed: {problem}"
            return result
        if args.warmup > 0:
            runWrk(server, scenario, args.warmup, args)
        if not server.alive():
            result["failure"] = "httpd exited during the warm-up"
            return result
        server.markLog()
        load1 = os.getloadavg()[0]
        sys0, irq0, steal0 = systemCpuTicks()
        client0 = childrenCpuSeconds()
        cpu0, _ = server.cpuTicks()
        w = runWrk(server, scenario, args.duration, args)
        cpu1, procs = server.cpuTicks()
        client1 = childrenCpuSeconds()
        sys1, irq1, steal1 = systemCpuTicks()
        exes = treeExecutables(server.proc.pid)
        secs = w["duration_us"] / 1e6
        reqs = w["requests"]
        otherSecs = max(0.0, (sys1 - sys0 - (cpu1 - cpu0)) / CLK_TCK - (client1 - client0))
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
            "server_cpu_s": round((cpu1 - cpu0) / CLK_TCK, 3),
            "client_cpu_s": round(client1 - client0, 3),
            # CPU the machine spent on anything but this server and wrk during the run (other
            # users of a shared machine): a high value means the run is not trustworthy.
            "other_cpu_s": round(otherSecs, 3),
            "other_pct": round(100.0 * otherSecs / secs, 1) if secs > 0 else None,
            "steal_cpu_s": round((steal1 - steal0) / CLK_TCK, 3),
            "irq_cpu_s": round((irq1 - irq0) / CLK_TCK, 3),
            "load1_before": round(load1, 2),
            "cpu_ms_per_req": round((cpu1 - cpu0) / CLK_TCK * 1000.0 / reqs, 4) if reqs else None,
            "server_processes": procs,
            "server_executables": exes,
            "errors": {k[4:]: w[k] for k in w if k.startswith("err_")},
        })
        if kind == "mod_wsgid" and "wsgid-daemon" not in exes:
            result["warning"] = ("no wsgid-daemon in httpd's process tree: the server CPU "
                                 "figure misses the daemons")
        bad = interestingLogLines(server.newLogLines())
        if bad:
            result["error_log"] = bad[:20]
        # A correct-looking run can still hide errors: re-check once after the load.
        problem = checkResponse(server, scenario) if server.alive() else "httpd exited"
        if problem:
            result["failure"] = f"after the run: {problem}"
        elif sum(result["errors"].values()):
            result["failure"] = f"wrk counted errors: {result['errors']}"
        return result
    except Exception as e:  # one run's boundary: record whatever went wrong, go on with the next
        result["failure"] = f"{type(e).__name__}: {e}"
        return result
    finally:
        server.stop()
        if server.leftovers:
            result["leftover_processes"] = server.leftovers
        if "failure" in result:
            result["error_log"] = server.allLogLines()[-30:]


def snapshotBuild(args, workDir):
    """Copies mod_wsgid.so and wsgid-daemon out of the build tree into the temp dir and points
    args at the copies, so a `make` running meanwhile cannot swap or truncate them mid-benchmark.
    Returns a description of what was copied, for the results file."""
    binDir = os.path.join(workDir, "bin")
    os.makedirs(binDir)
    os.chmod(binDir, 0o755)
    info = {}
    for name, src in (("mod_wsgid.so", os.path.join(args.build_dir, ".libs", "mod_wsgid.so")),
                      ("wsgid-daemon", os.path.join(args.build_dir, "wsgid-daemon"))):
        dst = os.path.join(binDir, name)
        shutil.copy2(src, dst)
        os.chmod(dst, 0o755)
        with open(dst, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(src)).isoformat(
            timespec="seconds")
        info[name] = {"from": src, "mtime": mtime, "sha1": digest}
    args.wsgid_module = os.path.join(binDir, "mod_wsgid.so")
    args.wsgid_daemon = os.path.join(binDir, "wsgid-daemon")
    return info


def buildFlags(buildDir):
    """CXXFLAGS and sanitizer setting of the build tree's Makefile: an -O0 or sanitizer build
    would make mod_wsgid look slower than it is."""
    flags = {}
    try:
        with open(os.path.join(buildDir, "Makefile")) as f:
            for line in f:
                for key in ("CXXFLAGS", "SANITIZERS"):
                    if line.startswith(key + " ="):
                        flags[key] = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return flags


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def combine(runs):
    """Per-metric medians over repeated runs of one server and scenario."""
    ok = [r for r in runs if "failure" not in r]
    out = {"server": runs[0]["server"], "scenario": runs[0]["scenario"], "runs": runs}
    if not ok:
        out["failure"] = runs[-1]["failure"]
        return out
    for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_ms_per_req", "mib_per_s",
                "other_pct"):
        out[key] = median([r.get(key) for r in ok])
    if len(ok) < len(runs):
        out["failure"] = next(r["failure"] for r in runs if "failure" in r)
    return out


# ---- reporting ---------------------------------------------------------------------------------


def commandOutput(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def machineInfo(args):
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    wrkVersion = commandOutput(["wrk", "-v"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "os": commandOutput(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "apache2": (commandOutput([APACHE2, "-v"]) or "").splitlines()[0:1],
        "mod_wsgi_package": commandOutput(
            ["dpkg-query", "-W", "-f=${Version}", "libapache2-mod-wsgi-py3"]),
        "python": platform.python_version(),
        "flask": commandOutput(["dpkg-query", "-W", "-f=${Version}", "python3-flask"]),
        "django": commandOutput(["dpkg-query", "-W", "-f=${Version}", "python3-django"]),
        "wrk": (wrkVersion or "").splitlines()[0:1],
        "mod_wsgid_commit": commandOutput(["git", "-C", args.repo, "rev-parse", "--short", "HEAD"]),
        "mod_wsgid_tree_dirty": bool(commandOutput(
            ["git", "-C", args.repo, "status", "--porcelain", "--", "src"])),
    }


def fmt(v, spec):
    """format(v, spec), or a dash as wide as the spec asks when there is no value."""
    if v is not None:
        return format(v, spec)
    width = spec.split(".")[0]
    return "-".rjust(int(width)) if width.isdigit() else "-"


def verdict(scenario, a, b):
    """(ratio, text) for mod_wsgid (b) over mod_wsgi (a) against the scenario's target."""
    if "rps" not in a or "rps" not in b or not a["rps"]:
        return None, "n/a"
    ratio = b["rps"] / a["rps"]
    met = ratio >= scenario.target
    notes = []
    if scenario.name == "hello" and b.get("p99_ms") is not None and a.get("p99_ms") is not None:
        if b["p99_ms"] > a["p99_ms"]:
            met = False
            notes.append("p99 worse")
    text = ("met" if met else "NOT met") + (f" ({', '.join(notes)})" if notes else "")
    return ratio, text


def printTable(results, scenarios, servers):
    header = (f"{'scenario':<8} {'server':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'cpu ms/req':>10}  {'MiB/s':>7} {'other%':>6}  note")
    print(header)
    print("-" * len(header))
    for sc in scenarios:
        kinds = list(servers) + [STATIC]
        rows = {k: results.get((sc.name, k)) for k in kinds}
        for kind in kinds:
            r = rows[kind]
            if r is None:
                continue
            note = ""
            if "failure" in r:
                note = "FAILED: " + " ".join(r["failure"].split())[:100]
            print(f"{sc.name:<8} {kind:<10} {fmt(r.get('rps'), '9.1f')} "
                  f"{fmt(r.get('p50_ms'), '8.2f')} {fmt(r.get('p99_ms'), '8.2f')} "
                  f"{fmt(r.get('cpu_ms_per_req'), '10.3f')}  {fmt(r.get('mib_per_s'), '7.1f')} "
                  f"{fmt(r.get('other_pct'), '6.0f')}  {note}")
        if all(rows.get(k) for k in SERVERS):
            a, b = rows["mod_wsgi"], rows["mod_wsgid"]
            ratio, text = verdict(sc, a, b)
            cpuRatio = None
            if a.get("cpu_ms_per_req") and b.get("cpu_ms_per_req"):
                cpuRatio = a["cpu_ms_per_req"] / b["cpu_ms_per_req"]
            print(f"{'':<8} {'ratio':<10} {fmt(ratio, '8.2f')}x {'':>17} "
                  f"{fmt(cpuRatio, '9.2f')}x  {'':>7} {'':>6}  target >= {sc.target}x: {text}")
        print()
    print("ratio: mod_wsgid / mod_wsgi requests/s; cpu column ratio: mod_wsgi cpu / mod_wsgid cpu")
    print("other%: CPU used by other processes of the machine during the run, in % of one core;")
    print("        more than a few % means a busy shared machine and noisy numbers")


def printMarkdown(results, scenarios):
    print("| scenario | mod_wsgi req/s | mod_wsgid req/s | ratio | target | p50 ms (wsgi / wsgid) "
          "| p99 ms (wsgi / wsgid) | server CPU ms/req (wsgi / wsgid) |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for sc in scenarios:
        a = results.get((sc.name, "mod_wsgi"), {})
        b = results.get((sc.name, "mod_wsgid"), {})
        ratio, text = verdict(sc, a, b)
        bRps = fmt(b.get("rps"), ".0f") if "failure" not in b else "FAILED"
        print(f"| {sc.title} | {fmt(a.get('rps'), '.0f')} | {bRps} | {fmt(ratio, '.2f')}x "
              f"| >= {sc.target}x: {text} "
              f"| {fmt(a.get('p50_ms'), '.2f')} / {fmt(b.get('p50_ms'), '.2f')} "
              f"| {fmt(a.get('p99_ms'), '.2f')} / {fmt(b.get('p99_ms'), '.2f')} "
              f"| {fmt(a.get('cpu_ms_per_req'), '.3f')} / {fmt(b.get('cpu_ms_per_req'), '.3f')} |")
    for sc in scenarios:
        static = results.get((sc.name, STATIC))
        if static and "rps" in static:
            print(f"\nReference, httpd serving the same 1 MiB file itself: "
                  f"{fmt(static.get('rps'), '.0f')} req/s, p50 {fmt(static.get('p50_ms'), '.2f')} "
                  f"ms, p99 {fmt(static.get('p99_ms'), '.2f')} ms, server CPU "
                  f"{fmt(static.get('cpu_ms_per_req'), '.3f')} ms/req.")


def parseArgs(argv):
    p = argparse.ArgumentParser(
        description="Compare mod_wsgid with Debian's mod_wsgi (daemon mode) using wrk.")
    p.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS),
                   help="comma-separated list of: " + ", ".join(s.name for s in SCENARIOS))
    p.add_argument("--servers", default=",".join(SERVERS),
                   help="comma-separated list of: mod_wsgi, mod_wsgid (default both)")
    p.add_argument("--duration", type=int, default=10, help="seconds of each measured run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured warm-up per run")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (-c)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per server and scenario (medians are reported)")
    p.add_argument("--processes", type=int, default=1, help="daemon processes per group")
    p.add_argument("--daemon-threads", type=int, default=15, help="threads per daemon process")
    p.add_argument("--wsgid-daemon-options", default="",
                   help="extra WSGIDaemonProcess options for mod_wsgid only (e.g. log-rate=0)")
    p.add_argument("--server-cpus", default="", help="taskset CPU list for apache2 (default none)")
    p.add_argument("--client-cpus", default="", help="taskset CPU list for wrk (default none)")
    p.add_argument("--out", default="/tmp", help="directory for the JSON results file")
    p.add_argument("--repo", default=DEFAULT_REPO, help="source tree (for version info)")
    p.add_argument("--build-dir", default=None,
                   help="build tree with .libs/mod_wsgid.so and wsgid-daemon (default: --repo)")
    p.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    p.add_argument("--baseline", action="store_true",
                   help="file scenario: also measure httpd serving the file itself")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (configs and logs)")
    args = p.parse_args(argv)
    args.build_dir = os.path.abspath(args.build_dir or args.repo)
    args.repo = os.path.abspath(args.repo)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIO_BY_NAME]
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}")
    args.scenario_list = [SCENARIO_BY_NAME[n] for n in names]
    args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not args.server_list or any(s not in SERVERS for s in args.server_list):
        p.error("--servers takes mod_wsgi and/or mod_wsgid")
    if args.threads > args.connections:
        p.error("--threads must not exceed --connections")
    if args.duration < 1 or args.repeat < 1:
        p.error("--duration and --repeat must be at least 1")
    return args


def stopOnSignal(signum, frame):
    """SIGTERM/SIGHUP end the benchmark the way Ctrl-C does: the current server is stopped."""
    raise KeyboardInterrupt


def main(argv):
    args = parseArgs(argv)
    signal.signal(signal.SIGTERM, stopOnSignal)
    signal.signal(signal.SIGHUP, stopOnSignal)
    if "mod_wsgid" in args.server_list:
        missing = [p for p in (os.path.join(args.build_dir, ".libs", "mod_wsgid.so"),
                               os.path.join(args.build_dir, "wsgid-daemon"))
                   if not os.path.exists(p)]
        if missing:
            print("mod_wsgid is not built: missing " + ", ".join(missing) +
                  f"\nRun `make -j2` in {args.build_dir} first (or pass --servers mod_wsgi).",
                  file=sys.stderr)
            return 2
    workDir = tempfile.mkdtemp(prefix="wb", dir="/tmp")
    os.chmod(workDir, 0o755)
    appsDir = os.path.join(workDir, "apps")
    shutil.copytree(os.path.join(HERE, "apps"), appsDir)
    with open(os.path.join(appsDir, "data.bin"), "wb") as f:
        f.write(bytes(range(256)) * (MIB // 256))
    for root, dirs, files in os.walk(appsDir):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    os.chmod(appsDir, 0o755)

    info = machineInfo(args)
    if "mod_wsgid" in args.server_list:
        info["mod_wsgid_build"] = snapshotBuild(args, workDir)
        info["mod_wsgid_build"]["flags"] = buildFlags(args.build_dir)
    settings = {k: getattr(args, k) for k in (
        "duration", "warmup", "connections", "threads", "repeat", "processes", "daemon_threads",
        "server_cpus", "client_cpus")}
    settings["scenarios"] = [s.name for s in args.scenario_list]
    settings["servers"] = args.server_list
    print(f"wsgid bench: {info['date']}, {info['cpus']} CPUs ({info['cpu']}), "
          f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
          f"(+{args.warmup}s warm-up), daemon processes={args.processes} "
          f"threads={args.daemon_threads}, work dir {workDir}", flush=True)

    results = {}
    interrupted = False
    try:
        index = 0
        for sc in args.scenario_list:
            runs = {k: [] for k in args.server_list}
            for rep in range(args.repeat):
                # Alternate the order between repeats so slow drift of a shared machine does not
                # always favour the same server.
                order = args.server_list if rep % 2 == 0 else list(reversed(args.server_list))
                if args.baseline and sc.name == "file":
                    order = order + [STATIC]
                    runs.setdefault(STATIC, [])
                for kind in order:
                    index += 1
                    r = measure(kind, sc, args, workDir, appsDir, index)
                    runs[kind].append(r)
                    state = ("FAILED: " + " ".join(r["failure"].split())) if "failure" in r else \
                        (f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 "
                         f"{r['p99_ms']:.2f} ms, cpu {fmt(r['cpu_ms_per_req'], '.3f')} ms/req, "
                         f"other {fmt(r['other_pct'], '.0f')}%")
                    print(f"  {sc.name:<7} {kind:<10} run {rep + 1}: {state}", flush=True)
            for kind in runs:
                results[(sc.name, kind)] = combine(runs[kind])
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted; servers stopped", file=sys.stderr)

    print()
    printTable(results, args.scenario_list, args.server_list)
    if args.markdown:
        print()
        printMarkdown(results, args.scenario_list)

    doc = {
        "machine": info,
        "settings": settings,
        "interrupted": interrupted,
        "results": [],
    }
    for sc in args.scenario_list:
        entry = {"scenario": sc.name, "title": sc.title, "target_ratio": sc.target}
        for kind in list(args.server_list) + [STATIC]:
            if (sc.name, kind) in results:
                entry[kind] = results[(sc.name, kind)]
        if all((sc.name, k) in results for k in SERVERS):
            ratio, text = verdict(sc, results[(sc.name, "mod_wsgi")],
                                  results[(sc.name, "mod_wsgid")])
            entry["ratio_rps"] = round(ratio, 3) if ratio is not None else None
            entry["target"] = text
        doc["results"].append(entry)
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outPath = os.path.join(args.out, f"wsgid-bench-{stamp}.json")
    with open(outPath, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"\nresults: {outPath}")

    failures = [(k, r) for k, r in results.items() if "failure" in r]
    for (scName, kind), r in failures:
        print(f"\n{kind} failed {scName}: {r['failure']}", file=sys.stderr)
        for run in r["runs"]:
            for line in run.get("error_log", [])[-10:]:
                print(f"  log: {line}", file=sys.stderr)
    for r in results.values():
        for run in r["runs"]:
            for line in run.get("leftover_processes", []):
                print(f"{r['server']} {r['scenario']}: {line}", file=sys.stderr)
    if args.keep:
        print(f"kept {workDir}")
    else:
        shutil.rmtree(workDir, ignore_errors=True)
    return 1 if (failures or interrupted) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
