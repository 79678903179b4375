# SPDX-License-Identifier: Apache-2.0
# Answers without reading its request body.
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
