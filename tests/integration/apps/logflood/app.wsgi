# SPDX-License-Identifier: Apache-2.0
# Floods stderr: ?mb= MiB (default 16) of lines of ?line= bytes (default 1024), written straight
# to fd 2 with os.write, then, after ?sleep= seconds, ?marker= through print() (followed by ?long=
# bytes of "y" on the same line). Answers bytes written and seconds taken.
import json
import os
import sys
import time
from urllib.parse import parse_qs

# Shaped like an httpd error-log record (at info), so the harness reads each line as one.
PREFIX = b"[Wed Dec 02 00:00:00.000000 2026] [logflood:info] [pid 1] flood "


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    total = int(float(q.get("mb", ["16"])[0]) * 1024 * 1024)
    size = int(q.get("line", ["1024"])[0])
    line = PREFIX + b"x" * max(0, size - len(PREFIX) - 1) + b"\n"
    began = time.monotonic()
    written = 0
    while written < total:
        written += os.write(2, line)
    time.sleep(float(q.get("sleep", ["0"])[0]))
    if "marker" in q:
        print(q["marker"][0] + "y" * int(q.get("long", ["0"])[0]), file=sys.stderr)
    out = {"written": written, "seconds": time.monotonic() - began}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
