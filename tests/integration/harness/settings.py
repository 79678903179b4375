# SPDX-License-Identifier: Apache-2.0
"""Reads tests/integration/config.ini, which ./configure generates: where httpd, the modules, the
built module and daemon are. Nothing here hard-codes a path of this machine."""

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

INTEGRATION_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    httpd: str
    modules_dir: str
    builddir: str
    srcdir: str
    module: str
    daemon: str
    python: str
    sanitizers: str

    @property
    def sanitized(self) -> bool:
        return self.sanitizers not in ("", "no")


def config_ini_path() -> Path:
    """The generated config.ini: in WSGID_BUILDDIR when set (make check-integration), else the
    one beside this package (in-tree builds)."""
    builddir = os.environ.get("WSGID_BUILDDIR")
    if builddir:
        return Path(builddir) / "tests" / "integration" / "config.ini"
    return INTEGRATION_DIR / "config.ini"


def load() -> Settings:
    path = config_ini_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run ./configure first (it generates it)")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    g = parser["global"]
    return Settings(
        httpd=g["httpd"],
        modules_dir=g["modules_dir"],
        builddir=g["builddir"],
        srcdir=g["srcdir"],
        module=g["module"],
        daemon=g["daemon"],
        python=g["python"],
        sanitizers=g.get("sanitizers", "no").strip(),
    )
