# SPDX-License-Identifier: Apache-2.0
# Counts requests in a module global and in the shared module wg_shared_state (python-path):
# two mounts in different application groups must not see each other's counts.
import json
import os
import sys

import wg_shared_state

_local = 0


def application(environ, start_response):
    global _local
    _local += 1
    body = json.dumps({
        "script": "b",
        "local": _local,
        "shared": wg_shared_state.bump(),
        "pid": os.getpid(),
        "sys_modules_id": id(sys.modules),
        "application_group": environ.get("mod_wsgi.application_group"),
        "process_group": environ.get("mod_wsgi.process_group"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
