# SPDX-License-Identifier: Apache-2.0
"""Requests to a server over one protocol, so a test runs unchanged over HTTP/1.1 and HTTP/2:
"h1" (http.client), "h2c" (HTTP/2 in cleartext with prior knowledge) and "h2" (HTTP/2 over TLS,
negotiated by ALPN). The standard library has no HTTP/2 client, so HTTP/2 requests run Debian's
curl (built with nghttp2); every run is bounded by a timeout, and a response that did not come
over the protocol asked for fails the request rather than passing silently over HTTP/1.1."""

import os
import select
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import http

# The protocols a test can be parametrized with (pytest ids).
PROTOCOLS = ("h1", "h2c", "h2")
# Those of them that are HTTP/2 (served only where ServerConf.serves_http2()).
HTTP2_PROTOCOLS = ("h2c", "h2")
# curl's exit status for an HTTP/2 stream error (CURLE_HTTP2_STREAM), also what curl 7.88 says
# for a complete response followed by RST_STREAM(NO_ERROR).
CURL_HTTP2_STREAM_ERROR = 92
# curl's exit statuses for a response that did not end cleanly: an HTTP/2 stream error (92),
# a transfer closed with bytes outstanding (18), a connection error in the HTTP/2 framing (16).
CURL_INCOMPLETE = (CURL_HTTP2_STREAM_ERROR, 18, 16)
# Bound on waiting for httpd to log a request.
ACCESS_LOG_TIMEOUT = 10.0
# Bound on curl's own start and exit around the request's timeout.
CURL_SLACK = 10.0
# Headers curl adds by itself that http.client does not: removed unless a test sets them, so the
# app sees the same request over every protocol.
CURL_DEFAULT_HEADERS = ("Accept", "User-Agent", "Content-Type")


class ClientError(AssertionError):
    """curl failed: no response (an HTTP/2 stream or connection error, a timeout, ...)."""

    def __init__(self, proto: str, code: int, stderr: str):
        super().__init__(f"{proto} request failed: curl exit {code}: {stderr.strip()}")
        self.proto = proto
        self.code = code
        self.stderr = stderr


def _parse_header_dump(text: str) -> Tuple[int, str, List[Tuple[str, str]]]:
    """The last response head of curl's -D dump (after any 1xx): status, reason, headers."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    status, reason, headers = 0, "", []
    for block in blocks:
        lines = block.split("\n")
        parts = lines[0].split(" ", 2)
        code = int(parts[1])
        if 100 <= code < 200:
            continue
        status, reason = code, parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
    return status, reason, headers


class Client:
    """Requests to `server` over `proto` (one of PROTOCOLS). Any thread may use it."""

    def __init__(self, server, proto: str):
        if proto not in PROTOCOLS:
            raise ValueError(f"unknown protocol {proto!r}; use one of {PROTOCOLS}")
        if proto == "h2" and server.tls_port is None:
            raise ValueError("h2 needs a server with ServerConf(tls=True)")
        self.server = server
        self.proto = proto

    @property
    def http2(self) -> bool:
        return self.proto != "h1"

    @property
    def port(self) -> int:
        """The port requests go to (the TLS listener for h2)."""
        return self.server.tls_port if self.proto == "h2" else self.server.port

    @property
    def scheme(self) -> str:
        return "https" if self.proto == "h2" else "http"

    @property
    def server_protocol(self) -> str:
        """SERVER_PROTOCOL as the app sees it."""
        return "HTTP/2.0" if self.http2 else "HTTP/1.1"

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None,
                timeout: float = http.REQUEST_TIMEOUT, chunked: bool = False) -> http.Response:
        """One request on a new connection. `chunked`: a body of no announced length
        (Transfer-Encoding: chunked over HTTP/1.1, DATA frames without content-length over
        HTTP/2)."""
        if self.proto == "h1":
            if chunked:
                headers = dict(headers or {}, **{"Transfer-Encoding": "chunked"})
                body = iter([body or b""])
            return http.request(self.server.port, method, path, body=body, headers=headers,
                                timeout=timeout, encode_chunked=chunked)
        return self._curl(method, path, body, headers or {}, timeout, chunked)

    def stream(self, path: str, timeout: float = http.REQUEST_TIMEOUT) -> "Stream":
        """GETs `path` and lets the test read the response as it arrives (Stream.wait_for), to
        check that each block reaches the client before the app produces the next. Over
        HTTP/1.1 the raw bytes (head and chunked framing), over HTTP/2 the body curl writes as
        it arrives (--no-buffer). Use it as a context manager."""
        return Stream(self, path, timeout)

    def access_offset(self) -> int:
        """The access log's size now, for wait_access(after=...)."""
        try:
            return self.server.access_log.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_access(self, text: str, after: int, timeout: float = ACCESS_LOG_TIMEOUT) -> str:
        """The first access-log line after byte `after` containing `text`, waiting for it (httpd
        logs a request after its response went out). For the status of a request curl could not
        report, e.g. a response followed by a stream reset that curl 7.88 takes for an error."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.server.access_log, "rb") as f:
                f.seek(after)
                lines = f.read().decode("latin-1").splitlines()
            for line in lines:
                if text in line:
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"no access-log line with {text!r} within {timeout}s")
            time.sleep(0.02)

    def get(self, path: str, headers: Optional[Dict[str, str]] = None, **kw) -> http.Response:
        return self.request("GET", path, headers=headers, **kw)

    def post(self, path: str, body: bytes, headers: Optional[Dict[str, str]] = None,
             **kw) -> http.Response:
        return self.request("POST", path, body=body, headers=headers, **kw)

    def _curl(self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str],
              timeout: float, chunked: bool) -> http.Response:
        with tempfile.TemporaryDirectory(prefix="wg-curl-") as tmp:
            head_file, body_file = Path(tmp) / "head", Path(tmp) / "body"
            args = ["curl", "--silent", "--show-error", "--max-time", str(timeout),
                    "--dump-header", str(head_file), "--output", str(body_file),
                    "--write-out", "%{http_version}"]
            if self.proto == "h2c":
                args.append("--http2-prior-knowledge")
            else:
                args += ["--http2", "--insecure"]
            if method == "HEAD":
                args.append("--head")
            else:
                args += ["--request", method]
            given = {k.lower() for k in headers}
            for name in CURL_DEFAULT_HEADERS:
                if name.lower() not in given:
                    args += ["--header", f"{name}:"]
            for name, value in headers.items():
                # "Name;" is curl's way of sending a header with an empty value.
                args += ["--header", f"{name}: {value}" if value else f"{name};"]
            if chunked:
                # curl sends a body of unknown length (read from stdin) without content-length
                # over HTTP/2; the header only tells it so and is not sent as such.
                args += ["--header", "Transfer-Encoding: chunked", "--data-binary", "@-"]
            elif body is not None:
                data_file = Path(tmp) / "data"
                data_file.write_bytes(body)
                args += ["--data-binary", f"@{data_file}"]
            args.append(f"{self.scheme}://127.0.0.1:{self.port}{path}")
            p = subprocess.run(args, input=body if chunked else None, capture_output=True,
                               timeout=timeout + CURL_SLACK)
            if p.returncode != 0:
                raise ClientError(self.proto, p.returncode, p.stderr.decode("utf-8", "replace"))
            version = p.stdout.decode().strip()
            if version != "2":
                raise AssertionError(f"{self.proto} request answered over HTTP/{version}")
            status, reason, resp_headers = _parse_header_dump(
                head_file.read_text("latin-1") if head_file.exists() else "")
            # With --head curl writes the header block as the body: HEAD has none (an HTTP/2
            # stream could not carry one anyway).
            data = body_file.read_bytes() if body_file.exists() and method != "HEAD" else b""
        return http.Response(status, reason, resp_headers, data)


class Stream:
    """A response read as it arrives (Client.stream): everything received so far in `data`."""

    def __init__(self, client: Client, path: str, timeout: float):
        self.deadline = time.monotonic() + timeout
        self.data = b""
        self.closed = False
        self._sock: Optional[socket.socket] = None
        self._curl: Optional[subprocess.Popen] = None
        if client.proto == "h1":
            self._sock = http.raw_connect(client.port, timeout)
            self._sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                               "Connection: close\r\n\r\n".encode())
            self._fd = self._sock.fileno()
        else:
            args = ["curl", "--silent", "--show-error", "--no-buffer", "--max-time", str(timeout),
                    "--output", "-"]
            args += (["--http2-prior-knowledge"] if client.proto == "h2c"
                     else ["--http2", "--insecure"])
            args.append(f"{client.scheme}://127.0.0.1:{client.port}{path}")
            self._curl = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self._fd = self._curl.stdout.fileno()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._curl is not None:
            if self._curl.poll() is None:
                self._curl.kill()
            self._curl.communicate(timeout=CURL_SLACK)

    def _read_some(self) -> bool:
        """Reads what arrives before the deadline; False at the end of the response."""
        left = self.deadline - time.monotonic()
        if left <= 0 or not select.select([self._fd], [], [], left)[0]:
            raise TimeoutError(f"nothing more within the stream's timeout; got {self.data!r}")
        chunk = os.read(self._fd, 65536)
        if not chunk:
            self.closed = True
            return False
        self.data += chunk
        return True

    def wait_for(self, marker: bytes) -> bytes:
        """Reads until `marker` arrived (failing if the response ended first): all data so far."""
        while marker not in self.data:
            assert self._read_some(), f"the response ended before {marker!r}: {self.data!r}"
        return self.data

    def read_to_end(self) -> bytes:
        """Reads until the response ends: all data."""
        while self._read_some():
            pass
        if self._curl is not None:
            self._curl.wait(timeout=CURL_SLACK)
            assert self._curl.returncode == 0, self._curl.stderr.read()
        return self.data
