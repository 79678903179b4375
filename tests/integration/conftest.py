# SPDX-License-Identifier: Apache-2.0
"""pytest fixtures for the integration suite: a real apache2 per test class (or per test), and the
checks every test must pass afterwards: no error/crit/alert/emerg, sanitizer report or traceback
in the error log unless the test allowlisted its message id, the expected daemon processes under
the httpd parent and no zombies, no descriptor leak in daemons or httpd children."""

import copy
import datetime
import grp
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Set

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import jail, procs, settings as settings_mod, tls  # noqa: E402
from harness.client import HTTP2_PROTOCOLS, PROTOCOLS, Client  # noqa: E402
from harness.errorlog import parse  # noqa: E402
from harness.httpd import HttpdServer, ServerConf  # noqa: E402

# How long a descriptor count may take to come back after a test (a response is fully read by
# the client before the daemon has necessarily closed what it used for it).
FD_SETTLE_TIMEOUT = 5.0
# Bound on an earlier generation's log relay exiting after its daemons: their drain
# (shutdown-timeout, 5 s by default) plus the reaping around it.
RELAY_SETTLE_TIMEOUT = 15.0
# How long a new daemon may take to say it serves (Python start-up on a loaded CI machine).
DAEMON_READY_TIMEOUT = 15.0
TEST_USER = "wsgidtest"
# httpd's own messages that are not about mod_wsgid and may appear in any test:
# AH03093 "process_socket: apr_pollset_add failure for keep alive" (Bad file descriptor) from the
# event MPM when a client closes right after its response; seen with plain httpd and no
# mod_wsgid loaded (test_000_05).
HTTPD_BENIGN_IDS = frozenset({"AH03093"})


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "allow_log(*ids): error-log message ids (WGnnnn, AHnnnnn) this test may leave behind")
    config.addinivalue_line(
        "markers",
        "protocols(*names): the protocols a test taking `client` runs over (default: PROTOCOLS)")
    config.addinivalue_line(
        "markers",
        "unsanitized(reason): the test cannot run in the sanitizer build (deselected there)")
    config.addinivalue_line(
        "markers",
        "needs_jail: the test builds a chroot= jail (root, and the system Python's stdlib to "
        "link or copy into it); deselected where that cannot be done (harness.jail)")


def pytest_generate_tests(metafunc):
    """A test that takes `client` runs once per protocol of its `protocols` mark (all of them
    by default)."""
    if "client" in metafunc.fixturenames:
        mark = metafunc.definition.get_closest_marker("protocols")
        protos = mark.args if mark else PROTOCOLS
        unknown = set(protos) - set(PROTOCOLS)
        if unknown:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown protocols {unknown}")
        metafunc.parametrize("client", protos, indirect=True)


def item_protocol(item) -> str:
    """The protocol a generated case runs over: its `client` parameter, or a `proto` parameter
    of a test that makes its own clients; "h1" for any other test."""
    params = getattr(item, "callspec", None)
    params = params.params if params is not None else {}
    return params.get("client", params.get("proto", "h1"))


def pytest_collection_modifyitems(config, items):
    """Whether a server speaks HTTP/2 is known before it starts (ServerConf.serves_http2): the
    HTTP/2 cases of a server that cannot (any under mpm_prefork, where mod_http2 does not run)
    are deselected rather than generated and skipped. So are the tests marked `unsanitized` in
    the sanitizer build."""
    try:
        sanitized = settings_mod.load().sanitized
    except FileNotFoundError:
        sanitized = False  # the harness fixture reports the missing settings
    keep, dropped = [], []
    no_jail = jail.unavailable()
    jail_dropped = 0
    for item in items:
        conf = getattr(item.cls, "server_conf", None) or ServerConf("")
        if item_protocol(item) in HTTP2_PROTOCOLS and not conf.serves_http2():
            dropped.append(item)
        elif sanitized and item.get_closest_marker("unsanitized") is not None:
            dropped.append(item)
        elif no_jail and item.get_closest_marker("needs_jail") is not None:
            dropped.append(item)
            jail_dropped += 1
        else:
            keep.append(item)
    if jail_dropped:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"deselected {jail_dropped} chroot= test(s): {no_jail}")
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


class Harness:
    """Session state: the settings, the servers alive or used by the current test, and the
    per-test allowlist and descriptor baselines."""

    def __init__(self, settings: settings_mod.Settings, debug: bool):
        self.settings = settings
        self.debug = debug
        self.servers: List[HttpdServer] = []  # started and not yet retired
        self.allowed: Set[str] = set()
        self.previous_allowed: Set[str] = set()
        self.started_at = datetime.datetime.now()
        self.expected: List[str] = []  # first lines of records a test asserted it expects
        self.fd_baseline: Dict[int, Dict[int, int]] = {}  # id(server) -> pid -> fds
        self.created: List[HttpdServer] = []  # every server made, for the final clean-up
        self.reported: Set[str] = set()  # sanitizer report files already failed a test

    # ---- servers ---------------------------------------------------------------------------

    def new_server(self, conf: ServerConf, name: str = "server") -> HttpdServer:
        srv = HttpdServer(self.settings, copy.deepcopy(conf), debug=self.debug, name=name)
        self.servers.append(srv)
        self.created.append(srv)
        return srv

    def retire(self, srv: HttpdServer) -> List[str]:
        """Stops a server and returns what is wrong with how it stopped and what it logged since
        the last check."""
        problems = []
        result = srv.stop()
        if result.sigkilled:
            problems.append("apache2 did not exit on SIGTERM (SIGKILL needed)")
        if result.leftovers:
            problems.append(f"processes left after apache2 exited: {result.leftovers}")
        if result.sockets_left:
            problems.append(f"socket files left after stop: {result.sockets_left}")
        problems += self.check_log(srv)
        if srv in self.servers:
            self.servers.remove(srv)
        if problems:
            problems.append(srv.diagnostics())
        return problems

    # ---- per-test checks -------------------------------------------------------------------

    def begin_test(self, allowed: Set[str]) -> None:
        # Daemon output reaches the log through the log relay, a moment after the daemon wrote
        # it: a record the previous test caused can show up after that test's check. Records
        # logged before this test began are judged by the previous test's allowlist.
        self.previous_allowed = self.allowed
        self.allowed = set(allowed)
        self.started_at = datetime.datetime.now()
        self.expected = []
        for srv in self.servers:
            if srv.running:
                self.fd_baseline[id(srv)] = self._fd_baseline(srv)

    def _fd_baseline(self, srv: HttpdServer) -> Dict[int, int]:
        """Descriptor counts to compare against after the test. Processes seen at the end of an
        earlier test keep that count; a new daemon (just started or respawned) is counted once
        it says it serves (Python opens files while it starts); a new httpd child once its
        count holds still."""
        known = self.fd_baseline.get(id(srv), {})
        now = self._fd_counts(srv)
        new = [pid for pid in now if pid not in known]
        if not new:
            return {pid: known[pid] for pid in now}
        daemons = {p.pid for p in srv.daemons()}
        unready = {pid for pid in new
                   if pid in daemons and not srv.daemon_ready(pid, DAEMON_READY_TIMEOUT)}
        deadline = time.monotonic() + FD_SETTLE_TIMEOUT
        now = self._fd_counts(srv)
        while time.monotonic() < deadline:
            time.sleep(0.1)
            again = self._fd_counts(srv)
            if again == now:
                break
            now = again
        # A daemon that never said it is ready is left to the process checks, not counted.
        return {pid: known.get(pid, n) for pid, n in now.items() if pid not in unready}

    def allow(self, *ids: str) -> None:
        self.allowed.update(ids)

    def expect(self, srv: HttpdServer, pattern: str) -> None:
        """Asserts that a record matching `pattern` appears, and lets it pass the after-test
        check. Only for httpd's own messages that carry no id to allowlist."""
        rec = srv.log.wait_for(pattern, srv.checked_offset)
        self.expected.append(rec.lines[0])

    def check_log(self, srv: HttpdServer) -> List[str]:
        text, end = srv.log.read(srv.checked_offset)
        srv.checked_offset = end
        bad = []
        for r in parse(text):
            if not r.is_bad() or r.lines[0] in self.expected:
                continue
            if r.is_stop_race(srv.children_stopped_at):
                continue
            earlier = r.when is not None and r.when < self.started_at
            allowed = (self.previous_allowed if earlier else self.allowed) | HTTPD_BENIGN_IDS
            if not r.ids & allowed:
                bad.append(r)
        if not bad:
            return []
        listing = "\n".join(r.text for r in bad[:20])
        return [f"{len(bad)} unexpected error-log record(s) in {srv.log.path} "
                f"(allowlisted ids: {sorted(self.allowed) or 'none'}):\n{listing}"]

    def _fd_counts(self, srv: HttpdServer) -> Dict[int, int]:
        out = {}
        for p in srv.children():
            if p.zombie:
                continue
            # Regular files only: that is where a leaked wsgi.file_wrapper or passed descriptor
            # shows up. Sockets are pooled connections, and pipes and epoll/eventfd descriptors
            # are made once while a process starts, which a sample may or may not catch.
            out[p.pid] = procs.fd_kinds(p.pid)["file"]
        return out

    def check_fds(self, srv: HttpdServer) -> List[str]:
        base = self.fd_baseline.get(id(srv))
        if not base:
            return []
        deadline = time.monotonic() + FD_SETTLE_TIMEOUT
        while True:
            now = self._fd_counts(srv)
            grown = {pid: (base[pid], n) for pid, n in now.items() if pid in base and n > base[pid]}
            if not grown or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        # The counts at the end of this test are the next test's baseline.
        self.fd_baseline[id(srv)] = now
        if not grown:
            return []
        lines = []
        for pid, (before, after) in grown.items():
            p = procs.info(pid)
            what = " ".join(p.argv[:2]) if p else "?"
            targets = {fd: t for fd, t in procs.fd_targets(pid).items() if t.startswith("/")}
            lines.append(f"pid {pid} ({what}): {before} -> {after} open files; now: {targets}")
        return ["descriptor leak (open files) in httpd children or daemons:\n" + "\n".join(lines)]

    def check_old_relays(self, srv: HttpdServer) -> List[str]:
        """Log relays of earlier generations exit once their daemons are gone (EOF): none may
        be left behind, by pid (a relay is a fork of httpd, so never by name)."""
        old = srv.relay_pids()[:-1]
        mine = [pid for pid in old if (p := procs.info(pid)) is not None and p.ppid == srv.pid]
        left = procs.wait_gone(mine, RELAY_SETTLE_TIMEOUT)
        if not left:
            return []
        return [f"log relay(s) of earlier generations still running: {left}\n"
                + srv.diagnostics()]

    def end_test(self) -> List[str]:
        problems: List[str] = []
        for srv in list(self.servers):
            problems += self.check_log(srv)
            reports = [r for r in srv.sanitizer_reports() if r not in self.reported]
            self.reported.update(reports)
            if reports:
                problems.append(f"sanitizer reports: {reports}")
                for r in reports[:3]:
                    problems.append(Path(r).read_text("utf-8", "replace")[-4000:])
            if srv.running:
                try:
                    srv.wait_daemons(srv.expected_daemons)
                except AssertionError as e:
                    problems.append(str(e))
                problems += self.check_old_relays(srv)
                problems += self.check_fds(srv)
        return problems


@pytest.fixture(scope="session")
def harness(request):
    try:
        settings = settings_mod.load()
    except FileNotFoundError as e:
        pytest.exit(str(e), returncode=3)
    for path, what in ((settings.module, "the module"), (settings.daemon, "the daemon")):
        if not os.path.exists(path):
            pytest.exit(f"{what} {path} is not built: run make first", returncode=3)
    h = Harness(settings, debug=request.config.getoption("verbose") > 0)
    request.config._wsgid_harness = h
    yield h
    for srv in list(h.servers):
        h.retire(srv)
    for srv in h.created:
        srv.cleanup()
    tls.cleanup()


@pytest.fixture(scope="class")
def server(request, harness):
    """The class's server, started from the class attribute `server_conf` (a ServerConf)."""
    conf = getattr(request.cls, "server_conf", None)
    if conf is None:
        raise pytest.UsageError(f"{request.cls} uses `server` but has no server_conf")
    srv = harness.new_server(conf, name=request.cls.__name__)
    srv.start()
    yield srv
    problems = harness.retire(srv)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def client(request, server):
    """The class's server over HTTP/1.1, h2c and h2 (TLS) in turn: a test that takes `client`
    runs once per protocol (pytest_generate_tests; the HTTP/2 cases of a server without HTTP/2,
    as under mpm_prefork, are not collected). h2 needs the class's ServerConf(tls=True)."""
    proto = request.param
    if proto in HTTP2_PROTOCOLS and not server.http2:
        raise pytest.UsageError(f"{proto}: {request.cls} has no HTTP/2 under mpm_{server.mpm}")
    if proto == "h2" and server.tls_port is None:
        raise pytest.UsageError(f"{request.cls} uses `client` but its ServerConf has no tls=True")
    return Client(server, proto)


@pytest.fixture
def make_server(harness):
    """Factory for a server of the test's own: make_server(conf, start=True)."""
    made = []

    def make(conf: ServerConf, start: bool = True) -> HttpdServer:
        srv = harness.new_server(conf)
        made.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    problems = []
    for srv in made:
        problems += harness.retire(srv)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def after_test_checks(request, harness):
    allowed: Set[str] = set()
    for mark in request.node.iter_markers("allow_log"):
        allowed.update(mark.args)
    harness.begin_test(allowed)
    yield
    problems = harness.end_test()
    if problems:
        pytest.fail("after-test checks failed:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def expect_log(harness):
    """expect_log(server, regex): the record must appear; for id-less httpd messages only."""
    return harness.expect


@pytest.fixture
def allow_log(harness):
    """allow_log("WG0301", ...): allowlists message ids for the current test only."""
    return harness.allow


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    h = getattr(item.config, "_wsgid_harness", None)
    if h is None:
        return
    for srv in h.servers:
        rep.sections.append((f"error log tail of {srv.name} ({srv.root})", srv.log.tail(80)))


@pytest.fixture(scope="session")
def test_user():
    """A dedicated Unix user for user=/group= tests, created when missing (needs root)."""
    if os.geteuid() != 0:
        pytest.skip("user=/group= needs apache2 started as root; the suite runs unprivileged")
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True, capture_output=True, timeout=60)
        pw = pwd.getpwnam(TEST_USER)
    return {"name": pw.pw_name, "uid": pw.pw_uid, "gid": pw.pw_gid,
            "group": grp.getgrgid(pw.pw_gid).gr_name}
