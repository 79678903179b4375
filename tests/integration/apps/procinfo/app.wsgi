# SPDX-License-Identifier: Apache-2.0
# Answers facts about the daemon process that runs it: pid, ids, cwd, environment, sys.path,
# CPU priority, and the stack size of the request thread and of a thread the app starts.
import ctypes
import json
import os
import sys
import threading


def stack_size():
    """Bytes of the calling thread's stack (glibc's pthread_getattr_np)."""
    libc = ctypes.CDLL(None)
    libc.pthread_self.restype = ctypes.c_ulong
    libc.pthread_getattr_np.argtypes = (ctypes.c_ulong, ctypes.c_void_p)
    attr = ctypes.create_string_buffer(256)  # pthread_attr_t is 56 bytes on x86_64
    if libc.pthread_getattr_np(libc.pthread_self(), attr) != 0:
        return None
    size = ctypes.c_size_t()
    libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
    libc.pthread_attr_destroy(attr)
    return size.value


def app_thread_stack_size():
    result = []
    t = threading.Thread(target=lambda: result.append(stack_size()))
    t.start()
    t.join()
    return result[0]


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
                                               "PYTHONPATH", "PYTHONHOME",
                                               "PYTHON_EGG_CACHE")},
        "priority": os.getpriority(os.PRIO_PROCESS, 0),
        "stack_size": stack_size(),
        "app_thread_stack_size": app_thread_stack_size(),
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
