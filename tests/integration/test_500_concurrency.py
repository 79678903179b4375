# SPDX-License-Identifier: Apache-2.0
"""5xx: concurrency across daemon processes and threads, threads=1 serialising, script reload
when the .wsgi file changes, application groups (sub-interpreters) isolated, %{GLOBAL} shared."""

import os
import time
import uuid

from harness import http
from harness.httpd import ServerConf
from harness.util import parallel, wait_for_files, write_script

CONCURRENCY_CONF = ServerConf(r"""
WSGIDaemonProcess pool processes=2 threads=4
WSGIDaemonProcess four threads=4
WSGIDaemonProcess serial threads=1
WSGIDaemonProcess groups threads=4 python-path=${APPS}/lib
WSGIDaemonProcess globalgroup threads=4 python-path=${APPS}/lib
WSGIScriptAlias /pool ${APPS}/sleep/app.wsgi process-group=pool
WSGIScriptAlias /pool-echo ${APPS}/echo/app.wsgi process-group=pool
WSGIScriptAlias /four ${APPS}/rendezvous/app.wsgi process-group=four
WSGIScriptAlias /serial ${APPS}/sleep/app.wsgi process-group=serial
WSGIScriptAlias /reload ${STATE}/reload/app.wsgi process-group=four
WSGIScriptAlias /a ${APPS}/counter/a.wsgi process-group=groups
WSGIScriptAlias /b ${APPS}/counter/b.wsgi process-group=groups
WSGIScriptAlias /a-again ${APPS}/counter/a.wsgi process-group=groups
WSGIScriptAlias /na ${APPS}/counter/a.wsgi process-group=groups application-group=shared-name
WSGIScriptAlias /nb ${APPS}/counter/b.wsgi process-group=groups application-group=shared-name
WSGIScriptAlias /ga ${APPS}/counter/a.wsgi process-group=globalgroup
WSGIScriptAlias /gb ${APPS}/counter/b.wsgi process-group=globalgroup
<Location /ga>
    WSGIApplicationGroup %{GLOBAL}
</Location>
<Location /gb>
    WSGIApplicationGroup %{GLOBAL}
</Location>
<Directory "${STATE}/reload">
    Require all granted
</Directory>
""")

RELOAD_APP = '''
VERSION = "{version}"


def application(environ, start_response):
    body = VERSION.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''

# Bound on how long a changed script may take to be picked up (a request-time mtime check is
# immediate; a periodic one must still get there).
RELOAD_TIMEOUT = 15.0


class TestConcurrency:
    server_conf = CONCURRENCY_CONF

    def test_500_01_many_concurrent_requests(self, server):
        daemons = {p.pid for p in server.daemons()}

        def one(i):
            if i % 2:
                r = http.get(server.port, f"/pool?t=0.01&id=req-{i}")
                return r.status, r.json()["id"] == f"req-{i}", r.json()["pid"]
            body = os.urandom(1000 + i)
            r = http.post(server.port, "/pool-echo", body)
            return r.status, r.body == body, None

        results = parallel(one, [(i,) for i in range(300)], workers=12)
        assert all(status == 200 and ok for status, ok, _ in results), \
            [r for r in results if r[0] != 200 or not r[1]][:5]
        assert {pid for _, _, pid in results if pid} <= daemons

    def test_500_02_threads_serve_in_parallel(self, server):
        d = server.state / f"rv-{uuid.uuid4().hex}"
        d.mkdir()
        os.chmod(d, 0o1777)

        def one(i):
            return http.get(server.port, f"/four?dir={d}&id=r{i}")

        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(one, i) for i in range(4)]
            # All four are inside the app at once: threads=4 really runs four requests.
            wait_for_files([d / f"r{i}.arrived" for i in range(4)])
            (d / "release").touch()
            responses = [f.result(timeout=60) for f in futures]
        bodies = [r.json() for r in responses]
        assert all(b["released"] for b in bodies)
        assert len({b["pid"] for b in bodies}) == 1
        assert len({b["thread"] for b in bodies}) == 4

    def test_500_03_threads_1_serialises(self, server):
        http.get(server.port, "/serial?reset=1")
        results = parallel(lambda i: http.get(server.port, f"/serial?t=0.2&id={i}").json(),
                           [(i,) for i in range(4)], workers=4)
        assert [r["max_active"] for r in results] == [1, 1, 1, 1], results
        assert len({r["pid"] for r in results}) == 1
        assert len({r["thread"] for r in results}) == 1

    def test_500_04_script_reloaded_when_mtime_changes(self, server):
        script = write_script(server.state / "reload" / "app.wsgi", RELOAD_APP.format(version="v1"))
        r = http.get(server.port, "/reload")
        assert (r.status, r.body) == (200, b"v1"), r
        script.write_text(RELOAD_APP.format(version="v2"))
        st = script.stat()
        os.utime(script, (st.st_atime + 10, st.st_mtime + 10))
        deadline = time.monotonic() + RELOAD_TIMEOUT
        seen = []
        while time.monotonic() < deadline:
            r = http.get(server.port, "/reload")
            seen.append((r.status, r.body))
            if r.body == b"v2":
                break
            time.sleep(0.1)
        assert seen[-1] == (200, b"v2"), seen[-10:]
        # And it stays reloaded.
        assert http.get(server.port, "/reload").body == b"v2"

    def test_500_05_application_groups_are_isolated(self, server):
        a1 = http.get(server.port, "/a").json()
        a2 = http.get(server.port, "/a").json()
        b1 = http.get(server.port, "/b").json()
        again = http.get(server.port, "/a-again").json()
        assert a1["pid"] == a2["pid"] == b1["pid"] == again["pid"]  # one daemon process
        assert a2["local"] == a1["local"] + 1 and a2["shared"] == a1["shared"] + 1
        # /b and /a-again run in interpreters of their own: nothing shared with /a.
        assert (b1["local"], b1["shared"]) == (1, 1), b1
        assert (again["local"], again["shared"]) == (1, 1), again
        assert len({a1["application_group"], b1["application_group"],
                    again["application_group"]}) == 3
        assert a1["sys_modules_id"] != b1["sys_modules_id"]

    def test_500_06_named_application_group_is_shared(self, server):
        na = http.get(server.port, "/na").json()
        nb = http.get(server.port, "/nb").json()
        assert na["application_group"] == nb["application_group"] == "shared-name"
        assert nb["shared"] == na["shared"] + 1
        assert na["sys_modules_id"] == nb["sys_modules_id"]

    def test_500_07_global_application_group_is_shared(self, server):
        ga = http.get(server.port, "/ga").json()
        gb = http.get(server.port, "/gb").json()
        ga2 = http.get(server.port, "/ga").json()
        assert ga["application_group"] == gb["application_group"] == ""
        assert (gb["shared"], ga2["shared"]) == (ga["shared"] + 1, ga["shared"] + 2)
        assert ga2["local"] == ga["local"] + 1
