# SPDX-License-Identifier: Apache-2.0
# Returns wsgi.file_wrapper over the file ?path=, from offset ?offset=, with ?cl= as
# Content-Length when given. ?kind=file (a real file, close() writes ?marker=), bytesio (no
# fileno: the wrapper must fall back to reading blocks).
import io
import os
from urllib.parse import parse_qs


class MarkedFile(io.FileIO):
    marker = None

    def close(self):
        if self.marker and not self.closed:
            with open(self.marker, "w") as f:
                f.write("closed")
        super().close()


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    path = q["path"][0]
    kind = q.get("kind", ["file"])[0]
    offset = int(q.get("offset", ["0"])[0])
    headers = [("Content-Type", "application/octet-stream")]
    if "cl" in q:
        headers.append(("Content-Length", q["cl"][0]))
    if kind == "file":
        f = MarkedFile(path, "rb")
        f.marker = q.get("marker", [None])[0]
    elif kind == "bytesio":
        with open(path, "rb") as src:
            f = io.BytesIO(src.read())
    else:
        raise ValueError(kind)
    if offset:
        f.seek(offset)
    start_response("200 OK", headers)
    blksize = int(q.get("blksize", ["8192"])[0])
    return environ["wsgi.file_wrapper"](f, blksize)
