# SPDX-License-Identifier: Apache-2.0
# Sends several Set-Cookie headers and a repeated custom header; each must arrive separately.
def application(environ, start_response):
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2; Path=/; HttpOnly"),
        ("Set-Cookie", "c=3"),
        ("X-Repeat", "one"),
        ("X-Repeat", "two"),
    ])
    return [b"cookies"]
