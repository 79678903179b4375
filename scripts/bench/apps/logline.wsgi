# SPDX-License-Identifier: Apache-2.0
# Benchmark app "logline": hello world that also logs one line per request through print(), the
# cost of the daemon's output path (with mod_wsgid: the group's log pipe and the log relay).
import sys

BODY = b"Hello world!"


def application(environ, start_response):
    print("bench logline: one line of application output per request, about 100 bytes long",
          file=sys.stderr)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]
