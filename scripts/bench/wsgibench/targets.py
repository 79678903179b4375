# SPDX-License-Identifier: Apache-2.0
"""The systems the benchmark compares, each in its own freshly started /usr/sbin/apache2 (and, for
the proxied peers, its own uWSGI or gunicorn): mod_wsgid from the build tree, Debian's mod_wsgi in
daemon and in embedded mode, uWSGI behind mod_proxy_uwsgi, gunicorn behind mod_proxy_http, and
Apache serving the same bytes by itself. mod_wsgi and mod_wsgid are never loaded into one httpd
(both claim the WSGI* directives)."""

import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

from . import proctree
from .scenarios import checkBody, postBody

APACHE2 = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"
MOD_WSGI_SO = os.path.join(APACHE_MODULES, "mod_wsgi.so")
UWSGI = "/usr/bin/uwsgi"
UWSGI_PYTHON_PLUGIN = "/usr/lib/uwsgi/plugins/python3_plugin.so"
GUNICORN = "/usr/bin/gunicorn"

# Bounds on every wait, so a hung server can never hang the benchmark.
# A cold server (a daemon importing Django) answers well within this; longer means it is broken.
SERVER_READY_TIMEOUT_S = 30.0
# One functional check request: 1 MiB over loopback takes milliseconds, so this is generous.
CHECK_REQUEST_TIMEOUT_S = 30.0
# httpd's graceful stop waits for its children and daemons a few seconds (gunicorn's graceful
# timeout is set to 5 s below); allow more.
SERVER_STOP_TIMEOUT_S = 20.0
# Processes of a tree still alive this long after its root exited are killed.
LEFTOVER_GRACE_S = 5.0
# Lines of each log kept with a failure.
LOG_TAIL_LINES = 40

# A clean environment for every server: no PYTHONPATH/PYTHONHOME or pyenv shims leak into the
# Python processes.
CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class Shape:
    """A daemon group's shape: processes x threads (uWSGI and gunicorn get the same counts)."""

    def __init__(self, text):
        p, _, t = text.partition("x")
        self.processes = int(p)
        self.threads = int(t)
        if self.processes < 1 or self.threads < 1:
            raise ValueError(text)
        self.name = f"{self.processes}x{self.threads}"

    def __str__(self):
        return f"processes={self.processes} threads={self.threads}"


# Workers per httpd child. Debian's stock mpm_event.conf has 25; but the event MPM closes every
# idle keep-alive connection of a child when it finds no idle worker, and with 25 workers per
# child, 64 connections make wrk count hundreds of read errors per second even against Apache
# alone: the benchmark would measure the MPM shedding connections, not the targets. One worker
# per connection is not enough either: wrk opens all its connections at once at the start of each
# run, and the listener counts a worker as busy as soon as it has queued a new connection for it,
# so the burst can leave a child that took most of them with no idle worker for a moment, and wrk
# counts a read error (docs/performance.md "Targets" has the measurement). So a child gets two
# workers per connection of the largest concurrency asked for, at least 128 (two per connection
# of the default 64): every run up to 64 connections uses the same config.
WORKERS_PER_CONNECTION = 2
MIN_THREADS_PER_CHILD = 128


def threadsPerChild(concurrencyList):
    return max(MIN_THREADS_PER_CHILD, WORKERS_PER_CONNECTION * max(concurrencyList))


def runUser():
    """User/Group httpd's children and the peers' workers switch to: www-data when we are root,
    else nobody (we cannot switch)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("www-data")
        return "www-data"
    except KeyError:
        return None


def freePort():
    """A port on 127.0.0.1 free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def preloadingAlias(inst, processGroup):
    """The WSGIScriptAlias of the mod_wsgi-family targets. Naming both process-group and
    application-group makes mod_wsgi and mod_wsgid load the script when each process starts,
    as uWSGI and gunicorn load their app, rather than on the first request a process gets: a
    process whose first request falls in a measured run would otherwise add its app's import
    time (half a second for Flask) to that run's tail."""
    return (f'WSGIScriptAlias / "{inst.appPath()}" process-group={processGroup} '
            "application-group=%{GLOBAL}")


def logTail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return []


# ---- what each target is ------------------------------------------------------------------------


class Target:
    """A kind of server: its name, the Debian packages it needs, and the httpd config (plus the
    backend command, for the proxied peers) that serves one scenario with one shape."""

    name = ""
    title = ""
    # (file, Debian package that installs it) for each file the target cannot run without.
    requires = ()
    # Whether the daemon shape changes anything: embedded mode and static Apache ignore it.
    shaped = True

    @property
    def packages(self):
        return tuple(dict.fromkeys(pkg for _, pkg in self.requires))

    def missing(self, args):
        """None when the target can run here, else what is missing."""
        for path, pkg in self.requires:
            if not os.path.exists(path):
                return f"{path} is missing (apt-get install {pkg})"
        return None

    def unsupported(self, scenario):
        """None when the target runs `scenario`, else why not."""
        if scenario.only is not None and self.name not in scenario.only:
            return f"{scenario.name} is measured with {', '.join(scenario.only)} only"
        return None

    def httpdLines(self, inst):
        raise NotImplementedError

    def backendCommand(self, inst):
        """argv of the app server httpd proxies to, or None."""
        return None


class ModWsgid(Target):
    """mod_wsgid from a build tree: `build` names the entry of args.builds (BUILD_MAIN: --build-dir,
    BUILD_COMPARE: --compare-build, so that two builds are measured in one run)."""

    def __init__(self, name, title, build):
        self.name = name
        self.title = title
        self.build = build

    def missing(self, args):
        build = args.builds.get(self.build)
        if build is None:
            return "needs --compare-build DIR (a second mod_wsgid build tree)"
        absent = [p for p in (build.module, build.daemon) if not os.path.exists(p)]
        if absent:
            return f"not built: {', '.join(absent)} (run `make -j2` in {build.dir})"
        return None

    def httpdLines(self, inst):
        a = inst.args
        build = a.builds[self.build]
        group = str(inst.shape)
        if a.wsgid_daemon_options:
            group += " " + a.wsgid_daemon_options
        return [
            f"LoadModule wsgid_module {build.module}",
            f"WSGIDaemonProgram {build.daemon}",
            f"WSGIDaemonProcess bench {group}",
            preloadingAlias(inst, "bench"),
        ]


class ModWsgiDaemon(Target):
    name = "mod_wsgi-daemon"
    title = "mod_wsgi 4.9 daemon mode"
    requires = ((MOD_WSGI_SO, "libapache2-mod-wsgi-py3"),)

    def httpdLines(self, inst):
        return [
            f"LoadModule wsgi_module {MOD_WSGI_SO}",
            # No Python in the httpd children: every request goes to the daemons.
            "WSGIRestrictEmbedded On",
            f'WSGISocketPrefix "{inst.dir}/run/wsgi"',
            # display-name makes the daemons "(wsgi:bench)", so their memory is told apart from
            # the httpd children's (they run the same executable).
            f"WSGIDaemonProcess bench {inst.shape} display-name=%{{GROUP}}",
            preloadingAlias(inst, "bench"),
        ]


class ModWsgiEmbedded(ModWsgiDaemon):
    name = "mod_wsgi-embedded"
    title = "mod_wsgi 4.9 embedded mode"
    shaped = False

    def httpdLines(self, inst):
        return [
            f"LoadModule wsgi_module {MOD_WSGI_SO}",
            preloadingAlias(inst, "%{GLOBAL}"),
        ]


class Uwsgi(Target):
    name = "uwsgi"
    title = "uWSGI 2.0 behind mod_proxy_uwsgi"
    requires = ((UWSGI, "uwsgi"), (UWSGI_PYTHON_PLUGIN, "uwsgi-plugin-python3"))

    def httpdLines(self, inst):
        return [
            f"LoadModule proxy_module {APACHE_MODULES}/mod_proxy.so",
            f"LoadModule proxy_uwsgi_module {APACHE_MODULES}/mod_proxy_uwsgi.so",
            f'ProxyPass "/" "unix:{inst.socketPath()}|uwsgi://localhost/"',
        ]

    def backendCommand(self, inst):
        cmd = [
            UWSGI, "--plugin", "python3", "--master",
            "--processes", str(inst.shape.processes), "--threads", str(inst.shape.threads),
            "--socket", inst.socketPath(), "--wsgi-file", inst.appPath(), "--need-app",
            # As httpd has no access log: no per-request log line.
            "--disable-logging",
            # uWSGI 2.0 reloads on SIGTERM unless told otherwise.
            "--die-on-term", "--vacuum",
            # wrk closing its connections when a run ends is not an application error.
            "--ignore-sigpipe", "--ignore-write-errors", "--disable-write-exception",
        ]
        user = runUser()
        if user:
            cmd += ["--uid", user, "--gid", user, "--chown-socket", f"{user}:{user}"]
        return cmd


class Gunicorn(Target):
    name = "gunicorn"
    title = "gunicorn 20 (gthread) behind mod_proxy_http"
    requires = ((GUNICORN, "gunicorn"),)

    def httpdLines(self, inst):
        return [
            f"LoadModule proxy_module {APACHE_MODULES}/mod_proxy.so",
            f"LoadModule proxy_http_module {APACHE_MODULES}/mod_proxy_http.so",
            f'ProxyPass "/" "unix:{inst.socketPath()}|http://localhost/"',
        ]

    def backendCommand(self, inst):
        cmd = [
            GUNICORN, "--worker-class", "gthread",
            "--workers", str(inst.shape.processes), "--threads", str(inst.shape.threads),
            "--bind", f"unix:{inst.socketPath()}", "--chdir", inst.appsDir,
            # Stopping takes at most this long (our stop waits longer).
            "--graceful-timeout", "5",
            # Keep mod_proxy's pooled backend connections open between runs, as httpd's own
            # KeepAliveTimeout does for wrk's.
            "--keep-alive", "65",
            "--error-logfile", "-", "--log-level", "warning",
        ]
        user = runUser()
        if user:
            cmd += ["--user", user, "--group", user]
        # gunicorn imports a module: the .wsgi file is copied beside itself under a module name.
        return cmd + [f"{inst.moduleName()}:application"]


class ApacheStatic(Target):
    name = "apache"
    title = "Apache alone (same bytes: static file, mod_reflector)"
    shaped = False

    def unsupported(self, scenario):
        return scenario.noStatic or super().unsupported(scenario)

    def httpdLines(self, inst):
        sc = inst.scenario
        if sc.static == "reflector":
            return [
                f"LoadModule reflector_module {APACHE_MODULES}/mod_reflector.so",
                '<Location "/">',
                "    Require all granted",
                "    SetHandler reflector",
                "</Location>",
            ]
        return [
            f"LoadModule alias_module {APACHE_MODULES}/mod_alias.so",
            f'Alias / "{os.path.join(inst.staticDir, sc.static)}"',
        ]


# args.builds keys: the build tree measured as mod_wsgid, and an optional second one.
BUILD_MAIN = "main"
BUILD_COMPARE = "compare"
# A second mod_wsgid build, measured only when --compare-build names one.
COMPARE_TARGET = "mod_wsgid-compare"

TARGETS = [ModWsgid("mod_wsgid", "mod_wsgid (this build tree)", BUILD_MAIN),
           ModWsgid(COMPARE_TARGET, "mod_wsgid (the --compare-build tree)", BUILD_COMPARE),
           ModWsgiDaemon(), ModWsgiEmbedded(), Uwsgi(), Gunicorn(), ApacheStatic()]
BY_NAME = {t.name: t for t in TARGETS}
# Every ratio is to this target, measured in the same run.
DEFAULT_BASE = "mod_wsgi-daemon"


def packagesFor(targetNames):
    """Debian packages the named targets need beyond the common ones."""
    pkgs = []
    for name in targetNames:
        for p in BY_NAME[name].packages:
            if p not in pkgs:
                pkgs.append(p)
    return pkgs


# ---- a running target --------------------------------------------------------------------------


class Instance:
    """One target serving one scenario with one shape: its own httpd (our child, started with
    -DFOREGROUND, stopped by pid) and, for uWSGI and gunicorn, its own app server (our child as
    well). Not thread-safe; one owner."""

    def __init__(self, target, scenario, shape, args, workDir, index):
        self.target = target
        self.scenario = scenario
        self.shape = shape
        self.args = args
        self.dir = os.path.join(workDir, f"{index:03d}-{target.name}")
        self.appsDir = os.path.join(workDir, "apps")
        self.staticDir = os.path.join(workDir, "static")
        self.port = freePort()
        self.httpd = None
        self.backend = None
        self.errorLog = os.path.join(self.dir, "error.log")
        self.backendLog = os.path.join(self.dir, "backend.log")
        self.notes = []  # processes that had to be killed when stopping
        self.logOffsets = {}

    # -- paths

    def appPath(self):
        return os.path.join(self.appsDir, self.scenario.app)

    def socketPath(self):
        return os.path.join(self.dir, "app.sock")

    def moduleName(self):
        return "wb_" + os.path.splitext(self.scenario.app)[0]

    # -- config

    def httpdConfig(self):
        d = self.dir
        user = runUser()
        lines = [
            f"# Generated by scripts/bench/bench.py: {self.target.name}, {self.scenario.name}, "
            f"{self.shape}.",
            f'ServerRoot "{d}"',
            "ServerName 127.0.0.1",
            f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{d}/httpd.pid"',
            f'DefaultRuntimeDir "{d}/run"',
            f'ErrorLog "{self.errorLog}"',
            "LogLevel warn",
            # The same Server header for all (mod_wsgi would add its version to it).
            "ServerTokens Prod",
            f"LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so",
            f"LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so",
        ]
        if user:
            lines += [f"User {user}", f"Group {user}"]
        threads = threadsPerChild(self.args.concurrencyList)
        lines += [
            # Identical for every target. Two children like Debian's stock mpm_event.conf, each
            # with two workers for every connection wrk may open (see threadsPerChild).
            "StartServers 2",
            f"ThreadLimit {threads}",
            f"ThreadsPerChild {threads}",
            f"MinSpareThreads {threads}",
            f"MaxSpareThreads {3 * threads}",
            f"MaxRequestWorkers {4 * threads}",
            "MaxConnectionsPerChild 0",
            # Keep wrk's connections open for the whole run: we measure the server, not TCP.
            "KeepAlive On",
            "MaxKeepAliveRequests 0",
            "KeepAliveTimeout 5",
            "Timeout 60",
            # The same for every target. Only Apache alone's static file follows them: with
            # sendfile on (the default here) it is the strictest ceiling for file_wrapper, whose
            # sendfile path follows WSGIEnableSendfile in mod_wsgi and mod_wsgid instead.
            # --httpd-sendfile off gives httpd's own defaults, which Debian's apache2.conf keeps
            # (sendfile off, mmap on: Apache alone then maps the file and writes it).
            f"EnableSendfile {self.args.httpd_sendfile.capitalize()}",
            "EnableMMAP On",
            # As in Debian's apache2.conf and production servers: httpd's compiled-in default
            # looks for .htaccess in every directory down to the script or file, a failed
            # open() each, on every request of every target (docs/performance.md).
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            f'<Directory "{self.appsDir}">',
            "    Require all granted",
            "</Directory>",
            f'<Directory "{self.staticDir}">',
            "    Require all granted",
            "</Directory>",
        ]
        return "\n".join(lines + self.target.httpdLines(self)) + "\n"

    def prepare(self):
        os.makedirs(os.path.join(self.dir, "run"))
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "run"), 0o755)
        user = runUser()
        if user and self.target.name.startswith("mod_wsgi-"):
            # mod_wsgi puts its sockets under run/; let the children's user reach them.
            # mod_wsgid refuses a socket directory anyone but root can write (WG0010) and gives
            # each socket to User itself.
            pw = pwd.getpwnam(user)
            os.chown(os.path.join(self.dir, "run"), pw.pw_uid, pw.pw_gid)
        if self.target.name == "gunicorn":
            module = os.path.join(self.appsDir, self.moduleName() + ".py")
            if not os.path.exists(module):
                shutil.copyfile(self.appPath(), module)
                os.chmod(module, 0o644)
        self.confPath = os.path.join(self.dir, "httpd.conf")
        with open(self.confPath, "w") as f:
            f.write(self.httpdConfig())

    # -- processes

    def pinned(self, cmd):
        cpus = self.args.server_cpus
        return ["taskset", "-c", cpus] + cmd if cpus else cmd

    def spawn(self, cmd, logPath):
        with open(logPath, "ab") as out:
            return subprocess.Popen(
                self.pinned(cmd), env=CLEAN_ENV, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir)

    def start(self):
        """Starts the backend (if any), waits for its socket, then httpd, waits for its port.
        Returns None or what went wrong."""
        r = subprocess.run([APACHE2, "-t", "-f", self.confPath], env=CLEAN_ENV,
                           capture_output=True, text=True, timeout=SERVER_READY_TIMEOUT_S)
        if r.returncode != 0:
            return f"apache2 -t rejected the config: {(r.stdout + r.stderr).strip()}"
        cmd = self.target.backendCommand(self)
        if cmd:
            self.backend = self.spawn(cmd, self.backendLog)
            problem = self.waitFor(self.backend, self.connectUnix,
                                   f"{os.path.basename(cmd[0])} socket {self.socketPath()}")
            if problem:
                return problem
        self.httpd = self.spawn([APACHE2, "-f", self.confPath, "-DFOREGROUND"],
                                os.path.join(self.dir, "stdout.log"))
        return self.waitFor(self.httpd, self.connectTcp, f"apache2 on 127.0.0.1:{self.port}")

    def connectUnix(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(self.socketPath())

    def connectTcp(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
            pass

    @staticmethod
    def waitFor(proc, connect, what):
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"{what}: exited with status {proc.returncode} during start-up"
            try:
                connect()
                return None
            except OSError:
                time.sleep(0.1)
        return f"{what}: not accepting within {SERVER_READY_TIMEOUT_S:.0f}s"

    def alive(self):
        procs = [self.httpd] + ([self.backend] if self.backend else [])
        return self.httpd is not None and all(p.poll() is None for p in procs)

    def roots(self):
        return [p.pid for p in (self.httpd, self.backend) if p is not None]

    def cpuTicks(self, procs=None):
        return proctree.treeCpuTicks(self.roots(), procs)

    def contextSwitches(self, procs=None):
        return proctree.treeContextSwitches(self.roots(), procs)

    def memory(self):
        """The memory of every process of the target now: whole-tree RSS and PSS, each process's
        private part (USS), the part in app processes (daemons, uWSGI, gunicorn) and in httpd's
        own children, and each process."""
        procs = proctree.scan()
        rows = []
        for root in self.roots():
            for pid in proctree.descendants(procs, root):
                rss, pss, uss, cpus = proctree.processMemory(pid)
                if rss is None:
                    continue
                exe, cmd = proctree.describe(pid)
                rows.append({"pid": pid, "exe": exe, "cmd": cmd[:80], "rss": rss, "pss": pss,
                             "uss": uss, "cpus": cpus, "role": self.role(root, pid, exe, cmd)})
        return rows

    def role(self, root, pid, exe, cmd):
        """httpd-parent, httpd-child (workers, mod_wsgid's log relay) or app (the processes that
        run Python apart from httpd: daemons, uWSGI, gunicorn)."""
        if root != self.httpd.pid or exe == "wsgid-daemon" or cmd.startswith("(wsgi:"):
            return "app"
        return "httpd-parent" if pid == root else "httpd-child"

    def logs(self):
        return [p for p in (self.errorLog, self.backendLog) if os.path.exists(p)]

    def markLogs(self):
        """Remembers where each log ends, so newLogLines() returns only what follows."""
        self.logOffsets = {}
        for path in self.logs():
            self.logOffsets[path] = os.path.getsize(path)

    def newLogLines(self):
        """Lines logged since markLogs(): httpd's at level error or worse and Python tracebacks;
        everything uWSGI or gunicorn wrote (they log warnings and worse only)."""
        keep = []
        for path in self.logs():
            try:
                with open(path, "rb") as f:
                    f.seek(self.logOffsets.get(path, 0))
                    lines = f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                continue
            for line in lines:
                if path != self.errorLog or "Traceback" in line or any(
                        f":{lvl}]" in line for lvl in ("error", "crit", "alert", "emerg")):
                    keep.append(f"{os.path.basename(path)}: {line}")
        return keep

    def logTails(self):
        out = []
        for path in self.logs():
            out += [f"{os.path.basename(path)}: {line}" for line in logTail(path)]
        return out

    def stop(self):
        """httpd first (SIGTERM, by pid), then the backend (SIGTERM: gunicorn's graceful stop,
        uWSGI's with --die-on-term); bounded waits, SIGKILL by pid for anything left."""
        if self.httpd is not None:
            self.notes += proctree.stopTree(self.httpd, signal.SIGTERM, SERVER_STOP_TIMEOUT_S,
                                            LEFTOVER_GRACE_S)
        if self.backend is not None:
            self.notes += proctree.stopTree(self.backend, signal.SIGTERM, SERVER_STOP_TIMEOUT_S,
                                            LEFTOVER_GRACE_S)

    # -- requests

    def request(self):
        """Sends the scenario's request once: (status, body); raises OSError/HTTPException."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CHECK_REQUEST_TIMEOUT_S)
        try:
            if self.scenario.postBytes:
                conn.request("POST", "/", body=postBody(self.scenario.postBytes),
                             headers={"Content-Type": "application/octet-stream"})
            else:
                conn.request("GET", "/")
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def check(self):
        """One request, checked for status and exact body: None when right, else what is wrong."""
        what = f"{self.scenario.method} http://127.0.0.1:{self.port}/ ({self.scenario.name})"
        try:
            status, body = self.request()
        except (OSError, http.client.HTTPException) as e:
            return f"{what}: {type(e).__name__}: {e}"
        if not 200 <= status < 300:
            return f"{what}: status {status}, body {body[:300]!r}"
        problem = checkBody(self.scenario, body)
        return f"{what}: {problem}" if problem else None

    def checkUntilReady(self):
        """The first requests may find the daemons still starting: retry, bounded."""
        deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
        while True:
            problem = self.check()
            if problem is None or time.monotonic() >= deadline or not self.alive():
                return problem
            time.sleep(0.5)
