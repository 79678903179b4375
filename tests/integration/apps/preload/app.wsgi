# SPDX-License-Identifier: Apache-2.0
# Writes <root>/state/preloaded-<pid>-<interpreter> when it is loaded, so a test can see it was
# loaded at daemon start (WSGIImportScript, WSGIScriptAlias with both groups) before any request.
import os
import sys

_STATE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "state")
_GROUP = getattr(sys.modules.get("mod_wsgi"), "application_group", "?") or "GLOBAL"
# Written under another name and renamed, so a test never reads the file before its text is in.
_MARKER = os.path.join(_STATE, "preloaded-%d-%s" % (os.getpid(), _GROUP))
with open(_MARKER + ".tmp", "w") as _f:
    _f.write("loaded")
os.rename(_MARKER + ".tmp", _MARKER)


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"preload app"]
