# SPDX-License-Identifier: Apache-2.0
# Answers the REQUEST_METHOD it saw, in a header (HEAD responses have no body) and the body.
def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    body = ("method " + method).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Method", method),
                              ("Content-Length", str(len(body)))])
    return [body]
