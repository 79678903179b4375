# SPDX-License-Identifier: Apache-2.0
# Answers where it ran, as JSON: daemon group, interpreter, callable and pid. Two callables:
# `application` (the default) and `custom` (picked by a dispatch script's callable_object()).
import json
import os


def _answer(environ, start_response, name):
    body = json.dumps({
        "callable": name,
        "pid": os.getpid(),
        "process_group": environ["mod_wsgi.process_group"],
        "application_group": environ["mod_wsgi.application_group"],
        "callable_object": environ["mod_wsgi.callable_object"],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    return _answer(environ, start_response, "application")


def custom(environ, start_response):
    return _answer(environ, start_response, "custom")
