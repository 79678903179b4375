# SPDX-License-Identifier: Apache-2.0
# start_response rules (PEP 3333), by ?case=:
#   twice: a second call without exc_info must raise (the app lets it propagate: 500);
#   twice-caught: the app reports whether the second call raised, then answers 200;
#   exc-info-before-body: an error page replaces the first status before anything was sent;
#   exc-info-after-body: exc_info after the headers went out must re-raise (connection aborted).
import sys
from urllib.parse import parse_qs


def application(environ, start_response):
    case = parse_qs(environ.get("QUERY_STRING", ""))["case"][0]
    if case == "twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"second call accepted"]
    if case == "twice-caught":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            start_response("201 Created", [("Content-Type", "text/plain")])
        except Exception as e:  # the expected outcome
            return [("raised %s" % type(e).__name__).encode()]
        return [b"did not raise"]
    if case == "exc-info-before-body":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-First", "1")])
        try:
            raise KeyError("replaced")
        except KeyError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"),
                                                       ("X-Error-Page", "1")], sys.exc_info())
        return [b"error page"]
    if case == "exc-info-after-body":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"partial body;" * 100
            try:
                raise KeyError("too late")
            except KeyError:
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                               sys.exc_info())
            yield b"not reached"

        return body()
    raise ValueError(case)
