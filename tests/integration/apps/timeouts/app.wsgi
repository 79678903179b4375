# SPDX-License-Identifier: Apache-2.0
# For the timeout tests. ?sleep=S sleeps S seconds (the GIL released); ?spin=S runs Python code
# for S seconds; ?forever loops in Python until the process ends; ?hold_gil=S sleeps S seconds in C
# while holding the GIL (ctypes.PyDLL keeps it). Every answer is JSON with the daemon's pid.
import ctypes
import json
import os
import time
from urllib.parse import parse_qs


def wait_here(seconds):
    time.sleep(seconds)


def spin(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "sleep" in q:
        wait_here(float(q["sleep"][0]))
    if "spin" in q:
        spin(float(q["spin"][0]))
    if "forever" in q:
        while True:
            spin(1.0)
    if "hold_gil" in q:
        ctypes.PyDLL(None).sleep(int(q["hold_gil"][0]))
    body = json.dumps({"pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
