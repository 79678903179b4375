# SPDX-License-Identifier: Apache-2.0
"""7xx: the log relay. Daemons write to a pipe per group, never to an error-log descriptor: a
tenant cannot truncate, rewrite or flood the shared error log; print() and wsgi.errors still
reach the right virtual host's log; the relay is supervised (respawned, replaced at a graceful
restart, gone at stop) and checked by pid."""

import os
import signal
import threading
import time
import uuid

import pytest

from harness import http, procs
from harness.httpd import APACHE_USER, ServerConf, is_root
from harness.log_ids import APP_LOG_IDS, DAEMON_DIED_IDS
from harness.util import write_script

# Every test logs through print() and wsgi.errors, which are error-level records.
pytestmark = pytest.mark.allow_log(*APP_LOG_IDS)

# src/apache/log_rate_limit.h: kLogRateBytesPerSecond, kLogBurstBytes.
LOG_RATE = 256 * 1024
LOG_BURST = 4 * 1024 * 1024
# Room for the lines a test does not control (daemon start, summaries) on top of the limit.
LOG_SLACK = 64 * 1024
# Bound on a flood request: 16 MiB through a pipe takes well under a second when nothing blocks.
FLOOD_TIMEOUT = 60.0
# The relay summarises drops every 5 s (kLogDropSummaryInterval); wait for it with margin.
SUMMARY_WAIT = 20.0
# The relay logs WG0051 when it died and was replaced.
RELAY_DIED_IDS = ("WG0051",)

RELAY_CONF = ServerConf(r"""
WSGIDaemonProcess tenant processes=2 threads=4
WSGIDaemonProcess other threads=2
WSGIScriptAlias /tamper ${APPS}/logtamper/app.wsgi process-group=tenant
WSGIScriptAlias /flood ${APPS}/logflood/app.wsgi process-group=tenant
WSGIScriptAlias /errors ${APPS}/errors/app.wsgi process-group=tenant
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi process-group=tenant
WSGIScriptAlias /other ${APPS}/errors/app.wsgi process-group=other
WSGIDaemonProcess unlimited threads=2 log-rate=0
WSGIScriptAlias /unlimited ${APPS}/logflood/app.wsgi process-group=unlimited
""")


def marker() -> str:
    return "mark-" + uuid.uuid4().hex


def log_line(server, path: str = "/errors") -> str:
    """Logs a fresh marker through print() and waits until it is in the error log."""
    m = marker()
    r = http.get(server.port, f"{path}?print={m}")
    assert r.status == 200, r
    server.log.wait_for(m + "-stderr")
    return m


class TestLogRelay:
    server_conf = RELAY_CONF

    def test_710_01_relay_is_a_child_known_by_pid(self, server):
        relay = server.relay()
        assert relay is not None, server.relay_pids()
        assert relay.ppid == server.pid
        assert relay.pid not in {p.pid for p in server.daemons()}
        assert relay.pid not in {p.pid for p in server.workers()}
        if is_root():
            import pwd
            uid = pwd.getpwnam(APACHE_USER).pw_uid
            assert procs.ids(relay.pid)["Uid"] == [uid] * 4

    def test_710_02_daemons_hold_no_error_log_descriptor(self, server):
        log = os.path.realpath(server.log.path)
        for d in server.daemons():
            targets = procs.fd_targets(d.pid)
            assert targets[1].startswith("pipe:") and targets[2] == targets[1], targets
            assert log not in targets.values(), (d.pid, targets)

    def test_710_03_tenant_cannot_truncate_or_rewrite_the_log(self, server):
        before_marker = log_line(server)
        with open(server.log.path, "rb") as f:
            before = f.read()
        r = http.get(server.port, "/tamper")
        assert r.status == 200, r
        got = r.json()
        assert got["fd1_is_fifo"] and got["fd2_is_fifo"], got
        assert got["ftruncate2"] == "EINVAL" and got["ftruncate1"] == "EINVAL", got
        assert got["lseek2"] == "ESPIPE", got
        assert got["write2"] == "ok", got
        # Reopening the pipe is refused to a daemon that dropped root (the pipe is root's, 0600);
        # where it is allowed it opens the pipe again, never the log.
        assert got["reopen_trunc"] in ("ok", "EACCES"), got
        server.log.wait_for("OVERWRITTEN", len(before))
        with open(server.log.path, "rb") as f:
            after = f.read()
        # Everything logged before is still there, byte for byte; the writes were appended.
        assert after.startswith(before)
        assert before_marker.encode() in after
        assert after.count(b"OVERWRITTEN") == (2 if got["reopen_trunc"] == "ok" else 1)

    def test_710_04_flood_is_limited_and_summarised(self, server):
        log_line(server)
        start_size = server.log.size()
        began = time.monotonic()
        result = {}

        def flood():
            result["r"] = http.get(server.port, "/flood?mb=16", timeout=FLOOD_TIMEOUT)

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        # Other requests, of the flooding group and of another one, still get answers.
        for path in ("/info", "/other?print=" + marker()):
            r = http.get(server.port, path, timeout=FLOOD_TIMEOUT)
            assert r.status == 200, r
        t.join(FLOOD_TIMEOUT)
        assert not t.is_alive(), "the flooding daemon stayed blocked"
        r = result["r"]
        assert r.status == 200, r
        assert r.json()["written"] >= 16 * 1024 * 1024
        rec = server.log.wait_for(r"WG0052: daemon group tenant .* dropped \d+ bytes",
                                  start_size, SUMMARY_WAIT)
        elapsed = time.monotonic() - began
        grown = server.log.size() - start_size
        assert grown <= LOG_BURST + LOG_RATE * (elapsed + 1) + LOG_SLACK, (grown, elapsed)
        dropped = int(rec.text.split("dropped ")[1].split()[0])
        assert dropped >= 16 * 1024 * 1024 - grown
        # The limit does not silence the group for good: the bucket refills.
        time.sleep(1.5)
        log_line(server)

    def test_710_05_other_group_is_not_limited_by_a_flooding_one(self, server):
        offset = server.log.size()
        r = http.get(server.port, "/flood?mb=4", timeout=FLOOD_TIMEOUT)
        assert r.status == 200, r
        m = log_line(server, "/other")
        assert m
        server.log.wait_for(r"WG0052: daemon group tenant", offset, SUMMARY_WAIT)
        text = server.log.read_from(offset)
        assert "WG0052: daemon group other" not in text

    def test_710_06_long_lines_are_split_not_lost(self, server):
        offset = server.log.size()
        time.sleep(2)  # refill after the earlier floods
        m = marker()
        r = http.get(server.port, f"/flood?mb=0&marker={m}&long=20000")
        assert r.status == 200, r
        server.log.wait_for(m, offset)
        time.sleep(0.5)
        text = server.log.read_from(offset)
        lines = [ln for ln in text.splitlines() if "WG0312" in ln and ("yyyy" in ln or m in ln)]
        assert sum(ln.count("y") for ln in lines) >= 20000
        assert all(len(ln.encode()) < 4096 for ln in lines), max(len(ln) for ln in lines)

    def test_710_08_log_rate_zero_means_no_limit(self, server):
        offset = server.log.size()
        m = marker()
        r = http.get(server.port, f"/unlimited?mb=4&marker={m}", timeout=FLOOD_TIMEOUT)
        assert r.status == 200, r
        server.log.wait_for(m, offset)
        assert server.log.size() - offset >= 4 * 1024 * 1024
        assert "WG0052: daemon group unlimited" not in server.log.read_from(offset)

    def test_710_07_relay_respawns_and_daemons_log_again(self, server, allow_log):
        allow_log(*RELAY_DIED_IDS, *DAEMON_DIED_IDS)
        old = server.relay()
        assert old is not None
        old_daemons = {p.pid for p in server.daemons()}
        os.kill(old.pid, signal.SIGKILL)
        server.log.wait_for(rf"WG0051: the log relay \(pid {old.pid}\)")
        server.wait_daemons(server.expected_daemons, exclude=old_daemons | {old.pid})
        new = server.relay()
        assert new is not None and new.pid != old.pid
        log_line(server)
        log_line(server, "/other")


def test_710_20_graceful_restart_hands_over_and_old_relay_exits(make_server, allow_log):
    allow_log(*APP_LOG_IDS)
    server = make_server(RELAY_CONF)
    old = server.relay()
    assert old is not None
    # A request in flight across the restart: its daemon drains and logs through the old relay.
    m = marker()
    result = {}

    def slow():
        result["r"] = http.get(server.port, f"/flood?mb=0&sleep=2&marker={m}",
                               timeout=FLOOD_TIMEOUT)

    t = threading.Thread(target=slow, daemon=True)
    t.start()
    time.sleep(0.5)
    server.graceful()
    t.join(FLOOD_TIMEOUT)
    assert not t.is_alive() and result["r"].status == 200, result
    server.log.wait_for(m)
    new = server.relay()
    assert new is not None and new.pid != old.pid
    assert procs.wait_gone([old.pid], 30.0) == [], "the old relay outlived its daemons"
    log_line(server)
    result = server.stop()
    assert not result.leftovers and not result.sigkilled, result


VHOST_LOG_CONF = ServerConf(r"""
<VirtualHost 127.0.0.1:${PORT}>
    ServerName main.test
    WSGIDaemonProcess main threads=2
    WSGIScriptAlias /errors ${APPS}/errors/app.wsgi process-group=main
</VirtualHost>
<VirtualHost 127.0.0.1:${PORT}>
    ServerName tenant.test
    ErrorLog "${WG_ROOT}/tenant-error.log"
    WSGIDaemonProcess vt threads=2
    WSGIScriptAlias /errors ${APPS}/errors/app.wsgi process-group=vt
</VirtualHost>
""")


def test_710_30_output_reaches_its_own_vhost_log(make_server):
    server = make_server(VHOST_LOG_CONF)
    m = marker()
    r = http.get(server.port, f"/errors?print={m}&text={m}",
                 headers={"Host": f"tenant.test:{server.port}"})
    assert r.status == 200, r
    tenant_log = server.root / "tenant-error.log"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = tenant_log.read_text("utf-8", "replace") if tenant_log.exists() else ""
        if all(f"{m}{s}" in text for s in ("-stdout", "-stderr", "-lines")):
            break
        time.sleep(0.05)
    assert f"{m}-stdout" in text and f"{m}-stderr" in text and f"{m}-lines" in text, text[-2000:]
    assert m not in server.log.read_from(0)


# An app whose interpreter, at the daemon's exit, takes a moment and then writes a line.
ATEXIT_APP = r'''
import atexit, sys, time

def _last_words():
    time.sleep(0.5)
    sys.stderr.write({line!r} + "\n")
    sys.stderr.flush()

atexit.register(_last_words)

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


def test_710_40_lines_written_at_stop_reach_the_log(make_server):
    # Under mpm_prefork httpd sends SIGTERM to its whole process group at stop, the relay too:
    # the relay outlives that and exits at EOF, after the daemons' last lines.
    server = make_server(ServerConf(r"""
WSGIDaemonProcess last threads=2
WSGIScriptAlias /last ${STATE}/last/app.wsgi process-group=last
<Directory "${STATE}/last">
    Require all granted
</Directory>
"""), start=False)
    m = marker()
    write_script(server.state / "last" / "app.wsgi", ATEXIT_APP.format(line=m))
    server.start()
    assert http.get(server.port, "/last").status == 200
    result = server.stop()
    assert not result.leftovers and not result.sigkilled, result
    assert m in server.log.read_from(0)
