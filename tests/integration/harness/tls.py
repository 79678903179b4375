# SPDX-License-Identifier: Apache-2.0
"""A self-signed certificate for 127.0.0.1, made once per test session with openssl, for the TLS
listener of servers that serve HTTP/2 over TLS (ServerConf(tls=True))."""

import os
import subprocess
from pathlib import Path
from typing import Optional, Tuple

# Bound on openssl making a key and certificate (an EC key takes milliseconds).
OPENSSL_TIMEOUT = 60.0

_made: Optional[Tuple[Path, Path]] = None


def certificate() -> Tuple[Path, Path]:
    """(certificate, key) in a directory of this pytest process; created on first use."""
    global _made
    if _made is not None and _made[0].exists() and _made[1].exists():
        return _made
    directory = Path(f"/tmp/wg-{os.getpid()}-tls")
    directory.mkdir(mode=0o700, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=OPENSSL_TIMEOUT)
    _made = (cert, key)
    return _made


def cleanup() -> None:
    """Removes the session's certificate directory."""
    if _made is not None:
        for p in _made:
            p.unlink(missing_ok=True)
        try:
            _made[0].parent.rmdir()
        except OSError:
            pass
