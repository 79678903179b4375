# SPDX-License-Identifier: Apache-2.0
"""1xx: how requests reach applications: WSGIScriptAliasMatch, WSGIScriptAlias to a directory of
scripts, SetHandler/AddHandler wsgi-script with Options ExecCGI, WSGIHandlerScript,
WSGIRestrictProcess, WSGIMapHEADToGET, WSGIErrorOverride, WSGIScriptReloading, the per-request
flags (WSGIEnableSendfile, WSGIIgnoreActivity) and the Location: internal redirect."""

import os
import time

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails
from harness.util import wait_for_file, write_script

ROUTING_CONF = ServerConf(tls=True, body=r"""
LoadModule alias_module "${MODULES}/mod_alias.so"
LoadModule mime_module "${MODULES}/mod_mime.so"
TypesConfig /dev/null
LoadModule deflate_module "${MODULES}/mod_deflate.so"
WSGIDaemonProcess routing threads=4
WSGIDaemonProcess rt1 threads=2
WSGIDaemonProcess rt2 threads=2
WSGIProcessGroup routing
WSGIScriptAliasMatch ^/m/([a-z]+) ${APPS}/$1/app.wsgi
WSGIScriptAliasMatch ^/g/(rt1|rt2)(/|$) ${APPS}/environ/app.wsgi process-group=$1 application-group=app-$1
WSGIScriptAliasMatch ^/lit/([^/]+) ${APPS}/environ/app.wsgi application-group=$1
WSGIScriptAlias /dir/ ${APPS}/scriptdir/
WSGIScriptAlias /restricted ${APPS}/environ/app.wsgi
WSGIScriptAlias /allowed ${APPS}/environ/app.wsgi
WSGIScriptAlias /head-auto ${APPS}/method/app.wsgi
WSGIScriptAlias /head-on ${APPS}/method/app.wsgi
WSGIScriptAlias /head-off ${APPS}/method/app.wsgi
WSGIScriptAlias /head-deflate ${APPS}/method/app.wsgi
WSGIScriptAlias /override ${APPS}/status/app.wsgi
WSGIScriptAlias /nooverride ${APPS}/status/app.wsgi
WSGIScriptAlias /redirect ${APPS}/redirect/app.wsgi
WSGIScriptAlias /flags ${APPS}/environ/app.wsgi
WSGIScriptAlias /env ${APPS}/environ/app.wsgi
WSGIScriptAlias /noreload ${STATE}/noreload/app.wsgi
Alias /sh/ ${APPS}/scriptdir/
Alias /ah/ ${APPS}/scriptdir/
Alias /noexec/ ${APPS}/scriptdir/
Alias /nopathinfo/ ${APPS}/scriptdir/
Alias /handled/ ${APPS}/scriptdir/
WSGIHandlerScript my-handler ${APPS}/handler/app.wsgi process-group=rt1
<Location /sh/>
    Options +ExecCGI
    SetHandler wsgi-script
</Location>
<Location /ah/>
    Options +ExecCGI
    AddHandler wsgi-script .wsgi
</Location>
<Location /noexec/>
    Options -ExecCGI
    SetHandler wsgi-script
</Location>
<Location /nopathinfo/>
    Options +ExecCGI
    SetHandler wsgi-script
    AcceptPathInfo Off
</Location>
<Location /handled/>
    SetHandler my-handler
</Location>
<Location /restricted>
    SetEnv PG rt2
    WSGIProcessGroup %{ENV:PG}
    WSGIRestrictProcess rt1
</Location>
<Location /allowed>
    SetEnv PG rt1
    WSGIProcessGroup %{ENV:PG}
    WSGIRestrictProcess rt1 %{GLOBAL}
</Location>
<Location /head-on>
    WSGIMapHEADToGET On
</Location>
<Location /head-off>
    WSGIMapHEADToGET Off
</Location>
<Location /head-deflate>
    SetOutputFilter DEFLATE
</Location>
<Location /override>
    WSGIErrorOverride On
    ErrorDocument 404 "httpd's own 404 page"
</Location>
<Location /nooverride>
    ErrorDocument 404 "httpd's own 404 page"
</Location>
<Location /flags>
    WSGIEnableSendfile Off
    WSGIIgnoreActivity On
    WSGIScriptReloading Off
</Location>
<Location /noreload>
    WSGIScriptReloading Off
</Location>
<Directory "${STATE}/noreload">
    Require all granted
</Directory>
""")

RELOAD_APP = '''VERSION = "{version}"


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [VERSION.encode()]
'''


class TestRouting:
    server_conf = ROUTING_CONF

    # ---- WSGIScriptAliasMatch -------------------------------------------------------------------

    def test_110_01_alias_match_substitutes_the_script(self, client):
        r = client.get("/m/environ/x/y?q=1")
        assert r.status == 200, r
        env = r.json()
        assert env["SCRIPT_FILENAME"] == f"{client.server.apps}/environ/app.wsgi"
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/m/environ", "/x/y")
        r = client.get("/m/method")
        assert (r.status, r.body) == (200, b"method GET"), r

    def test_110_02_alias_match_missing_script_is_404(self, client):
        assert client.get("/m/nosuchapp/x").status == 404

    def test_110_03_alias_match_substitutes_group_options(self, client):
        for group in ("rt1", "rt2"):
            env = client.get(f"/g/{group}/x").json()
            assert env["mod_wsgi.process_group"] == group
            assert env["mod_wsgi.application_group"] == f"app-{group}"
            assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == (f"/g/{group}", "/x")

    def test_110_04_alias_match_on_segment_boundary_only(self, client):
        # "/g/rt1x" is not "/g/rt1" plus more: no alias matches, httpd's own mapping answers.
        assert client.get("/g/rt1x").status == 404

    def test_110_05_values_from_the_url_are_literal(self, client):
        # A client must not reach the main interpreter (or read an environment variable) by
        # putting %{GLOBAL} into the URL: the group name is taken as it is.
        env = client.get("/lit/%25%7BGLOBAL%7D/x").json()
        assert env["mod_wsgi.application_group"] == "%{GLOBAL}"

    # ---- a directory of scripts, SetHandler/AddHandler ----------------------------------------

    def test_110_10_alias_to_a_directory_of_scripts(self, server):
        for name in ("first", "second"):
            r = http.get(server.port, f"/dir/{name}.wsgi/extra/path")
            assert r.status == 200, r
            assert r.json() == {"script": name, "SCRIPT_NAME": f"/dir/{name}.wsgi",
                                "PATH_INFO": "/extra/path",
                                "SCRIPT_FILENAME": f"{server.apps}/scriptdir/{name}.wsgi"}
        assert http.get(server.port, "/dir/missing.wsgi").status == 404

    @pytest.mark.parametrize("prefix", ["/sh", "/ah"])
    def test_110_11_set_and_add_handler_with_exec_cgi(self, server, prefix):
        r = http.get(server.port, f"{prefix}/first.wsgi/p")
        assert r.status == 200, r
        assert r.json()["SCRIPT_NAME"] == f"{prefix}/first.wsgi"
        assert r.json()["PATH_INFO"] == "/p"

    @pytest.mark.allow_log("WG0105")
    def test_110_12_set_handler_without_exec_cgi_is_403(self, server):
        r = http.get(server.port, "/noexec/first.wsgi")
        assert r.status == 403, r
        assert b"def application" not in r.body  # the source is never served

    def test_110_13_accept_path_info_off(self, server):
        assert http.get(server.port, "/nopathinfo/first.wsgi").status == 200
        assert http.get(server.port, "/nopathinfo/first.wsgi/more").status == 404

    # ---- WSGIHandlerScript ----------------------------------------------------------------------

    def test_110_20_handler_script_serves_the_requested_file(self, client):
        r = client.get("/handled/data.txt/tail")
        assert r.status == 200, r
        env = r.json()
        apps = client.server.apps
        assert env["SCRIPT_FILENAME"] == f"{apps}/scriptdir/data.txt"
        assert env["mod_wsgi.handler_script"] == f"{apps}/handler/app.wsgi"
        assert env["mod_wsgi.callable_object"] == "handle_request"
        assert env["mod_wsgi.process_group"] == "rt1"
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/handled/data.txt", "/tail")

    # ---- WSGIRestrictProcess --------------------------------------------------------------------

    @pytest.mark.allow_log("WG0151")
    def test_110_30_restrict_process(self, server):
        assert http.get(server.port, "/restricted/x").status == 500
        server.log.wait_for(r"WG0151: daemon process group 'rt2'", server.checked_offset)
        r = http.get(server.port, "/allowed/x")
        assert r.status == 200, r
        assert r.json()["mod_wsgi.process_group"] == "rt1"

    # ---- WSGIMapHEADToGET -----------------------------------------------------------------------

    @pytest.mark.parametrize("path,seen", [("/head-auto", "HEAD"), ("/head-on", "GET"),
                                           ("/head-off", "HEAD"), ("/head-deflate", "GET")])
    def test_110_40_map_head_to_get(self, client, path, seen):
        r = client.request("HEAD", path)
        assert r.status == 200 and r.body == b"", r
        assert r.header("X-Method") == seen
        assert client.get(path).header("X-Method") == "GET"

    # ---- WSGIErrorOverride ----------------------------------------------------------------------

    def test_110_50_error_override(self, client):
        r = client.get("/override?s=404%20Not%20Found")
        assert r.status == 404, r
        assert b"httpd's own 404 page" in r.body
        assert b"status 404" not in r.body and r.header("X-Status-App") is None
        # Success statuses pass through, and without the directive so do errors.
        r = client.get("/override?s=201%20Created")
        assert (r.status, r.body) == (201, b"status 201 Created"), r
        r = client.get("/nooverride?s=404%20Not%20Found")
        assert (r.status, r.body) == (404, b"status 404 Not Found"), r

    # ---- the Location: internal redirect ---------------------------------------------------------

    def test_110_60_local_location_with_200_is_an_internal_redirect(self, client):
        r = client.get("/redirect?to=/env/after%3Fx%3D1")
        assert r.status == 200, r
        env = r.json()
        assert env["REQUEST_METHOD"] == "GET"
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/env", "/after")
        assert env["REDIRECT_URL"] == "/redirect"
        assert env["REDIRECT_QUERY_STRING"] == "to=/env/after%3Fx%3D1"
        assert env["REQUEST_URI"] == "/env/after?x=1" and env["QUERY_STRING"] == "x=1"
        assert b"redirecting response" not in r.body

    def test_110_61_internal_redirect_of_a_post_keeps_the_connection_usable(self, server):
        conn = http.connection(server.port)
        try:
            r = http.send(conn, "POST", "/redirect?to=/env/posted", os.urandom(300000),
                          {"Content-Type": "application/octet-stream"})
            assert r.status == 200, r
            env = r.json()
            assert env["REQUEST_METHOD"] == "GET" and env.get("CONTENT_LENGTH", "") == ""
            r = http.send(conn, "GET", "/env/next")
            assert r.status == 200 and r.json()["PATH_INFO"] == "/next", r
        finally:
            conn.close()

    def test_110_62_other_locations_are_plain_redirects(self, client):
        r = client.get("/redirect?to=http://example.test/x")
        assert r.status == 200 and r.body == b"body of the redirecting response", r
        assert r.header("Location") == "http://example.test/x"
        r = client.get("/redirect?to=/env/x&status=302%20Found")
        assert r.status == 302 and r.header("Location").endswith("/env/x"), r

    # ---- per-request settings the daemon sees -----------------------------------------------------

    def test_110_70_request_flags_in_the_environ(self, client):
        flags = client.get("/flags/x").json()
        assert (flags["mod_wsgi.enable_sendfile"], flags["mod_wsgi.ignore_activity"],
                flags["mod_wsgi.script_reloading"]) == ("0", "1", "0")
        defaults = client.get("/env/x").json()
        # WSGIEnableSendfile is On unless turned off (docs/configuration.md: unlike mod_wsgi).
        assert (defaults["mod_wsgi.enable_sendfile"], defaults["mod_wsgi.ignore_activity"],
                defaults["mod_wsgi.script_reloading"]) == ("1", "0", "1")
        assert defaults["mod_wsgi.handler_script"] == ""

    def test_110_71_request_flags_cannot_be_set_by_set_env(self, make_server):
        srv = make_server(ServerConf(r"""
WSGIDaemonProcess flags threads=1
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=flags
SetEnv mod_wsgi.ignore_activity 1
SetEnv mod_wsgi.script_reloading 0
"""))
        env = http.get(srv.port, "/env").json()
        assert (env["mod_wsgi.ignore_activity"], env["mod_wsgi.script_reloading"]) == ("0", "1")

    def test_110_72_script_reloading_off_keeps_the_loaded_script(self, server):
        script = write_script(server.state / "noreload" / "app.wsgi", RELOAD_APP.format(version="v1"))
        assert http.get(server.port, "/noreload").body == b"v1"
        script.write_text(RELOAD_APP.format(version="v2"))
        st = script.stat()
        os.utime(script, (st.st_atime + 10, st.st_mtime + 10))
        # Every worker thread that answers keeps v1 (with reloading on, test_500_04 sees v2).
        for _ in range(8):
            assert http.get(server.port, "/noreload").body == b"v1"
            time.sleep(0.02)


# ---- configuration errors -----------------------------------------------------------------------

@pytest.mark.parametrize("body,words", [
    ("WSGIScriptAliasMatch ^/(unclosed ${APPS}/environ/app.wsgi\n",
     ["WSGIScriptAliasMatch", "does not compile"]),
    ("WSGIScriptAliasMatch ^/([a-z]+) ${APPS}/$2/app.wsgi\n",
     ["WSGIScriptAliasMatch", "$2", "1 group"]),
    ("WSGIDaemonProcess g threads=1\n"
     "WSGIScriptAliasMatch ^/(a) ${APPS}/environ/app.wsgi process-group=$1 application-group=$3\n",
     ["application-group=", "$3"]),
    ("WSGIMapHEADToGET Sometimes\n", ["WSGIMapHEADToGET", "On, Off or Auto"]),
    ("WSGIRestrictProcess %{ENV:X}\n", ["WSGIRestrictProcess", "%{ENV:X}"]),
    ("WSGIHandlerScript h ${APPS}/handler/app.wsgi process-group=nosuchgroup\n",
     ["nosuchgroup"]),
    ("WSGIHandlerScript h ${APPS}/handler/app.wsgi callable-object=x\n",
     ["WSGIHandlerScript", "callable-object"]),
])
def test_110_90_routing_errors_fail_configtest(make_server, body, words):
    assert_configtest_fails(make_server, body, words)


def test_110_80_scripts_are_preloaded_at_daemon_start(make_server):
    # WSGIImportScript, and WSGIScriptAlias with both groups given, load the script when the
    # daemon starts, before any request (mod_wsgi's preload).
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess pre threads=2
WSGIImportScript ${APPS}/preload/app.wsgi process-group=pre application-group=%{GLOBAL}
WSGIScriptAlias /named ${APPS}/preload/app.wsgi process-group=pre application-group=named
"""))
    pid = srv.daemons()[0].pid
    for group in ("GLOBAL", "named"):
        assert wait_for_file(srv.state / f"preloaded-{pid}-{group}") == "loaded"
    assert http.get(srv.port, "/named").body == b"preload app"
