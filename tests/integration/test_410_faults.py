# SPDX-License-Identifier: Apache-2.0
"""41x: faults recover promptly and say why. A daemon that had been serving and is killed
(SIGKILL, again and again), calls os._exit() in a request, or crashes, is replaced at once every
time; the request it was running gets a 502 whose page and log line name the cause, and the
parent logs the death with group, pid and cause. Only a daemon that dies before it is ready
backs off. A stopped daemon (SIGSTOP) is left alone, said to be stopped, and serves again as soon
as it is continued. An application's os._exit(15) does not stop httpd."""

import os
import re
import signal
import time

import pytest

from harness import http
from harness.httpd import ServerConf
from harness.log_ids import DAEMON_DIED_IDS, DAEMON_LOST_IDS, QUEUE_TIMEOUT_IDS
from harness.util import Background, rendezvous_dir, wait_for_file

from test_400_daemon_lifecycle import group_daemons

FAULT_CONF = ServerConf(r"""
WSGIDaemonProcess faulty threads=2 display-name=wsgid-faulty socket-timeout=2 connect-timeout=2 \
    queue-timeout=2
WSGIScriptAlias /f ${APPS}/fault/app.wsgi process-group=faulty
WSGIScriptAlias /rv ${APPS}/rendezvous/app.wsgi process-group=faulty
""")

# The daemon's line before Python's own crash report (faulthandler's stacks, which the log check
# would otherwise take for a traceback).
CRASH_IDS = ("WG0270",)
# A request timed out waiting for a stopped daemon: on a pooled connection (-> 504), or on a new
# one that no daemon took within queue-timeout (-> 503).
TIMEOUT_IDS = ("WG0116", *QUEUE_TIMEOUT_IDS)
# The parent saw a daemon stopped (warning) and running again.
STOPPED_IDS = ("WG0062",)
# Daemons that died before they were ready: the parent backs off.
EARLY_DEATH_IDS = ("WG0036",)


def the_daemon(server):
    (d,) = group_daemons(server, "wsgid-faulty")
    return d


def replaced(server, old_pid):
    """Waits for the replacement of `old_pid` to serve; returns its pid."""
    # Known by its pid, not its name: right after exec its /proc cmdline can still read empty
    # (an ASan run saw the_daemon() find none there), and it is its name only once it serves.
    (new,) = server.wait_daemons(server.expected_daemons, exclude={old_pid})
    assert server.daemon_ready(new.pid, 15), server.diagnostics()
    assert the_daemon(server).pid == new.pid
    return new.pid


def death_record(server, pid, cause, offset):
    """The parent's record of `pid`'s death, which must name `cause` and say it restarts now."""
    rec = server.log.wait_for(rf"WG0033: daemon process 0 of group faulty \(pid {pid}\) ", offset)
    assert cause in rec.text, rec.text
    assert "restarting it now" in rec.text, rec.text
    return rec


def module_record(server, pid, cause, offset):
    rec = server.log.wait_for(rf"WG0115: daemon group 'faulty' \(pid {pid}\) ", offset)
    assert cause in rec.text, rec.text
    return rec


class TestFaults:
    server_conf = FAULT_CONF

    def test_410_01_sigkill_three_times_in_a_row_is_replaced_at_once_each_time(self, server,
                                                                             allow_log):
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS)
        for round_ in range(3):
            offset = server.log.size()
            victim = the_daemon(server).pid
            d = rendezvous_dir(server)
            bg = Background(http.get, server.port, f"/rv?dir={d}&id=k{round_}")
            wait_for_file(d / f"k{round_}.arrived")
            os.kill(victim, signal.SIGKILL)
            r = bg.result()
            assert r.status == 502, r
            assert b"killed by signal 9 (Killed)" in r.body, r.body
            module_record(server, victim, "was killed by signal 9 (Killed)", offset)
            death_record(server, victim, "was killed by signal 9 (Killed)", offset)
            new = replaced(server, victim)
            assert http.get(server.port, "/f").body == str(new).encode()
        # No backoff built up: every death was of a daemon that had been serving.
        assert "WG0036" not in server.log.read_from(0)

    def test_410_02_os_exit_in_a_request_names_the_status(self, server, allow_log):
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS)
        offset = server.log.size()
        victim = the_daemon(server).pid
        r = http.get(server.port, "/f?exit=3")
        assert r.status == 502, r
        assert b"exited with status 3: the application ended the process" in r.body, r.body
        module_record(server, victim, "exited with status 3", offset)
        death_record(server, victim, "exited with status 3: the application ended", offset)
        replaced(server, victim)
        assert http.get(server.port, "/f").status == 200

    def test_410_03_os_exit_15_does_not_stop_httpd(self, server, allow_log):
        # httpd's MPM shuts the whole server down when a child of the parent exits with 15.
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS)
        offset = server.log.size()
        victim = the_daemon(server).pid
        r = http.get(server.port, "/f?exit=15")
        assert r.status == 502, r
        death_record(server, victim, "exited with status 15", offset)
        replaced(server, victim)
        assert server.running
        assert http.get(server.port, "/f").status == 200
        assert "AH00050" not in server.log.read_from(offset)  # "returned a Fatal error"

    def test_410_04_segfault_is_a_crash_with_python_stacks(self, server, allow_log):
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS, *CRASH_IDS)
        offset = server.log.size()
        victim = the_daemon(server).pid
        r = http.get(server.port, "/f?segv")
        assert r.status == 502, r
        assert b"crashed with signal 11 (Segmentation fault)" in r.body, r.body
        death_record(server, victim, "crashed with signal 11 (Segmentation fault)", offset)
        text = server.log.read_from(offset)
        assert "WG0270: the daemon process dies of signal 11" in text
        assert "Fatal Python error: Segmentation fault" in text
        replaced(server, victim)

    def test_410_05_abort_is_a_crash(self, server, allow_log):
        allow_log(*DAEMON_DIED_IDS, *DAEMON_LOST_IDS, *CRASH_IDS)
        offset = server.log.size()
        victim = the_daemon(server).pid
        r = http.get(server.port, "/f?abort")
        assert r.status == 502, r
        death_record(server, victim, "crashed with signal 6 (Aborted)", offset)
        replaced(server, victim)

    def test_410_06_stopped_daemon_continues_and_serves_again(self, server, allow_log):
        # A daemon stopped by SIGSTOP (or a debugger) is not killed: requests wait for it (up
        # to socket-timeout on a pooled connection, then 504 naming the stop; up to
        # queue-timeout on a new one, then 503) and it serves again once continued.
        allow_log(*TIMEOUT_IDS, *STOPPED_IDS)
        offset = server.log.size()
        pid = the_daemon(server).pid
        os.kill(pid, signal.SIGSTOP)
        try:
            r = http.get(server.port, "/f")
            assert r.status in (503, 504), r
            if r.status == 504:
                rec = server.log.wait_for(r"WG0116: ", offset)
                assert "stopped (SIGSTOP)" in rec.text, rec.text
            waiting = Background(http.get, server.port, "/f")
            time.sleep(0.5)
        finally:
            os.kill(pid, signal.SIGCONT)
        r = waiting.result()
        assert r.status == 200 and r.body == str(pid).encode(), r
        assert http.get(server.port, "/f").body == str(pid).encode()
        assert the_daemon(server).pid == pid

def test_410_07_parent_says_a_daemon_is_stopped_and_runs_again(make_server, allow_log):
    # On a server of its own: the parent notes each stop and continuation once.
    allow_log(*STOPPED_IDS)
    srv = make_server(FAULT_CONF)
    pid = the_daemon(srv).pid
    assert srv.daemon_ready(pid, 15)
    os.kill(pid, signal.SIGSTOP)
    try:
        rec = srv.log.wait_for(rf"WG0062: .*\(pid {pid}\) is stopped", 0, timeout=30)
        assert "SIGSTOP" in rec.text, rec.text
    finally:
        os.kill(pid, signal.SIGCONT)
    srv.log.wait_for(rf"WG0063: .*\(pid {pid}\) runs again", 0, timeout=30)
    assert http.get(srv.port, "/f").status == 200


def test_410_20_death_before_ready_backs_off(make_server, allow_log):
    # A daemon that dies before it is ready (here its preload script ends it) is a start-up
    # failure: the parent waits 1 s, then 2 s, ... before the next attempt.
    allow_log(*EARLY_DEATH_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess early threads=1
WSGIImportScript ${APPS}/fault/die_at_start.py process-group=early application-group=%{GLOBAL}
WSGIScriptAlias /e ${APPS}/fault/app.wsgi process-group=early
""", daemons=0), start=False)
    srv.start(wait_daemons=False)
    first = srv.log.wait_for(r"WG0036: .* before it was ready .*restarting it in 1s ", 0)
    assert "exited with status 3: the application ended the process" in first.text, first.text
    srv.log.wait_for(r"WG0036: .* before it was ready .*restarting it in 2s ", 0)
    srv.stop()
