# SPDX-License-Identifier: Apache-2.0
"""1xx: service-script daemons (WSGIDaemonProcess threads=0, as mod_wsgi): the group's
WSGIImportScript runs on the daemon's main thread as the group's user, takes no requests, gets
SystemExit at stop and graceful restart (so its cleanup runs), and is started again when it
returns. Groups that would do nothing or that requests name fail configtest."""

import os
import signal
import time
from pathlib import Path

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails
from harness.util import wait_for, write_script

# The service script: records its start, beats every 0.1 s (a file owned by whoever it runs as,
# with whether signal.signal works: WSGIRestrictSignal is Off for service daemons), and records
# in `finally` that its cleanup ran.
HEARTBEAT = r'''
import os, signal, time
STATE = {state!r}
pid = os.getpid()

def _noted(signum, frame):
    pass

signal.signal(signal.SIGUSR2, _noted)
restrict_off = signal.getsignal(signal.SIGUSR2) is _noted
with open(os.path.join(STATE, "started.log"), "a") as f:
    f.write("%d\n" % pid)
try:
    while True:
        with open(os.path.join(STATE, "beat.%d.tmp" % pid), "w") as f:
            f.write("%d %r %f\n" % (os.getuid(), restrict_off, time.time()))
        os.replace(os.path.join(STATE, "beat.%d.tmp" % pid), os.path.join(STATE, "beat.%d" % pid))
        time.sleep(0.1)
finally:
    with open(os.path.join(STATE, "stopped.log"), "a") as f:
        f.write("%d\n" % pid)
'''

# A service script that returns at once: the parent starts it again, with its backoff.
RETURNING = r'''
import os
with open(os.path.join({state!r}, "runs.log"), "a") as f:
    f.write("%d\n" % os.getpid())
'''


def lines(path: Path):
    return path.read_text().split() if path.exists() else []


def beat(state: Path, pid: int):
    """(uid, restrict_off, time) of the service process `pid`'s last heartbeat, or None."""
    try:
        uid, restrict_off, at = (state / f"beat.{pid}").read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    return int(uid), restrict_off == "True", float(at)


def service_pid(state: Path, exclude=()) -> int:
    wait_for(lambda: [p for p in lines(state / "started.log") if int(p) not in exclude],
             what="a service script start")
    return [int(p) for p in lines(state / "started.log") if int(p) not in exclude][-1]


def assert_beating(state: Path, pid: int) -> None:
    """The heartbeat of `pid` advances (bounded wait)."""
    wait_for(lambda: beat(state, pid) is not None, what=f"a heartbeat of {pid}")
    first = beat(state, pid)[2]
    wait_for(lambda: beat(state, pid)[2] > first, what=f"the heartbeat of {pid} advancing")


def test_195_01_service_script_runs_beside_other_groups_and_stops_cleanly(make_server, test_user):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess service threads=0 user=%s
WSGIImportScript ${STATE}/service/heartbeat.py process-group=service application-group=%%{GLOBAL}
WSGIDaemonProcess web threads=2
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=web
""" % test_user["name"]), start=False)
    state = srv.state
    write_script(state / "service" / "heartbeat.py", HEARTBEAT.format(state=str(state)))
    srv.start()

    first = service_pid(state)
    assert_beating(state, first)
    uid, restrict_off, _ = beat(state, first)
    assert uid == test_user["uid"]
    assert restrict_off, "signal.signal must work in a service script (WSGIRestrictSignal Off)"
    daemon_pids = {p.pid for p in srv.daemons()}
    assert first in daemon_pids

    # Requests to another group do not disturb it: same process, still beating.
    for _ in range(5):
        assert http.get(srv.port, "/env").status == 200
    assert lines(state / "started.log") == [str(first)]
    assert_beating(state, first)

    # Graceful restart: the old script gets SystemExit (its finally runs), a new one starts.
    srv.graceful()
    wait_for(lambda: str(first) in lines(state / "stopped.log"), what="cleanup at graceful")
    second = service_pid(state, exclude={first})
    assert second != first
    assert_beating(state, second)

    # Stop: the same for the second one, within shutdown-timeout (no SIGKILL needed).
    result = srv.stop()
    assert not result.sigkilled and not result.leftovers
    assert str(second) in lines(state / "stopped.log")


@pytest.mark.allow_log("WG0036")
def test_195_02_a_returning_service_script_is_started_again_with_backoff(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess service threads=0
WSGIImportScript ${STATE}/service/returning.py process-group=service application-group=%{GLOBAL}
""", daemons=0), start=False)
    state = srv.state
    write_script(state / "service" / "returning.py", RETURNING.format(state=str(state)))
    offset = srv.log.size()
    srv.start(wait_daemons=False)
    # First run, then a restart after the 1 s backoff of a process that was never ready.
    wait_for(lambda: len(set(lines(state / "runs.log"))) >= 2, timeout=30,
             what="the returning script run twice")
    rec = srv.log.wait_for(r"WG0036: daemon process 0 of group service .* restarting it in",
                           offset)
    assert "exited with status 0" in rec.text, rec.text


def test_195_03_service_groups_fail_configtest_when_misused(make_server):
    # Nothing to run.
    assert_configtest_fails(make_server, "WSGIDaemonProcess service threads=0\n",
                            ["threads=0", "WSGIImportScript", "threads=1 or more"])
    # Requests sent to it, by WSGIProcessGroup or process-group=.
    script = "WSGIImportScript ${APPS}/environ/app.wsgi process-group=service " \
             "application-group=%{GLOBAL}\n"
    assert_configtest_fails(
        make_server,
        "WSGIDaemonProcess service threads=0\n" + script +
        "WSGIScriptAlias /env ${APPS}/environ/app.wsgi\nWSGIProcessGroup service\n",
        ["WSGIProcessGroup 'service'", "threads=0", "takes none"])
    assert_configtest_fails(
        make_server,
        "WSGIDaemonProcess service threads=0\n" + script +
        "WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=service\n",
        ["WSGIScriptAlias process-group= 'service'", "threads=0", "threads=1 or more"])


# A service script whose cleanup takes a while: it notes that cleanup began, sleeps, then records
# that it finished.
SLOW_CLEANUP = r'''
import os, time
STATE = {state!r}
pid = os.getpid()
with open(os.path.join(STATE, "started.log"), "a") as f:
    f.write("%d\n" % pid)
try:
    while True:
        time.sleep(0.1)
finally:
    with open(os.path.join(STATE, "cleanup.log"), "a") as f:
        f.write("%d\n" % pid)
    time.sleep(2)  # the window for the second signal; generous for a loaded machine
    with open(os.path.join(STATE, "stopped.log"), "a") as f:
        f.write("%d\n" % pid)
'''


@pytest.mark.allow_log("WG0036")
def test_195_04_a_second_stop_signal_does_not_cut_the_cleanup_short(make_server):
    # Under mpm_prefork httpd signals its whole process group at stop while the manager signals
    # the daemon too: a SIGTERM during the script's cleanup must not raise SystemExit again.
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess service threads=0
WSGIImportScript ${STATE}/service/slow.py process-group=service application-group=%{GLOBAL}
"""), start=False)
    state = srv.state
    write_script(state / "service" / "slow.py", SLOW_CLEANUP.format(state=str(state)))
    srv.start()

    pid = service_pid(state)
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: str(pid) in lines(state / "cleanup.log"), what="the cleanup starting")
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: str(pid) in lines(state / "stopped.log"), what="the cleanup finishing")
    # The process then exits and the parent starts the script again.
    service_pid(state, exclude={pid})
