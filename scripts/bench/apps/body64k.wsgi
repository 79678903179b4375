# SPDX-License-Identifier: Apache-2.0
# Benchmark app "body64k": one 64 KiB body (a bytes object built once) with a Content-Length.

BODY = bytes(range(256)) * 256


def application(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]
