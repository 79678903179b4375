# SPDX-License-Identifier: Apache-2.0
# wsgi.file_wrapper over the file ?path=, counting the reads its file object serves once the app
# returned: 0 means the daemon passed the descriptor, more means it streamed the bytes. On close()
# it writes "closed reads=N" to ?marker=. ?kind=file (a raw file), buffered (a buffered reader
# that first read ?skip= bytes, so its descriptor's offset is past tell()), pipe (the file's bytes
# through a pipe), bytesio (no fileno). ?offset= seeks first, ?cl= sets Content-Length, ?status=
# the status.
import io
import os
import threading
from urllib.parse import parse_qs


class Counting(io.FileIO):
    """A raw file that counts read() and readinto() calls after `returned` is set."""
    returned = False
    reads = 0
    marker = None

    def read(self, size=-1):
        if self.returned:
            self.reads += 1
        return super().read(size)

    def readinto(self, buf):
        if self.returned:
            self.reads += 1
        return super().readinto(buf)

    def close(self):
        if self.marker and not self.closed:
            with open(self.marker, "w") as f:
                f.write(f"closed reads={self.reads}")
        super().close()


def pipe_of(path):
    """The bytes of `path` through a pipe, written by a thread: a file object with a fileno()
    that is no regular file."""
    r, w = os.pipe()

    def feed():
        with open(path, "rb") as src, os.fdopen(w, "wb") as dst:
            while True:
                block = src.read(65536)
                if not block:
                    break
                dst.write(block)

    threading.Thread(target=feed, daemon=True).start()
    return Counting(r, "rb")


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    arg = lambda name, default=None: q.get(name, [default])[0]  # noqa: E731
    path = arg("path")
    kind = arg("kind", "file")
    raw = None
    if kind == "file":
        f = raw = Counting(path, "rb")
    elif kind == "buffered":
        raw = Counting(path, "rb")
        f = io.BufferedReader(raw)
        f.read(int(arg("skip", "0")))
    elif kind == "pipe":
        f = raw = pipe_of(path)
    elif kind == "bytesio":
        with open(path, "rb") as src:
            f = io.BytesIO(src.read())
    else:
        raise ValueError(kind)
    if raw is not None:
        raw.marker = arg("marker")
    if arg("offset"):
        f.seek(int(arg("offset")))
    headers = [("Content-Type", "application/octet-stream")]
    if arg("cl") is not None:
        headers.append(("Content-Length", arg("cl")))
    start_response(arg("status", "200 OK"), headers)
    if raw is not None:
        raw.returned = True
    return environ["wsgi.file_wrapper"](f, 8192)
