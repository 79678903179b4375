# SPDX-License-Identifier: Apache-2.0
"""42x: recycling, seamless. maximum-requests, inactivity-timeout, maximum-memory,
restart-interval, cpu-time-limit and an eviction (SIGUSR1) each replace a daemon process with a
new one that is ready before the old one stops taking requests: a bounded client load (GETs and
64 KiB POSTs) running through several recycles counts zero failed requests. The old process
finishes what it has and runs the app's atexit handlers; one that overruns graceful-timeout is
cut off and its request's 502 names the recycle. memory-limit= and virtual-memory-limit= make
allocations fail, as under mod_wsgi. eviction-timeout bounds an evicted process's drain as
graceful-timeout bounds a recycled one's; shutdown-timeout bounds a recycled process's atexit
handlers, and the drain at a graceful restart of httpd."""

import os
import re
import signal
import time

import pytest

from harness import http
from harness.httpd import ServerConf
from harness.load import Load
from harness.log_ids import APP_ERROR_IDS, DAEMON_LOST_IDS
from harness.util import rendezvous_dir, wait_for_file

from test_400_daemon_lifecycle import Background, group_daemons

# Bound on waiting for the recycles a test needs: each takes a second or two (the replacement
# starts, says it is ready, the parent hands over); a loaded CI machine is slower.
RECYCLE_WAIT = 90.0
# A recycled daemon cut off at its graceful-timeout: the daemon's own line, and the module's 502.
CUT_OFF_IDS = ("WG0230", *DAEMON_LOST_IDS)


def check_load(load):
    """No request of the load failed, POSTs included."""
    assert not load.failures(), load.summary()


def recycles(server, offset, reason):
    """The parent's hand-over records (WG0061) since `offset` that name `reason`."""
    text = server.log.read_from(offset)
    return re.findall(rf"WG0061: daemon process \d+ of group \S+ recycled \({re.escape(reason)}\)",
                      text)


def wait_recycles(server, offset, reason, n, load=None, timeout=RECYCLE_WAIT):
    deadline = time.monotonic() + timeout
    while len(recycles(server, offset, reason)) < n:
        if load is not None and load.failures():
            break  # no point waiting: the test fails on the failures
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {n} recycles ({reason}) within {timeout}s\n"
                                 + server.log.tail(60))
        time.sleep(0.1)


def run_load_through(server, path, reason, n, **load_args):
    offset = server.log.size()
    with Load(server.port, path, **load_args) as load:
        wait_recycles(server, offset, reason, n, load)
    check_load(load)
    assert load.posts() > 0, load.summary()
    assert len(recycles(server, offset, reason)) >= n
    assert len(load.pids()) > 1, "the load never reached a replacement"
    server.wait_daemons(server.expected_daemons)
    return load


def slow_request_in_daemon(srv):
    """A request that sleeps for two minutes, started in the background and waited for until it
    runs in the daemon. Longer than socket-timeout (httpd's Timeout, 20 s here): only a drain
    bound that cuts it off makes it a 502."""
    arrived = rendezvous_dir(srv) / "arrived"
    slow = Background(http.get, srv.port, f"/r?sleep=120&arrived={arrived}")
    wait_for_file(arrived)
    return slow


def test_420_01_maximum_requests_recycles_with_no_failed_request(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess mr processes=2 threads=4 maximum-requests=25 display-name=wsgid-mr
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=mr
"""))
    run_load_through(srv, "/r", "maximum-requests", 3, threads=4)
    asked = srv.log.wait_for(r"WG0290: maximum-requests=25 reached", 0)
    assert "asking the parent for a replacement" in asked.text


def test_420_02_inactivity_timeout_recycles_an_idle_process(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess idle threads=2 inactivity-timeout=2 display-name=wsgid-idle
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=idle
"""))
    offset = srv.log.size()
    loads = []
    # Bursts of load with idle gaps: the daemon is recycled in the gaps, and the next burst
    # meets the hand-over.
    for burst in range(3):
        with Load(srv.port, "/r", threads=2) as load:
            time.sleep(1.0)
        loads.append(load)
        wait_recycles(srv, offset, "inactivity-timeout", burst + 1)
    for load in loads:
        check_load(load)
    assert sum(load.posts() for load in loads) > 0
    assert len({pid for load in loads for pid in load.pids()}) >= 3


def test_420_03_maximum_memory_recycles_before_allocations_fail(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess mem threads=3 maximum-memory=96M display-name=wsgid-mem
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=mem
"""))
    offset = srv.log.size()
    with Load(srv.port, "/r", threads=2) as load:
        grown = 0
        deadline = time.monotonic() + RECYCLE_WAIT
        while len(recycles(srv, offset, "maximum-memory")) < 2 and time.monotonic() < deadline:
            r = http.get(srv.port, "/r?grow=8")
            assert r.status == 200, r
            grown += 1
            time.sleep(0.2)
    check_load(load)
    assert load.posts() > 0
    assert len(recycles(srv, offset, "maximum-memory")) >= 2, srv.log.tail(40)
    asked = srv.log.wait_for(r"WG0290: resident set size \d+ MiB is above maximum-memory=96 MiB",
                             offset)
    assert "asking the parent for a replacement" in asked.text


def test_420_04_restart_interval_recycles_under_load(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess ri processes=2 threads=2 restart-interval=2 display-name=wsgid-ri
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=ri
"""))
    run_load_through(srv, "/r", "restart-interval", 3, threads=3)


def test_420_05_sigusr1_evicts_gracefully(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess ev threads=2 display-name=wsgid-ev
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=ev
"""))
    offset = srv.log.size()
    (old,) = group_daemons(srv, "wsgid-ev")
    with Load(srv.port, "/r", threads=3) as load:
        time.sleep(0.5)
        os.kill(old.pid, signal.SIGUSR1)
        wait_recycles(srv, offset, "eviction (SIGUSR1)", 1, load)
        time.sleep(0.5)
    check_load(load)
    srv.wait_daemons(1, exclude={old.pid})


def test_420_06_recycled_process_runs_atexit_handlers(make_server, tmp_path):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess ax threads=2 maximum-requests=3 display-name=wsgid-ax
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=ax
"""))
    marker = srv.state / "atexit-ran"
    first = http.get(srv.port, f"/r?atexit={marker}").json()["pid"]
    offset = 0
    for _ in range(3):
        assert http.get(srv.port, "/r").status == 200
    wait_recycles(srv, offset, "maximum-requests", 1)
    assert wait_for_file(marker) == str(first)
    srv.wait_daemons(1, exclude={first})


def test_420_07_graceful_timeout_cuts_off_a_request_and_says_why(make_server, allow_log):
    allow_log(*CUT_OFF_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess gt threads=2 maximum-requests=2 graceful-timeout=1 shutdown-timeout=1 \
    display-name=wsgid-gt
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=gt
"""))
    (old,) = group_daemons(srv, "wsgid-gt")
    assert http.get(srv.port, "/r").status == 200
    assert http.get(srv.port, "/r").status == 200
    slow = Background(http.get, srv.port, "/r?sleep=20")
    r = slow.result(timeout=60)
    assert r.status == 502, r
    assert b"after being recycled (maximum-requests)" in r.body, r.body
    rec = srv.log.wait_for(rf"WG0115: daemon group 'gt' \(pid {old.pid}\) ", 0)
    assert "after being recycled (maximum-requests)" in rec.text, rec.text
    srv.wait_daemons(1, exclude={old.pid})


def test_420_08_cpu_time_limit_recycles(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess cpu threads=2 cpu-time-limit=1 display-name=wsgid-cpu
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=cpu
"""))
    (old,) = group_daemons(srv, "wsgid-cpu")
    offset = srv.log.size()
    assert http.get(srv.port, "/r?burn=1.5").status == 200
    wait_recycles(srv, offset, "cpu-time-limit", 1)
    srv.log.wait_for(r"WG0290: cpu-time-limit reached \(SIGXCPU\)", offset)
    srv.wait_daemons(1, exclude={old.pid})
    assert http.get(srv.port, "/r").status == 200


@pytest.mark.unsanitized("AddressSanitizer reserves terabytes of address space for its shadow "
                          "memory: under RLIMIT_DATA/RLIMIT_AS the daemon cannot even start")
@pytest.mark.parametrize("option", ["memory-limit=256M", "virtual-memory-limit=1G"])
def test_420_09_memory_limits_make_allocations_fail(make_server, allow_log, option):
    allow_log(*APP_ERROR_IDS)
    srv = make_server(ServerConf(rf"""
WSGIDaemonProcess lim threads=2 {option} display-name=wsgid-lim
WSGIScriptAlias /r ${{APPS}}/recycle/app.wsgi process-group=lim
"""))
    assert http.get(srv.port, "/r?alloc=16").status == 200
    r = http.get(srv.port, "/r?alloc=2048")
    assert r.status == 500, r
    srv.log.wait_for(r"MemoryError", 0)
    assert http.get(srv.port, "/r").status == 200


def test_420_10_eviction_timeout_bounds_an_evicted_process(make_server, allow_log):
    allow_log(*CUT_OFF_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess et threads=2 graceful-timeout=600 eviction-timeout=1 shutdown-timeout=1 \
    display-name=wsgid-et
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=et
"""))
    (old,) = group_daemons(srv, "wsgid-et")
    # graceful-timeout would let it run for minutes: only eviction-timeout cuts it off.
    slow = slow_request_in_daemon(srv)
    os.kill(old.pid, signal.SIGUSR1)
    r = slow.result(timeout=60)
    assert r.status == 502, r
    assert b"after being recycled (eviction (SIGUSR1))" in r.body, r.body
    srv.log.wait_for(r"WG0230", 0)
    srv.wait_daemons(1, exclude={old.pid})
    assert http.get(srv.port, "/r").status == 200


def test_420_11_shutdown_timeout_bounds_atexit_handlers_of_a_recycled_process(make_server,
                                                                             allow_log):
    allow_log("WG0304")
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess sd threads=2 maximum-requests=2 shutdown-timeout=1 display-name=wsgid-sd
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=sd
"""))
    (old,) = group_daemons(srv, "wsgid-sd")
    offset = srv.log.size()
    assert http.get(srv.port, "/r?atexit_hang=600").status == 200
    assert http.get(srv.port, "/r").status == 200
    wait_recycles(srv, offset, "maximum-requests", 1)
    # The bound is what is left of shutdown-timeout when finalization starts: about a second,
    # written as durations are ("1s", "950ms", "1.2s").
    srv.log.wait_for(r"WG0304: Python finalization did not finish within (\d+ms|\d+(\.\d+)?s);",
                     offset)
    srv.log.wait_for(rf"WG0040: daemon pid {old.pid} of group sd .*exited with status 0 after "
                     r"being recycled \(maximum-requests\)", offset)
    srv.wait_daemons(1, exclude={old.pid})
    # The daemon ended itself at its bound; the parent did not have to kill it.
    assert "WG0041" not in srv.log.read_from(offset)


def test_420_12_shutdown_timeout_bounds_the_drain_at_a_graceful_restart(make_server, allow_log):
    allow_log(*CUT_OFF_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess gr threads=2 shutdown-timeout=1 display-name=wsgid-gr
WSGIScriptAlias /r ${APPS}/recycle/app.wsgi process-group=gr
"""))
    (old,) = group_daemons(srv, "wsgid-gr")
    slow = slow_request_in_daemon(srv)
    srv.graceful()
    r = slow.result(timeout=60)
    assert r.status == 502, r
    assert b"The daemon process serving this request exited" in r.body, r.body
    srv.log.wait_for(r"WG0230: shutdown timeout passed with 1 request\(s\) still queued or running",
                     0)
    srv.wait_daemons(1, exclude={old.pid})
    assert http.get(srv.port, "/r").status == 200
