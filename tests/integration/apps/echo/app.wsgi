# SPDX-License-Identifier: Apache-2.0
# Reads the request body with the wsgi.input method named by ?mode= and answers it unchanged,
# with its length and sha256 in headers.
import hashlib
from urllib.parse import parse_qs


def read_body(stream, mode, size, length):
    if mode == "read":
        return stream.read()
    if mode == "read-none":
        return stream.read(None)
    if mode == "read-minus-one":
        return stream.read(-1)
    if mode == "readn":
        parts = []
        while True:
            block = stream.read(size)
            if not block:
                return b"".join(parts)
            assert len(block) <= size, (len(block), size)
            parts.append(block)
    if mode == "readline":
        parts = []
        while True:
            line = stream.readline()
            if not line:
                return b"".join(parts)
            assert line.endswith(b"\n") or b"\n" not in line, line
            parts.append(line)
    if mode == "readline-size":
        parts = []
        while True:
            line = stream.readline(size)
            if not line:
                return b"".join(parts)
            assert len(line) <= size, (len(line), size)
            parts.append(line)
    if mode == "readlines":
        return b"".join(stream.readlines())
    if mode == "iter":
        return b"".join(line for line in stream)
    if mode == "mixed":
        # A line, then reads that start in what the line's read-ahead left and go on with bytes
        # still on their way (some large enough to go straight into the result). read(n) returns
        # n bytes until the body ends.
        parts = [stream.readline(), stream.read(10)]
        for n in (300000, 1, 70000, 65536, 200000):
            block = stream.read(n)
            assert len(block) <= n, (len(block), n)
            if length:
                assert len(block) == min(n, length - sum(map(len, parts))), (len(block), n)
            parts.append(block)
        parts.append(stream.read())
        assert stream.read(1) == b""
        return b"".join(parts)
    if mode == "overread":
        # Reads never go beyond the body: asking for more returns what there is, then b"".
        data = stream.read(length + 1000)
        while True:
            more = stream.read(1000)
            if not more:
                break
            data += more
        assert stream.read(10) == b""
        assert stream.read() == b""
        return data
    raise ValueError("unknown mode %r" % mode)


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    mode = q.get("mode", ["read"])[0]
    size = int(q.get("size", ["7"])[0])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = read_body(environ["wsgi.input"], mode, size, length)
    start_response("200 OK", [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(len(body))),
        ("X-Body-Length", str(len(body))),
        ("X-Body-Sha256", hashlib.sha256(body).hexdigest()),
        ("X-Content-Length", environ.get("CONTENT_LENGTH", "<absent>")),
        ("X-Input-Terminated", str(environ.get("wsgi.input_terminated"))),
    ])
    return [body]
