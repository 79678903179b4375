# SPDX-License-Identifier: Apache-2.0
# Answers facts about the daemon process that runs it: pid, ids, cwd, environment, sys.path.
import json
import os
import sys
import threading


def application(environ, start_response):
    info = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "gid": os.getgid(),
        "egid": os.getegid(),
        "groups": sorted(os.getgroups()),
        "cwd": os.getcwd(),
        "umask": (lambda m: (os.umask(m), m)[1])(os.umask(0)),
        "env": {k: os.environ.get(k) for k in ("LANG", "LC_ALL", "HOME", "USER", "LOGNAME",
                                               "PYTHONPATH", "PYTHONHOME")},
        "sys_path": sys.path,
        "sys_prefix": sys.prefix,
        "executable": sys.executable,
        "version": list(sys.version_info[:3]),
        "thread": threading.get_ident(),
        "main_thread": threading.current_thread() is threading.main_thread(),
        "name": __name__,
        "process_group": environ.get("mod_wsgi.process_group"),
        "application_group": environ.get("mod_wsgi.application_group"),
    }
    body = json.dumps(info).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
