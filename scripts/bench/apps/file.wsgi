# SPDX-License-Identifier: Apache-2.0
# Benchmark app "file": a 1 MiB file sent through wsgi.file_wrapper with its default block
# size, the way Django's FileResponse and most apps call it. bench.py writes data.bin beside
# this script before the servers start.

import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data.bin")


def application(environ, start_response):
    wrapper = environ["wsgi.file_wrapper"]
    f = open(DATA, "rb")
    size = os.fstat(f.fileno()).st_size
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))],
    )
    return wrapper(f)
