# SPDX-License-Identifier: Apache-2.0
"""5xx: no cross-request bleed. An app thread still inside write() or wsgi.input when its request
ends gets an OSError naming the reason; the next requests served by the same single worker, over
the same pooled daemon connection, get exactly their own response."""

import socket
import threading
import uuid

from harness import http
from harness.httpd import ServerConf
from harness.log_ids import FENCE_INTERRUPT_IDS
from harness.util import wait_for_file

BLEED_CONF = ServerConf(r"""
WSGIDaemonProcess bleed processes=1 threads=1
WSGIScriptAlias /bleed ${APPS}/bleed/app.wsgi process-group=bleed
""")

MIB = 1 << 20
# How long the test may take to see both threads' records: the fence's grace (2 s) plus its
# interrupt wait (1 s), with room for a slow sanitizer build.
RECORD_TIMEOUT = 30.0
ENDED_WRITE = "OSError: write() called after its request ended"
INTERRUPTED_WRITE = ("OSError: the request ended while write() was sending; its connection was "
                     "closed")
ENDED_READ = "OSError: wsgi.input used after its request ended"
INTERRUPTED_READ = ("OSError: the request ended while wsgi.input was being read; its connection "
                    "was closed")


def echo_body(n: int, data: bytes) -> bytes:
    return b"echo-%d;" % n * 1000 + b"|" + data + b"|"


def send_ignoring_reset(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server cut the connection off: what the test expects


def assert_clean_followups(port: int, count: int = 6) -> None:
    """Requests over one keep-alive connection (the same httpd worker and pooled daemon
    connection); each response must be exactly its own."""
    conn = http.connection(port)
    try:
        for n in range(count):
            data = b"" if n % 2 == 0 else (b"body-%d;" % n) * 20000
            method = "GET" if not data else "POST"
            r = http.send(conn, method, f"/bleed?mode=echo&n={n}", body=data or None)
            assert r.status == 200, r
            assert r.body == echo_body(n, data), f"request {n}: foreign bytes in {r!r}"
    finally:
        conn.close()


class TestNoBleed:
    server_conf = BLEED_CONF

    def test_510_01_threads_outliving_their_request_fail_cleanly(self, server):
        prefix = str(server.state / f"leak-{uuid.uuid4().hex}")
        conn = http.connection(server.port)
        try:
            r = http.send(conn, "POST", f"/bleed?mode=leak&wait=entered&out={prefix}", body=b"b" * MIB)
            assert r.status == 200, r
            # The head block, then at most the blocks that were in flight when the app returned.
            assert r.body.startswith(b"leak-head;"), r
            tail = r.body[len(b"leak-head;"):]
            assert len(tail) % MIB == 0 and tail.count(b"X") == len(tail), r
            # Keep-alive on the same client connection: same httpd worker, same pool.
            for n in range(3):
                r = http.send(conn, "GET", f"/bleed?mode=echo&n={n}")
                assert r.status == 200, r
                assert r.body == echo_body(n, b""), f"foreign bytes in {r!r}"
        finally:
            conn.close()
        assert wait_for_file(prefix + ".writer", RECORD_TIMEOUT) == ENDED_WRITE
        assert wait_for_file(prefix + ".reader", RECORD_TIMEOUT) == ENDED_READ
        assert_clean_followups(server.port)

    def test_510_02_thread_stuck_past_the_grace_is_cut_off(self, server, allow_log):
        # The client does not read: the writer thread blocks in write() after the app returned,
        # the fence's grace passes, the daemon shuts that connection down under the thread.
        allow_log(*FENCE_INTERRUPT_IDS)
        prefix = str(server.state / f"stuck-{uuid.uuid4().hex}")
        request = (b"POST /bleed?mode=leak&wait=stuck&out=" + prefix.encode() +
                   b" HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MIB + b"b" * MIB)
        sock = http.raw_connect(server.port, timeout=RECORD_TIMEOUT)
        # Sent from a thread: httpd may stop reading the body while it cannot write the response.
        sender = threading.Thread(target=send_ignoring_reset, args=(sock, request))
        sender.start()
        try:
            assert wait_for_file(prefix + ".writer", RECORD_TIMEOUT) == INTERRUPTED_WRITE
            assert wait_for_file(prefix + ".reader", RECORD_TIMEOUT) in (ENDED_READ,
                                                                         INTERRUPTED_READ)
            raw, closed, reset = http.read_until_close(sock, timeout=RECORD_TIMEOUT)
        finally:
            sender.join(RECORD_TIMEOUT)
            sock.close()
        r = http.parse_response(raw, closed, reset=reset)
        assert r.status == 200, r
        assert r.aborted, f"a response cut off under a thread must not look complete: {r!r}"
        assert_clean_followups(server.port)
