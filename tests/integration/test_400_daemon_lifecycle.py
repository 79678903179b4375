# SPDX-License-Identifier: Apache-2.0
"""4xx: daemon processes: how many, whose children, respawn after SIGKILL with the reason logged,
graceful restart (drain, no failed request under load), full restart, stop, user=/group=,
display-name, home/python-path/python-home/lang/locale, socket permissions, unreachable daemons,
configuration errors caught by configtest, socket directory hygiene (who may write it, stale
sockets of dead instances)."""

import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import http, procs
from harness.httpd import APACHE_USER, DAEMONS_TIMEOUT, ServerConf, is_root
from harness.log_ids import (DAEMON_DIED_IDS, DAEMON_LOST_IDS, STARTUP_FAILED_IDS,
                               UNREACHABLE_IDS)
from harness.util import Background, rendezvous_dir, wait_for_file

LIFECYCLE_CONF = ServerConf(r"""
WSGIDaemonProcess three processes=3 threads=2 display-name=wsgid-three-test
WSGIDaemonProcess one threads=4 display-name=%{GROUP}
WSGIScriptAlias /three ${APPS}/procinfo/app.wsgi process-group=three
WSGIScriptAlias /three-sleep ${APPS}/sleep/app.wsgi process-group=three
WSGIScriptAlias /one ${APPS}/procinfo/app.wsgi process-group=one
WSGIScriptAlias /rv ${APPS}/rendezvous/app.wsgi process-group=one
WSGIScriptAlias /sleep ${APPS}/sleep/app.wsgi process-group=one
WSGIScriptAlias /crash ${APPS}/crash/app.wsgi process-group=one
""")


def load_table_maps(pid):
    """The permissions of each mapping of a load table in `pid`'s address space, or None if the
    process has ended."""
    try:
        text = Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return [line.split()[1] for line in text.splitlines() if "memfd:wsgid-load:" in line]


def group_daemons(server, argv0):
    return [p for p in server.daemons() if p.argv and p.argv[0] == argv0]


def death_pattern(pid: int) -> str:
    # The parent's record of a daemon's death names the pid and the signal.
    return rf"(?s)(\b{pid}\b.*(signal 9\b|SIGKILL))|((signal 9\b|SIGKILL).*\b{pid}\b)"


class TestLifecycle:
    server_conf = LIFECYCLE_CONF

    def test_400_01_processes_are_children_of_httpd(self, server):
        three = group_daemons(server, "wsgid-three-test")
        one = group_daemons(server, "(wsgi:one)")
        assert len(three) == 3, server.children()
        assert len(one) == 1, server.children()
        for p in three + one:
            assert p.ppid == server.pid
            assert p.exe == os.path.realpath(server.settings.daemon)
        served = {http.get(server.port, "/three").json()["pid"] for _ in range(10)}
        assert served <= {p.pid for p in three}
        info = http.get(server.port, "/one").json()
        assert info["pid"] == one[0].pid and info["ppid"] == server.pid

    def test_400_02_display_name(self, server):
        # display-name=NAME replaces argv[0] (what ps shows); %{GROUP} gives "(wsgi:NAME)" as in
        # mod_wsgi. No other daemon runs in this configuration.
        names = sorted(p.argv[0] for p in server.daemons())
        assert names == ["(wsgi:one)"] + ["wsgid-three-test"] * 3, server.daemons()

    def test_400_03_sigkill_mid_request_respawns_and_logs_reason(self, server, allow_log):
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS)
        offset = server.checked_offset
        (victim,) = group_daemons(server, "(wsgi:one)")
        d = rendezvous_dir(server)
        bg = Background(http.get, server.port, f"/rv?dir={d}&id=k")
        wait_for_file(d / "k.arrived")
        os.kill(victim.pid, signal.SIGKILL)
        r = bg.result()
        # The daemon broke the connection before the response started: 502 (docs/protocol.md).
        assert r.status == 502, r
        server.wait_daemons(server.expected_daemons, exclude={victim.pid})
        rec = server.log.wait_for(death_pattern(victim.pid), offset)
        assert rec.ids, f"the death record carries no message id: {rec.text}"
        (new,) = group_daemons(server, "(wsgi:one)")
        info = http.get(server.port, "/one").json()
        assert info["pid"] == new.pid != victim.pid

    def test_400_04_app_crash_respawns_and_logs_reason(self, server, allow_log):
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS)
        offset = server.checked_offset
        (victim,) = group_daemons(server, "(wsgi:one)")
        r = http.get(server.port, "/crash")
        assert r.status == 502, r
        server.wait_daemons(server.expected_daemons, exclude={victim.pid})
        server.log.wait_for(death_pattern(victim.pid), offset)
        assert http.get(server.port, "/one").status == 200

    def test_400_05_graceful_restart_brings_fresh_daemons(self, server):
        before = {p.pid for p in server.daemons()}
        server.graceful()
        after = {p.pid for p in server.daemons()}
        assert len(after) == 4 and not (before & after)
        assert http.get(server.port, "/one").json()["pid"] in after
        assert http.get(server.port, "/three").json()["pid"] in after

    def test_400_06_graceful_restart_drains_in_flight_request(self, server):
        (old,) = group_daemons(server, "(wsgi:one)")
        d = rendezvous_dir(server)
        bg = Background(http.get, server.port, f"/rv?dir={d}&id=drain")
        wait_for_file(d / "drain.arrived")
        offset = server.log.size()
        os.kill(server.pid, signal.SIGUSR1)
        server.log.wait_for(r"AH00489|AH00292|AH00163", offset)  # resuming normal operations
        (d / "release").touch()
        r = bg.result()
        assert r.status == 200, r
        body = r.json()
        assert body["released"] is True and body["pid"] == old.pid
        server.wait_daemons(server.expected_daemons, exclude={old.pid})

    def test_400_07_graceful_restart_under_load_fails_no_request(self, server):
        stop = threading.Event()
        results = []  # (ok, detail, pid)
        lock = threading.Lock()
        # Bounds on the load: enough requests to overlap the restart, never unbounded.
        max_requests_per_thread = 3000
        max_seconds = 90

        def load():
            deadline = time.monotonic() + max_seconds
            for i in range(max_requests_per_thread):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    # Both groups: "three" routes by its load table, "one" has none.
                    path = "/sleep" if i % 2 else "/three-sleep"
                    r = http.get(server.port, f"{path}?t=0.01&id={i}",
                                 headers={"Connection": "close"})
                    ok = r.status == 200
                    item = (ok, r if not ok else None, r.json()["pid"] if ok else None)
                except Exception as e:  # a reset or a timeout is a failed request
                    item = (False, repr(e), None)
                with lock:
                    results.append(item)

        def count():
            with lock:
                return len(results)

        threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while count() < 30 and time.monotonic() < deadline:
                time.sleep(0.02)
            before = {p.pid for p in server.daemons()}
            server.graceful()
            after = {p.pid for p in server.daemons()}
            mark = count()
            deadline = time.monotonic() + 30
            while count() < mark + 30 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        failures = [r for r in results if not r[0]]
        assert not failures, f"{len(failures)} of {len(results)} requests failed: {failures[:5]}"
        pids = {r[2] for r in results}
        assert pids & before and pids & after, "load did not span the restart"

    def test_400_64_one_load_table_per_group_read_only_in_children(self, server):
        # The parent makes a load table for each group of two or more processes in each
        # generation: a graceful restart must not leave the old one mapped, or the parent would
        # grow with every restart. Each daemon of the group maps it once and keeps no descriptor
        # of it; a daemon of a one-process group has none; httpd children only read it.
        for round_ in range(3):
            assert load_table_maps(server.pid) == ["rw-s"], (round_, load_table_maps(server.pid))
            # Ready first: a daemon just exec'd may not show its display name yet.
            assert all(server.daemon_ready(p.pid, DAEMONS_TIMEOUT) for p in server.daemons())
            three = group_daemons(server, "wsgid-three-test")
            (one,) = group_daemons(server, "(wsgi:one)")
            assert len(three) == 3, (round_, server.daemons())
            for p in three + [one]:
                fds = procs.fd_targets(p.pid).values()
                assert not [t for t in fds if "wsgid-load" in t], (round_, p, fds)
            assert [load_table_maps(p.pid) for p in three] == [["rw-s"]] * 3, round_
            assert load_table_maps(one.pid) == [], round_
            for w in server.workers():
                maps = load_table_maps(w.pid)
                assert maps is None or maps == ["r--s"], (round_, w, maps)
            assert http.get(server.port, "/three").status == 200
            server.graceful()

    def test_400_08_full_restart_brings_fresh_daemons(self, server):
        before = {p.pid for p in server.daemons()}
        server.restart()
        after = {p.pid for p in server.daemons()}
        assert len(after) == 4 and not (before & after)
        assert http.get(server.port, "/one").json()["pid"] in after

    def test_400_09_socket_permissions(self, server):
        socks = server.socket_files()
        assert len(socks) >= 2, socks  # one per group
        for path in socks:
            st = os.stat(path)
            # Only the Apache user may connect: the bind umask gives exactly 0600.
            assert stat.S_IMODE(st.st_mode) == 0o600, (path, oct(st.st_mode))
            if is_root():
                assert st.st_uid == pwd.getpwnam(APACHE_USER).pw_uid, path


SMALL_CONF = ServerConf(r"""
WSGIDaemonProcess small processes=2 threads=2
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi process-group=small
""")


def test_400_20_stop_leaves_no_daemon_and_no_socket(make_server):
    srv = make_server(SMALL_CONF)
    assert http.get(srv.port, "/info").status == 200
    daemons = [p.pid for p in srv.daemons()]
    assert len(daemons) == 2
    assert srv.socket_files(), "no daemon socket while running"
    result = srv.stop()
    assert not result.sigkilled, "apache2 needed SIGKILL to stop"
    assert result.leftovers == []
    assert procs.wait_gone(daemons, 10) == []
    assert result.sockets_left == []


def test_400_21_unreachable_daemon_socket_is_503(make_server, allow_log):
    allow_log(*UNREACHABLE_IDS)
    srv = make_server(SMALL_CONF)
    for path in srv.socket_files():
        os.unlink(path)
    r = http.get(srv.port, "/info", headers={"Connection": "close"})
    assert r.status == 503, r



def test_400_22_socket_prefix(make_server):
    srv = make_server(ServerConf(r"""
WSGISocketPrefix ${WG_ROOT}/sockets/wg
WSGIDaemonProcess sp threads=2
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi process-group=sp
"""), start=False)
    sockets = srv.root / "sockets"
    sockets.mkdir()
    os.chmod(sockets, 0o755)
    srv.start()
    assert http.get(srv.port, "/info").status == 200
    socks = [p for p in sockets.iterdir() if p.is_socket()]
    assert len(socks) == 1 and socks[0].name.startswith("wg"), list(sockets.iterdir())
    assert srv.socket_files() == []  # nothing left under DefaultRuntimeDir
    result = srv.stop()
    assert not result.sigkilled
    assert [p for p in sockets.iterdir() if p.is_socket()] == []


def test_400_24_build_tree_module_runs_the_daemon_built_beside_it(make_server, harness):
    # Without WSGIDaemonProgram, a module loaded from <builddir>/.libs/ must run
    # <builddir>/wsgid-daemon, not an installed (or absent) one.
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess bt threads=1
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi process-group=bt
""", daemon_program=False))
    assert http.get(srv.port, "/info").status == 200
    rec = srv.log.wait_for(r"WG0020: ", 0)
    assert "(build tree)" in rec.text, rec.text
    daemon = harness.settings.daemon
    assert daemon in rec.text or str(Path(daemon).resolve()) in rec.text, rec.text
    srv.stop()


def test_400_23_startup_failure_is_logged_and_backed_off(make_server, allow_log):
    # A daemon that cannot start (its home= is closed to its user) exits with a startup failure;
    # the parent says why and retries later instead of in a tight loop.
    if not is_root():
        pytest.skip("needs apache2 started as root so that daemons run as another user")
    allow_log(*STARTUP_FAILED_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess broken threads=1 home=${WG_ROOT}/closed-home
WSGIScriptAlias /x ${APPS}/procinfo/app.wsgi process-group=broken
""", daemons=0), start=False)
    closed = srv.root / "closed-home"
    closed.mkdir()
    os.chmod(closed, 0o700)  # owned by root: www-data cannot enter it
    srv.start(wait_daemons=False)
    own = srv.log.wait_for(r"WG\d{4}: .*closed-home", 0)
    assert own.level in ("crit", "error", "alert", "emerg"), own.text
    rec = srv.log.wait_for(r"could not start", 0)
    assert rec.ids & set(STARTUP_FAILED_IDS), rec.text
    assert re.search(r"next attempt in [0-9.]+s", rec.text), rec.text
    srv.stop()

# ---- user=/group= -------------------------------------------------------------------------------

USER_CONF = ServerConf(r"""
WSGIDaemonProcess tenant threads=2 user=wsgidtest group=wsgidtest display-name=wsgid-tenant
WSGIDaemonProcess plain threads=2 display-name=wsgid-plain
WSGIScriptAlias /tenant ${APPS}/procinfo/app.wsgi process-group=tenant
WSGIScriptAlias /plain ${APPS}/procinfo/app.wsgi process-group=plain
""")


class TestUsers:
    server_conf = USER_CONF

    @pytest.fixture(autouse=True)
    def _needs_user(self, test_user):
        self.user = test_user

    def test_400_30_daemon_runs_as_configured_user(self, server):
        (d,) = group_daemons(server, "wsgid-tenant")
        ids = procs.ids(d.pid)
        assert ids["Uid"] == [self.user["uid"]] * 4, ids
        assert ids["Gid"] == [self.user["gid"]] * 4, ids
        assert ids["Groups"] == [self.user["gid"]], ids
        info = http.get(server.port, "/tenant").json()
        assert (info["uid"], info["euid"], info["gid"], info["egid"]) == \
            (self.user["uid"],) * 2 + (self.user["gid"],) * 2
        assert info["pid"] == d.pid

    def test_400_31_daemon_defaults_to_apache_user(self, server):
        www = pwd.getpwnam(APACHE_USER)
        (d,) = group_daemons(server, "wsgid-plain")
        ids = procs.ids(d.pid)
        assert ids["Uid"] == [www.pw_uid] * 4, ids
        assert ids["Gid"] == [www.pw_gid] * 4, ids
        assert http.get(server.port, "/plain").json()["uid"] == www.pw_uid


# ---- per-group Python and process settings --------------------------------------------------------

OPTIONS_CONF = ServerConf(r"""
WSGIDaemonProcess opts threads=2 home=${APPS}/lib python-path=${APPS}/lib:${STATE} \
    lang=C.UTF-8 locale=C.UTF-8
WSGIScriptAlias /opts ${APPS}/procinfo/app.wsgi process-group=opts
WSGIScriptAlias /opts-counter ${APPS}/counter/a.wsgi process-group=opts
""")


class TestDaemonOptions:
    server_conf = OPTIONS_CONF

    def test_400_40_home(self, server):
        info = http.get(server.port, "/opts").json()
        assert info["cwd"] == f"{server.apps}/lib"
        assert info["sys_path"][0] == f"{server.apps}/lib"

    def test_400_41_python_path(self, server):
        info = http.get(server.port, "/opts").json()
        path = info["sys_path"]
        stdlib = next(i for i, p in enumerate(path) if p.endswith("/python3.%d" %
                                                                 info["version"][1]))
        for entry in (f"{server.apps}/lib", str(server.state)):
            assert entry in path and path.index(entry) < stdlib, path
        # A module from python-path imports.
        r = http.get(server.port, "/opts-counter")
        assert r.status == 200 and r.json()["shared"] >= 1

    def test_400_42_lang_and_locale(self, server):
        env = http.get(server.port, "/opts").json()["env"]
        assert env["LANG"] == "C.UTF-8"
        assert env["LC_ALL"] == "C.UTF-8"


@pytest.fixture(scope="module")
def venv():
    """A virtualenv (no pip) with one marker module in its site-packages, readable by every user."""
    root = Path(f"/tmp/wg-{os.getpid()}-venv")
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(root)], check=True,
                   capture_output=True, timeout=120)
    site = next(root.glob("lib/python3*/site-packages"))
    (site / "wg_venv_marker.py").write_text("WHERE = 'venv'\n")
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if "/bin/" in p else 0o644)
    yield root
    shutil.rmtree(root, ignore_errors=True)


VENV_APP = """
import json, sys
import wg_venv_marker
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"prefix": sys.prefix, "base_prefix": sys.base_prefix,
                        "marker": wg_venv_marker.WHERE}).encode()]
"""


def test_400_43_python_home_virtualenv(make_server, venv):
    srv = make_server(ServerConf(f"""
WSGIDaemonProcess venv threads=2 python-home={venv}
WSGIScriptAlias /venv ${{STATE}}/venv.wsgi process-group=venv
<Directory "${{STATE}}">
    Require all granted
</Directory>
"""), start=False)
    (srv.state / "venv.wsgi").write_text(VENV_APP)
    os.chmod(srv.state / "venv.wsgi", 0o644)
    srv.start()
    r = http.get(srv.port, "/venv")
    assert r.status == 200, r
    body = r.json()
    assert body["prefix"] == str(venv)
    assert body["marker"] == "venv"


def test_400_44_wsgi_python_home_for_default_group(make_server, venv):
    srv = make_server(ServerConf(f"""
WSGIPythonHome {venv}
WSGIScriptAlias /venv ${{STATE}}/venv.wsgi
<Directory "${{STATE}}">
    Require all granted
</Directory>
""", daemons=1), start=False)
    (srv.state / "venv.wsgi").write_text(VENV_APP)
    os.chmod(srv.state / "venv.wsgi", 0o644)
    srv.start()
    r = http.get(srv.port, "/venv")
    assert r.status == 200, r
    assert r.json()["prefix"] == str(venv)


# ---- configuration errors caught by configtest --------------------------------------------------

def configtest(make_server, body: str) -> subprocess.CompletedProcess:
    srv = make_server(ServerConf(body, daemons=0), start=False)
    return srv.configtest()


def test_400_50_valid_config_passes_configtest(make_server):
    res = configtest(make_server, LIFECYCLE_CONF.body)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Syntax OK" in res.stdout + res.stderr


@pytest.mark.parametrize("directive", ["option", "server"])
@pytest.mark.parametrize("home", ["missing", "empty-dir"])
def test_400_51_bad_python_home_fails_configtest(make_server, directive, home):
    srv = make_server(ServerConf("", daemons=0), start=False)
    path = srv.root / ("no-such-python-home" if home == "missing" else "empty-python-home")
    if home == "empty-dir":
        path.mkdir()
    if directive == "option":
        body = f"WSGIDaemonProcess g python-home={path}\n" \
               "WSGIScriptAlias /x ${APPS}/procinfo/app.wsgi process-group=g\n"
        name = "python-home"
    else:
        body = f"WSGIPythonHome {path}\nWSGIScriptAlias /x ${{APPS}}/procinfo/app.wsgi\n"
        name = "WSGIPythonHome"
    srv.write_config(body)
    res = srv.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert name in out and str(path) in out, out


def test_400_52_unknown_daemon_option_fails_configtest(make_server):
    res = configtest(make_server, "WSGIDaemonProcess g processes=1 bogus-option=1\n")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "bogus-option" in out, out


@pytest.mark.parametrize("how", ["directive", "location", "alias-option"])
def test_400_53_undefined_process_group_fails_configtest(make_server, how):
    body = {
        "directive": "WSGIProcessGroup nosuchgroup\n"
                     "WSGIScriptAlias /x ${APPS}/procinfo/app.wsgi\n",
        "location": "WSGIScriptAlias /x ${APPS}/procinfo/app.wsgi\n"
                    "<Location /x>\n    WSGIProcessGroup nosuchgroup\n</Location>\n",
        "alias-option": "WSGIScriptAlias /x ${APPS}/procinfo/app.wsgi process-group=nosuchgroup\n",
    }[how]
    res = configtest(make_server, "WSGIDaemonProcess other threads=1\n" + body)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "nosuchgroup" in out, out


def test_400_54_duplicate_group_fails_configtest(make_server):
    res = configtest(make_server, "WSGIDaemonProcess dup threads=1\nWSGIDaemonProcess dup\n")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "dup" in out, out


def test_400_55_zero_processes_fails_configtest(make_server):
    res = configtest(make_server, "WSGIDaemonProcess g processes=0\n")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "processes" in out, out


def test_400_56_unknown_user_fails_configtest(make_server):
    if not is_root():
        pytest.skip("user= is only resolved when apache2 starts as root")
    res = configtest(make_server, "WSGIDaemonProcess g user=no-such-user-wsgid\n")
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "no-such-user-wsgid" in out, out


# ---- socket directory hygiene ---------------------------------------------------------------------

PREFIX_CONF = r"""
WSGISocketPrefix ${WG_ROOT}/sockets/wg
WSGIDaemonProcess sd threads=1
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi process-group=sd
"""


def prefix_server(make_server, mode=0o755, daemons=0):
    srv = make_server(ServerConf(PREFIX_CONF, daemons=daemons), start=False)
    sockets = srv.root / "sockets"
    sockets.mkdir()
    os.chmod(sockets, mode)
    return srv, sockets


@pytest.mark.parametrize("where", ["prefix", "runtime-dir"])
def test_400_60_world_writable_socket_dir_fails_configtest(make_server, where):
    if where == "prefix":
        srv, sockets = prefix_server(make_server, 0o1777)
        directive = f"WSGISocketPrefix {sockets}/wg"
    else:
        srv = make_server(ServerConf(LIFECYCLE_CONF.body, daemons=0), start=False)
        sockets = srv.run_dir
        os.chmod(sockets, 0o1777)
        directive = f"DefaultRuntimeDir {sockets}"
    res = srv.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert f"{directive}" in out, out
    assert f"directory {sockets} is writable by others (mode 1777" in out, out
    assert "WSGISocketPrefix at" in out and "only root can write" in out, out
    os.chmod(sockets, 0o755)  # the harness's stop and clean-up need nothing else


def test_400_61_socket_dir_owned_by_another_user_fails_configtest(make_server):
    if not is_root():
        pytest.skip("needs root to give the directory to another user")
    srv, sockets = prefix_server(make_server, 0o755)
    www = pwd.getpwnam(APACHE_USER)
    os.chown(sockets, www.pw_uid, www.pw_gid)
    res = srv.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert f"directory {sockets} is owned by {APACHE_USER} (uid {www.pw_uid}) (mode 0755)" \
        in out, out
    assert "not by root" in out, out


def test_400_62_writable_parent_of_socket_dir_fails_configtest(make_server):
    srv = make_server(ServerConf(PREFIX_CONF.replace("/sockets/wg", "/open/sockets/wg"),
                                 daemons=0), start=False)
    open_dir = srv.root / "open"
    (open_dir / "sockets").mkdir(parents=True)
    os.chmod(open_dir / "sockets", 0o755)
    os.chmod(open_dir, 0o777)  # not sticky: anyone may rename sockets/ away
    res = srv.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert f"directory {open_dir}, which holds {open_dir}/sockets, is writable by others" in out, \
        out
    # The harness's own layout (/tmp/wg-<pid>-<n>/..., /tmp sticky) passes.
    os.chmod(open_dir, 0o755)
    res = srv.configtest()
    assert res.returncode == 0, res.stdout + res.stderr


def unused_pid() -> int:
    """A pid no process has now (only socket names carry it; nothing is signalled)."""
    for pid in range(3999999, 3000000, -7):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise AssertionError("no unused pid found")


def bound_socket(path: Path, listen: bool) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    if listen:
        s.listen(4)
    else:
        s.close()  # the file stays; nobody listens on it
    return s


def test_400_63_stale_sockets_of_dead_instances_are_removed_at_start(make_server):
    srv, sockets = prefix_server(make_server, 0o755, daemons=None)
    pid = unused_pid()
    dead = sockets / f"wg.{pid}.sd.sock"
    dead_other_group = sockets / f"wg.{pid}.gone.group.sock"
    live = sockets / f"wg.{pid}.live.sock"
    not_ours = [sockets / f"other.{pid}.sd.sock", sockets / "wg.notapid.sd.sock",
                sockets / f"wg.{pid}.sd.sock.old"]
    plain_file = sockets / f"wg.{pid}.file.sock"
    link = sockets / f"wg.{pid}.link.sock"
    bound_socket(dead, listen=False)
    bound_socket(dead_other_group, listen=False)
    listener = bound_socket(live, listen=True)
    try:
        for p in not_ours:
            bound_socket(p, listen=False)
        plain_file.write_text("")
        link.symlink_to(not_ours[0])
        srv.start()
        assert http.get(srv.port, "/info").status == 200
        for p in (dead, dead_other_group):
            assert not os.path.lexists(p), p
            rec = srv.log.wait_for(rf"WG0026: .*{re.escape(str(p))}", 0)
            assert rec.level == "info", rec.text
        for p in [live, plain_file, link] + not_ours:
            assert os.path.lexists(p), p
        removals = re.findall(r"WG0026: removed the socket (\S+) ", srv.log.read_from(0))
        assert sorted(removals) == sorted([str(dead), str(dead_other_group)]), removals
        # The new socket of this instance sits beside the kept ones, mode 0600.
        (own,) = [p for p in sockets.iterdir() if p.name.startswith(f"wg.{srv.pid}.")]
        st = os.lstat(own)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        if is_root():
            assert st.st_uid == pwd.getpwnam(APACHE_USER).pw_uid
        srv.stop()
    finally:
        listener.close()
