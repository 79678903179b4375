# SPDX-License-Identifier: Apache-2.0
# Tries to destroy the shared error log through the daemon's stdout and stderr: ftruncate both,
# seek fd 2 to the start and write, reopen /proc/self/fd/2 with O_TRUNC. Answers what each step
# got as JSON: "ok" or the errno name.
import errno
import json
import os
import stat

# Shaped like an httpd error-log record (at info), so the harness reads it as one.
LINE = b"[Wed Dec 02 00:00:00.000000 2026] [logtamper:info] [pid 1] OVERWRITTEN\n"


def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def reopen_truncating():
    fd = os.open("/proc/self/fd/2", os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, LINE)
    finally:
        os.close(fd)


def application(environ, start_response):
    out = {
        "fd1_is_fifo": stat.S_ISFIFO(os.fstat(1).st_mode),
        "fd2_is_fifo": stat.S_ISFIFO(os.fstat(2).st_mode),
        "ftruncate2": attempt(lambda: os.ftruncate(2, 0)),
        "ftruncate1": attempt(lambda: os.ftruncate(1, 0)),
        "lseek2": attempt(lambda: os.lseek(2, 0, os.SEEK_SET)),
        "write2": attempt(lambda: os.write(2, LINE)),
        "reopen_trunc": attempt(reopen_truncating),
    }
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
