# SPDX-License-Identifier: Apache-2.0
# For the recycling tests. Every answer is JSON with the daemon's pid. A POST body is read whole
# and answered with its length and sha256. Query options: ?grow=N keeps N more MiB alive in this
# process (for maximum-memory=); ?burn=S spins the CPU for S seconds (cpu-time-limit=);
# ?sleep=S sleeps S seconds (after creating the file ?arrived=PATH, if given); ?alloc=N allocates N MiB for the request only (memory-limit=);
# ?atexit=PATH registers an atexit handler that writes its pid to PATH; ?atexit_hang=S registers
# one that sleeps S seconds (shutdown-timeout=).
import atexit
import hashlib
import json
import os
import time
from urllib.parse import parse_qs

KEPT = []


def write_pid(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    out = {"pid": os.getpid()}
    if environ["REQUEST_METHOD"] == "POST":
        body = environ["wsgi.input"].read()
        out["length"] = len(body)
        out["sha256"] = hashlib.sha256(body).hexdigest()
    if "grow" in q:
        block = bytearray(int(q["grow"][0]) * 1024 * 1024)
        for i in range(0, len(block), 4096):  # touch every page: resident, not just reserved
            block[i] = 1
        KEPT.append(block)
    if "alloc" in q:
        block = bytearray(int(q["alloc"][0]) * 1024 * 1024)
        out["allocated"] = len(block)
    if "burn" in q:
        end = time.process_time() + float(q["burn"][0])
        while time.process_time() < end:
            pass
    if "arrived" in q:
        open(q["arrived"][0], "w").close()
    if "sleep" in q:
        time.sleep(float(q["sleep"][0]))
    if "atexit" in q:
        atexit.register(write_pid, q["atexit"][0])
    if "atexit_hang" in q:
        atexit.register(time.sleep, float(q["atexit_hang"][0]))
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
