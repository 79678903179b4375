# SPDX-License-Identifier: Apache-2.0
# An iterable whose close() writes a marker file ?marker= (in the state dir). ?mode=
#   normal: 3 blocks; raise: raises after the first block; slow: up to ?n= blocks, ?delay= apart
#   (the client goes away meanwhile).
import os
import time
from urllib.parse import parse_qs


class Result:
    def __init__(self, mode, marker, n, delay):
        self.mode, self.marker, self.n, self.delay = mode, marker, n, delay
        self.sent = 0

    def __iter__(self):
        if self.mode == "normal":
            for i in range(3):
                self.sent += 1
                yield b"block-%d;" % i
        elif self.mode == "raise":
            self.sent += 1
            yield b"first block;" * 100
            raise RuntimeError("close-test: raised after the first block")
        elif self.mode == "slow":
            for i in range(self.n):
                self.sent += 1
                yield b"x" * 8192
                time.sleep(self.delay)

    def close(self):
        tmp = self.marker + ".tmp"
        with open(tmp, "w") as f:
            f.write("closed after %d blocks" % self.sent)
        os.rename(tmp, self.marker)


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    mode = q.get("mode", ["normal"])[0]
    marker = q["marker"][0]
    n = int(q.get("n", ["200"])[0])
    delay = float(q.get("delay", ["0.05"])[0])
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return Result(mode, marker, n, delay)
