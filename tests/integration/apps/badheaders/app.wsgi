# SPDX-License-Identifier: Apache-2.0
# Calls start_response with the invalid status or header named by ?case=. A correct server
# answers 500 and sends none of it (in particular no X-Injected header).
from urllib.parse import parse_qs

CASES = {
    "status-crlf": ("200 OK\r\nX-Injected: 1", []),
    "status-lf": ("200 OK\nX-Injected: 1", []),
    "status-bytes": (b"200 OK", []),
    "status-not-a-code": ("abc OK", []),
    "status-interim": ("103 Early Hints", []),
    "value-crlf": ("200 OK", [("X-Test", "a\r\nX-Injected: 1")]),
    "value-lf": ("200 OK", [("X-Test", "a\nX-Injected: 1")]),
    "value-cr": ("200 OK", [("X-Test", "a\rX-Injected: 1")]),
    "value-nul": ("200 OK", [("X-Test", "a\0X-Injected: 1")]),
    "name-crlf": ("200 OK", [("X-Injected: 1\r\nX-Test", "a")]),
    "name-colon": ("200 OK", [("X-Injected: 1", "a")]),
    "name-space": ("200 OK", [("X Injected", "a")]),
    "name-empty": ("200 OK", [("", "a")]),
    "value-int": ("200 OK", [("X-Injected", 1)]),
    "name-bytes": ("200 OK", [(b"X-Injected", "1")]),
    "value-bytes": ("200 OK", [("X-Injected", b"1")]),
    "value-non-latin1": ("200 OK", [("X-Injected", "\u20ac")]),
    "headers-not-list": ("200 OK", "X-Injected: 1"),
    "header-not-tuple": ("200 OK", [["X-Injected", "1", "2"]]),
}


def application(environ, start_response):
    case = parse_qs(environ.get("QUERY_STRING", ""))["case"][0]
    status, headers = CASES[case]
    start_response(status, headers)
    return [b"X-Injected: body of an invalid response\n"]
