# SPDX-License-Identifier: Apache-2.0
# What a daemon process is and sees, for the security tests: its uid, os.environ, its command
# line, and the request's REMOTE_USER. ?marker=NAME first creates ${STATE}-relative marker file
# NAME, so a test can tell whether any request reached the app at all.
import json
import os


def application(environ, start_response):
    query = environ.get("QUERY_STRING", "")
    if query.startswith("marker="):
        state = environ.get("WG_STATE", "")
        with open(os.path.join(state, os.path.basename(query[len("marker="):])), "w") as f:
            f.write(environ.get("REMOTE_USER", ""))
    with open("/proc/self/cmdline", "rb") as f:
        cmdline = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    out = {
        "uid": os.getuid(),
        "environ": dict(os.environ),
        "cmdline": cmdline,
        "remote_user": environ.get("REMOTE_USER"),
    }
    body = json.dumps(out, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
