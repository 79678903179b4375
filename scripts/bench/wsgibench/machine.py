# SPDX-License-Identifier: Apache-2.0
"""What the report records about how it was run: the machine, the versions of everything
measured, and a snapshot of the mod_wsgid build (copied, so a `make` meanwhile cannot change it)."""

import datetime
import hashlib
import os
import platform
import shutil
import subprocess

from .targets import APACHE2


def commandOutput(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def packageVersion(name):
    v = commandOutput(["dpkg-query", "-W", "-f=${Version}", name])
    return v if v and "no packages found" not in v else None


def firstLine(text):
    return (text or "").splitlines()[0] if text else None


def machineInfo(repo):
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "os": commandOutput(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "apache2": firstLine(commandOutput([APACHE2, "-v"])),
        "python": firstLine(commandOutput(["/usr/bin/python3", "--version"])),
        "packages": {p: packageVersion(p) for p in (
            "apache2", "libapache2-mod-wsgi-py3", "uwsgi-core", "uwsgi-plugin-python3",
            "gunicorn", "python3-flask", "python3-django", "wrk")},
        "mod_wsgid_commit": commandOutput(["git", "-C", repo, "rev-parse", "--short", "HEAD"]),
        "mod_wsgid_tree_dirty": bool(commandOutput(
            ["git", "-C", repo, "status", "--porcelain", "--", "src"])),
    }


class Build:
    """A mod_wsgid build tree: its module and daemon, and after snapshot() the copies measured."""

    def __init__(self, buildDir):
        self.dir = buildDir
        self.module = os.path.join(buildDir, ".libs", "mod_wsgid.so")
        self.daemon = os.path.join(buildDir, "wsgid-daemon")

    def snapshot(self, workDir, name):
        """Copies the module and daemon into workDir/<name>/, so a `make` running meanwhile cannot
        swap or truncate them mid-benchmark, and uses the copies from then on. Returns the
        description for the report."""
        binDir = os.path.join(workDir, name)
        os.makedirs(binDir)
        os.chmod(binDir, 0o755)
        info = {}
        copies = []
        for src in (self.module, self.daemon):
            dst = os.path.join(binDir, os.path.basename(src))
            shutil.copy2(src, dst)
            os.chmod(dst, 0o755)
            with open(dst, "rb") as f:
                digest = hashlib.sha1(f.read()).hexdigest()
            mtime = datetime.datetime.fromtimestamp(os.path.getmtime(src)).isoformat(
                timespec="seconds")
            info[os.path.basename(src)] = {"from": src, "mtime": mtime, "sha1": digest}
            copies.append(dst)
        info["flags"] = buildFlags(self.dir)
        self.module, self.daemon = copies
        return info


def buildFlags(buildDir):
    """CXXFLAGS and sanitizer setting of the build tree's Makefile: an -O0 or sanitizer build
    would make mod_wsgid look slower than it is."""
    flags = {}
    try:
        with open(os.path.join(buildDir, "Makefile")) as f:
            for line in f:
                for key in ("CXXFLAGS", "SANITIZERS"):
                    if line.startswith(key + " ="):
                        flags[key] = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return flags
