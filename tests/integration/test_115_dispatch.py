# SPDX-License-Identifier: Apache-2.0
"""1xx: WSGIDispatchScript. Its process_group(), application_group() and callable_object() reroute
each request; the script runs in a daemon (the group the request would use without it), never
in httpd. Answers are checked as the directives they stand for; a bad answer, an exception or a
missing script is a 500 with WG0165, never a silent fallback to the configured routing."""

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails

DISPATCH_CONF = ServerConf(tls=True, body=r"""
LoadModule env_module "${MODULES}/mod_env.so"
WSGIDaemonProcess site threads=4
WSGIDaemonProcess tenant-a threads=2
WSGIDaemonProcess tenant-b threads=2
WSGIProcessGroup site
WSGIScriptAlias /d ${APPS}/dispatch/app.wsgi
WSGIScriptAlias /own ${APPS}/dispatch/app.wsgi
WSGIScriptAlias /u ${APPS}/dispatch/app.wsgi
WSGIScriptAlias /missing ${APPS}/dispatch/app.wsgi
WSGIScriptAlias /plain ${APPS}/dispatch/app.wsgi
<Location /d>
    WSGIDispatchScript ${APPS}/dispatch/dispatch.py
    WSGIRestrictProcess site tenant-a
    SetEnv DISPATCH_GROUP from-env
</Location>
<Location /own>
    WSGIDispatchScript ${APPS}/dispatch/dispatch.py application-group=dispatcher
</Location>
<Location /u>
    WSGIDispatchScript ${APPS}/dispatch/dispatch.py
</Location>
<Location /missing>
    WSGIDispatchScript ${APPS}/dispatch/no-such-dispatch.py
</Location>
""")

# The module's line for a request the dispatch script could not route.
DISPATCH_FAILED = "WG0165"


class TestDispatchScript:
    server_conf = DISPATCH_CONF

    def test_115_01_process_group_reroutes(self, client, server):
        r = client.get("/d/pg/tenant-a")
        assert r.status == 200, r
        got = r.json()
        assert got["process_group"] == "tenant-a"
        assert got["pid"] in {p.pid for p in server.daemons()}
        assert client.get("/d/none").json()["pid"] != got["pid"]  # site's own process

    def test_115_02_application_group_reroutes(self, client):
        assert client.get("/d/ag/named").json()["application_group"] == "named"
        # %{GLOBAL} (and "") name the main interpreter; %{ENV:...} is expanded as for
        # WSGIApplicationGroup.
        assert client.get("/d/ag/global").json()["application_group"] == ""
        assert client.get("/d/ag/env").json()["application_group"] == "from-env"

    def test_115_03_callable_object_reroutes(self, client):
        got = client.get("/d/co/custom").json()
        assert (got["callable"], got["callable_object"]) == ("custom", "custom")

    def test_115_04_none_leaves_the_routing_alone(self, client):
        got = client.get("/d/none").json()
        assert (got["process_group"], got["callable"]) == ("site", "application")
        assert got["application_group"].endswith("|/d")  # %{RESOURCE}, the default

    def test_115_05_the_script_runs_in_the_requests_group_with_its_environ(self, server):
        got = http.get(server.port, "/d/probe").json()
        _, group, app_group, callable_name, interpreter, pid = (
            got["application_group"].split(";"))
        # In the request's own group, in the main interpreter (mod_wsgi's default for it),
        # seeing the routing the app would have had.
        assert group == "site" and interpreter == ""
        assert app_group.endswith("|/d") and callable_name == "application"
        assert int(pid) in {p.pid for p in server.daemons()}
        # application-group= names its interpreter.
        interpreter = http.get(server.port, "/own/probe").json()["application_group"].split(";")[4]
        assert interpreter == "dispatcher"

    def test_115_06_requests_without_a_dispatch_script_are_not_dispatched(self, client):
        # The same path under a mount without WSGIDispatchScript: no dispatch call is made.
        got = client.get("/plain/pg/tenant-a").json()
        assert (got["process_group"], got["callable"]) == ("site", "application")

    @pytest.mark.allow_log(DISPATCH_FAILED)
    @pytest.mark.parametrize("path,why", [
        ("/d/pg/tenant-b", "is not one WSGIRestrictProcess allows here"),
        ("/u/pg/nosuch", "daemon process group 'nosuch' is not a configured WSGIDaemonProcess"),
        ("/d/pg/global", "the default group (%{GLOBAL}) is not one WSGIRestrictProcess allows"),
        ("/u/pg/empty", "the default group (%{GLOBAL}) is not a configured WSGIDaemonProcess"),
        ("/d/co/no-name", "which is no Python name"),
    ])
    def test_115_07_a_forbidden_answer_is_a_server_error(self, server, path, why):
        offset = server.log.size()
        r = http.get(server.port, path)
        assert r.status == 500, r
        line = server.log.wait_for(DISPATCH_FAILED + r": WSGIDispatchScript \S+/dispatch.py "
                                   r"could not route GET " + path, offset)
        assert why in line.text, line.text

    @pytest.mark.allow_log(DISPATCH_FAILED, "WG0350", "WG0351")
    def test_115_08_an_exception_or_a_wrong_type_is_a_server_error(self, client, server):
        offset = server.log.size()
        assert client.get("/d/raise").status == 500
        server.log.wait_for(r"WG0350: exception in dispatch of \S+/dispatch.py", offset)
        server.log.wait_for(DISPATCH_FAILED + r": .* could not route GET /d/raise", offset)
        assert client.get("/d/int").status == 500
        server.log.wait_for(r"WG0351: .*process_group\(\) returned a 'int'", offset)

    @pytest.mark.allow_log(DISPATCH_FAILED, "WG0321")
    def test_115_09_a_missing_script_is_a_clear_error(self, server):
        offset = server.log.size()
        assert http.get(server.port, "/missing").status == 500
        server.log.wait_for(DISPATCH_FAILED + r": WSGIDispatchScript \S+/no-such-dispatch.py "
                            r"could not route GET /missing", offset)


def test_115_90_dispatch_script_options_are_checked(make_server):
    assert_configtest_fails(make_server,
                            "WSGIDispatchScript ${APPS}/dispatch/dispatch.py process-group=x\n",
                            ["WSGIDispatchScript", "unknown option", "process-group=x"])
