# SPDX-License-Identifier: Apache-2.0
# Answers its VERSION; the reload test rewrites this line and expects the new value.
VERSION = "v1"


def application(environ, start_response):
    body = VERSION.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
