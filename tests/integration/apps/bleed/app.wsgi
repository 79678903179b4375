# SPDX-License-Identifier: Apache-2.0
# Threads that outlive their request. ?mode=leak&out=<prefix>: sends a head block, starts one
# thread writing large blocks through write() and one slowly reading wsgi.input, and returns as
# soon as the writer is inside a write() (&wait=entered, after one block went out) or has been
# stuck in one for a while (&wait=stuck); each thread records in <prefix>.writer / .reader how it
# ended. ?mode=echo&n=<n>: an exact, checkable response (n and the body, with Content-Length).
import os
import threading
import time
from urllib.parse import parse_qs

BLOCK = b"X" * (1 << 20)
# Bounds of the threads' loops: far more than the request can take, so only an error ends them.
MAX_BLOCKS = 256
MAX_READS = 4096
# Bound of the app's wait for its writer thread.
WAIT_TIMEOUT = 20.0
# How long a write() must have been blocked for &wait=stuck.
STUCK_AFTER = 0.5


def record(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def writer(write, path, progress):
    sent = 0
    try:
        for _ in range(MAX_BLOCKS):
            progress["since"] = time.monotonic()
            write(BLOCK)
            progress["since"] = None
            sent += 1
            progress["sent"] = sent
        record(path, "no error after %d blocks" % sent)
    except OSError as e:
        record(path, "OSError: %s" % e)
    except Exception as e:  # recorded, so the test shows it
        record(path, "%s: %s" % (type(e).__name__, e))


def reader(stream, path):
    try:
        for _ in range(MAX_READS):
            if not stream.read(4096):
                record(path, "end of body")
                return
            time.sleep(0.1)
        record(path, "no error")
    except OSError as e:
        record(path, "OSError: %s" % e)
    except Exception as e:
        record(path, "%s: %s" % (type(e).__name__, e))


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    mode = q.get("mode", ["echo"])[0]
    if mode == "leak":
        prefix = q["out"][0]
        stuck = q.get("wait", ["entered"])[0] == "stuck"
        write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
        write(b"leak-head;")
        progress = {"since": None, "sent": 0}
        threading.Thread(target=writer, args=(write, prefix + ".writer", progress),
                         daemon=True).start()
        threading.Thread(target=reader, args=(environ["wsgi.input"], prefix + ".reader"),
                         daemon=True).start()
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            since = progress["since"]
            if since is not None and (time.monotonic() - since >= STUCK_AFTER if stuck
                                      else progress["sent"] >= 1):
                break
            time.sleep(0.01)
        return []
    n = int(q.get("n", ["0"])[0])
    data = environ["wsgi.input"].read()
    body = b"echo-%d;" % n * 1000 + b"|" + data + b"|"
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]
