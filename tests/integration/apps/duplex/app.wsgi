# SPDX-License-Identifier: Apache-2.0
# Streams ?out= bytes of response BEFORE it reads any of its request body, then reads the body
# and ends with its length and sha256. A half-duplex relay deadlocks here when both directions
# exceed the socket buffers.
import hashlib
from urllib.parse import parse_qs


def application(environ, start_response):
    out = int(parse_qs(environ.get("QUERY_STRING", "")).get("out", [str(4 << 20)])[0])
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def body():
        sent = 0
        while sent < out:
            n = min(65536, out - sent)
            yield b"d" * n
            sent += n
        data = environ["wsgi.input"].read()
        yield b"\nread %d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode())

    return body()
