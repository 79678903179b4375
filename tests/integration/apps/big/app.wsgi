# SPDX-License-Identifier: Apache-2.0
# A deterministic response of ?bytes= bytes (default 1 MiB), as one block or ?block= sized ones,
# with or without Content-Length (?cl=1). The bytes are the same as harness pattern() makes.
import hashlib
from urllib.parse import parse_qs


def pattern(n):
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d" % counter).digest()
        counter += 1
    return bytes(out[:n])


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    n = int(q.get("bytes", [str(1 << 20)])[0])
    blk = int(q.get("block", ["0"])[0])
    data = pattern(n)
    headers = [("Content-Type", "application/octet-stream"),
               ("X-Sha256", hashlib.sha256(data).hexdigest())]
    if q.get("cl", ["1"])[0] == "1":
        headers.append(("Content-Length", str(n)))
    start_response("200 OK", headers)
    if blk <= 0:
        return [data]
    return (data[i:i + blk] for i in range(0, n, blk))
