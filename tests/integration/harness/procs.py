# SPDX-License-Identifier: Apache-2.0
"""Process facts from /proc: children of the httpd parent, their state, executable, argv, ids and
open descriptors. Read-only: the harness signals processes only by the pids it learns here."""

import os
import time
from dataclasses import dataclass
from typing import Dict, List, Optional


@dataclass
class Proc:
    pid: int
    ppid: int
    state: str  # one letter: R, S, D, Z, T, ...
    exe: str  # realpath of /proc/<pid>/exe ("" if unreadable or gone)
    argv: List[str]

    @property
    def zombie(self) -> bool:
        return self.state == "Z"


def _stat(pid: int):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read().decode("latin-1")
    # comm may contain spaces and parentheses: the state follows the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1])


def info(pid: int) -> Optional[Proc]:
    try:
        state, ppid = _stat(pid)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    try:
        exe = os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        exe = ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        argv = []
    return Proc(pid=pid, ppid=ppid, state=state, exe=exe, argv=argv)


def comm(pid: int) -> str:
    """The process name (/proc/<pid>/comm), "" when gone."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().decode("latin-1").strip()
    except OSError:
        return ""


def children(ppid: int) -> List[Proc]:
    """Direct children of `ppid` (by scanning /proc, which works on every kernel)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            _, parent = _stat(pid)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        if parent == ppid:
            p = info(pid)
            if p is not None and p.ppid == ppid:
                out.append(p)
    return sorted(out, key=lambda p: p.pid)


def alive(pid: int) -> bool:
    """True while the pid exists and is not a zombie."""
    p = info(pid)
    return p is not None and not p.zombie


def wait_gone(pids, timeout: float) -> List[int]:
    """Waits until none of `pids` is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def ids(pid: int) -> Dict[str, List[int]]:
    """Uid/Gid lines (real, effective, saved, fs) and supplementary Groups of a process."""
    out: Dict[str, List[int]] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
    return out


def fd_kinds(pid: int) -> Dict[str, int]:
    """Open descriptors of a process by kind: socket, pipe, file, anon, other."""
    kinds = {"socket": 0, "pipe": 0, "file": 0, "anon": 0, "other": 0}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return kinds
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:"):
            kinds["socket"] += 1
        elif target.startswith("pipe:"):
            kinds["pipe"] += 1
        elif target.startswith("anon_inode:"):
            kinds["anon"] += 1
        elif target.startswith("/"):
            kinds["file"] += 1
        else:
            kinds["other"] += 1
    return kinds


def fd_targets(pid: int) -> Dict[int, str]:
    """fd number -> what it refers to ("socket:[123]", "pipe:[45]", a path, ...)."""
    out = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for name in names:
        try:
            out[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
    return dict(sorted(out.items()))

