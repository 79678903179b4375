#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the built wsgid-daemon without httpd: creates a listening socket in a short temp
# dir, starts the daemon with it on fd 3 (as mod_wsgid's parent does), speaks the protocol of
# docs/protocol.md for a hello-world and an echo WSGI app, then stops it with SIGTERM.
# Usage: /usr/bin/python3 tests/unit/daemon/daemon_smoke.py [path/to/wsgid-daemon]
# As root, WSGID_SMOKE_UID=65534 also checks the switch to that user (the app reports its uid).
# Exit status 0 when every check passed. Stdlib only.
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

HELLO, REQUEST_HEAD, BODY_CHUNK, BODY_END = 1, 2, 3, 4
HELLO_ACK, START, BODY, END, ERROR = 16, 17, 18, 19, 20
MANAGER_PID = 4242
TIMEOUT = 10  # seconds for any single socket operation or process wait

APP = b'''
def application(environ, start_response):
    if environ["PATH_INFO"] == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if environ["PATH_INFO"] == "/raise":
        raise ValueError("smoke test failure")
    if environ["PATH_INFO"] == "/uid":
        import os
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d %s" % (os.getuid(), os.environ.get("USER", "").encode())]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!"]
'''


def frame(ftype, payload=b"", flags=0):
    return struct.pack("<BBHI", 1, ftype, flags, len(payload)) + payload


def string(b):
    return struct.pack("<I", len(b)) + b


def request_head(script, path, content_length=-1, request_id=b"smoke"):
    environ = [(b"REQUEST_METHOD", b"POST" if content_length >= 0 else b"GET"),
               (b"SCRIPT_NAME", b""), (b"PATH_INFO", path), (b"QUERY_STRING", b""),
               (b"SERVER_NAME", b"localhost"), (b"SERVER_PORT", b"80"),
               (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"wsgi.url_scheme", b"http")]
    if content_length >= 0:
        environ.append((b"CONTENT_LENGTH", str(content_length).encode()))
    payload = (string(script) + string(b"application") + string(b"") + string(b"smoke") +
               struct.pack("<q", content_length) + string(request_id) +
               struct.pack("<I", len(environ)))
    for k, v in environ:
        payload += string(k) + string(v)
    return frame(REQUEST_HEAD, payload)


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def frame(self):
        while True:
            if len(self.buf) >= 8:
                _, ftype, flags, length = struct.unpack("<BBHI", self.buf[:8])
                if len(self.buf) >= 8 + length:
                    payload = self.buf[8:8 + length]
                    self.buf = self.buf[8 + length:]
                    return ftype, flags, payload
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data

    def response(self):
        status, body, error = None, b"", None
        while True:
            f = self.frame()
            if f is None:
                raise AssertionError("connection closed mid-response")
            ftype, _, payload = f
            if ftype == START:
                (n,) = struct.unpack("<I", payload[:4])
                status = payload[4:4 + n].decode("latin-1")
            elif ftype == BODY:
                body += payload
            elif ftype == END:
                return status, body, None
            elif ftype == ERROR:
                (code,) = struct.unpack("<H", payload[:2])
                return status, body, code
            else:
                raise AssertionError("unexpected frame %d" % ftype)


def main():
    daemon = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.getcwd(), "wsgid-daemon")
    uid = int(os.environ.get("WSGID_SMOKE_UID", "-1"))
    tmp = tempfile.mkdtemp(prefix="wgs-", dir="/tmp")
    os.chmod(tmp, 0o755)  # readable by the daemon user
    proc = None
    try:
        script = os.path.join(tmp, "app.wsgi")
        with open(script, "wb") as f:
            f.write(APP)
        path = os.path.join(tmp, "d.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(16)
        args = ["smoke-daemon", "--group=smoke", "--threads=2",
                "--manager-pid=%d" % MANAGER_PID, "--generation=1", "--log-level=info",
                "--shutdown-timeout=5", "--home=" + tmp]
        if uid >= 0:
            args += ["--uid=%d" % uid, "--gid=%d" % uid]

        def as_fd3():
            os.dup2(listener.fileno(), 3)

        # pass_fds keeps the listener open in the child; preexec puts it on fd 3.
        proc = subprocess.Popen(args, executable=daemon, stdin=subprocess.DEVNULL,
                                pass_fds=(listener.fileno(),), preexec_fn=as_fd3)
        listener.close()  # the daemon has its copy; the path stays ours

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        reader = Reader(sock)
        sock.sendall(frame(HELLO, struct.pack("<II", MANAGER_PID, 1)))
        ftype, _, payload = reader.frame()
        assert ftype == HELLO_ACK, ftype
        assert struct.unpack("<I", payload[:4])[0] == proc.pid

        sock.sendall(request_head(script.encode(), b"/") + frame(BODY_END))
        status, body, error = reader.response()
        assert (status, body, error) == ("200 OK", b"Hello, world!", None), (status, body, error)

        data = os.urandom(300 * 1024)
        sock.sendall(request_head(script.encode(), b"/echo", len(data)) +
                     frame(BODY_CHUNK, data[:256 * 1024]) + frame(BODY_CHUNK, data[256 * 1024:]) +
                     frame(BODY_END))
        status, body, error = reader.response()
        assert status == "200 OK" and body == data and error is None, (status, len(body), error)

        sock.sendall(request_head(script.encode(), b"/raise") + frame(BODY_END))
        status, body, error = reader.response()
        assert status is None and error == 1, (status, error)  # AppError

        if uid >= 0:
            sock.sendall(request_head(script.encode(), b"/uid") + frame(BODY_END))
            body = reader.response()[1]
            assert body.split()[0] == str(uid).encode(), body

        # The connection is still usable after the error.
        sock.sendall(request_head(script.encode(), b"/") + frame(BODY_END))
        assert reader.response()[1] == b"Hello, world!"

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(TIMEOUT)
        assert rc == 0, "exit status %d" % rc
        assert reader.frame() is None, "connection not closed at stop"
        proc = None
        print("daemon smoke test: OK")
        return 0
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(TIMEOUT)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
