# SPDX-License-Identifier: Apache-2.0
# Answers 200 with "Location: ?to=" (a local path: httpd serves that URL instead, as for CGI) and
# a body the client must never see; ?status= picks another status.
from urllib.parse import parse_qs


def application(environ, start_response):
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    status = qs.get("status", ["200 OK"])[0]
    start_response(status, [("Content-Type", "text/plain"), ("Location", qs["to"][0])])
    return [b"body of the redirecting response"]
