# SPDX-License-Identifier: Apache-2.0
# Answers how Python is set up in this daemon (WSGIPythonOptimize, WSGIDontWriteBytecode,
# WSGIPythonWarnings, WSGIPythonHashSeed) and what sys.stdin, print() and signal.signal() do
# (WSGIRestrictStdin, WSGIRestrictStdout, WSGIRestrictSignal), plus this module's __name__ and
# sys.path.
import json
import signal
import sys


def outcome(fn):
    try:
        return "ok: %r" % (fn(),)
    except Exception as e:  # what the restriction (or its absence) does is the answer
        return "%s: %s" % (type(e).__name__, e)


def application(environ, start_response):
    body = json.dumps({
        "optimize": sys.flags.optimize,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "warnoptions": sys.warnoptions,
        "hash": hash("wsgid"),
        "switch_interval": sys.getswitchinterval(),
        "stdin": outcome(lambda: sys.stdin.read()),
        "print": outcome(lambda: print("pyruntime app prints")),
        "signal": outcome(lambda: signal.signal(signal.SIGUSR2, signal.SIG_IGN)),
        "module": __name__,
        "path": sys.path,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
