# SPDX-License-Identifier: Apache-2.0
# Writes <root>/state/preloaded-<pid>-<interpreter> when it is loaded, so a test can see it was
# loaded at daemon start (WSGIImportScript, WSGIScriptAlias with both groups) before any request.
import os
import sys

_STATE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "state")
_GROUP = getattr(sys.modules.get("mod_wsgi"), "application_group", "?") or "GLOBAL"
with open(os.path.join(_STATE, "preloaded-%d-%s" % (os.getpid(), _GROUP)), "w") as _f:
    _f.write("loaded")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"preload app"]
