# SPDX-License-Identifier: Apache-2.0
# Uses the write() callable that start_response returns, then returns an iterable (?then=).
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    then = q.get("then", ["empty"])[0]
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(5):
        write(b"write-%d;" % i)
    if then == "empty":
        return []
    return [b"iter-0;", b"iter-1;"]
