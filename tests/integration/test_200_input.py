# SPDX-License-Identifier: Apache-2.0
"""2xx: request bodies: wsgi.input methods, 1 MiB bodies, chunked requests, apps that do not read
their body, apps that answer before they read (no deadlock), Expect: 100-continue."""

import itertools
import os
import random
import threading

import pytest

from harness import http
from harness.client import CURL_HTTP2_STREAM_ERROR, HTTP2_PROTOCOLS, ClientError
from harness.httpd import ServerConf
from harness.util import sha256

INPUT_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess input processes=1 threads=4
WSGIProcessGroup input
WSGIScriptAlias /echo ${APPS}/echo/app.wsgi
WSGIScriptAlias /chunked-echo ${APPS}/echo/app.wsgi
WSGIScriptAlias /noread ${APPS}/noread/app.wsgi
WSGIScriptAlias /duplex ${APPS}/duplex/app.wsgi
WSGIScriptAlias /chunked-duplex ${APPS}/duplex/app.wsgi
<Location /chunked-echo>
    WSGIChunkedRequest On
</Location>
<Location /chunked-duplex>
    WSGIChunkedRequest On
</Location>
""")

TEXT_BODY = (b"first line\nsecond line\n\n" + bytes(range(256)) + b"\n" + b"x" * 5000 +
             b"\nlast line without newline")
ONE_MIB = 1 << 20


def chunked_request(path: str, port: int, body: bytes, chunk_sizes) -> bytes:
    out = bytearray(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Transfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n"
                    "Connection: close\r\n\r\n".encode())
    pos = 0
    sizes = itertools.cycle(chunk_sizes)
    while pos < len(body):
        n = min(next(sizes), len(body) - pos)
        out += b"%x\r\n" % n + body[pos:pos + n] + b"\r\n"
        pos += n
    out += b"0\r\n\r\n"
    return bytes(out)


class TestInput:
    server_conf = INPUT_CONF

    @pytest.mark.parametrize("mode,size", [
        ("read", 0), ("read-none", 0), ("read-minus-one", 0), ("readn", 1), ("readn", 7),
        ("readn", 4096), ("readline", 0), ("readline-size", 5), ("readlines", 0), ("iter", 0),
        ("overread", 0),
    ])
    def test_200_01_input_methods(self, client, mode, size):
        r = client.post(f"/echo?mode={mode}&size={size}", TEXT_BODY)
        assert r.status == 200, r
        assert r.body == TEXT_BODY
        assert r.header("X-Body-Sha256") == sha256(TEXT_BODY)

    def test_200_02_empty_body(self, client):
        r = client.post("/echo?mode=read", b"")
        assert r.status == 200, r
        assert r.body == b""
        assert r.header("X-Body-Length") == "0"

    @pytest.mark.parametrize("mode", ["read", "readn", "mixed"])
    def test_200_03_one_mib_post_echo(self, client, mode):
        body = b"a first line\n" + os.urandom(ONE_MIB - 13)
        r = client.post(f"/echo?mode={mode}&size=65536", body,
                        {"Content-Type": "application/octet-stream"})
        assert r.status == 200
        assert r.header("X-Body-Length") == str(ONE_MIB)
        assert r.header("X-Body-Sha256") == sha256(body)
        assert r.header("X-Content-Length") == str(ONE_MIB)
        assert sha256(r.body) == sha256(body)

    def test_200_04_input_terminated(self, client):
        r = client.post("/echo", b"abc")
        assert r.header("X-Input-Terminated") == "True"

    def test_200_05b_body_of_unknown_length(self, client):
        # HTTP/1.1 chunked, or HTTP/2 DATA without content-length: refused (411) unless
        # WSGIChunkedRequest On, as mod_wsgi does. Over HTTP/2 httpd answers 411 without reading
        # the body and resets the stream (RFC 9113 §8.1), which curl 7.88 reports as an error
        # instead of the response: the access log tells the status then.
        offset = client.access_offset()
        try:
            r = client.post("/echo", b"hello chunked", chunked=True)
            assert r.status == 411, r
        except ClientError as e:
            assert client.http2 and e.code == CURL_HTTP2_STREAM_ERROR, e
            client.wait_access('"POST /echo HTTP/2.0" 411 ', after=offset)
        r = client.post("/chunked-echo", TEXT_BODY, chunked=True)
        assert r.status == 200, r
        assert r.body == TEXT_BODY
        assert r.header("X-Content-Length") in ("<absent>", "")

    def test_200_05_chunked_request_rejected_by_default(self, server):
        req = chunked_request("/echo", server.port, b"hello chunked", [5])
        r = http.raw_exchange(server.port, req)
        assert r.status == 411, r

    def test_200_06_chunked_request_with_directive(self, server):
        req = chunked_request("/chunked-echo", server.port, TEXT_BODY, [1, 10, 100, 1000])
        r = http.raw_exchange(server.port, req)
        assert r.status == 200 and r.complete, r
        assert r.body == TEXT_BODY
        # No Content-Length for a chunked body; wsgi.input ends at the last chunk.
        assert r.header("X-Content-Length") in ("<absent>", "")
        assert r.header("X-Input-Terminated") == "True"

    @pytest.mark.parametrize("mode", ["read", "readn", "readline", "iter", "mixed"])
    def test_200_07_chunked_one_mib(self, server, mode):
        rnd = random.Random(7)
        body = rnd.randbytes(ONE_MIB)
        sizes = (rnd.randint(1, 70000) for _ in iter(int, 1))
        req = chunked_request(f"/chunked-echo?mode={mode}&size=10000", server.port, body, sizes)
        r = http.raw_exchange(server.port, req)
        assert r.status == 200 and r.complete, repr(r)[:500]
        assert r.header("X-Body-Sha256") == sha256(body)
        assert sha256(r.body) == sha256(body)

    def test_200_07b_unknown_length_one_mib_mixed_reads(self, client):
        # HTTP/1.1 chunked or HTTP/2 without content-length: reads partly from wsgi.input's
        # read-ahead, partly straight from the connection, with no Content-Length to size them.
        body = b"a first line\n" + os.urandom(ONE_MIB - 13)
        r = client.post("/chunked-echo?mode=mixed", body,
                        {"Content-Type": "application/octet-stream"}, chunked=True)
        assert r.status == 200, r
        assert r.header("X-Body-Sha256") == sha256(body)
        assert sha256(r.body) == sha256(body)

    def test_200_08_app_that_does_not_read_its_body(self, server):
        conn = http.connection(server.port)
        try:
            r = http.send(conn, "POST", "/noread", os.urandom(ONE_MIB),
                          {"Content-Type": "application/octet-stream"})
            assert (r.status, r.body) == (200, b"ok"), r
            # The connection (or a new one, if httpd closed it) serves the next request.
            r = http.send(conn, "POST", "/echo", b"after")
            assert (r.status, r.body) == (200, b"after"), r
        finally:
            conn.close()

    def test_200_08b_unread_one_mib_body(self, client):
        r = client.post("/noread", os.urandom(ONE_MIB), {"Content-Type": "application/octet-stream"})
        assert (r.status, r.body) == (200, b"ok"), r

    def test_200_09_unread_body_then_more_requests(self, client):
        # Over HTTP/2 the response ends while the client is still sending the 300 kB body. The
        # request side of the stream must still end cleanly (issue 9: curl failed every such
        # request with "Stream error in the HTTP/2 framing layer"): the module reads the rest of
        # the body before the response goes out (ApacheResponseSink::end).
        for _ in range(3):
            r = client.post("/noread", b"z" * 300000)
            assert (r.status, r.body) == (200, b"ok"), r
        assert client.post("/echo", b"still fine").body == b"still fine"

    @pytest.mark.parametrize("path,chunked", [("/duplex", False), ("/chunked-duplex", True)])
    def test_200_10_streams_before_reading_body_no_deadlock(self, server, path, chunked):
        # 4 MiB each way, far beyond the socket buffers: the client sends and reads at the same
        # time (as a browser does), so only a half-duplex relay in the server could deadlock.
        out = 4 << 20
        body = os.urandom(4 << 20)
        if chunked:
            req = chunked_request(f"{path}?out={out}", server.port, body, iter(lambda: 65536, 0))
        else:
            req = (f"POST {path}?out={out} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        sock = http.raw_connect(server.port)
        errors = []

        def sender():
            try:
                sock.sendall(req)
            except OSError as e:
                errors.append(e)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        try:
            raw, closed, reset = http.read_until_close(sock, timeout=60)
        finally:
            t.join(30)
            sock.close()
        r = http.parse_response(raw, closed)
        assert r.status == 200 and r.complete, repr(r)[:500]
        assert not errors, errors
        assert len(r.body) > out and r.body[:out] == b"d" * out
        assert r.body[out:] == b"\nread %d %s\n" % (len(body), sha256(body).encode())

    @pytest.mark.protocols(*HTTP2_PROTOCOLS)  # HTTP/1.1: test_200_10, a raw socket and a thread
    @pytest.mark.parametrize("path", ["/duplex", "/chunked-duplex"])
    def test_200_10b_http2_streams_before_reading_body_no_deadlock(self, client, path):
        # curl sends and reads an HTTP/2 stream at the same time (flow control both ways).
        out = 4 << 20
        body = os.urandom(4 << 20)
        r = client.post(f"{path}?out={out}", body, chunked=path == "/chunked-duplex", timeout=60)
        assert r.status == 200, r
        assert len(r.body) > out and r.body[:out] == b"d" * out
        assert r.body[out:] == b"\nread %d %s\n" % (len(body), sha256(body).encode())

    def test_200_11_expect_100_continue(self, server):
        body = b"continue-body " * 1000
        with http.raw_connect(server.port) as sock:
            sock.sendall((f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                          f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode())
            head, rest = http.read_head(sock, timeout=15)
            assert head.startswith(b"HTTP/1.1 100 "), head
            sock.sendall(body)
            raw, closed, _ = http.read_until_close(sock, initial=rest)
        r = http.parse_response(raw, closed)
        assert r.status == 200 and r.complete, r
        assert r.body == body
