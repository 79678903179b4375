# SPDX-License-Identifier: Apache-2.0
"""43x: a daemon's own timeouts. request-timeout: the stuck request gets 504 from the module and
the error log gets the Python stack of its thread with the request id, while a parallel request in
the same process completes; a thread that never lets go gets its process recycled once the others
finish. deadlock-timeout: a GIL held too long logs every thread's stack and recycles the process.
startup-timeout: a script whose import hangs gets its process recycled (or, for a preload, the
process exits as a start-up failure)."""

import re
import time

from harness import http
from harness.httpd import ServerConf

from test_400_daemon_lifecycle import Background, group_daemons
from test_420_recycling import wait_recycles

# The daemon's lines: the cut-off request and its stack, the stuck thread, the stuck GIL, the hung
# script load; and the module's 504 (a daemon Error before the response) or 502 for a request cut
# off by the recycle that followed.
REQUEST_TIMEOUT_IDS = ("WG0292", "WG0113")
STUCK_IDS = ("WG0293", "WG0230", "WG0115")
DEADLOCK_IDS = ("WG0294", "WG0230", "WG0115")
STARTUP_IDS = ("WG0295", "WG0230", "WG0115", "WG0036", "WG0035")

TIMEOUT_CONF = ServerConf(r"""
WSGIDaemonProcess slow threads=3 request-timeout=2 graceful-timeout=2 display-name=wsgid-slow
WSGIScriptAlias /t ${APPS}/timeouts/app.wsgi process-group=slow
""")


def test_430_01_request_timeout_is_a_504_with_a_stack_while_others_go_on(make_server, allow_log):
    allow_log(*REQUEST_TIMEOUT_IDS)
    srv = make_server(TIMEOUT_CONF)
    (daemon,) = group_daemons(srv, "wsgid-slow")
    offset = srv.log.size()
    stuck = Background(http.get, srv.port, "/t?sleep=4")
    time.sleep(0.3)
    parallel = Background(http.get, srv.port, "/t?sleep=1")
    r = parallel.result()
    assert r.status == 200 and r.json()["pid"] == daemon.pid, r
    r = stuck.result()
    assert r.status == 504, r
    head = srv.log.wait_for(r"WG0292: request \S+ has run longer than request-timeout=2s", offset)
    assert "Python stack of its thread" in head.text, head.text
    rid = re.search(r"WG0292: request (\S+) has run", head.text).group(1)
    frames = srv.log.wait_for(rf"WG0292: request {re.escape(rid)}:  File \".*app\.wsgi\", "
                              rf"line \d+ in wait_here", offset)
    assert frames
    srv.log.wait_for(r"WG0113: daemon group 'slow' .*request-timeout \(2s\) passed", offset)
    # The process carries on: the thread let go (its sleep ended) well within the grace.
    assert http.get(srv.port, "/t").json()["pid"] == daemon.pid


def test_430_02_thread_that_never_lets_go_recycles_its_process(make_server, allow_log):
    allow_log(*REQUEST_TIMEOUT_IDS, *STUCK_IDS)
    srv = make_server(TIMEOUT_CONF)
    (daemon,) = group_daemons(srv, "wsgid-slow")
    offset = srv.log.size()
    r = http.get(srv.port, "/t?forever")
    assert r.status == 504, r
    srv.log.wait_for(r"WG0292: request \S+:  File \".*app\.wsgi\", line \d+ in spin", offset)
    srv.log.wait_for(r"WG0293: the thread of request \S+ is still in the application", offset,
                     timeout=30)
    wait_recycles(srv, offset, "request-timeout", 1)
    srv.wait_daemons(1, exclude={daemon.pid})
    assert http.get(srv.port, "/t").status == 200


def test_430_03_deadlock_timeout_dumps_every_stack_and_recycles(make_server, allow_log):
    allow_log(*DEADLOCK_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess dl threads=2 deadlock-timeout=2 display-name=wsgid-dl
WSGIScriptAlias /t ${APPS}/timeouts/app.wsgi process-group=dl
"""))
    (daemon,) = group_daemons(srv, "wsgid-dl")
    offset = srv.log.size()
    held = Background(http.get, srv.port, "/t?hold_gil=30")
    srv.log.wait_for(r"WG0294: no thread could take the GIL for deadlock-timeout=2s", offset,
                     timeout=30)
    wait_recycles(srv, offset, "deadlock-timeout", 1)
    r = held.result()
    assert r.status == 502, r
    assert b"after being recycled (deadlock-timeout)" in r.body, r.body
    text = srv.log.read_from(offset)
    assert "most recent call first" in text  # faulthandler's dump of the stacks
    srv.wait_daemons(1, exclude={daemon.pid})
    assert http.get(srv.port, "/t").status == 200


def test_430_04_startup_timeout_recycles_a_process_whose_script_hangs(make_server, allow_log):
    allow_log(*STARTUP_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess st threads=2 startup-timeout=2 graceful-timeout=1 display-name=wsgid-st
WSGIScriptAlias /slow ${APPS}/timeouts/slow_import.wsgi process-group=st
WSGIScriptAlias /t ${APPS}/timeouts/app.wsgi process-group=st
"""))
    (daemon,) = group_daemons(srv, "wsgid-st")
    offset = srv.log.size()
    loading = Background(http.get, srv.port, "/slow")
    srv.log.wait_for(r"WG0295: loading a WSGI script has taken more than startup-timeout=2s",
                     offset, timeout=30)
    wait_recycles(srv, offset, "startup-timeout", 1)
    r = loading.result()
    assert r.status == 502, r
    assert b"after being recycled (startup-timeout)" in r.body, r.body
    srv.wait_daemons(1, exclude={daemon.pid})
    assert http.get(srv.port, "/t").status == 200


def test_430_05_startup_timeout_bounds_a_preload(make_server, allow_log):
    allow_log(*STARTUP_IDS)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess pre threads=1 startup-timeout=1
WSGIImportScript ${APPS}/timeouts/slow_import.wsgi process-group=pre application-group=%{GLOBAL}
WSGIScriptAlias /t ${APPS}/timeouts/app.wsgi process-group=pre
""", daemons=0), start=False)
    srv.start(wait_daemons=False)
    srv.log.wait_for(r"WG0295: preloading the WSGI scripts has taken more than "
                     r"startup-timeout=1s", 0, timeout=30)
    rec = srv.log.wait_for(r"WG0035: daemon process 0 of group pre .* could not start", 0,
                           timeout=30)
    assert "next attempt in" in rec.text, rec.text
    srv.stop()


INTERRUPT_CONF = ServerConf(r"""
WSGIDaemonProcess intr threads=2 request-timeout=2 interrupt-timeout=3 graceful-timeout=1 \
    display-name=wsgid-intr
WSGIScriptAlias /t ${APPS}/timeouts/app.wsgi process-group=intr
""")
# The cut-off request, RequestTimeout raised, the app's traceback of it, and the module's 504.
INTERRUPT_IDS = ("WG0292", "WG0113", "WG0340", "WG0330")


def test_430_06_interrupt_timeout_raises_request_timeout_and_the_process_goes_on(
        make_server, allow_log):
    allow_log(*INTERRUPT_IDS)
    srv = make_server(INTERRUPT_CONF)
    (daemon,) = group_daemons(srv, "wsgid-intr")
    offset = srv.log.size()
    # Python code runs between the naps, so RequestTimeout lands long before the 60 s are up.
    r = http.get(srv.port, "/t?naps=60", timeout=60)
    assert r.status == 504, r
    srv.log.wait_for(r"WG0340: request \S+: mod_wsgi.RequestTimeout raised in its thread; it has "
                     r"interrupt-timeout=3s", offset)
    srv.log.wait_for(r"WG0341: request \S+: its thread left the application after "
                     r"mod_wsgi.RequestTimeout; the process goes on serving", offset, timeout=30)
    srv.log.wait_for(r"WG0330: .*RequestTimeout", offset)
    # The same process serves the next request, and the app saw the exception.
    r = http.get(srv.port, "/t")
    assert r.status == 200 and r.json() == {"pid": daemon.pid, "interrupted": 1}, r
    assert "WG0293" not in srv.log.read_from(offset)
    assert [d.pid for d in group_daemons(srv, "wsgid-intr")] == [daemon.pid]


def test_430_07_interrupt_timeout_recycles_a_thread_blocked_in_c(make_server, allow_log):
    allow_log(*INTERRUPT_IDS, *STUCK_IDS)
    srv = make_server(INTERRUPT_CONF)
    (daemon,) = group_daemons(srv, "wsgid-intr")
    offset = srv.log.size()
    # sleep(3) in libc never returns to bytecode before the grace is up: no exception is seen.
    r = http.get(srv.port, "/t?csleep=120", timeout=60)
    assert r.status == 504, r
    srv.log.wait_for(r"WG0340: request \S+: mod_wsgi.RequestTimeout raised", offset)
    srv.log.wait_for(r"WG0293: the thread of request \S+ is still in the application 3s after "
                     r"its request-timeout \(interrupt-timeout: mod_wsgi.RequestTimeout did not "
                     r"get it out\)", offset, timeout=30)
    wait_recycles(srv, offset, "request-timeout", 1)
    srv.wait_daemons(1, exclude={daemon.pid})
    assert http.get(srv.port, "/t").status == 200
