# SPDX-License-Identifier: Apache-2.0
# A server-sent-events style stream of ?n= events (default 2): yields event 1, then before each
# further event k waits (at most 10 s) until the client creates the flag file "<?flag=>.<k-1>" (in
# the state dir), which it does only once it has read event k-1. So every event must reach the
# client while the app is still waiting: no block is held back for a later one.
import os
import time
from urllib.parse import parse_qs

WAIT_LIMIT_S = 10  # bound on each wait; the test creates the flag long before


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    flag = query["flag"][0]
    count = int(query.get("n", ["2"])[0])
    start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])

    def events():
        yield b"data: event-1\n\n"
        for k in range(2, count + 1):
            seen = "%s.%d" % (flag, k - 1)
            deadline = time.monotonic() + WAIT_LIMIT_S
            while not os.path.exists(seen) and time.monotonic() < deadline:
                time.sleep(0.01)
            state = b"seen" if os.path.exists(seen) else b"missing"
            yield b"data: event-%d flag=%s\n\n" % (k, state)

    return events()
