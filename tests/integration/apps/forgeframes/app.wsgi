# SPDX-License-Identifier: Apache-2.0
# Models hostile tenant code: finds its own daemon connection socket and writes forged response
# frames to it (docs/protocol.md), bypassing start_response, and passes descriptors on it
# (SCM_RIGHTS) with File frames and others. ?case= picks the forgery, ?v= is the protocol version
# byte; ?case=none answers normally (with ?status=). Run it in a group of processes=1 threads=1
# that has served no other request, so that exactly one connection exists.
import array
import os
import socket
import stat
import struct
import time
from urllib.parse import parse_qs

import tempfile

START, BODY, END, ERROR, HELLO_ACK, FILE = 17, 18, 19, 20, 16, 23
LISTENER_FD = 3
# Long enough for the module to read, relay and flush what came before (one poll round).
PAUSE = 0.3


def peer_socket_name(fd):
    """(family, type, getsockname()) of socket `fd`, through a duplicate so that closing the
    Python object leaves the daemon's descriptor alone."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        return sock.family, sock.type, sock.getsockname()
    finally:
        sock.close()


def own_connection():
    listening = peer_socket_name(LISTENER_FD)[2]
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd == LISTENER_FD:
            continue
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            family, kind, sockname = peer_socket_name(fd)
        except OSError:
            continue  # the listdir descriptor itself, or one closed meanwhile
        if family == socket.AF_UNIX and kind == socket.SOCK_STREAM and sockname == listening:
            found.append(fd)
    assert len(found) == 1, f"expected exactly one connection to {listening!r}, found {found}"
    return found[0]


def frame(version, ftype, payload=b""):
    return struct.pack("<BBHI", version, ftype, 0, len(payload)) + payload


def string(b):
    return struct.pack("<I", len(b)) + b


def start(version, status, headers):
    payload = string(status) + struct.pack("<I", len(headers))
    for k, v in headers:
        payload += string(k) + string(v)
    return frame(version, START, payload)


def write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        data = data[n:]


def send_with_fds(fd, data, fds):
    """`data` with the descriptors `fds` attached to its first byte, through a duplicate of the
    connection (its non-blocking mode is shared, so a full socket is waited out here)."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        while True:
            try:
                n = sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                           array.array("i", fds))])
                break
            except BlockingIOError:
                time.sleep(0.01)
        write_all(fd, data[n:])
    finally:
        sock.close()


def file_frame(v, offset, length):
    return frame(v, FILE, struct.pack("<QQ", offset, length))


def smuggled_file(size=16):
    """A regular file (anonymous) holding what must never reach the client."""
    f = tempfile.TemporaryFile()
    f.write(b"SMUGGLED" * (size // 8))
    f.flush()
    return f


def forge_file(case, v, fd):
    """Forged File frames and descriptors: every one must make the response a 502."""
    cl10 = start(v, b"200 OK", [(b"Content-Length", b"10")])
    if case == "file-fifo":
        r, w = os.pipe()
        os.write(w, b"SMUGGLED..")
        send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [r])
    elif case == "file-socket":
        a, b = socket.socketpair()
        b.sendall(b"SMUGGLED..")
        send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [a.fileno()])
    elif case == "file-device":
        with open("/dev/zero", "rb") as zero:
            send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [zero.fileno()])
    elif case == "file-directory":
        d = os.open(tempfile.gettempdir(), os.O_RDONLY | os.O_DIRECTORY)
        try:
            send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [d])
        finally:
            os.close(d)
    elif case == "file-write-only":
        f = smuggled_file()
        w = os.open(f"/proc/self/fd/{f.fileno()}", os.O_WRONLY)
        try:
            send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [w])
        finally:
            os.close(w)
    elif case == "file-past-end":
        # Within Content-Length, but offset + length is past the 16 bytes the file holds.
        f = smuggled_file()
        send_with_fds(fd, cl10 + file_frame(v, 10, 10) + frame(v, END), [f.fileno()])
    elif case == "file-huge":
        f = smuggled_file()
        unannounced = start(v, b"200 OK", [(b"Content-Type", b"text/plain")])
        send_with_fds(fd, unannounced + file_frame(v, 0, (1 << 63) - 1) + frame(v, END),
                      [f.fileno()])
    elif case == "file-beyond-cl":
        f = smuggled_file()
        send_with_fds(fd, cl10 + file_frame(v, 0, 16) + frame(v, END), [f.fileno()])
    elif case == "file-no-fd":
        write_all(fd, cl10 + file_frame(v, 0, 10) + frame(v, END))
    elif case == "file-with-body":
        write_all(fd, cl10)
        f = smuggled_file()
        send_with_fds(fd, frame(v, BODY, b"SMUGGLED..") + frame(v, END), [f.fileno()])
    elif case == "file-two-fds":
        f, g = smuggled_file(), smuggled_file()
        send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [f.fileno(), g.fileno()])
    elif case == "file-sendfile-off":
        f = smuggled_file()
        send_with_fds(fd, cl10 + file_frame(v, 0, 10) + frame(v, END), [f.fileno()])
    else:
        raise ValueError(f"unknown case {case!r}")


def forge(case, v, fd):
    if case.startswith("file-"):
        return forge_file(case, v, fd)
    cl5 = start(v, b"200 OK", [(b"Content-Type", b"text/plain"), (b"Content-Length", b"5")])
    if case == "overrun":
        # Everything at once: the module reads it in one go, before anything reached the client.
        write_all(fd, cl5 + frame(v, BODY, b"hello") + frame(v, BODY, b"SMUGGLED") +
                  frame(v, END))
    elif case == "overrun-late":
        write_all(fd, cl5 + frame(v, BODY, b"hel"))
        time.sleep(PAUSE)
        write_all(fd, frame(v, BODY, b"loSMUGGLED") + frame(v, END))
    elif case == "short":
        write_all(fd, cl5 + frame(v, BODY, b"hel"))
        time.sleep(PAUSE)
        write_all(fd, frame(v, END))
    elif case == "body-first":
        write_all(fd, frame(v, BODY, b"SMUGGLED") + cl5 + frame(v, BODY, b"hello") +
                  frame(v, END))
    elif case == "second-start":
        write_all(fd, cl5 + frame(v, BODY, b"hello") +
                  start(v, b"302 Found", [(b"Location", b"/SMUGGLED")]) + frame(v, END))
    elif case == "second-start-late":
        write_all(fd, cl5 + frame(v, BODY, b"hel"))
        time.sleep(PAUSE)
        write_all(fd, start(v, b"302 Found", [(b"Location", b"/SMUGGLED")]) + frame(v, END))
    elif case == "after-end":
        write_all(fd, cl5 + frame(v, BODY, b"hello") + frame(v, END) +
                  start(v, b"200 OK", [(b"Content-Length", b"8")]) +
                  frame(v, BODY, b"SMUGGLED") + frame(v, END))
    else:
        raise ValueError(f"unknown case {case!r}")


def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    case = q.get("case", ["none"])[0]
    if case != "none":
        forge(case, int(q["v"][0]), own_connection())
        # Give the module time to act on the forgery before the daemon's own frames follow.
        time.sleep(PAUSE)
    # ?status= for the honest answer: the app yields its body even where none may follow (204,
    # 304, HEAD), as sloppy apps do; the daemon must not forward it.
    status = q.get("status", ["200 OK"])[0]
    body = b"fine"
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
