# SPDX-License-Identifier: Apache-2.0
# Two callables: `application` (the default name) and `custom` (picked by WSGICallableObject or
# callable-object=).


def _answer(start_response, name):
    body = name.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    return _answer(start_response, "application")


def custom(environ, start_response):
    return _answer(start_response, "custom")
