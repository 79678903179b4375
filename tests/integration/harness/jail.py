# SPDX-License-Identifier: Apache-2.0
"""A minimal chroot= jail for the daemons: the system Python's standard library under
usr/lib/python3.X (hard links when the jail is on the same filesystem, else a copy), and
whatever files a test adds. Never bind mounts: a jail left mounted after a failed test would let
the harness's rmtree of its temp dir delete the real standard library."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

# The daemons embed the same Python as /usr/bin/python3 (configure's choice on this machine).
STDLIB = Path(f"/usr/lib/python{sys.version_info.major}.{sys.version_info.minor}")

# Bound on linking or copying the standard library (about 50 MB, 2000 files).
COPY_TIMEOUT = 300


def unavailable() -> Optional[str]:
    """Why no jail can be made here, or None."""
    if os.geteuid() != 0:
        return "chroot= needs apache2 started as root; the suite runs unprivileged"
    if not (STDLIB / "os.py").is_file():
        return f"no Python standard library at {STDLIB} to put in the jail"
    return None


def make(root: Path) -> Path:
    """Creates the jail `root` (owned by root, mode 0755, as configtest requires) with the
    standard library in it; returns it."""
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    lib = root / "usr" / "lib"
    lib.mkdir(parents=True)
    for d in (root / "usr", lib):
        os.chmod(d, 0o755)
    target = lib / STDLIB.name
    same_fs = os.stat(STDLIB).st_dev == os.stat(root).st_dev
    # cp -al: hard links; the daemon's user cannot write them (root's, mode 0644).
    subprocess.run(["cp", "-al" if same_fs else "-a", str(STDLIB), str(target)],
                   check=True, capture_output=True, timeout=COPY_TIMEOUT)
    (root / "etc").mkdir(mode=0o755)
    os.chmod(root / "etc", 0o755)
    return root


def remove(root: Path) -> None:
    """Removes a jail made by make() (links only; nothing outside it is touched)."""
    shutil.rmtree(root, ignore_errors=True)
