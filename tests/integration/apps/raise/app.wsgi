# SPDX-License-Identifier: Apache-2.0
# Raises at the point named by ?when=:
#   before-start: before start_response; after-start: after start_response, before any body;
#   after-body: after the first body block (chunked); after-body-cl: same with Content-Length.
from urllib.parse import parse_qs


def application(environ, start_response):
    when = parse_qs(environ.get("QUERY_STRING", "")).get("when", ["before-start"])[0]
    if when == "before-start":
        raise ValueError("raise-test: boom before start_response")
    headers = [("Content-Type", "text/plain")]
    if when == "after-body-cl":
        headers.append(("Content-Length", "100000"))
    start_response("200 OK", headers)
    if when == "after-start":
        raise ValueError("raise-test: boom after start_response")

    def body():
        yield b"first block of a body that will not complete\n" * 200
        raise ValueError("raise-test: boom after the first block")

    return body()
