# SPDX-License-Identifier: Apache-2.0
# A WSGIDispatchScript: the first PATH_INFO segment says which of its functions overrides the
# request's routing and with what ("/pg/tenant-a", "/ag/named", "/co/custom"); "/none" leaves
# it alone, "/raise" raises, "/int" answers an int, "/probe" reports (as the application group it
# picks) what the dispatch functions saw and where they ran.
import os

import mod_wsgi


def _parts(environ):
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    return parts[0], (parts[1] if len(parts) > 1 else "")


def process_group(environ):
    kind, value = _parts(environ)
    if kind == "raise":
        raise RuntimeError("dispatch script failure")
    if kind == "int":
        return 42
    if kind == "pg":
        return {"global": "%{GLOBAL}", "empty": ""}.get(value, value)
    return None


def application_group(environ):
    kind, value = _parts(environ)
    if kind == "ag":
        return {"global": "%{GLOBAL}", "env": "%{ENV:DISPATCH_GROUP}"}.get(value, value)
    if kind == "probe":
        return "probe;%s;%s;%s;%s;%d" % (
            environ["mod_wsgi.process_group"], environ["mod_wsgi.application_group"],
            environ["mod_wsgi.callable_object"], mod_wsgi.application_group, os.getpid())
    return None


def callable_object(environ):
    kind, value = _parts(environ)
    if kind == "co":
        return value
    return None
