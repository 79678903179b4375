# SPDX-License-Identifier: Apache-2.0
"""5xx: fair share between groups. max-in-flight= caps how many requests of one daemon group httpd
holds at once, running or waiting, over all its children; beyond it a request gets 503 with
Retry-After at once, so a flood to one group cannot take every httpd worker: another group's app
and static files keep answering (docs/architecture.md "Fair share")."""

import concurrent.futures

from harness import http
from harness.httpd import ServerConf
from harness.util import rendezvous_dir, wait_for

FAIR_CONF = ServerConf(r"""
WSGIDaemonProcess flooded threads=2 max-in-flight=4
WSGIDaemonProcess other threads=2
WSGIScriptAlias /flood ${APPS}/rendezvous/app.wsgi process-group=flooded
WSGIScriptAlias /other ${APPS}/procinfo/app.wsgi process-group=other
""")

# More concurrent requests than any MPM of the harness has workers (MaxRequestWorkers 64 for
# event and worker, 40 for prefork): without the cap the flood would hold every worker.
FLOOD = 70
# The flooded group's max-in-flight=.
CAP = 4
# Bound on the flood's requests: the refused ones answer at once, the held ones once released.
REQUEST_BOUND = 60


class TestFairShare:
    server_conf = FAIR_CONF

    def test_530_01_a_flood_to_one_group_leaves_the_others_answering(self, server):
        d = rendezvous_dir(server)
        (server.root / "htdocs" / "static.txt").write_text("static")
        with concurrent.futures.ThreadPoolExecutor(max_workers=FLOOD) as pool:
            flood = [pool.submit(http.get, server.port, f"/flood?dir={d}&id=f{i}",
                                 headers={"Connection": "close"}, timeout=REQUEST_BOUND)
                     for i in range(FLOOD)]
            try:
                # Two requests run (threads=2), two more wait in the daemon; every other one is
                # refused without waiting for a worker.
                refused = [f.result(REQUEST_BOUND) for f in _first_done(flood, FLOOD - CAP)]
                assert all(r.status == 503 for r in refused), [r for r in refused
                                                               if r.status != 503][:3]
                assert all(r.header("Retry-After") == "5" for r in refused)
                # The flood still holds its share; everything else is served.
                assert http.get(server.port, "/other").status == 200
                static = http.get(server.port, "/static.txt")
                assert (static.status, static.body) == (200, b"static"), static
                # The two admitted requests may still be on their way to the app under load:
                # wait for them, then check that no more than the group's threads run.
                wait_for(lambda: len(list(d.glob("*.arrived"))) >= 2, what="two requests running")
                running = sorted(p.name for p in d.glob("*.arrived"))
                assert len(running) == 2, running
            finally:
                (d / "release").touch()
            statuses = sorted(f.result(REQUEST_BOUND).status for f in flood)
        assert statuses == [200] * CAP + [503] * (FLOOD - CAP), statuses

    def test_530_02_up_to_the_cap_nothing_is_refused(self, server):
        d = rendezvous_dir(server)
        with concurrent.futures.ThreadPoolExecutor(max_workers=CAP) as pool:
            held = [pool.submit(http.get, server.port, f"/flood?dir={d}&id=h{i}",
                                timeout=REQUEST_BOUND) for i in range(CAP)]
            try:
                # Two run (whichever came first); the other two wait in the daemon, not refused.
                wait_for(lambda: len(list(d.glob("*.arrived"))) >= 2, what="two requests running")
            finally:
                (d / "release").touch()
            assert [f.result(REQUEST_BOUND).status for f in held] == [200] * CAP


def _first_done(futures, n):
    """The first `n` futures to complete (bounded by REQUEST_BOUND each)."""
    done = []
    for f in concurrent.futures.as_completed(futures, timeout=REQUEST_BOUND):
        done.append(f)
        if len(done) == n:
            return done
    return done
