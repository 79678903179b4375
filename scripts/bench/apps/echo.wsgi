# SPDX-License-Identifier: Apache-2.0
# Benchmark app "post": reads the whole request body from wsgi.input and sends it back.

def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))],
    )
    return [body]
