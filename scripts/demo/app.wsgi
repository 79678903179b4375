# SPDX-License-Identifier: Apache-2.0
# The demo application of scripts/demo.sh: one page showing what the app sees (environ
# highlights) and which daemon process served it. ?format=json answers the same as JSON.
import html
import json
import os
import pwd
import sys
import threading

_lock = threading.Lock()
_served = 0

HIGHLIGHTS = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
              "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", "REMOTE_ADDR", "HTTP_HOST",
              "HTTP_USER_AGENT", "wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess",
              "mod_wsgi.process_group", "mod_wsgi.application_group")


def application(environ, start_response):
    global _served
    with _lock:
        _served += 1
        served = _served
    facts = {
        "message": "Hello from mod_wsgid",
        "daemon_pid": os.getpid(),
        "daemon_parent_pid": os.getppid(),
        "daemon_user": pwd.getpwuid(os.getuid()).pw_name,
        "thread": threading.current_thread().name,
        "python": sys.version.split()[0],
        "requests_served_by_this_process": served,
        "environ": {k: repr(environ[k]) if not isinstance(environ[k], str) else environ[k]
                    for k in HIGHLIGHTS if k in environ},
    }
    if "format=json" in environ.get("QUERY_STRING", ""):
        body = json.dumps(facts, indent=2).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in facts["environ"].items())
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mod_wsgid demo</title>
<style>body{{font-family:sans-serif;margin:2em}}th{{text-align:left;padding-right:1em}}
td,th{{border-bottom:1px solid #ddd;padding:.2em}}</style></head>
<body><h1>{facts["message"]}</h1>
<p>Served by daemon process <b>{facts["daemon_pid"]}</b> (child of httpd {facts["daemon_parent_pid"]}),
running as <b>{html.escape(facts["daemon_user"])}</b>, Python {facts["python"]},
thread {html.escape(facts["thread"])}; request {served} of this process.</p>
<h2>What the application sees</h2><table>{rows}</table>
<p><a href="?format=json">as JSON</a></p></body></html>
"""
    body = page.encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
