# SPDX-License-Identifier: Apache-2.0
# Kills its own daemon process with SIGKILL in the middle of a request.
import os
import signal


def application(environ, start_response):
    os.kill(os.getpid(), signal.SIGKILL)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"not reached"]
