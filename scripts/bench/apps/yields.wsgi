# SPDX-License-Identifier: Apache-2.0
# Benchmark app "yields": a streamed template, 1000 blocks of 16 bytes and no Content-Length,
# so an HTTP/1.1 client gets a chunked response.

CHUNK = b"0123456789abcde\n"
COUNT = 1000


def _blocks():
    for _ in range(COUNT):
        yield CHUNK


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _blocks()
