# SPDX-License-Identifier: Apache-2.0
"""1xx: the buffer options of WSGIDaemonProcess: send-buffer-size= and receive-buffer-size= (the
kernel buffers of the module<->daemon sockets, as the kernel applied them), header-buffer-size=
(the longest response header line: longer is a 500 before anything reaches the client),
response-buffer-size= and response-flush-delay= (when the module flushes a streamed body), and
the configtest messages for values out of range."""

import os
import re
import subprocess
import uuid

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to read the daemons' fds")

# header-buffer-size= of the `small` group, and the default of the others (mod_wsgi's).
SMALL_HEADER_LINE = 8192
DEFAULT_HEADER_LINE = 32768

BUFFER_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess small threads=2 header-buffer-size=8192
WSGIDaemonProcess plain threads=2
WSGIDaemonProcess paced threads=2 response-buffer-size=65536 response-flush-delay=5
WSGIScriptAlias /small/longheader ${APPS}/longheader/app.wsgi process-group=small
WSGIScriptAlias /plain/longheader ${APPS}/longheader/app.wsgi process-group=plain
WSGIScriptAlias /paced/stream ${APPS}/stream/app.wsgi process-group=paced
WSGIScriptAlias /paced/sse ${APPS}/sse/app.wsgi process-group=paced
""")


def block(i: int, size: int) -> bytes:
    return (b"%08d" % i * (size // 8 + 1))[:size]


class TestBufferOptions:
    server_conf = BUFFER_CONF

    @pytest.mark.parametrize("group,limit", [("small", SMALL_HEADER_LINE),
                                             ("plain", DEFAULT_HEADER_LINE)])
    def test_190_01_a_header_line_up_to_header_buffer_size_passes(self, client, group, limit):
        for length in (limit - 1, limit):
            r = client.get(f"/{group}/longheader?len={length}")
            assert r.status == 200, (length, r.status)
            assert len("X-Long") + len(r.header("X-Long") or "") == length
            assert r.body == b"long header sent\n"

    @pytest.mark.parametrize("group,limit", [("small", SMALL_HEADER_LINE),
                                             ("plain", DEFAULT_HEADER_LINE)])
    def test_190_02_a_longer_header_line_is_a_500(self, client, group, limit, allow_log):
        allow_log("WG0127")
        mark = client.server.log.size()
        r = client.get(f"/{group}/longheader?len={limit + 1}")
        assert r.status == 500
        assert r.header("X-Long") is None
        assert b"long header sent" not in r.body
        record = client.server.log.wait_for(r"WG0127", mark)
        assert f"daemon group '{group}'" in record.text, record.text
        assert "'X-Long'" in record.text and str(limit + 1) in record.text, record.text
        assert "header-buffer-size" in record.text and str(limit) in record.text, record.text

    @pytest.mark.parametrize("n,size", [(1000, 1000), (40, 65536), (3, 300000)])
    def test_190_03_a_streamed_body_arrives_whole_and_in_order_when_paced(self, client, n, size):
        # response-buffer-size=65536 response-flush-delay=5: bodies below, at and above the
        # buffer size, in small and large blocks.
        r = client.get(f"/paced/stream?n={n}&size={size}")
        assert r.status == 200
        assert r.body == b"".join(block(i, size) for i in range(n))

    def test_190_04_a_flush_delay_still_delivers_each_event(self, server):
        # The first event reaches the client while the app waits for the client: the delay is
        # a bound, not a hold until the next block.
        seen = http.sse_exchange(server.port, "/paced/sse",
                                 server.state / f"sse-{uuid.uuid4().hex}")
        assert b"HTTP/1.1 200" in seen
        assert b"data: event-2 flag=seen" in seen, seen


def socket_inodes(pid: int) -> set:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(int(m.group(1)))
    return inodes


def connection_buffers(srv) -> list:
    """(daemon side, module side) skmem of every established module<->daemon connection, as
    the kernel applied them: ({'rb': SO_RCVBUF, 'tb': SO_SNDBUF}, {...})."""
    daemon_inodes = set().union(*(socket_inodes(p.pid) for p in srv.daemons()))
    worker_inodes = set().union(*(socket_inodes(p.pid) for p in srv.workers()))
    out = subprocess.run(["ss", "-xmH", "state", "established"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    mem = {}
    peer = {}
    for line in out.splitlines():
        m = re.search(r"\s(\d+)\s+\S+\s+(\d+)\s+skmem:\(([^)]*)\)", line)
        if not m:
            continue
        local, remote = int(m.group(1)), int(m.group(2))
        fields = dict(re.findall(r"([a-z]+)(\d+)", m.group(3)))
        mem[local] = {"rb": int(fields["rb"]), "tb": int(fields["tb"])}
        peer[local] = remote
    return [(mem[i], mem[peer[i]]) for i in daemon_inodes
            if i in peer and peer[i] in worker_inodes and peer[i] in mem]


@ROOT_ONLY
def test_190_05_socket_buffer_sizes_bound_each_direction(make_server):
    # send-buffer-size= bounds daemon -> module (the daemon's SO_SNDBUF, the module's SO_RCVBUF),
    # receive-buffer-size= module -> daemon (the reverse). Linux doubles what was asked for.
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess sized threads=2 send-buffer-size=65536 receive-buffer-size=32768
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=sized
"""))
    assert http.get(srv.port, "/env").status == 200  # the connection stays pooled
    pairs = connection_buffers(srv)
    assert pairs, "no established module<->daemon connection found"
    for daemon_side, module_side in pairs:
        assert 65536 <= daemon_side["tb"] <= 2 * 65536, daemon_side
        assert 32768 <= daemon_side["rb"] <= 2 * 32768, daemon_side
        assert 32768 <= module_side["tb"] <= 2 * 32768, module_side
        assert 65536 <= module_side["rb"] <= 2 * 65536, module_side


@pytest.mark.parametrize("option,value,words", [
    ("send-buffer-size", "100", ["send-buffer-size", "at least 512"]),
    ("receive-buffer-size", "2147483648", ["receive-buffer-size", "between 0 and 1073741824"]),
    ("header-buffer-size", "4096", ["header-buffer-size", "at least 8192"]),
    ("header-buffer-size", "2097152", ["header-buffer-size", "between 0 and 1048576"]),
    ("response-buffer-size", "1024", ["response-buffer-size", "at least 65536"]),
    ("response-flush-delay", "20000", ["response-flush-delay", "between 0 and 10000"]),
    ("response-flush-delay", "5ms", ["response-flush-delay", "needs an integer"]),
])
def test_190_06_out_of_range_values_fail_configtest(make_server, option, value, words):
    assert_configtest_fails(make_server, f"WSGIDaemonProcess g {option}={value}\n", words)


def test_190_07_buffer_options_are_not_named_as_unimplemented(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess all threads=2 send-buffer-size=65536 receive-buffer-size=65536 header-buffer-size=16384 response-buffer-size=131072 response-flush-delay=5
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=all
"""))
    assert http.get(srv.port, "/env").status == 200
    assert "WG0012" not in srv.log.read_from(0)


def test_190_08_a_size_the_kernel_caps_is_logged_once(make_server):
    # Linux caps SO_SNDBUF at net.core.wmem_max: the daemon says so once, naming the options.
    with open("/proc/sys/net/core/wmem_max") as f:
        wmem_max = int(f.read())
    asked = min(1 << 30, 4 * wmem_max)
    srv = make_server(ServerConf(f"""
WSGIDaemonProcess capped threads=2 send-buffer-size={asked}
WSGIScriptAlias /env ${{APPS}}/environ/app.wsgi process-group=capped
"""))
    assert http.get(srv.port, "/env").status == 200  # served all the same
    record = srv.log.wait_for(r"WG0298", 0)
    assert f"send-buffer-size={asked}" in record.text and "wmem_max" in record.text, record.text


@ROOT_ONLY
def test_190_09_without_the_options_both_directions_get_the_default(make_server):
    # No send-buffer-size= / receive-buffer-size=: 1 MiB each way (a 1 MiB body crosses in one
    # round), lowered to what the kernel lets a process ask for; Linux doubles it. No WG0298.
    kernel_max = min(int(open(f"/proc/sys/net/core/{name}").read())
                     for name in ("wmem_max", "rmem_max"))
    if kernel_max < 128 * 1024:
        pytest.skip("net.core.wmem_max/rmem_max too small for the default to apply")
    asked = min(1 << 20, kernel_max)
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess unsized threads=2
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=unsized
"""))
    assert http.get(srv.port, "/env").status == 200  # the connection stays pooled
    pairs = connection_buffers(srv)
    assert pairs, "no established module<->daemon connection found"
    for daemon_side, module_side in pairs:
        for side in (daemon_side, module_side):
            assert asked <= side["tb"] <= 2 * asked, side
            assert asked <= side["rb"] <= 2 * asked, side
    assert "WG0298" not in srv.log.read_from(0)
