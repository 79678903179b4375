#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes the fuzz seed corpora, tests/fuzz/seeds/<target>/, from the golden encodings of
# tests/unit/protocol/golden_test.cpp (spelled here as the same hex, so the seeds follow the
# wire contract, not whatever the encoders do today). Stdlib only. Run after a wire format change,
# together with the golden test update:  /usr/bin/python3 tests/fuzz/make_seeds.py
import pathlib
import struct

SEEDS = pathlib.Path(__file__).resolve().parent / "seeds"


def hx(s):
    return bytes.fromhex(s)


def u32(n):
    return struct.pack("<I", n)


def text(s):
    b = s.encode("latin-1")
    return u32(len(b)) + b


VERSION = 4  # protocol/limits.h kProtocolVersion


def frame(ftype, payload=b"", flags=0):
    return struct.pack("<BBHI", VERSION, ftype, flags, len(payload)) + payload


HELLO, REQUEST_HEAD, BODY_CHUNK, BODY_END = 1, 2, 3, 4
HELLO_ACK, START, BODY, END, ERROR, CHALLENGE, SEND_BODY, FILE = 16, 17, 18, 19, 20, 21, 22, 23

# ---- golden encodings (golden_test.cpp) ----------------------------------------------------------
G_CHALLENGE = hx("04 15 00 00 24 00 00 00 0d 0c 0b 0a"
                 "11 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                 "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff")
G_HELLO = hx("04 01 00 00 28 00 00 00 04 03 02 01 05 00 00 00") + b"\x5a" * 32
G_HELLO_ACK = hx("04 10 00 00 04 00 00 00 34 12 00 00")
G_SMALL_HEAD = (hx("07 00 00 00") + b"/s.wsgi" + hx("03 00 00 00") + b"app" + hx("00 00 00 00")
                + hx("01 00 00 00") + b"g" + hx("05 00 00 00 00 00 00 00")
                + hx("08 07 06 05 04 03 02 01") + hx("02 00 00 00")
                + b"id" + hx("01 00 00 00") + hx("01 00 00 00") + b"K" + hx("01 00 00 00") + b"v")
G_UNKNOWN_LENGTH_HEAD = hx("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                           "ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00"
                           "00 00 00 00 00 00 00 00")
G_START = (hx("06 00 00 00") + b"200 OK" + hx("01 00 00 00") + hx("0c 00 00 00") + b"Content-Type"
           + hx("0a 00 00 00") + b"text/plain")
G_ERROR = hx("04 00") + hx("03 00 00 00") + b"bad"
G_BODY_END_ABANDONED = hx("04 04 01 00 00 00 00 00")
G_BODY_CHUNK = hx("04 03 00 00 02 00 00 00 61 62")
G_BODY = hx("04 12 00 00 02 00 00 00 61 62")
G_END = hx("04 13 00 00 00 00 00 00")
assert len(G_SMALL_HEAD) == 0x3F and len(G_START) == 0x2C
assert len(G_CHALLENGE) == 8 + 36 and len(G_HELLO) == 8 + 40
G_SEND_BODY = hx("04 16 00 00 00 00 00 00")
G_FILE = hx("04 17 00 00 10 00 00 00 08 07 06 05 04 03 02 01 00 00 10 00 00 00 00 00")
# A v1 Hello (8-byte payload, no proof): what a stale daemon or module would send.
V1_HELLO = hx("01 01 00 00 08 00 00 00 04 03 02 01 05 00 00 00")

# ---- derived payloads ----------------------------------------------------------------------------
BIG_HEAD = (text("/srv/app/site.wsgi") + text("application") + text("site|/") + text("site")
            + struct.pack("<Q", 11) + text("YJx2dQAAAQ")
            + u32(4) + text("REQUEST_METHOD") + text("POST") + text("PATH_INFO") + text("/a b")
            + text("HTTP_COOKIE") + text("a=1; b=\xe9") + text("QUERY_STRING") + text(""))
START_MANY = (text("404 Not Found") + u32(4) + text("Content-Type") + text("text/html; q=1")
              + text("Set-Cookie") + text("a=1\tb") + text("Connection") + text("close")
              + text("X-Empty") + text(""))
START_NO_REASON = text("204 ") + u32(0)
START_16 = (text("200 OK") + u32(2) + text("Content-Type") + text("application/octet-stream")
            + text("Content-Length") + text("16"))
START_8 = text("200 OK") + u32(1) + text("Content-Length") + text("8")
FILE_0_16 = struct.pack("<QQ", 0, 16)
FILE_4_12 = struct.pack("<QQ", 4, 12)
FILE_HUGE = struct.pack("<QQ", 0, (1 << 63) - 1)
ERROR_APP = struct.pack("<H", 1) + text("Traceback (most recent call last): ...")
ERROR_SHUTTING_DOWN = struct.pack("<H", 5) + text("daemon is stopping")
ERROR_AUTH = struct.pack("<H", 4) + text("authentication failed")
# The golden Challenge's nonce with the golden HelloAck's pid, so the HelloAck matches it.
CHALLENGE_1234 = frame(CHALLENGE, u32(0x1234) + G_CHALLENGE[12:])


def seed(split):
    """The four bytes the stream targets read first: split schedule (and response_fuzz's flag)."""
    return u32(split)


HANDSHAKE = 0x80000000  # response_fuzz: the stream starts with Challenge and HelloAck
EAGER = 0x40000000  # response_fuzz: the daemon sends on after HelloAck without waiting
HEAD_REQUEST = 0x20000000  # response_fuzz: the request is a HEAD
WITH_BODY = 0x10000000  # response_fuzz: the request has a body, sent after SendBody
PASS_FILES = 0x08000000  # response_fuzz: a descriptor comes with the first byte of each File frame
STRAY = 0x04000000  # response_fuzz: with PASS_FILES, descriptors also come with other frames
NO_SENDFILE = 0x02000000  # response_fuzz: the request says mod_wsgi.enable_sendfile=0

CORPORA = {
    "frame_decoder_fuzz": {
        "session.bin": seed(0) + G_CHALLENGE + G_HELLO + G_HELLO_ACK
        + frame(REQUEST_HEAD, G_SMALL_HEAD) + G_BODY_CHUNK + G_BODY_END_ABANDONED,
        "old_version.bin": seed(2) + V1_HELLO,
        "response.bin": seed(7) + frame(START, G_START) + G_BODY + G_END,
        "error.bin": seed(0xFFFFFFFF) + frame(START, G_START) + frame(ERROR, G_ERROR),
        "over_limit.bin": seed(3) + hx("02 12 00 00 01 00 04 00"),  # Body of 256 KiB + 1
        "partial.bin": seed(1) + frame(REQUEST_HEAD, G_UNKNOWN_LENGTH_HEAD)[:20],
        "file.bin": seed(5) + frame(START, G_START) + G_FILE + G_END,
    },
    "request_head_fuzz": {
        "small.bin": G_SMALL_HEAD,
        "unknown_length.bin": G_UNKNOWN_LENGTH_HEAD,
        "environ.bin": BIG_HEAD,
        "hello.bin": G_HELLO[8:],
    },
    "response_fuzz": {
        "handshake_response.bin": seed(HANDSHAKE | 5) + CHALLENGE_1234 + G_HELLO_ACK
        + frame(START, G_START) + G_BODY + G_END,
        # A daemon that sends on without waiting for the RequestHead: the module's handshake
        # reads find bytes after the HelloAck and drop the connection.
        "handshake_eager.bin": seed(HANDSHAKE | EAGER | 402) + CHALLENGE_1234 + G_HELLO_ACK
        + frame(START, G_START) + G_END,
        "handshake_pid_mismatch.bin": seed(HANDSHAKE | 1) + G_CHALLENGE + G_HELLO_ACK,
        "handshake_refused.bin": seed(HANDSHAKE) + G_CHALLENGE + frame(ERROR, ERROR_AUTH),
        "handshake_stopping.bin": seed(HANDSHAKE | 12) + frame(ERROR, ERROR_SHUTTING_DOWN),
        "pooled_response.bin": seed(16) + frame(START, START_MANY) + G_BODY + G_BODY + G_END,
        "no_content.bin": seed(2) + frame(START, START_NO_REASON) + G_END,
        "head_request.bin": seed(HEAD_REQUEST | 3) + frame(START, G_START) + G_END,
        "send_body.bin": seed(WITH_BODY | 4) + G_SEND_BODY + frame(START, G_START) + G_BODY + G_END,
        "send_body_late.bin": seed(WITH_BODY | 6) + frame(START, G_START) + G_SEND_BODY + G_END,
        "busy.bin": seed(WITH_BODY) + frame(ERROR, struct.pack("<H", 8) + text("no free worker")),
        # RequestTimeout (10) is a 504: the one Error that is neither 400, 500 nor 503.
        "request_timeout.bin": seed(0) + frame(ERROR, struct.pack("<H", 10) + text("timed out")),
        "error_before_start.bin": seed(0) + frame(ERROR, G_ERROR),
        "error_after_start.bin": seed(9) + frame(START, G_START) + G_BODY + frame(ERROR, ERROR_APP),
        # File frames: with their descriptor (a regular file for seeds 0x3xx here, 0x2xx after a
        # Body; a pipe for 0x1xx: response_fuzz.cpp descriptorFor), without, with stray
        # descriptors on other frames, refused by the request, longer than announced, huge.
        "file.bin": seed(PASS_FILES | 0x305) + frame(START, START_16) + frame(FILE, FILE_0_16)
        + G_END,
        "file_after_body.bin": seed(PASS_FILES | 0x207) + frame(START, START_16)
        + frame(BODY, b"abcd") + frame(FILE, FILE_4_12) + G_END,
        "file_pipe.bin": seed(PASS_FILES | 0x103) + frame(START, START_16) + frame(FILE, FILE_0_16)
        + G_END,
        "file_no_descriptor.bin": seed(11) + frame(START, START_16) + frame(FILE, FILE_0_16) + G_END,
        "file_stray.bin": seed(PASS_FILES | STRAY | 0x300) + frame(START, START_16)
        + frame(BODY, b"abcd") + frame(FILE, FILE_4_12) + G_END + G_END,
        "file_sendfile_off.bin": seed(PASS_FILES | NO_SENDFILE | 0x105) + frame(START, START_16)
        + frame(FILE, FILE_0_16) + G_END,
        "file_too_long.bin": seed(PASS_FILES | 0x305) + frame(START, START_8)
        + frame(FILE, FILE_0_16) + G_END,
        "file_huge.bin": seed(PASS_FILES | 0x305) + frame(START, G_START) + frame(FILE, FILE_HUGE)
        + G_END,
        "file_twice.bin": seed(PASS_FILES | 0x305) + frame(START, G_START)
        + frame(FILE, FILE_0_16) + frame(FILE, FILE_4_12) + G_END,
    },
}


def main():
    for target, files in CORPORA.items():
        d = SEEDS / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.iterdir():
            if old.name not in files:
                old.unlink()
        for name, data in files.items():
            (d / name).write_bytes(data)
        print(f"{d}: {len(files)} seeds")


if __name__ == "__main__":
    main()
