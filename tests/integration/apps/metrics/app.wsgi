# SPDX-License-Identifier: Apache-2.0
# For the metrics and signal tests: ?start calls mod_wsgi.start_recording_metrics(); ?process,
# ?request and ?server answer process_metrics(), request_metrics() and server_metrics(); ?signals
# answers what the subscribe_signals callback saw. Every answer is JSON with the daemon's pid.
import json
import os

import mod_wsgi

SIGNALS = []


@mod_wsgi.subscribe_signals
def on_signal(name, **event):
    SIGNALS.append([name, event["signal_number"], event["signal_name"]])


def application(environ, start_response):
    query = environ.get("QUERY_STRING", "")
    answer = {"pid": os.getpid()}
    if query == "start":
        mod_wsgi.start_recording_metrics()
        answer["metrics"] = mod_wsgi.process_metrics()
    elif query == "process":
        answer["metrics"] = mod_wsgi.process_metrics()
    elif query == "request":
        answer["metrics"] = mod_wsgi.request_metrics()
    elif query == "server":
        answer["metrics"] = mod_wsgi.server_metrics()
    elif query == "signals":
        answer["signals"] = list(SIGNALS)
    elif query == "timeout_class":
        answer["base"] = issubclass(mod_wsgi.RequestTimeout, BaseException)
        answer["exception"] = issubclass(mod_wsgi.RequestTimeout, Exception)
    body = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
