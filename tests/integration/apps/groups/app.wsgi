# SPDX-License-Identifier: Apache-2.0
# Answers which daemon group and application group serve it (for scope tests).
import json
import os


def application(environ, start_response):
    body = json.dumps({"process_group": environ.get("mod_wsgi.process_group"),
                       "application_group": environ.get("mod_wsgi.application_group"),
                       "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
