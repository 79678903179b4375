# SPDX-License-Identifier: Apache-2.0
"""1xx: what mod_wsgi apps read besides PEP 3333: the mod_wsgi.* environ keys, SCRIPT_FILENAME,
DOCUMENT_ROOT, REQUEST_URI, SERVER_SIGNATURE, mod_ssl's variables, and the `mod_wsgi` module
inside the daemon (attributes, request_data(), active_requests, subscribe_events,
subscribe_shutdown)."""

import json

from harness import http
from harness.httpd import ServerConf
from harness.util import wait_for_file

API_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess api processes=2 threads=3
WSGIProcessGroup api
WSGIApplicationGroup api-group
WSGIScriptAlias /api ${APPS}/modwsgi/app.wsgi
WSGIScriptAlias /env ${APPS}/environ/app.wsgi
WSGIScriptAlias /signed ${APPS}/environ/app.wsgi
WSGIScriptAlias /ssl ${APPS}/environ/app.wsgi
<Location /api>
    SetEnv MARKER_DIR ${STATE}
</Location>
<Location /signed>
    ServerSignature On
</Location>
<Location /ssl>
    SSLOptions +StdEnvVars
</Location>
""")


class TestModWsgiApi:
    server_conf = API_CONF

    def test_130_01_environ_keys(self, client):
        r = client.get("/env/a%20b?q=1")
        assert r.status == 200, r
        env = r.json()
        assert env["mod_wsgi.version"] == [5, 0, 0]
        assert env["mod_wsgi.request_handler"] == "wsgi-script"
        assert env["mod_wsgi.handler_script"] == ""
        assert env["mod_wsgi.callable_object"] == "application"
        assert (env["mod_wsgi.script_name"], env["mod_wsgi.path_info"]) == ("/env", "/a b")
        assert env["mod_wsgi.script_reloading"] == "1"
        assert env["mod_wsgi.enable_sendfile"] == "1"  # our default (docs/configuration.md)
        starts = [env[f"mod_wsgi.{k}_start"] for k in ("request", "queue", "daemon")]
        assert all(s.isdigit() for s in starts), starts
        assert int(starts[0]) <= int(starts[1]), starts  # both httpd's clock, in order
        assert env["SCRIPT_FILENAME"] == f"{client.server.apps}/environ/app.wsgi"
        assert env["DOCUMENT_ROOT"] == f"{client.server.root}/htdocs"
        assert env["REQUEST_URI"] == "/env/a%20b?q=1"
        assert env["SERVER_SIGNATURE"] == ""

    def test_130_02_server_signature(self, client):
        env = client.get("/signed").json()
        assert "Apache" in env["SERVER_SIGNATURE"] and "<address>" in env["SERVER_SIGNATURE"]

    def test_130_03_mod_ssl_variables(self, client):
        env = client.get("/ssl").json()
        if client.scheme != "https":
            assert "SSL_PROTOCOL" not in env and "HTTPS" not in env
            return
        assert env["wsgi.url_scheme"] == "https"
        assert env["SSL_PROTOCOL"].startswith("TLS"), env.get("SSL_PROTOCOL")
        assert env["SSL_CIPHER"]
        assert "HTTPS" not in env  # turned into wsgi.url_scheme, as mod_wsgi does

    def test_130_10_module_attributes(self, client):
        r = client.get("/api")
        assert r.status == 200, r
        api = r.json()
        assert api["version"] == [5, 0, 0]
        assert api["process_group"] == "api"
        assert api["application_group"] == "api-group"
        assert (api["maximum_processes"], api["threads_per_process"]) == (2, 3)
        assert api["file_wrapper_is_environs"] is True

    def test_130_11_request_data_and_active_requests(self, client):
        api = client.get("/api").json()
        assert api["request_data"] == {"seen_by_subscriber": True, "app": "was here"}
        assert api["active"] is True

    def test_130_12_events(self, server):
        # Two daemon processes: ask until one answers that has served an earlier request.
        for _ in range(20):
            events = http.get(server.port, "/api").json()["events"]
            names = [name for name, _ in events]
            if "request_finished" in names:
                break
        keys = dict((name, set(k)) for name, k in events)
        assert {"request_id", "request_environ", "application_object", "request_start",
                "queue_start", "daemon_start", "request_data"} <= keys["request_started"]
        assert {"response_status", "response_headers", "exception_info"} <= \
            keys["response_started"]
        assert {"status", "application_time", "request_data"} <= keys["request_finished"]

    def test_130_13_request_started_subscriber_wraps_the_app(self, client):
        r = client.get("/api?wrap=1")
        assert r.status == 200 and r.body.startswith(b"wrapped:{"), r
        assert json.loads(r.body[len(b"wrapped:"):])["process_group"] == "api"

    def test_130_14_subscribe_shutdown(self, server):
        served = {http.get(server.port, "/api").json()["pid"] for _ in range(10)}
        server.graceful()
        # A daemon that loaded the app tells its subscribers why it stopped.
        texts = [wait_for_file(server.state / f"stopping-{pid}") for pid in served]
        assert texts == ["process_stopping shutdown_signal"] * len(served)
