# SPDX-License-Identifier: Apache-2.0
# A script whose import hangs far longer than any startup-timeout a test sets.
import time

time.sleep(60)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"loaded at last"]
