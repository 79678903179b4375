# SPDX-License-Identifier: Apache-2.0
# Writes ?text= to wsgi.errors (write, writelines, flush) and prints ?print= to sys.stdout and
# sys.stderr: all of it must reach the httpd error log.
import sys
from urllib.parse import parse_qs


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    errors = environ["wsgi.errors"]
    if "text" in q:
        errors.write(q["text"][0] + "\n")
        errors.writelines([q["text"][0] + "-lines\n"])
        errors.flush()
    if "print" in q:
        print(q["print"][0] + "-stdout")
        sys.stdout.flush()
        print(q["print"][0] + "-stderr", file=sys.stderr)
        sys.stderr.flush()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"logged"]
