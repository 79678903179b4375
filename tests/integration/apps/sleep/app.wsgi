# SPDX-License-Identifier: Apache-2.0
# Sleeps ?t= seconds, then answers its pid and thread; tracks how many requests run at once in
# this process (?reset=1 clears the maximum first).
import json
import os
import threading
import time
from urllib.parse import parse_qs

_lock = threading.Lock()
_active = 0
_max_active = 0


def application(environ, start_response):
    global _active, _max_active
    q = parse_qs(environ.get("QUERY_STRING", ""))
    with _lock:
        if q.get("reset", ["0"])[0] == "1":
            _max_active = 0
        _active += 1
        _max_active = max(_max_active, _active)
    try:
        time.sleep(float(q.get("t", ["0"])[0]))
    finally:
        with _lock:
            _active -= 1
            seen = _max_active
    body = json.dumps({"pid": os.getpid(), "thread": threading.get_ident(),
                       "max_active": seen, "id": q.get("id", [""])[0]}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
