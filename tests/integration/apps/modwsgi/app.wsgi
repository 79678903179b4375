# SPDX-License-Identifier: Apache-2.0
# Uses the `mod_wsgi` module apps import: answers its attributes, request_data(),
# active_requests and the events its subscribers saw; ?wrap=1 has the request_started
# subscriber wrap the app; the shutdown subscriber writes MARKER_DIR/stopping-<pid>.
import json
import os

import mod_wsgi

EVENTS = []
MARKER_DIR = []


@mod_wsgi.subscribe_events
def record(name, **event):
    EVENTS.append([name, sorted(event)])
    if name == "request_started":
        event["request_data"]["seen_by_subscriber"] = True
        environ = event["request_environ"]
        if "wrap=1" in environ.get("QUERY_STRING", ""):
            inner = event["application_object"]

            def wrapped(environ, start_response):
                return [b"wrapped:"] + list(inner(environ, start_response))

            return {"application_object": wrapped}
    return None


@mod_wsgi.subscribe_shutdown
def stopping(name, **event):
    if MARKER_DIR:
        path = os.path.join(MARKER_DIR[0], "stopping-%d" % os.getpid())
        with open(path, "w") as f:
            f.write("%s %s" % (name, event.get("shutdown_reason")))


def application(environ, start_response):
    if not MARKER_DIR and environ.get("MARKER_DIR"):
        MARKER_DIR.append(environ["MARKER_DIR"])
    data = mod_wsgi.request_data()
    data["app"] = "was here"
    body = json.dumps({
        "pid": os.getpid(),
        "version": list(mod_wsgi.version),
        "process_group": mod_wsgi.process_group,
        "application_group": mod_wsgi.application_group,
        "maximum_processes": mod_wsgi.maximum_processes,
        "threads_per_process": mod_wsgi.threads_per_process,
        "file_wrapper_is_environs": mod_wsgi.FileWrapper is environ["wsgi.file_wrapper"],
        "request_data": dict(data),
        "active": environ["mod_wsgi.request_id"] in mod_wsgi.active_requests,
        "events": EVENTS[-8:],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
