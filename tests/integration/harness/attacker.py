#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile local process for the 7xx security tests: it knows docs/protocol.md, the path of a
daemon group's socket and the httpd parent's pid, and tries to get a script run in that group.
Run as the Apache user (the tests start it so). Prints one JSON object: the frame types the daemon
sent, the Error messages, and whether the daemon closed the connection. Stdlib only.

usage: attacker.py MODE SOCKET MANAGER_PID GROUP SCRIPT STATE_DIR
MODE: v1 (the old unauthenticated Hello), forged (a current-version Hello with a made-up proof), silent
(connect, read the Challenge, send nothing)."""
import json
import os
import socket
import struct
import sys
import time

VERSION = 3
HELLO, REQUEST_HEAD, BODY_END = 1, 2, 4
ERROR, CHALLENGE = 20, 21
# Every wait is bounded: well past the daemon's 2 s handshake timeout.
TIMEOUT = 15


def frame(ftype, payload=b"", version=VERSION):
    return struct.pack("<BBHI", version, ftype, 0, len(payload)) + payload


def string(b):
    return struct.pack("<I", len(b)) + b


def request_head(script, group, state):
    environ = [(b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b""), (b"PATH_INFO", b"/"),
               (b"QUERY_STRING", b"marker=attack"), (b"REMOTE_USER", b"admin"),
               (b"REMOTE_ADDR", b"10.0.0.1"), (b"WG_STATE", state)]
    out = (string(script) + string(b"application") + string(b"") + string(group)
           + struct.pack("<qq", 0, 0) + string(b"attack") + struct.pack("<I", len(environ)))
    for k, v in environ:
        out += string(k) + string(v)
    return out


def read_frames(sock, deadline):
    """Frames until EOF or the deadline: (list of (type, payload), closed)."""
    buf = b""
    frames = []
    closed = False
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not data:
            closed = True
            break
        buf += data
        while len(buf) >= 8:
            _, ftype, _, length = struct.unpack("<BBHI", buf[:8])
            if len(buf) < 8 + length:
                break
            frames.append((ftype, buf[8:8 + length]))
            buf = buf[8 + length:]
    return frames, closed


def main():
    mode, path, manager_pid, group, script, state = sys.argv[1:7]
    manager_pid = int(manager_pid)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(path)
    deadline = time.monotonic() + TIMEOUT
    head = frame(REQUEST_HEAD, request_head(script.encode(), group.encode(), state.encode()))
    if mode == "v1":
        hello = struct.pack("<II", manager_pid, 1)
        sock.sendall(frame(HELLO, hello, version=1) + frame(REQUEST_HEAD, head[8:], version=1)
                     + frame(BODY_END, version=1))
    elif mode == "forged":
        sock.sendall(frame(HELLO, struct.pack("<II", manager_pid, 1) + os.urandom(32)) + head)
    elif mode != "silent":
        raise SystemExit(f"unknown mode {mode}")
    frames, closed = read_frames(sock, deadline)
    errors = [p[6:].decode("utf-8", "replace") for t, p in frames if t == ERROR]
    print(json.dumps({"types": [t for t, _ in frames], "errors": errors, "closed": closed,
                      "pid": os.getpid(), "uid": os.getuid()}))


if __name__ == "__main__":
    main()
