# SPDX-License-Identifier: Apache-2.0
"""HTTP helpers over http.client and raw sockets. Raw exchanges tell a complete response from an
aborted one: a chunked body without its final 0-chunk, or fewer bytes than Content-Length before
the server closed the connection. Every socket operation has a timeout."""

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

HOST = "127.0.0.1"
# Generous bound for one request: a loaded 2-core CI machine, a first request that imports Django.
REQUEST_TIMEOUT = 30.0


@dataclass
class Response:
    status: int
    reason: str
    headers: List[Tuple[str, str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name: str) -> List[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return f"<Response {self.status} {self.reason} headers={self.headers} body={body!r}>"


def connection(port: int, timeout: float = REQUEST_TIMEOUT) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=timeout)


def send(conn: http.client.HTTPConnection, method: str, path: str, body=None,
         headers: Optional[Dict[str, str]] = None, encode_chunked: bool = False) -> Response:
    """One request on an open (possibly kept-alive) connection."""
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=encode_chunked)
    r = conn.getresponse()
    data = r.read()
    return Response(r.status, r.reason, r.getheaders(), data)


def request(port: int, method: str, path: str, body=None,
            headers: Optional[Dict[str, str]] = None, timeout: float = REQUEST_TIMEOUT,
            encode_chunked: bool = False) -> Response:
    """One request on a fresh connection, closed afterwards."""
    conn = connection(port, timeout)
    try:
        return send(conn, method, path, body, headers, encode_chunked)
    finally:
        conn.close()


def get(port: int, path: str, headers: Optional[Dict[str, str]] = None, **kw) -> Response:
    return request(port, "GET", path, headers=headers, **kw)


def post(port: int, path: str, body: bytes, headers: Optional[Dict[str, str]] = None,
         **kw) -> Response:
    return request(port, "POST", path, body=body, headers=headers, **kw)


@dataclass
class RawResponse:
    """A response read off a raw socket until the server closed it (or the timeout)."""

    raw: bytes
    status: int = 0
    interim: List[int] = field(default_factory=list)  # 1xx statuses seen before the final one
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""  # de-chunked when chunked
    chunked: bool = False
    content_length: Optional[int] = None
    complete: bool = False  # the framing says the whole body arrived
    closed: bool = False  # the server closed (EOF or reset) before our timeout
    reset: bool = False  # ECONNRESET while reading

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def aborted(self) -> bool:
        """The server closed the connection before the body it announced was complete."""
        return self.closed and not self.complete

    def __repr__(self) -> str:
        raw = self.raw if len(self.raw) <= 600 else self.raw[:600] + b"..."
        return (f"<RawResponse status={self.status} chunked={self.chunked} "
                f"content_length={self.content_length} body_len={len(self.body)} "
                f"complete={self.complete} closed={self.closed} raw={raw!r}>")


def _parse_head(head: bytes) -> Tuple[int, List[Tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    return status, headers


def parse_response(raw: bytes, closed: bool, head_request: bool = False,
                   reset: bool = False) -> RawResponse:
    res = RawResponse(raw=raw, closed=closed, reset=reset)
    rest = raw
    while True:
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            return res  # not even a complete header block
        status, headers = _parse_head(rest[:end])
        rest = rest[end + 4:]
        if 100 <= status < 200:
            res.interim.append(status)
            continue
        break
    res.status, res.headers = status, headers
    te = (res.header("Transfer-Encoding") or "").lower()
    cl = res.header("Content-Length")
    if head_request or status in (204, 304):
        res.complete = True
        return res
    if "chunked" in te:
        res.chunked = True
        body = b""
        pos = 0
        while True:
            eol = rest.find(b"\r\n", pos)
            if eol < 0:
                break
            try:
                size = int(rest[pos:eol].split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                # The last chunk, then optional trailers and the final empty line.
                res.complete = b"\r\n\r\n" in rest[eol:]
                break
            if len(rest) < eol + 2 + size + 2:
                body += rest[eol + 2:eol + 2 + size]
                break
            body += rest[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
        res.body = body
    elif cl is not None:
        res.content_length = int(cl)
        res.body = rest[:res.content_length]
        res.complete = len(rest) >= res.content_length
    else:
        # Delimited by the close: complete if the server closed cleanly (no reset).
        res.body = rest
        res.complete = closed and not res.reset
    return res


def read_until_close(sock: socket.socket, timeout: float = REQUEST_TIMEOUT,
                     initial: bytes = b"") -> Tuple[bytes, bool, bool]:
    """Reads until EOF, a reset or the timeout: (data, closed, reset)."""
    data = bytearray(initial)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data), False, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return bytes(data), False, False
        except ConnectionResetError:
            return bytes(data), True, True
        if not chunk:
            return bytes(data), True, False
        data += chunk


def raw_connect(port: int, timeout: float = REQUEST_TIMEOUT) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=timeout)
    return sock


def raw_exchange(port: int, data: bytes, timeout: float = REQUEST_TIMEOUT,
                 head_request: bool = False) -> RawResponse:
    """Sends `data` (a whole request, normally with Connection: close) and reads the response
    until the server closes the connection."""
    with raw_connect(port, timeout) as sock:
        sock.sendall(data)
        raw, closed, reset = read_until_close(sock, timeout)
    return parse_response(raw, closed, head_request, reset)


def raw_get(port: int, path: str, timeout: float = REQUEST_TIMEOUT,
            extra_headers: str = "") -> RawResponse:
    req = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra_headers}"
           f"Connection: close\r\n\r\n").encode("latin-1")
    return raw_exchange(port, req, timeout)


def sse_exchange(port: int, path: str, flag, timeout: float = REQUEST_TIMEOUT) -> bytes:
    """GETs the sse app at `path` (its ?flag= is `flag`, a pathlib.Path): asserts that event 1
    arrives while the app waits, and only then creates the flag file `flag`.1 so that the app
    sends event 2. Returns everything read until the server closed the connection."""
    with raw_connect(port, timeout) as sock:
        sock.sendall(f"GET {path}?flag={flag} HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: close\r\n\r\n".encode())
        seen = b""
        while b"event-1" not in seen:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed before the first event: {seen!r}"
            seen += chunk
        assert b"event-2" not in seen, seen
        flag.with_name(flag.name + ".1").write_text("go")
        rest, _, _ = read_until_close(sock, timeout)
    return seen + rest


def read_head(sock: socket.socket, timeout: float = REQUEST_TIMEOUT) -> Tuple[bytes, bytes]:
    """Reads one header block (up to the blank line): (head, bytes after it)."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete response head within {timeout}s; got {data!r}")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response head; got {data!r}")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    return data[:end], data[end:]
