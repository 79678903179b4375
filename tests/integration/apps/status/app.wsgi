# SPDX-License-Identifier: Apache-2.0
# Answers the status line ?s= (e.g. "404 Not Found") with a small body unless it is 204/304.
from urllib.parse import parse_qs


def application(environ, start_response):
    status = parse_qs(environ.get("QUERY_STRING", "")).get("s", ["200 OK"])[0]
    start_response(status, [("Content-Type", "text/plain"), ("X-Status-App", "1")])
    if status[:3] in ("204", "304"):
        return []
    return [b"status " + status.encode("latin-1")]
