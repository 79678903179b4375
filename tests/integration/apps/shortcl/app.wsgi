# SPDX-License-Identifier: Apache-2.0
# Announces Content-Length ?cl= but sends only ?send= bytes (?how=list|generator).
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    cl = int(q.get("cl", ["1000"])[0])
    send = int(q.get("send", ["10"])[0])
    how = q.get("how", ["list"])[0]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(cl))])
    data = b"s" * send
    if how == "list":
        return [data]
    return (data[i:i + 3] for i in range(0, len(data), 3))
