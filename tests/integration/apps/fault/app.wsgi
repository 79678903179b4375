# SPDX-License-Identifier: Apache-2.0
# Ends its own daemon process in the middle of a request, as the query string says:
# ?exit=N (os._exit(N)), ?signal=N (os.kill(self, N)), ?segv (a NULL read through ctypes),
# ?abort (os.abort()). Any other request answers with its pid.
import ctypes
import os
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "exit" in q:
        os._exit(int(q["exit"][0]))
    if "signal" in q:
        os.kill(os.getpid(), int(q["signal"][0]))
    if "segv" in q:
        ctypes.string_at(0)
    if "abort" in q:
        os.abort()
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
