# SPDX-License-Identifier: Apache-2.0
"""Small helpers shared by the tests: deterministic data, bounded waits for files, running
requests from several threads."""

import concurrent.futures
import hashlib
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List, Sequence, TypeVar

T = TypeVar("T")

# Bound on waiting for a marker file an app writes (close() markers, arrivals).
FILE_WAIT_TIMEOUT = 30.0


def pattern(n: int) -> bytes:
    """The same deterministic bytes as apps/big/app.wsgi makes."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d" % counter).digest()
        counter += 1
    return bytes(out[:n])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(condition: Callable[[], bool], timeout: float = FILE_WAIT_TIMEOUT,
             what: str = "condition") -> None:
    """Waits until `condition()` is true; AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        time.sleep(0.02)


def wait_for_file(path, timeout: float = FILE_WAIT_TIMEOUT) -> str:
    """Waits until `path` exists; returns its text. AssertionError at the deadline."""
    path = Path(path)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{path} did not appear within {timeout}s")
        time.sleep(0.02)
    return path.read_text()


def wait_for_files(paths: Sequence, timeout: float = FILE_WAIT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        missing = [str(p) for p in paths if not Path(p).exists()]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"files did not appear within {timeout}s: {missing}")
        time.sleep(0.02)


def write_shared_file(path, data: bytes) -> Path:
    """Writes a file daemons (running as another user) can read."""
    path = Path(path)
    path.write_bytes(data)
    os.chmod(path, 0o644)
    return path


def write_script(path, text: str) -> Path:
    """Writes a WSGI script (and its directory) that daemons, running as another user, can read;
    for tests that rewrite a script while the server runs."""
    path = Path(path)
    path.parent.mkdir(exist_ok=True)
    os.chmod(path.parent, 0o755)
    path.write_text(text)
    os.chmod(path, 0o644)
    return path


def parallel(fn: Callable[..., T], args: Sequence[tuple], workers: int) -> List[T]:
    """Runs fn(*a) for each a on `workers` threads; results in order; re-raises the first error."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn, *a) for a in args]
        return [f.result(timeout=120) for f in futures]


def rendezvous_dir(server) -> Path:
    """A fresh directory for apps/rendezvous (arrival files, the release file), writable by
    daemons running as another user."""
    d = server.state / f"rv-{uuid.uuid4().hex}"
    d.mkdir()
    os.chmod(d, 0o1777)
    return d


class Background:
    """Runs one request on a thread; result() waits for it (bounded)."""

    def __init__(self, fn, *args, **kwargs):
        self.value = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self.thread.start()

    def _run(self, fn, args, kwargs):
        try:
            self.value = fn(*args, **kwargs)
        except BaseException as e:  # reported by result()
            self.error = e

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self, timeout=60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background request did not finish"
        if self.error:
            raise self.error
        return self.value
