# SPDX-License-Identifier: Apache-2.0
# Answers with one header X-Long whose name and value together are ?len= bytes long, and a short
# body.


def application(environ, start_response):
    from urllib.parse import parse_qs

    length = int(parse_qs(environ.get("QUERY_STRING", ""))["len"][0])
    name = "X-Long"
    start_response("200 OK", [("Content-Type", "text/plain"), (name, "v" * (length - len(name)))])
    return [b"long header sent\n"]
