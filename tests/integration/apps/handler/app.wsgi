# SPDX-License-Identifier: Apache-2.0
# A WSGIHandlerScript: handle_request serves whatever file SetHandler gave it; `application`
# must not be called.
import json


def handle_request(environ, start_response):
    keys = ("SCRIPT_FILENAME", "SCRIPT_NAME", "PATH_INFO", "mod_wsgi.handler_script",
            "mod_wsgi.process_group", "mod_wsgi.callable_object", "REQUEST_METHOD")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def application(environ, start_response):
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
    return [b"application called instead of handle_request"]
