# SPDX-License-Identifier: Apache-2.0
"""One apache2 instance under test: a short temp ServerRoot (/tmp/wg-<pid>-N, Unix socket paths
are capped at 108 bytes), a generated self-contained httpd.conf, start in the foreground under
Popen, graceful restart (SIGUSR1), restart (SIGHUP), stop (SIGTERM, then SIGKILL after a
deadline). Processes are signalled only by the pids this object learned, never by name."""

import datetime
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from . import procs, tls
from .errorlog import ErrorLog
from .settings import INTEGRATION_DIR, Settings

# Bounds for every wait. Generous for a loaded 2-core CI machine; none is a timing assertion.
START_TIMEOUT = 30.0  # httpd up and listening
DAEMONS_TIMEOUT = 30.0  # the expected daemon processes present (first start, respawn, restart)
STOP_TIMEOUT = 20.0  # SIGTERM to exit; the daemons' default shutdown-timeout is 5 s
KILL_TIMEOUT = 10.0  # after SIGKILL
CONFIGTEST_TIMEOUT = 30.0

APACHE_USER = "www-data"
APACHE_GROUP = "www-data"
SERVER_NAME = "127.0.0.1"

_counter = itertools.count(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_root() -> bool:
    return os.geteuid() == 0


def sanitizer_runtime_libs(settings: Settings) -> List[str]:
    """The sanitizer runtimes httpd must LD_PRELOAD to load an instrumented module."""
    libs = []
    names = {"address": "libasan.so", "undefined": "libubsan.so"}
    for san in settings.sanitizers.split(","):
        name = names.get(san.strip())
        if not name:
            continue
        try:
            path = subprocess.run(["g++", f"-print-file-name={name}"], capture_output=True,
                                  text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if path and os.path.isabs(path) and os.path.exists(path):
            libs.append(os.path.realpath(path))
    return libs


@dataclass
class ServerConf:
    """What a test class serves: config text appended to the generated base config, and how many
    daemon processes it expects (None: the sum of processes= over the WSGIDaemonProcess lines).
    The text can use ${APPS}, ${STATE}, ${WG_ROOT}, ${PORT} (httpd Define variables)."""

    body: str
    daemons: Optional[int] = None
    mpm: Optional[str] = None  # None: the MPM env var, else "event"
    load_module: bool = True  # False only for the harness's own checks with plain httpd
    # Instead of mod_wsgid, load this module as wsgi_module (Debian's mod_wsgi, to compare the
    # same configuration under both); implies load_module=False.
    mod_wsgi: Optional[str] = None
    daemon_program: bool = True  # False: no WSGIDaemonProgram, the module finds its own daemon
    env: Dict[str, str] = field(default_factory=dict)  # more environment for apache2 itself
    # HTTP/2 in cleartext (h2c, prior knowledge and Upgrade) besides HTTP/1.1 on ${PORT}, with
    # mod_http2; never under mpm_prefork, which mod_http2 does not support.
    http2: bool = True
    # A second listener, ${TLS_PORT}: TLS (mod_ssl, a self-signed certificate for 127.0.0.1)
    # offering h2 and http/1.1 by ALPN, in a <VirtualHost> that inherits the main server's
    # configuration (mounts, groups, directory sections).
    tls: bool = False

    def expected_daemons(self) -> int:
        if self.daemons is not None:
            return self.daemons
        return count_daemons(self.body)

    def resolved_mpm(self) -> str:
        """The MPM apache2 runs under: mpm=, else the MPM environment variable, else event."""
        mpm = self.mpm or os.environ.get("MPM", "event")
        if mpm not in ("event", "worker", "prefork"):
            raise ValueError(f"MPM={mpm}: use event, worker or prefork")
        return mpm

    def serves_http2(self) -> bool:
        """Whether the server speaks HTTP/2 (h2c, and h2 when tls=True). Known before it starts,
        so that the suite does not generate HTTP/2 cases it cannot run: mod_http2 refuses to run
        under prefork (it only logs a warning and stays inactive)."""
        return self.http2 and (self.load_module or bool(self.mod_wsgi)) and \
            self.resolved_mpm() != "prefork"


def count_daemons(body: str) -> int:
    """Daemon processes a config starts: processes= (default 1) of each WSGIDaemonProcess, plus
    the module's implicit default group (one process). The module creates that group when a
    process group is %{GLOBAL}, or when a WSGIScriptAlias has no process-group= and its server
    (the <VirtualHost>, else the main server) has no literal server-level WSGIProcessGroup
    (src/apache/config_check.cpp, someAliasMayUseDefaultGroup)."""
    text = re.sub(r"\\\n", " ", body)
    total = 0
    default_group = False
    main_group = None           # server-level WSGIProcessGroup of the main server
    vhosts = []                 # [group, has_uncovered_alias] per <VirtualHost>
    main_bare_alias = False     # a main-server alias without process-group=
    in_vhost = False
    depth = 0                   # nesting of <Directory>/<Location>/... inside the current server
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        head = words[0]
        if head.lower().startswith("<virtualhost"):
            in_vhost = True
            vhosts.append([None, False])
            continue
        if head.lower() == "</virtualhost>":
            in_vhost = False
            continue
        if head.startswith("</"):
            depth = max(0, depth - 1)
            continue
        if head.startswith("<"):
            depth += 1
            continue
        if head == "WSGIDaemonProcess":
            n = 1
            for w in words[2:]:
                if w.startswith("processes="):
                    n = int(w.split("=", 1)[1])
            total += n
        elif head == "WSGIScriptAlias":
            if "process-group=%{GLOBAL}" in words[3:]:
                default_group = True
            elif not any(w.startswith("process-group=") for w in words[3:]):
                if in_vhost:
                    vhosts[-1][1] = True
                else:
                    main_bare_alias = True
        elif head == "WSGIProcessGroup":
            value = words[1] if len(words) > 1 else ""
            if value == "%{GLOBAL}":
                default_group = True
            elif depth == 0 and not value.startswith("%{"):
                if in_vhost:
                    vhosts[-1][0] = value
                else:
                    main_group = value
    if main_bare_alias and main_group is None:
        default_group = True
    for group, bare in vhosts:
        covering = group if group is not None else main_group
        # Main-server aliases are merged into every vhost, so they need its coverage too.
        if (bare or main_bare_alias) and covering is None:
            default_group = True
    return total + (1 if default_group else 0)


# Process name of the module's supervision waker (kWakerProcessName).
WAKER_NAME = "wsgid-waker"


@dataclass
class StopResult:
    sigkilled: bool = False  # SIGTERM was not enough
    leftovers: List[int] = field(default_factory=list)  # processes alive after httpd exited
    sockets_left: List[str] = field(default_factory=list)


class StartError(RuntimeError):
    pass


# The module's record of a log relay it forked (src/apache/log_relay.cpp).
_RELAY_STARTED = re.compile(r"WG0050: log relay .* started as pid (\d+)")


class HttpdServer:
    """Not thread-safe: drive it from the test thread; requests may come from any thread."""

    def __init__(self, settings: Settings, conf: ServerConf, debug: bool = False,
                 name: str = "server"):
        self.settings = settings
        self.conf = conf
        self.debug = debug
        self.name = name
        self.root = Path(f"/tmp/wg-{os.getpid()}-{next(_counter)}")
        self.apps = self.root / "apps"
        self.state = self.root / "state"
        self.run_dir = self.root / "run"
        self.conf_path = self.root / "httpd.conf"
        self.log = ErrorLog(self.root / "error.log")
        self.access_log = self.root / "access.log"
        self.port = free_port()
        self.tls_port: Optional[int] = free_port() if conf.tls else None
        self.proc: Optional[subprocess.Popen] = None
        self.expected_daemons = conf.expected_daemons()
        self.checked_offset = 0  # error log bytes already scanned by the after-test checks
        # When this server was told to stop its children (stop, restart, graceful restart): the
        # after-test log check judges httpd's own shutdown-race records by it.
        self.children_stopped_at: List[datetime.datetime] = []
        self.mpm = conf.resolved_mpm()
        self.http2 = conf.serves_http2()
        self._sanitizer_libs = sanitizer_runtime_libs(settings) if settings.sanitized else []
        self._prepare_dirs()
        self.write_config()

    # ---- layout and config ----------------------------------------------------------------

    def _prepare_dirs(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(mode=0o755)
        os.chmod(self.root, 0o755)
        shutil.copytree(INTEGRATION_DIR / "apps", self.apps,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for dirpath, dirnames, filenames in os.walk(self.apps):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)
        (self.root / "htdocs").mkdir(mode=0o755)
        self.run_dir.mkdir(mode=0o755)
        os.chmod(self.run_dir, 0o755)
        # Markers written by apps running as the daemon user.
        self.state.mkdir()
        os.chmod(self.state, 0o1777)

    def base_config(self) -> str:
        s = self.settings
        mods = s.modules_dir
        lines = [
            "# Generated by tests/integration/harness/httpd.py: self-contained, nothing from /etc.",
            f'Define WG_ROOT "{self.root}"',
            f'Define APPS "{self.apps}"',
            f'Define STATE "{self.state}"',
            f"Define PORT {self.port}",
            f'Define MODULES "{mods}"',
            'ServerRoot "${WG_ROOT}"',
            f"ServerName {SERVER_NAME}",
            "Listen 127.0.0.1:${PORT}",
            'DefaultRuntimeDir "${WG_ROOT}/run"',
            'DocumentRoot "${WG_ROOT}/htdocs"',
            'PidFile "${WG_ROOT}/httpd.pid"',
            'ErrorLog "${WG_ROOT}/error.log"',
            "LogLevel info wsgid:debug" if self.debug and self.conf.load_module else
            "LogLevel info",
            'LogFormat "%h \\"%r\\" %>s %b %D %{pid}P" wgfmt',
            'CustomLog "${WG_ROOT}/access.log" wgfmt',
            # Bounds a stuck exchange well below the tests' own client timeouts.
            "Timeout 20",
            "KeepAlive On",
            f'LoadModule mpm_{self.mpm}_module "{mods}/mod_mpm_{self.mpm}.so"',
        ]
        if self.mpm == "prefork":
            lines += ["StartServers 3", "MinSpareServers 2", "MaxSpareServers 8",
                      "MaxRequestWorkers 40"]
        else:
            lines += ["StartServers 2", "ThreadsPerChild 16", "MinSpareThreads 8",
                      "MaxSpareThreads 48", "ServerLimit 8", "MaxRequestWorkers 64"]
        lines += [
            f'LoadModule authz_core_module "{mods}/mod_authz_core.so"',
            f'LoadModule env_module "{mods}/mod_env.so"',
            f'LoadModule headers_module "{mods}/mod_headers.so"',
        ]
        if self.conf.mod_wsgi:
            lines.append(f'LoadModule wsgi_module "{self.conf.mod_wsgi}"')
        elif self.conf.load_module:
            lines.append(f'LoadModule wsgid_module "{s.module}"')
            if self.conf.daemon_program:
                lines.append(f'WSGIDaemonProgram "{s.daemon}"')
        if self.http2:
            lines += [f'LoadModule http2_module "{mods}/mod_http2.so"', "Protocols h2c http/1.1"]
        if self.tls_port is not None:
            cert, key = tls.certificate()
            lines += [
                f"Define TLS_PORT {self.tls_port}",
                f'LoadModule ssl_module "{mods}/mod_ssl.so"',
                f'LoadModule socache_shmcb_module "{mods}/mod_socache_shmcb.so"',
                'SSLSessionCache "shmcb:${WG_ROOT}/run/ssl_scache(512000)"',
                "Listen 127.0.0.1:${TLS_PORT}",
                "<VirtualHost 127.0.0.1:${TLS_PORT}>",
                f"    ServerName {SERVER_NAME}",
                "    SSLEngine on",
                f'    SSLCertificateFile "{cert}"',
                f'    SSLCertificateKeyFile "{key}"',
                "    Protocols h2 http/1.1" if self.http2 else "    Protocols http/1.1",
                "</VirtualHost>",
            ]
        if is_root():
            lines += [f"User {APACHE_USER}", f"Group {APACHE_GROUP}"]
        lines += [
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            '<Directory "${APPS}">',
            "    Require all granted",
            "</Directory>",
            '<Directory "${WG_ROOT}/htdocs">',
            "    Require all granted",
            "</Directory>",
            "",
            "# ---- the test's configuration ----",
        ]
        return "\n".join(lines) + "\n"

    def write_config(self, body: Optional[str] = None) -> None:
        if body is not None:
            self.conf.body = body
            self.expected_daemons = self.conf.expected_daemons()
        self.conf_path.write_text(self.base_config() + self.conf.body + "\n")

    def env(self) -> Dict[str, str]:
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C",
        }
        if self._sanitizer_libs:
            env["LD_PRELOAD"] = " ".join(self._sanitizer_libs)
            env["ASAN_OPTIONS"] = f"detect_leaks=0:log_path={self.root}/asan"
            env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={self.root}/ubsan"
            env["PYTHONMALLOC"] = "malloc"
        env.update(self.conf.env)
        return env

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None, "server not started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def configtest(self) -> subprocess.CompletedProcess:
        return subprocess.run([self.settings.httpd, "-t", "-f", str(self.conf_path)],
                              env=self.env(), capture_output=True, text=True,
                              timeout=CONFIGTEST_TIMEOUT)

    def start(self, wait_daemons: bool = True) -> None:
        assert not self.running, "already running"
        stdout = open(self.root / "stdout.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [self.settings.httpd, "-D", "FOREGROUND", "-f", str(self.conf_path)],
                env=self.env(), stdin=subprocess.DEVNULL, stdout=stdout,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            stdout.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise StartError(f"apache2 exited with {self.proc.returncode} at start\n"
                                 + self.diagnostics())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    break
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise StartError(f"apache2 not listening on {self.port} within "
                                 f"{START_TIMEOUT}s\n" + self.diagnostics())
            time.sleep(0.05)
        if wait_daemons:
            self.wait_daemons(self.expected_daemons)

    def stop(self) -> StopResult:
        result = StopResult()
        if self.proc is None:
            return result
        if self.proc.poll() is None:
            tracked = {p.pid for p in procs.children(self.pid)}
            self.children_stopped_at.append(datetime.datetime.now())
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                result.sigkilled = True
                tracked |= {p.pid for p in procs.children(self.pid)}
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(KILL_TIMEOUT)
            result.leftovers = procs.wait_gone(tracked, KILL_TIMEOUT)
            for pid in result.leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            procs.wait_gone(result.leftovers, KILL_TIMEOUT)
        result.sockets_left = self.socket_files()
        return result

    def signal_and_wait_generation(self, sig: int, timeout: float = DAEMONS_TIMEOUT) -> None:
        """Sends SIGUSR1 or SIGHUP to the parent and waits until httpd says it resumed and a full
        set of new daemons (none of the old pids) is up."""
        offset = self.log.size()
        old = {p.pid for p in self.daemons()} | set(self.relay_pids())
        self.children_stopped_at.append(datetime.datetime.now())
        os.kill(self.pid, sig)
        # "<version> configured -- resuming normal operations" (notice): AH00489 from event,
        # AH00292 from worker, AH00163 from prefork.
        self.log.wait_for(r"AH00489|AH00292|AH00163", offset, timeout)
        self.wait_daemons(self.expected_daemons, exclude=old, timeout=timeout)

    def graceful(self) -> None:
        self.signal_and_wait_generation(signal.SIGUSR1)

    def restart(self) -> None:
        self.signal_and_wait_generation(signal.SIGHUP)

    # ---- observation -----------------------------------------------------------------------

    def children(self) -> List[procs.Proc]:
        return procs.children(self.pid) if self.running else []

    def is_daemon(self, p: procs.Proc) -> bool:
        return bool(p.exe) and p.exe != os.path.realpath(self.settings.httpd)

    def daemons(self) -> List[procs.Proc]:
        """Live (non-zombie) daemon processes among the parent's children."""
        return [p for p in self.children() if not p.zombie and self.is_daemon(p)]

    def relay_pids(self) -> List[int]:
        """Pids of every log relay this server started, oldest first, as the module logged
        them (WG0050). A relay is a fork of httpd: known by pid, never by name."""
        return [int(m) for m in _RELAY_STARTED.findall(self.log.read_from(0))]

    def relay(self) -> Optional[procs.Proc]:
        """The newest log relay, if it is a live child of the parent."""
        pids = self.relay_pids()
        if not pids or not self.running:
            return None
        p = procs.info(pids[-1])
        return p if p is not None and not p.zombie and p.ppid == self.pid else None

    def wakers(self) -> List[procs.Proc]:
        """The module's supervision waker (a short-lived fork of httpd named wsgid-waker that
        wakes the parent when a daemon reports something; src/apache/supervision_waker.h)."""
        return [p for p in self.children() if not p.zombie and procs.comm(p.pid) == WAKER_NAME]

    def workers(self) -> List[procs.Proc]:
        relays = set(self.relay_pids())
        return [p for p in self.children()
                if not p.zombie and not self.is_daemon(p) and p.pid not in relays
                and procs.comm(p.pid) != WAKER_NAME]

    def wait_daemons(self, n: int, exclude: Iterable[int] = (),
                     timeout: float = DAEMONS_TIMEOUT) -> List[procs.Proc]:
        """Waits until exactly `n` live daemon children exist, none of them in `exclude`, and no
        child is a zombie. Raises AssertionError with diagnostics at the deadline."""
        exclude = set(exclude)
        deadline = time.monotonic() + timeout
        while True:
            kids = self.children()
            ds = [p for p in kids if not p.zombie and self.is_daemon(p)]
            zombies = [p for p in kids if p.zombie]
            # Daemons write through the generation's log relay: it must be up with them.
            relay_ok = n == 0 or (self.relay() is not None and self.relay().pid not in exclude)
            if (len(ds) == n and not zombies and not any(p.pid in exclude for p in ds)
                    and relay_ok):
                return ds
            if not self.running:
                raise AssertionError("apache2 exited\n" + self.diagnostics())
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {n} daemon processes (excluding {sorted(exclude)}), a live log "
                    f"relay (started: {self.relay_pids()}) and no "
                    f"zombies under httpd pid {self.pid} within {timeout}s; children now:\n"
                    + "\n".join(f"  {p}" for p in kids) + "\n" + self.diagnostics())
            time.sleep(0.05)

    def daemon_ready(self, pid: int, timeout: float) -> bool:
        """Waits until daemon `pid` has logged that it serves (WG0260, after Python and its
        threads are up); False at the deadline."""
        regex = re.compile(rf"\[pid {pid}:tid \d+\] WG0260:")
        deadline = time.monotonic() + timeout
        while True:
            if regex.search(self.log.read_from(0)):
                return True
            if time.monotonic() >= deadline or not procs.alive(pid):
                return False
            time.sleep(0.05)

    def socket_files(self) -> List[str]:
        out = []
        for dirpath, _, filenames in os.walk(self.run_dir):
            for f in filenames:
                path = os.path.join(dirpath, f)
                if Path(path).is_socket():
                    out.append(path)
        return sorted(out)

    def sanitizer_reports(self) -> List[str]:
        return sorted(str(p) for p in self.root.glob("*san.*"))

    def diagnostics(self, lines: int = 60) -> str:
        out = ""
        try:
            text = (self.root / "stdout.log").read_text("utf-8", "replace").strip()
            if text:
                out += f"--- apache2 stdout/stderr ---\n{text[-4000:]}\n"
        except FileNotFoundError:
            pass
        out += f"--- error log tail ({self.log.path}) ---\n{self.log.tail(lines)}\n"
        return out

    def cleanup(self) -> None:
        if not os.environ.get("WSGID_KEEP_TMP"):
            shutil.rmtree(self.root, ignore_errors=True)


def assert_configtest_fails(make_server, body: str, words: Iterable[str]) -> str:
    """Runs `apachectl configtest` on a server made from `body` (with the `make_server` fixture)
    and asserts that it fails saying each of `words`; returns its output."""
    srv = make_server(ServerConf(body, daemons=0), start=False)
    res = srv.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    for word in words:
        assert word in out, out
    return out
