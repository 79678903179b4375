# SPDX-License-Identifier: Apache-2.0
# Answers the initialize() calls the fake newrelic.agent saw before this script was imported, and
# whether the real (or any) package is importable at all.
import json

try:
    import newrelic.agent as agent
    AT_IMPORT = [list(call) for call in agent.CALLS]
    IMPORTABLE = True
except ImportError:
    AT_IMPORT = None
    IMPORTABLE = False


def application(environ, start_response):
    body = json.dumps({"importable": IMPORTABLE, "at_import": AT_IMPORT}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
