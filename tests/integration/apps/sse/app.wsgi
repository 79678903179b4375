# SPDX-License-Identifier: Apache-2.0
# A server-sent-events style stream: yields event 1, then waits (at most 10 s) until the client
# creates the flag file ?flag= (in the state dir), then yields event 2. The first event must reach
# the client while the app is still waiting: no block is held back for a later one.
import os
import time
from urllib.parse import parse_qs

WAIT_LIMIT_S = 10  # bound on the wait; the test creates the flag long before


def application(environ, start_response):
    flag = parse_qs(environ.get("QUERY_STRING", ""))["flag"][0]
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])

    def events():
        yield b"data: event-1\n\n"
        deadline = time.monotonic() + WAIT_LIMIT_S
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.01)
        yield b"data: event-2 flag=%s\n\n" % (b"seen" if os.path.exists(flag) else b"missing")

    return events()
