# SPDX-License-Identifier: Apache-2.0
# Answers the WSGI environ as JSON: str values as they are, the wsgi.* objects described.
import json


def describe(value):
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, tuple):
        return list(value)
    return "<%s>" % type(value).__name__


def application(environ, start_response):
    out = {key: describe(value) for key, value in environ.items()}
    out["wsgi.input.has_read"] = hasattr(environ.get("wsgi.input"), "read")
    out["wsgi.errors.has_write"] = hasattr(environ.get("wsgi.errors"), "write")
    out["wsgi.file_wrapper.callable"] = callable(environ.get("wsgi.file_wrapper"))
    out["_types"] = {key: type(value).__name__ for key, value in environ.items()}
    body = json.dumps(out, sort_keys=True).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
