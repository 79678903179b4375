# SPDX-License-Identifier: Apache-2.0
# For the timeout tests. ?sleep=S sleeps S seconds (the GIL released); ?spin=S runs Python code
# for S seconds; ?forever loops in Python until the process ends; ?hold_gil=S sleeps S seconds in C
# while holding the GIL (ctypes.PyDLL keeps it); ?naps=S sleeps S seconds in 50 ms steps (Python
# code runs between them); ?csleep=S sleeps S seconds in C without the GIL and without returning to
# Python in between. Every answer is JSON with the daemon's pid; ?interrupted answers whether the
# last request of this process was ended by mod_wsgi.RequestTimeout.
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


INTERRUPTED = []


def naps(seconds):
    import mod_wsgi
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            time.sleep(0.05)
    except mod_wsgi.RequestTimeout:
        INTERRUPTED.append(True)
        raise


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "naps" in q:
        naps(float(q["naps"][0]))
    if "csleep" in q:
        ctypes.CDLL(None).sleep(int(q["csleep"][0]))
    if "sleep" in q:
        wait_here(float(q["sleep"][0]))
    if "spin" in q:
        spin(float(q["spin"][0]))
    if "forever" in q:
        while True:
            spin(1.0)
    if "hold_gil" in q:
        ctypes.PyDLL(None).sleep(int(q["hold_gil"][0]))
    body = json.dumps({"pid": os.getpid(), "interrupted": len(INTERRUPTED)}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
