# SPDX-License-Identifier: Apache-2.0
"""7xx: daemon groups as a trust boundary (docs/security.md). A local process running as the
Apache user, with a group's socket path and the httpd parent's pid in hand, cannot get a script
run in any group nor forge REMOTE_USER for an app; idle unauthenticated peers are dropped; a
tenant daemon sees none of httpd's environment and shows nothing but its name on its command
line; configtest refuses root daemons unless allow-root=On."""

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from harness import http
from harness.httpd import APACHE_USER, ServerConf, is_root
from harness.log_ids import HANDSHAKE_TIMEOUT_IDS, REFUSED_PEER_IDS

ATTACKER = Path(__file__).resolve().parent / "harness" / "attacker.py"
# Bound on one attacker run (its own waits are bounded at 15 s).
ATTACKER_TIMEOUT = 30

SECURITY_CONF = ServerConf(
    r"""
SetEnv WG_STATE ${STATE}
WSGIDaemonProcess tenant-a processes=1 threads=2 display-name=%{GROUP}
WSGIDaemonProcess tenant-b processes=1 threads=2
WSGIScriptAlias /a ${APPS}/security/app.wsgi process-group=tenant-a
WSGIScriptAlias /b ${APPS}/security/app.wsgi process-group=tenant-b
""",
    env={"WG_SECRET_TOKEN": "do-not-leak", "NOTIFY_SOCKET": "/run/wg-test-notify",
         "TZ": "Etc/UTC", "PYTHONPATH": "/tmp/evil"})


def group_socket(server, group):
    [path] = [p for p in server.socket_files() if p.endswith(f".{group}.sock")]
    return path


def run_attacker(server, mode, group):
    """Runs harness/attacker.py as the Apache user (as root: setuid first) against `group`."""
    preexec = None
    if is_root():
        pw = pwd.getpwnam(APACHE_USER)

        def preexec():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)

    script = str(server.apps / "security" / "app.wsgi")
    # The source goes in on stdin: the Apache user may not be able to read this tree (the
    # sanitizer pass runs it from a private temp dir).
    proc = subprocess.run(
        [sys.executable, "-", mode, group_socket(server, group), str(server.pid), group, script,
         str(server.state)],
        input=ATTACKER.read_text(), preexec_fn=preexec, capture_output=True, text=True,
        timeout=ATTACKER_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


class TestUnauthenticatedPeers:
    server_conf = SECURITY_CONF

    @pytest.mark.allow_log(*REFUSED_PEER_IDS)
    @pytest.mark.parametrize("group", ["tenant-a", "tenant-b"])
    def test_700_01_forged_hello_is_refused_and_nothing_runs(self, server, group):
        offset = server.log.size()
        result = run_attacker(server, "forged", group)
        # The daemon challenged, refused, closed: no response frame, the script never ran.
        assert result["types"] == [21, 20], result
        assert result["errors"] == ["authentication failed"], result
        assert result["closed"], result
        assert not (server.state / "attack").exists()
        rec = server.log.wait_for(rf"WG0219: refused a connection from pid {result['pid']} "
                                  rf"uid {result['uid']}: its Hello carries a wrong proof",
                                  offset)
        assert rec.level == "error"
        # Real requests are served as before, with no REMOTE_USER of anyone's choosing.
        r = http.get(server.port, f"/{group[-1]}")
        assert r.status == 200
        assert r.json()["remote_user"] is None

    @pytest.mark.allow_log(*REFUSED_PEER_IDS)
    def test_700_02_version_one_client_is_refused(self, server):
        # The 30-line client of the original report: a Hello with the pid from the socket name.
        offset = server.log.size()
        result = run_attacker(server, "v1", "tenant-b")
        assert result["types"] == [21], result  # the Challenge, then the close
        assert result["closed"], result
        assert not (server.state / "attack").exists()
        server.log.wait_for(rf"WG0219: refused a connection from pid {result['pid']} .*"
                            r"not a valid frame", offset)

    @pytest.mark.allow_log(*HANDSHAKE_TIMEOUT_IDS)
    def test_700_03_silent_peer_is_dropped(self, server):
        offset = server.log.size()
        result = run_attacker(server, "silent", "tenant-a")
        assert result["types"] == [21], result
        assert result["closed"], "the daemon kept a silent, unauthenticated peer"
        server.log.wait_for(rf"WG0274: dropped a connection from pid {result['pid']} ", offset)
        assert http.get(server.port, "/a").status == 200

    @pytest.mark.allow_log(*REFUSED_PEER_IDS)
    def test_700_04_repeated_attempts_log_once_per_process(self, server):
        # Each attacker run is a new process: one line each, never one per frame or retry.
        offset = server.log.size()
        pids = [run_attacker(server, "forged", "tenant-a")["pid"] for _ in range(3)]
        for pid in pids:
            server.log.wait_for(rf"WG0219: refused a connection from pid {pid} ", offset)
        text = server.log.read_from(offset)
        assert text.count("WG0219") == 3, text


class TestDaemonSurroundings:
    server_conf = SECURITY_CONF

    def test_700_10_environment_is_scrubbed(self, server):
        env = http.get(server.port, "/b").json()["environ"]
        for leaked in ("WG_SECRET_TOKEN", "NOTIFY_SOCKET", "PYTHONPATH"):
            assert leaked not in env, f"{leaked} reached a tenant daemon"
        assert env["TZ"] == "Etc/UTC"
        assert env["LANG"] == "C"
        assert env["PATH"]
        assert env["HOME"]
        assert set(env) <= {"PATH", "TZ", "LANG", "HOME", "USER", "LOGNAME", "ASAN_OPTIONS",
                            "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_PRELOAD", "PYTHONMALLOC",
                            "LC_CTYPE"}, sorted(env)

    def test_700_11_command_line_is_only_the_display_name(self, server):
        assert http.get(server.port, "/a").json()["cmdline"] == ["(wsgi:tenant-a)"]
        assert http.get(server.port, "/b").json()["cmdline"] == ["wsgid-daemon"]
        for d in server.daemons():
            assert len(d.argv) == 1, d.argv


class TestRootDaemons:
    def test_700_20_user_root_fails_configtest_with_the_fix(self, make_server):
        srv = make_server(ServerConf(r"""
WSGIDaemonProcess rooted user=root
WSGIScriptAlias /r ${APPS}/security/app.wsgi process-group=rooted
"""), start=False)
        result = srv.configtest()
        assert result.returncode != 0
        assert "would run Python as root" in result.stderr
        assert "allow-root=On" in result.stderr

    @pytest.mark.skipif(not is_root(), reason="user=root needs httpd started as root")
    def test_700_21_allow_root_is_explicit(self, make_server):
        srv = make_server(ServerConf(r"""
WSGIDaemonProcess rooted user=root allow-root=On
WSGIScriptAlias /r ${APPS}/security/app.wsgi process-group=rooted
"""))
        assert http.get(srv.port, "/r").json()["uid"] == 0
