# SPDX-License-Identifier: Apache-2.0
"""3xx: responses: iterables, write(), close() always called, wsgi.file_wrapper, 1 MiB bodies,
header validation, exceptions before and after the headers, short Content-Length, repeated
headers, start_response rules, wsgi.errors."""

import socket
import struct
import uuid

import pytest

from harness import http
from harness.client import CURL_INCOMPLETE, HTTP2_PROTOCOLS, ClientError
from harness.log_ids import (APP_ERROR_IDS, APP_LOG_IDS, CLIENT_GONE_IDS, INVALID_RESPONSE_IDS,
                               SHORT_RESPONSE_IDS)
from harness.httpd import ServerConf
from harness.util import pattern, sha256, wait_for_file, write_shared_file

RESPONSE_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess resp processes=1 threads=4
WSGIProcessGroup resp
WSGIScriptAlias /stream ${APPS}/stream/app.wsgi
WSGIScriptAlias /write ${APPS}/write/app.wsgi
WSGIScriptAlias /close ${APPS}/close/app.wsgi
WSGIScriptAlias /raise ${APPS}/raise/app.wsgi
WSGIScriptAlias /badheaders ${APPS}/badheaders/app.wsgi
WSGIScriptAlias /shortcl ${APPS}/shortcl/app.wsgi
WSGIScriptAlias /big ${APPS}/big/app.wsgi
WSGIScriptAlias /filewrapper ${APPS}/filewrapper/app.wsgi
WSGIScriptAlias /cookies ${APPS}/cookies/app.wsgi
WSGIScriptAlias /status ${APPS}/status/app.wsgi
WSGIScriptAlias /errors ${APPS}/errors/app.wsgi
WSGIScriptAlias /startresponse ${APPS}/startresponse/app.wsgi
WSGIScriptAlias /sse ${APPS}/sse/app.wsgi
""")

ONE_MIB = 1 << 20
# How often the abort tests repeat: whether the first block and the failure reach httpd in one
# read or two varies from run to run, and both paths must abort.
REPEAT = 10


def block(i: int, size: int) -> bytes:
    return (b"%08d" % i * (size // 8 + 1))[:size]


def expected_stream(n: int, size: int) -> bytes:
    return b"".join(block(i, size) for i in range(n))


class TestResponse:
    server_conf = RESPONSE_CONF

    # ---- bodies ---------------------------------------------------------------------------

    @pytest.mark.parametrize("kind", ["generator", "list", "tuple", "class", "empty-between",
                                      "single"])
    @pytest.mark.parametrize("cl", [0, 1])
    def test_300_01_iterables(self, client, kind, cl):
        r = client.get(f"/stream?kind={kind}&n=20&size=100&cl={cl}")
        assert r.status == 200, r
        assert r.body == expected_stream(20, 100)

    def test_300_02_empty_iterable(self, client):
        r = client.get("/stream?kind=list&n=0")
        assert (r.status, r.body) == (200, b""), r

    def test_300_03_many_small_yields(self, client):
        r = client.get("/stream?kind=generator&n=1000&size=16")
        assert r.status == 200
        assert r.body == expected_stream(1000, 16)

    @pytest.mark.parametrize("then,tail", [("empty", b""), ("iter", b"iter-0;iter-1;")])
    def test_300_04_write_callable(self, client, then, tail):
        r = client.get(f"/write?then={then}")
        assert r.status == 200, r
        assert r.body == b"".join(b"write-%d;" % i for i in range(5)) + tail

    @pytest.mark.parametrize("block_size,cl", [(0, 1), (0, 0), (4096, 1), (4096, 0),
                                               (100000, 0)])
    def test_300_05_one_mib_response(self, client, block_size, cl):
        r = client.get(f"/big?bytes={ONE_MIB}&block={block_size}&cl={cl}")
        assert r.status == 200
        assert len(r.body) == ONE_MIB
        assert sha256(r.body) == r.header("X-Sha256") == sha256(pattern(ONE_MIB))

    @pytest.mark.parametrize("cl", [1, 0])
    def test_300_05b_five_mib_single_block(self, client, cl):
        # One 5 MiB block: the daemon sends it as many of the largest Body frames, and httpd reads
        # each in pieces of at most 120 KiB (relay.h kDaemonReadSize): all of it arrives, in order.
        size = 5 * ONE_MIB
        r = client.get(f"/big?bytes={size}&block=0&cl={cl}")
        assert r.status == 200, r
        assert len(r.body) == size
        assert r.body == pattern(size)
        assert r.header("X-Sha256") == sha256(r.body)

    def test_300_06_head_request(self, server):
        conn = http.connection(server.port)
        try:
            r = http.send(conn, "HEAD", "/stream?kind=list&n=4&size=10&cl=1")
            assert r.status == 200 and r.body == b"", r
            assert r.header("Content-Length") == "40"
            r = http.send(conn, "GET", "/stream?kind=list&n=4&size=10&cl=1")
            assert r.body == expected_stream(4, 10)
        finally:
            conn.close()

    def test_300_06b_head_request_any_protocol(self, client):
        r = client.request("HEAD", "/stream?kind=list&n=4&size=10&cl=1")
        assert r.status == 200 and r.body == b"", r
        assert r.header("Content-Length") == "40"

    @pytest.mark.parametrize("status", ["201 Created", "404 Not Found", "204 No Content",
                                        "503 Service Unavailable"])
    def test_300_07_status_passes_through(self, client, status):
        r = client.get("/status?s=" + status.replace(" ", "%20"))
        assert r.status == int(status[:3]), r
        assert r.header("X-Status-App") == "1"
        if status.startswith("204"):
            assert r.body == b""
        else:
            assert r.body == b"status " + status.encode()

    def test_300_08_repeated_headers_kept(self, client):
        r = client.get("/cookies")
        assert r.status == 200
        assert r.header_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly", "c=3"]
        assert ", ".join(r.header_all("X-Repeat")) == "one, two"

    def test_300_09_yielded_block_is_delivered_while_the_app_waits(self, server):
        # Server-sent events: the first block must reach the client before the app yields the
        # next one (it waits for a flag only the client creates after reading the first block).
        seen = http.sse_exchange(server.port, "/sse", server.state / f"sse-{uuid.uuid4().hex}")
        assert b"HTTP/1.1 200" in seen
        assert b"data: event-2 flag=seen" in seen, seen

    def test_300_09b_every_yielded_block_is_delivered_while_the_app_waits(self, client):
        # Server-sent events past the first: the first block goes out with the response's first
        # send, the later ones through the daemon's response writer (and, over HTTP/2, through
        # mod_http2). Each must reach the client before the app yields the next one.
        events = 6
        flag = client.server.state / f"sse-{uuid.uuid4().hex}"
        with client.stream(f"/sse?flag={flag}&n={events}") as stream:
            for k in range(1, events):
                seen = stream.wait_for(b"data: event-%d" % k)
                assert b"event-%d" % (k + 1) not in seen, seen
                flag.with_name(f"{flag.name}.{k}").write_text("go")
            data = stream.read_to_end()
        for k in range(2, events + 1):
            assert b"data: event-%d flag=seen" % k in data, data

    # ---- close() -----------------------------------------------------------------------------

    def marker(self, server) -> str:
        return str(server.state / f"close-{uuid.uuid4().hex}")

    def test_300_10_close_called(self, client):
        marker = self.marker(client.server)
        r = client.get(f"/close?mode=normal&marker={marker}")
        assert r.body == b"block-0;block-1;block-2;"
        assert wait_for_file(marker) == "closed after 3 blocks"

    def test_300_11_close_called_after_exception_mid_body(self, server, allow_log):
        allow_log(*APP_ERROR_IDS)
        for _ in range(REPEAT):
            marker = self.marker(server)
            r = http.raw_get(server.port, f"/close?mode=raise&marker={marker}")
            assert r.status == 200 and r.aborted, r
            assert wait_for_file(marker) == "closed after 1 blocks"
        server.log.wait_for(r"close-test: raised after the first block", server.checked_offset)

    def test_300_12_close_called_on_client_abort(self, server, allow_log):
        allow_log(*CLIENT_GONE_IDS)
        marker = self.marker(server)
        with http.raw_connect(server.port) as sock:
            sock.sendall(f"GET /close?mode=slow&n=200&delay=0.05&marker={marker} HTTP/1.1\r\n"
                         "Host: 127.0.0.1\r\n\r\n".encode())
            head, rest = http.read_head(sock)
            assert head.startswith(b"HTTP/1.1 200"), head
            # Abort: RST instead of FIN, as a browser tab being closed does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The app would run 200 x 0.05 s = 10 s if nobody noticed the client left.
        text = wait_for_file(marker, timeout=40)
        assert text.startswith("closed after "), text

    # ---- wsgi.file_wrapper ------------------------------------------------------------------

    def data_file(self, server, size=ONE_MIB):
        path = server.state / f"data-{uuid.uuid4().hex}.bin"
        write_shared_file(path, pattern(size))
        return path

    def test_300_20_file_wrapper_whole_file(self, client):
        path = self.data_file(client.server)
        marker = self.marker(client.server)
        r = client.get(f"/filewrapper?path={path}&marker={marker}")
        assert r.status == 200
        assert len(r.body) == ONE_MIB and sha256(r.body) == sha256(pattern(ONE_MIB))
        # The wrapper's close() closes the file.
        assert wait_for_file(marker) == "closed"

    def test_300_21_file_wrapper_from_offset(self, client):
        path = self.data_file(client.server)
        r = client.get(f"/filewrapper?path={path}&offset=1000")
        assert r.status == 200
        assert r.body == pattern(ONE_MIB)[1000:]

    def test_300_22_file_wrapper_with_content_length(self, client):
        path = self.data_file(client.server)
        r = client.get(f"/filewrapper?path={path}&cl=5000")
        assert r.status == 200
        assert r.header("Content-Length") == "5000"
        assert r.body == pattern(ONE_MIB)[:5000]

    @pytest.mark.parametrize("blksize", [8192, 1000])
    def test_300_23_file_wrapper_without_fileno(self, client, blksize):
        path = self.data_file(client.server, 300000)
        r = client.get(f"/filewrapper?path={path}&kind=bytesio&blksize={blksize}")
        assert r.status == 200
        assert r.body == pattern(300000)

    def test_300_24_file_wrapper_empty_file(self, client):
        path = self.data_file(client.server, 0)
        r = client.get(f"/filewrapper?path={path}")
        assert (r.status, r.body) == (200, b""), r

    # ---- invalid responses -------------------------------------------------------------------

    @pytest.mark.parametrize("case", [
        "status-crlf", "status-lf", "status-bytes", "status-not-a-code", "status-interim",
        "value-crlf", "value-lf",
        "value-cr", "value-nul", "name-crlf", "name-colon", "name-space", "name-empty",
        "value-int", "name-bytes", "value-bytes", "value-non-latin1", "headers-not-list",
        "header-not-tuple",
    ])
    def test_300_30_invalid_status_or_header_is_500(self, server, case, allow_log):
        allow_log(*INVALID_RESPONSE_IDS)
        r = http.raw_get(server.port, f"/badheaders?case={case}")
        assert r.status == 500, r
        assert r.complete, r
        head = r.raw.split(b"\r\n\r\n", 1)[0]
        assert b"X-Injected" not in head and b"x-injected" not in head.lower(), r
        assert b"body of an invalid response" not in r.raw, r

    # ---- exceptions ---------------------------------------------------------------------------

    def test_300_40_exception_before_start_response_is_500(self, client, allow_log):
        allow_log(*APP_ERROR_IDS)
        offset = client.server.checked_offset
        r = client.get("/raise?when=before-start")
        assert r.status == 500, r
        client.server.log.wait_for(r"ValueError: raise-test: boom before start_response", offset)
        # The traceback follows the summary line through the log relay: wait for it too (the
        # summary can be read before the relay has written the rest).
        client.server.log.wait_for(r"WG0330: Traceback \(most recent call last\)", offset)

    def test_300_41_exception_after_start_response_before_body_is_500(self, client, allow_log):
        allow_log(*APP_ERROR_IDS)
        r = client.get("/raise?when=after-start")
        assert r.status == 500, r
        client.server.log.wait_for(r"ValueError: raise-test: boom after start_response",
                            client.server.checked_offset)

    def test_300_42_exception_after_body_aborts_chunked_response(self, server, allow_log):
        allow_log(*APP_ERROR_IDS)
        # Repeated: how the first block and the failure reach httpd (together or apart) varies.
        for _ in range(REPEAT):
            r = http.raw_get(server.port, "/raise?when=after-body")
            assert r.status == 200, r
            assert r.aborted, f"a truncated body must not look complete: {r!r}"
            assert r.chunked or r.reset, f"neither chunked nor reset: {r!r}"
        server.log.wait_for(r"raise-test: boom after the first block", server.checked_offset)

    def test_300_43_exception_after_body_aborts_content_length_response(self, server, allow_log):
        allow_log(*APP_ERROR_IDS)
        for _ in range(REPEAT):
            r = http.raw_get(server.port, "/raise?when=after-body-cl")
            assert r.status == 200 and r.content_length == 100000, r
            assert r.closed and len(r.body) < 100000, r
        server.log.wait_for(r"raise-test: boom after the first block", server.checked_offset)

    def test_300_46_exception_after_body_http10_resets_connection(self, server, allow_log):
        # An HTTP/1.0 body ends at the close, so only a reset can tell the client it is cut.
        allow_log(*APP_ERROR_IDS)
        for _ in range(REPEAT):
            r = http.raw_exchange(server.port,
                                  b"GET /raise?when=after-body HTTP/1.0\r\nHost: x\r\n\r\n")
            assert r.status == 200, r
            assert r.aborted, f"a truncated HTTP/1.0 body must end with a reset: {r!r}"

    def test_300_47_exception_after_body_keepalive_request(self, server, allow_log):
        allow_log(*APP_ERROR_IDS)
        for _ in range(REPEAT):
            r = http.raw_exchange(server.port,
                                  b"GET /raise?when=after-body HTTP/1.1\r\nHost: x\r\n\r\n",
                                  timeout=10)
            assert r.status == 200, r
            assert r.closed, f"the connection of a failed response must be closed: {r!r}"
            assert r.aborted, f"a truncated body must not look complete: {r!r}"

    @pytest.mark.protocols(*HTTP2_PROTOCOLS)  # HTTP/1.1: test_300_42/43/46/47
    @pytest.mark.parametrize("when", ["after-body", "after-body-cl"])
    def test_300_48_exception_after_body_resets_http2_stream(self, client, when, allow_log):
        # HTTP/2 has no connection to cut per response: the stream is reset (mod_http2 turns the
        # error bucket into RST_STREAM), so the client sees an error, never a complete response.
        allow_log(*APP_ERROR_IDS)
        for _ in range(REPEAT):
            with pytest.raises(ClientError) as failed:
                client.get(f"/raise?when={when}")
            assert failed.value.code in CURL_INCOMPLETE, failed.value
        client.server.log.wait_for(r"raise-test: boom after the first block",
                                   client.server.checked_offset)

    @pytest.mark.parametrize("how", ["list", "generator"])
    def test_300_44_fewer_bytes_than_content_length_aborts(self, server, how, allow_log):
        allow_log(*SHORT_RESPONSE_IDS)
        r = http.raw_get(server.port, f"/shortcl?cl=1000&send=10&how={how}")
        assert r.status == 200 and r.content_length == 1000, r
        assert r.aborted, r
        assert r.body == b"s" * len(r.body) and len(r.body) <= 10, r

    def test_300_45_server_healthy_after_aborts(self, client):
        # Pooled daemon connections survive the failures above.
        for _ in range(5):
            assert client.get("/stream?kind=list&n=2&size=8").status == 200

    # ---- start_response rules -------------------------------------------------------------------

    def test_300_50_start_response_twice_is_an_error(self, client, allow_log):
        allow_log(*APP_ERROR_IDS)
        r = client.get("/startresponse?case=twice")
        assert r.status == 500, r
        assert b"second call accepted" not in r.body

    def test_300_51_start_response_twice_raises_in_app(self, client):
        r = client.get("/startresponse?case=twice-caught")
        assert r.status == 200, r
        assert r.body.startswith(b"raised "), r

    def test_300_52_exc_info_replaces_headers_before_body(self, client):
        r = client.get("/startresponse?case=exc-info-before-body")
        assert r.status == 503, r
        assert r.header("X-Error-Page") == "1"
        assert r.header("X-First") is None
        assert r.body == b"error page"

    def test_300_53_exc_info_after_body_reraises(self, server, allow_log):
        allow_log(*APP_ERROR_IDS)
        for _ in range(REPEAT):
            r = http.raw_get(server.port, "/startresponse?case=exc-info-after-body")
            assert r.status == 200 and r.aborted, r
            assert b"not reached" not in r.raw

    # ---- logging -------------------------------------------------------------------------------

    def test_300_60_wsgi_errors_reach_the_error_log(self, server, allow_log):
        allow_log(*APP_LOG_IDS)
        token = uuid.uuid4().hex
        offset = server.checked_offset
        r = http.get(server.port, f"/errors?text=wsgi-errors-{token}")
        assert r.status == 200
        server.log.wait_for(f"wsgi-errors-{token}", offset)
        server.log.wait_for(f"wsgi-errors-{token}-lines", offset)

    def test_300_61_print_reaches_the_error_log(self, server, allow_log):
        allow_log(*APP_LOG_IDS)
        token = uuid.uuid4().hex
        offset = server.checked_offset
        assert http.get(server.port, f"/errors?print=print-{token}").status == 200
        server.log.wait_for(f"print-{token}-stdout", offset)
        server.log.wait_for(f"print-{token}-stderr", offset)

