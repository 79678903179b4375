# SPDX-License-Identifier: Apache-2.0
"""3xx: wsgi.file_wrapper by descriptor passing. A file_wrapper over a regular file reaches the
client without the daemon reading it (the app's file object serves no read()), from tell() and
within Content-Length, over HTTP/1.1, h2c and h2 (TLS); HEAD, 204/304 and byte ranges behave as
for any response; pipes and BytesIO still stream, and so does everything under
WSGIEnableSendfile Off; a file that shrinks under the response ends it aborted, never
complete-looking. The after-test checks fail on any descriptor left open in httpd's children or
the daemons."""

import os
import socket
import ssl
import subprocess
import time
import uuid

import pytest

from harness import http
from harness.client import CURL_INCOMPLETE, CURL_SLACK
from harness.httpd import ServerConf
from harness.util import pattern, sha256, wait_for_file, write_shared_file

FILE_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess files processes=1 threads=4
WSGIProcessGroup files
WSGIScriptAlias /sendfile ${APPS}/sendfile/app.wsgi
WSGIScriptAlias /streamed ${APPS}/sendfile/app.wsgi
<Location /streamed>
    WSGIEnableSendfile Off
</Location>
""")

ONE_MIB = 1 << 20
# Larger than every buffer between httpd and a client that stopped reading (socket buffers, an
# HTTP/2 client's 32 MiB stream window, curl's own), so the response is still in flight when
# the file shrinks. Sparse: it costs no disk.
HUGE = 256 * ONE_MIB
# What the client reads before the file shrinks: proof that the module checked the descriptor
# and httpd is sending it.
HEAD_START = ONE_MIB
READ_TIMEOUT = 60.0


class TestFileWrapper:
    server_conf = FILE_CONF

    def data_file(self, server, size: int) -> str:
        path = server.state / f"data-{uuid.uuid4().hex}.bin"
        write_shared_file(path, pattern(size))
        return str(path)

    def marker(self, server) -> str:
        return str(server.state / f"close-{uuid.uuid4().hex}")

    # ---- passed -----------------------------------------------------------------------------

    def test_320_01_a_large_file_is_passed_not_read(self, client):
        size = 8 * ONE_MIB + 13
        path, marker = self.data_file(client.server, size), self.marker(client.server)
        r = client.get(f"/sendfile?path={path}&marker={marker}")
        assert r.status == 200, r
        assert r.header("Content-Length") == str(size)
        assert len(r.body) == size and sha256(r.body) == sha256(pattern(size))
        # The app's file object served no read: the daemon passed the descriptor. And its
        # close() was called, as PEP 3333 wants.
        assert wait_for_file(marker) == "closed reads=0"

    @pytest.mark.parametrize("query,start,length", [
        ("offset=1000", 1000, None),
        ("kind=buffered&skip=10", 10, None),  # the descriptor's own offset is past tell()
        ("offset=1000&cl=5000", 1000, 5000),
        ("kind=buffered&skip=7&cl=70000", 7, 70000),
    ])
    def test_320_02_the_range_is_tell_to_the_end_within_content_length(self, client, query,
                                                                        start, length):
        path, marker = self.data_file(client.server, ONE_MIB), self.marker(client.server)
        r = client.get(f"/sendfile?path={path}&marker={marker}&{query}")
        want = pattern(ONE_MIB)[start:] if length is None else pattern(ONE_MIB)[start:start + length]
        assert r.status == 200, r
        assert r.header("Content-Length") == str(len(want))
        assert r.body == want
        assert wait_for_file(marker) == "closed reads=0"

    def test_320_03_head_sends_the_headers_only(self, server):
        path, marker = self.data_file(server, ONE_MIB), self.marker(server)
        r = http.raw_exchange(server.port, (f"HEAD /sendfile?path={path}&marker={marker} "
                                            f"HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                            ).encode(), head_request=True)
        assert r.status == 200 and r.header("Content-Length") == str(ONE_MIB), r
        assert r.raw.endswith(b"\r\n\r\n"), f"a body came with HEAD: {r!r}"
        wait_for_file(marker)

    def test_320_03b_head_over_any_protocol(self, client):
        path = self.data_file(client.server, ONE_MIB)
        r = client.request("HEAD", f"/sendfile?path={path}")
        assert (r.status, r.body) == (200, b""), r
        assert r.header("Content-Length") == str(ONE_MIB), r

    @pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
    def test_320_04_no_body_statuses_send_none(self, server, status):
        path = self.data_file(server, ONE_MIB)
        with http.raw_connect(server.port) as sock:
            for _ in range(2):  # twice on one keep-alive connection: still in step
                sock.sendall(f"GET /sendfile?path={path}&status={status.replace(' ', '%20')} "
                             f"HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data, deadline = b"", time.monotonic() + 10
                while b"\r\n\r\n" not in data and time.monotonic() < deadline:
                    data += sock.recv(65536)
                r = http.parse_response(data, closed=False)
                assert r.status == int(status[:3]) and r.complete, r
                assert data.endswith(b"\r\n\r\n"), f"a body came with {status}: {r!r}"

    def test_320_05_byte_ranges_are_served_by_httpd(self, client):
        # The file reaches httpd's filters in one brigade with its end, as httpd's own files do,
        # so its byte-range filter answers a Range request.
        path = self.data_file(client.server, ONE_MIB)
        r = client.get(f"/sendfile?path={path}", headers={"Range": "bytes=100-199"})
        assert r.status == 206, r
        assert r.header("Content-Range") == f"bytes 100-199/{ONE_MIB}", r
        assert r.body == pattern(ONE_MIB)[100:200]

    def test_320_06_tls_reads_the_file(self, server):
        # mod_ssl cannot sendfile: it reads the file bucket.
        size = 3 * ONE_MIB + 5
        path, marker = self.data_file(server, size), self.marker(server)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        import http.client as client_lib
        conn = client_lib.HTTPSConnection("127.0.0.1", server.tls_port, context=context,
                                          timeout=http.REQUEST_TIMEOUT)
        try:
            conn.request("GET", f"/sendfile?path={path}&marker={marker}")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        assert resp.status == 200 and resp.version == 11
        assert sha256(body) == sha256(pattern(size))
        assert wait_for_file(marker) == "closed reads=0"

    def test_320_07_many_responses_leave_no_descriptor_behind(self, server):
        # The after-test check counts regular files open in httpd's children and the daemons.
        path = self.data_file(server, 100000)
        conn = http.connection(server.port)
        try:
            for i in range(40):
                r = http.send(conn, "GET", f"/sendfile?path={path}&offset={i}")
                assert r.status == 200 and r.body == pattern(100000)[i:], (i, r)
        finally:
            conn.close()

    # ---- streamed ----------------------------------------------------------------------------

    @pytest.mark.parametrize("kind", ["pipe", "bytesio"])
    def test_320_10_objects_that_are_no_regular_file_stream(self, client, kind):
        size = ONE_MIB + 3
        path, marker = self.data_file(client.server, size), self.marker(client.server)
        r = client.get(f"/sendfile?path={path}&kind={kind}&marker={marker}")
        assert r.status == 200, r
        assert sha256(r.body) == sha256(pattern(size))
        if kind == "pipe":
            text = wait_for_file(marker)
            assert text.startswith("closed reads=") and text != "closed reads=0", text

    def test_320_11_enable_sendfile_off_streams(self, client):
        path, marker = self.data_file(client.server, ONE_MIB), self.marker(client.server)
        r = client.get(f"/streamed?path={path}&marker={marker}&offset=17")
        assert r.status == 200 and r.body == pattern(ONE_MIB)[17:], r
        text = wait_for_file(marker)
        assert text != "closed reads=0", "WSGIEnableSendfile Off must stream the file"

    # ---- a file that shrinks under the response ------------------------------------------------

    def huge_file(self, server) -> str:
        path = server.state / f"huge-{uuid.uuid4().hex}.bin"
        with open(path, "wb") as f:
            f.truncate(HUGE)
        os.chmod(path, 0o644)
        return str(path)

    def test_320_20_a_file_truncated_under_the_response_ends_it_aborted(self, client):
        # The module checked the descriptor (the client is getting bytes); then the file shrinks:
        # httpd gets fewer bytes than the response announced and must end it so that the client
        # can tell, never as a complete response.
        path, marker = self.huge_file(client.server), self.marker(client.server)
        query = f"/sendfile?path={path}&marker={marker}"
        if client.proto == "h1":
            got, complete = self._truncate_h1(client.server, query, path, marker)
        else:
            got, complete = self._truncate_h2(client, query, path, marker)
        assert not complete, "a truncated file must not look like a complete response"
        assert HEAD_START <= got < HUGE, got
        # And the log says why, once httpd is done with the file.
        client.server.log.wait_for(r"WG0140: the file passed by the daemon for /sendfile shrank "
                                   r"to 0 bytes while httpd sent bytes 0-%d" % (HUGE - 1),
                                   client.server.checked_offset)

    def _truncate_h1(self, server, query, path, marker):
        with http.raw_connect(server.port, timeout=READ_TIMEOUT) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sock.sendall(f"GET {query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head, body = http.read_head(sock, timeout=READ_TIMEOUT)
            assert b" 200 " in head.split(b"\r\n", 1)[0], head
            assert f"Content-Length: {HUGE}".encode() in head, head
            while len(body) < HEAD_START:
                chunk = sock.recv(65536)
                assert chunk, "closed before the file shrank"
                body += chunk
            assert wait_for_file(marker) == "closed reads=0"
            os.truncate(path, 0)
            rest, closed, _ = http.read_until_close(sock, timeout=READ_TIMEOUT)
        assert closed, "the connection must be closed, not left waiting for the missing bytes"
        got = len(body) + len(rest)
        return got, got >= HUGE

    def _truncate_h2(self, client, query, path, marker):
        args = ["curl", "--silent", "--show-error", "--max-time", str(READ_TIMEOUT),
                "--output", "-"]
        args += (["--http2-prior-knowledge"] if client.proto == "h2c"
                 else ["--http2", "--insecure"])
        args.append(f"{client.scheme}://127.0.0.1:{client.port}{query}")
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as curl:
            try:
                got = 0
                while got < HEAD_START:
                    chunk = curl.stdout.read1(65536)
                    assert chunk, "curl ended before the file shrank: " + curl.stderr.read().decode()
                    got += len(chunk)
                assert wait_for_file(marker) == "closed reads=0"
                os.truncate(path, 0)
                while True:
                    chunk = curl.stdout.read1(1 << 20)
                    if not chunk:
                        break
                    got += len(chunk)
                code = curl.wait(timeout=READ_TIMEOUT + CURL_SLACK)
            finally:
                if curl.poll() is None:
                    curl.kill()
        assert code in CURL_INCOMPLETE, f"curl exit {code}: {curl.stderr.read().decode()}"
        return got, False
