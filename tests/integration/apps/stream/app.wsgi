# SPDX-License-Identifier: Apache-2.0
# Streams ?n= blocks of ?size= bytes through the iterable kind named by ?kind=
# (generator, list, tuple, class, empty-between); ?cl=1 also sends Content-Length.
from urllib.parse import parse_qs


def block(i, size):
    return (b"%08d" % i * (size // 8 + 1))[:size]


class Blocks:
    def __init__(self, n, size):
        self.n, self.size, self.i = n, size, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.i >= self.n:
            raise StopIteration
        self.i += 1
        return block(self.i - 1, self.size)


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    n = int(q.get("n", ["10"])[0])
    size = int(q.get("size", ["16"])[0])
    kind = q.get("kind", ["generator"])[0]
    headers = [("Content-Type", "application/octet-stream")]
    if q.get("cl", ["0"])[0] == "1":
        headers.append(("Content-Length", str(n * size)))
    start_response("200 OK", headers)
    if kind == "generator":
        return (block(i, size) for i in range(n))
    if kind == "list":
        return [block(i, size) for i in range(n)]
    if kind == "tuple":
        return tuple(block(i, size) for i in range(n))
    if kind == "class":
        return Blocks(n, size)
    if kind == "empty-between":
        return (b for i in range(n) for b in (b"", block(i, size), b""))
    if kind == "single":
        return [b"".join(block(i, size) for i in range(n))]
    raise ValueError(kind)
