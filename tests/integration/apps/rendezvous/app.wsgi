# SPDX-License-Identifier: Apache-2.0
# Marks its arrival (?dir=/<id>.arrived) and waits (bounded) until <dir>/release or
# <dir>/release-<id> exists, so a test can prove that several requests are in this daemon at the
# same time, and let them go one at a time.
import json
import os
import threading
import time
from urllib.parse import parse_qs

# Bound on the wait: far longer than any test needs, so a broken server fails, never hangs.
WAIT_LIMIT = 20.0


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    d, ident = q["dir"][0], q["id"][0]
    with open(os.path.join(d, ident + ".arrived"), "w") as f:
        f.write(str(os.getpid()))
    deadline = time.monotonic() + WAIT_LIMIT
    released = False
    while time.monotonic() < deadline:
        if (os.path.exists(os.path.join(d, "release"))
                or os.path.exists(os.path.join(d, "release-" + ident))):
            released = True
            break
        time.sleep(0.01)
    body = json.dumps({"pid": os.getpid(), "thread": threading.get_ident(),
                       "released": released, "id": ident}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
