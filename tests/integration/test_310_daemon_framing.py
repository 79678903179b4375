# SPDX-License-Identifier: Apache-2.0
"""3xx: the module does not trust a daemon's framing. Tenant app code can write raw frames to
its own daemon connection; whatever it forges (more body bytes than its Content-Length, fewer,
Body before Start, a second Start, a response smuggled after End), the client sees a 502 or an aborted
connection, never the smuggled bytes or a desynchronised keep-alive connection, and the next
request works."""

import re
import socket
import time
from pathlib import Path

import pytest

from harness import http
from harness.log_ids import CLIENT_GONE_IDS, FORGED_FRAMING_IDS
from harness.httpd import ServerConf

CASES = ("overrun", "overrun-late", "short", "body-first", "second-start", "second-start-late",
         "after-end")
# Forged File frames and descriptors (docs/protocol.md "File frames"): a FIFO, a socket, a
# device, a directory, a write-only descriptor, a range past the end of the file, a huge range,
# more than Content-Length, a File frame without a descriptor, a descriptor with a Body frame,
# two descriptors at once, a File frame where WSGIEnableSendfile is Off. Each is a 502 with
# nothing of the forgery, and no descriptor stays open in httpd.
FILE_CASES = ("file-fifo", "file-socket", "file-device", "file-directory", "file-write-only",
              "file-past-end", "file-huge", "file-beyond-cl", "file-no-fd", "file-with-body",
              "file-two-fds", "file-sendfile-off")


def protocol_version() -> int:
    """kProtocolVersion from src/protocol/limits.h: the byte the forged frame headers carry."""
    limits = Path(__file__).resolve().parents[2] / "src" / "protocol" / "limits.h"
    m = re.search(r"kProtocolVersion\s*=\s*(\d+)\s*;", limits.read_text())
    assert m, f"no kProtocolVersion in {limits}"
    return int(m.group(1))


def group(case: str) -> str:
    return "forge_" + case.replace("-", "_")


# One group per case, each of one single-threaded process that serves the forged request as its
# very first: the app then finds exactly one connection socket of its own.
FRAMING_CONF = ServerConf("\n".join(
    f"WSGIDaemonProcess {group(c)} processes=1 threads=1\n"
    f"WSGIScriptAlias /{group(c)} ${{APPS}}/forgeframes/app.wsgi process-group={group(c)}"
    for c in CASES + FILE_CASES) + """
<Location /forge_file_sendfile_off>
    WSGIEnableSendfile Off
</Location>
WSGIDaemonProcess forge_honest processes=1 threads=2
WSGIScriptAlias /forge_honest ${APPS}/forgeframes/app.wsgi process-group=forge_honest
""")


def read_one_response(sock: socket.socket, timeout: float = 10.0) -> http.RawResponse:
    """Reads one response off a keep-alive connection: until its framing says it is complete,
    or the server closed or reset the connection."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        res = http.parse_response(data, closed=False)
        if res.complete:
            return res
        left = deadline - time.monotonic()
        if left <= 0:
            return res
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return res
        except ConnectionResetError:
            return http.parse_response(data, closed=True, reset=True)
        if not chunk:
            return http.parse_response(data, closed=True)
        data += chunk


def keepalive_get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode("latin-1")


class TestDaemonFraming:
    server_conf = FRAMING_CONF

    @pytest.mark.parametrize("case", CASES)
    def test_310_01_forged_frames_never_reach_the_client(self, server, case, allow_log):
        allow_log(*FORGED_FRAMING_IDS, *CLIENT_GONE_IDS)
        path = f"/{group(case)}"
        with http.raw_connect(server.port) as sock:
            sock.sendall(keepalive_get(f"{path}?case={case}&v={protocol_version()}"))
            first = read_one_response(sock)
            assert b"SMUGGLED" not in first.raw, first
            if case in ("overrun", "body-first", "second-start"):
                # Nothing had reached the client yet: a clean 502 instead of the forgery.
                assert first.status == 502 and first.complete, first
            elif case in ("overrun-late", "short", "second-start-late"):
                # Headers and "hel" were out: the only honest end is an aborted connection.
                assert first.status == 200 and first.content_length == 5, first
                assert first.aborted and first.body == b"hel", first
            else:  # after-end: the response before End is whole; the rest is never read
                assert (first.status, first.body) == (200, b"hello") and first.complete, first
            if not first.closed:
                # The keep-alive connection is still in step: the next answer is the real one.
                sock.sendall(keepalive_get(f"{path}?case=none"))
                second = read_one_response(sock)
                assert (second.status, second.body) == (200, b"fine"), second
                assert b"SMUGGLED" not in second.raw, second
        # A fresh connection (and a fresh daemon connection) works.
        r = http.get(server.port, f"{path}?case=none")
        assert (r.status, r.body) == (200, b"fine"), r
        if case in ("overrun", "overrun-late", "short"):
            server.log.wait_for(r"WG0125: daemon group '%s' \(pid \d+\) sent \d+ response body "
                                r"bytes" % group(case), server.checked_offset)
        elif case in ("body-first", "second-start", "second-start-late"):
            server.log.wait_for(r"WG0117: malformed response from daemon group '%s'" % group(case),
                                server.checked_offset)

    @pytest.mark.parametrize("case", FILE_CASES)
    def test_310_03_forged_file_frames_and_descriptors_are_a_502(self, server, case,
                                                                 allow_log):
        allow_log(*FORGED_FRAMING_IDS, *CLIENT_GONE_IDS)
        path = f"/{group(case)}"
        r = http.raw_get(server.port, f"{path}?case={case}&v={protocol_version()}")
        assert r.status == 502 and r.complete, r
        assert b"SMUGGLED" not in r.raw, r
        server.log.wait_for(r"WG01(17|25): .*daemon group '%s'" % group(case),
                            server.checked_offset)
        # A fresh daemon connection works.
        r = http.get(server.port, f"{path}?case=none")
        assert (r.status, r.body) == (200, b"fine"), r

    @pytest.mark.parametrize("method,status", [("HEAD", "200 OK"), ("GET", "204 No Content"),
                                               ("GET", "304 Not Modified"),
                                               ("HEAD", "204 No Content")])
    def test_310_02_honest_responses_without_a_body_are_not_forgeries(self, server, method,
                                                                      status):
        # The app yields a body where none may follow; the daemon drops it (204/304) or httpd
        # strips it (HEAD), and the module's length check does not mistake either for a forgery
        # (the after-test check fails on any WG0125).
        path = "/forge_honest?case=none&status=" + status.replace(" ", "%20")
        with http.raw_connect(server.port) as sock:
            for _ in range(2):  # twice on one connection: still in step
                sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                data, deadline = b"", time.monotonic() + 10
                while b"\r\n\r\n" not in data and time.monotonic() < deadline:
                    data += sock.recv(65536)
                r = http.parse_response(data, closed=False, head_request=(method == "HEAD"))
                assert r.status == int(status[:3]) and r.complete, r
                assert data.endswith(b"\r\n\r\n"), f"a body came with {method} {status}: {r!r}"
