# SPDX-License-Identifier: Apache-2.0
"""A bounded client load for the lifecycle tests: a few threads send requests in turn (GETs and
POSTs with a body) until told to stop or until their own caps, and every answer is checked and
counted, so a test can say how many requests failed while daemons were recycled."""

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import List, Optional, Set

from harness import http

# Caps on one Load, whatever the test waits for: a broken server fails the test, never hangs it.
MAX_REQUESTS_PER_THREAD = 20000
MAX_SECONDS = 180.0


@dataclass
class Outcome:
    ok: bool
    method: str
    detail: str = ""
    pid: Optional[int] = None


class Load:
    """`threads` client threads against `path` (apps/recycle): even threads GET, odd threads POST
    a `body_size`-byte body and check its sha256 in the answer. `pause` seconds between a
    thread's requests."""

    def __init__(self, port: int, path: str, threads: int = 4, body_size: int = 64 * 1024,
                 pause: float = 0.0):
        self.port = port
        self.path = path
        self.body = os.urandom(body_size)
        self.sha = hashlib.sha256(self.body).hexdigest()
        self.pause = pause
        self.outcomes: List[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(threads)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _one(self, post: bool) -> Outcome:
        method = "POST" if post else "GET"
        try:
            if post:
                r = http.post(self.port, self.path, self.body)
            else:
                r = http.get(self.port, self.path)
        except Exception as e:  # a reset or a timeout is a failed request
            return Outcome(False, method, repr(e))
        if r.status != 200:
            return Outcome(False, method, f"{r.status} {r.body[-300:]!r}")
        try:
            info = json.loads(r.body)
        except ValueError:
            return Outcome(False, method, f"not JSON: {r.body[:200]!r}")
        if post and (info.get("sha256") != self.sha or info.get("length") != len(self.body)):
            return Outcome(False, method, f"body mangled: {info}")
        return Outcome(True, method, pid=info.get("pid"))

    def _run(self, index: int) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            outcome = self._one(post=index % 2 == 1)
            with self._lock:
                self.outcomes.append(outcome)
            if self.pause:
                self._stop.wait(self.pause)

    # ---- what happened -----------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def failures(self) -> List[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if not o.ok]

    def pids(self) -> Set[int]:
        with self._lock:
            return {o.pid for o in self.outcomes if o.pid is not None}

    def posts(self) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if o.ok and o.method == "POST")

    def summary(self) -> str:
        failures = self.failures()
        return (f"{len(failures)} of {self.count()} requests failed ({self.posts()} POSTs "
                f"answered): {[(f.method, f.detail[:160]) for f in failures[:5]]}")
