# SPDX-License-Identifier: Apache-2.0
"""1xx: the WSGI environ (PEP 3333 and mod_wsgi's extras) as apps see it through a real apache2."""

import http.client as http_client
import json
import os
import ssl
import subprocess

import pytest

from harness import http
from harness.httpd import ServerConf

ENVIRON_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess env processes=2 threads=4
WSGIDaemonProcess env1 threads=1
WSGIProcessGroup env
WSGIScriptAlias /sub/deeper ${APPS}/environ/app.wsgi
WSGIScriptAlias /sub ${APPS}/environ/app.wsgi
WSGIScriptAlias /m ${APPS}/environ/app.wsgi
WSGIScriptAlias /m/inner ${APPS}/procinfo/app.wsgi
WSGIScriptAlias /single ${APPS}/environ/app.wsgi process-group=env1
WSGIScriptAlias /named ${APPS}/environ/app.wsgi application-group=named-group
WSGIScriptAlias /global ${APPS}/environ/app.wsgi application-group=%{GLOBAL}
WSGIScriptAlias /auth ${APPS}/environ/app.wsgi
WSGIScriptAlias /loc ${APPS}/environ/app.wsgi
WSGIScriptAlias /envgroup ${APPS}/environ/app.wsgi
WSGIScriptAlias /server-group ${APPS}/environ/app.wsgi
WSGIScriptAlias /host-group ${APPS}/environ/app.wsgi
WSGIScriptAlias /callable-default ${APPS}/callable/app.wsgi
WSGIScriptAlias /callable-directive ${APPS}/callable/app.wsgi
WSGIScriptAlias /callable-option ${APPS}/callable/app.wsgi callable-object=custom
WSGIScriptAlias /dirscope ${APPS}/groups/app.wsgi
WSGIScriptAlias / ${APPS}/environ/app.wsgi
<Location /auth>
    WSGIPassAuthorization On
</Location>
<Location /loc>
    WSGIProcessGroup env1
</Location>
<Location /envgroup>
    SetEnv WG_APP_GROUP from-env
    WSGIApplicationGroup %{ENV:WG_APP_GROUP}
</Location>
<Location /server-group>
    WSGIApplicationGroup %{SERVER}
</Location>
<Location /host-group>
    WSGIApplicationGroup %{HOST}
</Location>
<Location /callable-directive>
    WSGICallableObject custom
</Location>
<Directory "${APPS}/groups">
    WSGIProcessGroup env1
    WSGIApplicationGroup dir-group
</Directory>
""")


def environ(client, path, method="GET", body=None, headers=None):
    """The environ the app saw, over the client's protocol."""
    r = client.request(method, path, body=body, headers=headers)
    assert r.status == 200, r
    return r.json()


class TestEnviron:
    server_conf = ENVIRON_CONF

    @pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    def test_100_01_request_method(self, client, method):
        body = b"x" if method in ("POST", "PUT", "PATCH") else None
        assert environ(client, "/sub/x", method, body)["REQUEST_METHOD"] == method

    def test_100_02_root_mount_path(self, client):
        env = environ(client, "/foo/bar")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/foo/bar")

    def test_100_03_root_mount_slash(self, client):
        env = environ(client, "/")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/")

    def test_100_04_sub_mount_exact(self, client):
        env = environ(client, "/sub")
        assert env["SCRIPT_NAME"] == "/sub"
        assert env.get("PATH_INFO", "") == ""

    def test_100_05_sub_mount_with_path(self, client):
        env = environ(client, "/sub/x/y")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/sub", "/x/y")

    def test_100_06_sub_mount_trailing_slash(self, client):
        env = environ(client, "/sub/")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/sub", "/")

    def test_100_07_mount_matches_whole_segments(self, client):
        # "/subway" is not under "/sub": the root mount serves it.
        env = environ(client, "/subway/x")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/subway/x")

    def test_100_08_first_listed_mount_wins(self, client):
        env = environ(client, "/sub/deeper/z")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/sub/deeper", "/z")
        # /m is listed before /m/inner, so it takes /m/inner/x too (mod_wsgi's first match).
        env = environ(client, "/m/inner/x")
        assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/m", "/inner/x")
        assert env["SCRIPT_FILENAME"].endswith("/environ/app.wsgi")

    def test_100_09_path_info_is_decoded_latin1(self, client):
        env = environ(client, "/sub/a%20b/caf%C3%A9")
        assert env["SCRIPT_NAME"] == "/sub"
        # PEP 3333: the URL-decoded bytes, as a latin-1 str.
        assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/a b/café"
        assert env["REQUEST_URI"] == "/sub/a%20b/caf%C3%A9"

    def test_100_10_query_string_raw(self, client):
        qs = "a=1&b=two%20words&c=%C3%A9&d&e=x+y"
        env = environ(client, "/sub/q?" + qs)
        assert env["QUERY_STRING"] == qs
        assert env["PATH_INFO"] == "/q"
        assert env["REQUEST_URI"] == "/sub/q?" + qs

    def test_100_11_query_string_empty(self, client):
        assert environ(client, "/sub/q").get("QUERY_STRING", "") == ""

    def test_100_12_content_type_and_length(self, client):
        env = environ(client, "/sub/p", "POST", b"a=1&b=22",
                      {"Content-Type": "application/x-www-form-urlencoded"})
        assert env["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
        assert env["CONTENT_LENGTH"] == "8"

    def test_100_13_no_body_no_content_length(self, client):
        env = environ(client, "/sub/g")
        assert env.get("CONTENT_LENGTH", "") in ("", "0")
        assert env.get("CONTENT_TYPE", "") == ""

    def test_100_14_server_variables(self, client):
        env = environ(client, "/sub/s")
        assert env["SERVER_NAME"] == "127.0.0.1"
        assert env["SERVER_PORT"] == str(client.port)
        assert env["SERVER_PROTOCOL"] == client.server_protocol
        assert env["SERVER_SOFTWARE"].startswith("Apache")
        assert env["SCRIPT_FILENAME"] == f"{client.server.apps}/environ/app.wsgi"

    def test_100_15_http10_protocol(self, server):
        r = http.raw_exchange(server.port, b"GET /sub/old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        assert r.status == 200 and r.complete, r
        assert json.loads(r.body)["SERVER_PROTOCOL"] == "HTTP/1.0"

    def test_100_16_remote_address_and_port(self, server):
        with http.raw_connect(server.port) as sock:
            local_port = sock.getsockname()[1]
            sock.sendall(b"GET /sub/r HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            raw, closed, _ = http.read_until_close(sock)
        r = http.parse_response(raw, closed)
        assert r.status == 200 and r.complete, r
        env = json.loads(r.body)
        assert env["REMOTE_ADDR"] == "127.0.0.1"
        assert env["REMOTE_PORT"] == str(local_port)

    def test_100_17_http_headers(self, server):
        conn = http.connection(server.port)
        try:
            conn.putrequest("GET", "/sub/h", skip_accept_encoding=True)
            conn.putheader("X-Custom-Header", "custom value")
            conn.putheader("User-Agent", "wsgid-tests/1.0")
            conn.putheader("X-Multi", "a")
            conn.putheader("X-Multi", "b")
            conn.putheader("Accept-Language", "en, fr;q=0.5")
            conn.endheaders()
            r = conn.getresponse()
            env = json.loads(r.read())
        finally:
            conn.close()
        assert env["HTTP_X_CUSTOM_HEADER"] == "custom value"
        assert env["HTTP_USER_AGENT"] == "wsgid-tests/1.0"
        assert env["HTTP_X_MULTI"] == "a, b"
        assert env["HTTP_ACCEPT_LANGUAGE"] == "en, fr;q=0.5"
        assert env["HTTP_HOST"] == f"127.0.0.1:{server.port}"

    def test_100_18_no_proxy_header(self, client):
        # httpoxy: a Proxy request header must never become HTTP_PROXY.
        env = environ(client, "/sub/p", headers={"Proxy": "http://evil.example:3128"})
        assert "HTTP_PROXY" not in env

    def test_100_19_header_names_with_underscores_dropped(self, client):
        # X_Under cannot be told apart from X-Under once mapped to HTTP_X_UNDER: httpd drops it
        # so a client cannot spoof a header a proxy in front has set.
        env = environ(client, "/sub/u", headers={"X_Under": "spoofed", "X-Under": "real"})
        assert env["HTTP_X_UNDER"] == "real"

    def test_100_20_authorization_hidden_by_default(self, client):
        env = environ(client, "/sub/a", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert "HTTP_AUTHORIZATION" not in env

    def test_100_21_authorization_passed_with_directive(self, client):
        env = environ(client, "/auth/a", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert env["HTTP_AUTHORIZATION"] == "Basic dXNlcjpwYXNz"

    def test_100_22_wsgi_keys(self, client):
        env = environ(client, "/sub/w")
        assert env["wsgi.version"] == [1, 0]
        assert env["_types"]["wsgi.version"] == "tuple"
        assert env["wsgi.url_scheme"] == client.scheme
        assert env["wsgi.multithread"] is True  # threads=4
        assert env["wsgi.multiprocess"] is True  # processes=2
        assert env["wsgi.run_once"] is False
        assert env["wsgi.input_terminated"] is True
        assert env["wsgi.input.has_read"] is True
        assert env["wsgi.errors.has_write"] is True
        assert env["wsgi.file_wrapper.callable"] is True
        if client.scheme == "http":
            assert "HTTPS" not in env or env["HTTPS"] in ("", "off")

    def test_100_23_wsgi_flags_single_thread_group(self, client):
        env = environ(client, "/single/w")
        assert env["wsgi.multithread"] is False  # threads=1
        assert env["wsgi.multiprocess"] is False  # processes= not given
        assert env["mod_wsgi.process_group"] == "env1"

    def test_100_24_cgi_values_are_native_strings(self, client):
        env = environ(client, "/sub/t?x=1", headers={"X-A": "b"})
        cgi = {k: t for k, t in env["_types"].items() if k.isupper()}
        assert cgi, env
        assert all(t == "str" for t in cgi.values()), cgi

    def test_100_25_process_group(self, client):
        assert environ(client, "/sub/x")["mod_wsgi.process_group"] == "env"
        # WSGIProcessGroup in <Location> scope.
        assert environ(client, "/loc/x")["mod_wsgi.process_group"] == "env1"

    def test_100_26_application_group_default_is_resource(self, client):
        assert environ(client, "/sub/x")["mod_wsgi.application_group"] == \
            f"127.0.0.1:{client.port}|/sub"
        assert environ(client, "/other")["mod_wsgi.application_group"] == \
            f"127.0.0.1:{client.port}|"

    def test_100_27_application_group_named_and_global(self, client):
        assert environ(client, "/named/x")["mod_wsgi.application_group"] == "named-group"
        assert environ(client, "/global/x")["mod_wsgi.application_group"] == ""

    def test_100_28_application_group_expansions(self, client):
        assert environ(client, "/envgroup/x")["mod_wsgi.application_group"] == "from-env"
        assert environ(client, "/server-group/x")["mod_wsgi.application_group"] == \
            f"127.0.0.1:{client.port}"
        host = environ(client, "/host-group/x", headers={"Host": f"example.test:{client.port}"})
        assert host["mod_wsgi.application_group"].startswith("example.test")

    def test_100_30_groups_in_directory_scope(self, client):
        r = client.get("/dirscope")
        assert r.status == 200, r
        assert r.json()["process_group"] == "env1"
        assert r.json()["application_group"] == "dir-group"

    def test_100_29_callable_object(self, client):
        assert client.get("/callable-default").body == b"application"
        assert client.get("/callable-directive").body == b"custom"
        assert client.get("/callable-option").body == b"custom"


VHOST_CONF = ServerConf(r"""
WSGIDaemonProcess main threads=2
WSGIProcessGroup main
<VirtualHost 127.0.0.1:${PORT}>
    ServerName default.test
    WSGIScriptAlias /which ${APPS}/environ/app.wsgi
</VirtualHost>
<VirtualHost 127.0.0.1:${PORT}>
    ServerName vhost.test
    ServerAlias alias.test
    WSGIDaemonProcess vh threads=2
    WSGIProcessGroup vh
    WSGIScriptAlias /which ${APPS}/environ/app.wsgi
    WSGIScriptAlias /only-here ${APPS}/environ/app.wsgi
</VirtualHost>
""")


class TestVirtualHosts:
    server_conf = VHOST_CONF

    def get(self, server, path, host):
        return http.get(server.port, path, headers={"Host": f"{host}:{server.port}"})

    def test_100_40_named_vhost_has_its_own_mounts_and_group(self, server):
        r = self.get(server, "/which", "vhost.test")
        assert r.status == 200, r
        env = r.json()
        assert env["SERVER_NAME"] == "vhost.test"
        assert env["mod_wsgi.process_group"] == "vh"
        assert env["mod_wsgi.application_group"] == f"vhost.test:{server.port}|/which"

    def test_100_41_server_alias(self, server):
        r = self.get(server, "/which", "alias.test")
        assert r.status == 200, r
        assert r.json()["mod_wsgi.process_group"] == "vh"

    def test_100_42_default_vhost(self, server):
        for host in ("default.test", "unknown.test"):
            r = self.get(server, "/which", host)
            assert r.status == 200, r
            env = r.json()
            assert env["mod_wsgi.process_group"] == "main"
            assert env["mod_wsgi.application_group"] == f"default.test:{server.port}|/which"

    def test_100_43_mount_only_in_its_vhost(self, server):
        assert self.get(server, "/only-here", "vhost.test").status == 200
        assert self.get(server, "/only-here", "default.test").status == 404


DEFAULT_GROUP_CONF = ServerConf(r"""
WSGIPythonPath ${APPS}/lib
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi
WSGIScriptAlias /env ${APPS}/environ/app.wsgi
""", daemons=1)


class TestDefaultGroup:
    """An alias without WSGIProcessGroup runs in the module's default daemon group (Python never
    runs inside httpd), configured by WSGIPythonPath."""

    server_conf = DEFAULT_GROUP_CONF

    def test_100_50_served_by_a_daemon_child(self, server):
        r = http.get(server.port, "/info")
        assert r.status == 200, r
        info = r.json()
        daemons = {p.pid for p in server.daemons()}
        assert info["pid"] in daemons
        assert info["pid"] not in {p.pid for p in server.workers()}
        assert info["ppid"] == server.pid

    def test_100_51_wsgi_python_path(self, server):
        info = http.get(server.port, "/info").json()
        assert f"{server.apps}/lib" in info["sys_path"]

    def test_100_52_environ_basics(self, server):
        env = http.get(server.port, "/env/x?y=1").json()
        assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["QUERY_STRING"]) == ("/env", "/x", "y=1")


def test_100_53_server_level_process_group_starts_no_default_daemon(make_server):
    # Every alias is covered by the server-level WSGIProcessGroup, so the module must not start an
    # idle default-group daemon: exactly the group's one process runs.
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess site threads=2 display-name=wsgid-site-only
WSGIProcessGroup site
WSGIScriptAlias /info ${APPS}/procinfo/app.wsgi
""", daemons=1))
    info = http.get(srv.port, "/info").json()
    daemons = srv.daemons()
    assert [p.pid for p in daemons] == [info["pid"]]
    assert info["process_group"] == "site", info


def test_100_60_https_url_scheme(make_server):
    srv = make_server(ServerConf(r"""
LoadModule ssl_module "${MODULES}/mod_ssl.so"
LoadModule socache_shmcb_module "${MODULES}/mod_socache_shmcb.so"
SSLSessionCache "shmcb:${WG_ROOT}/run/ssl_scache(512000)"
SSLEngine on
SSLCertificateFile "${WG_ROOT}/cert.pem"
SSLCertificateKeyFile "${WG_ROOT}/key.pem"
WSGIDaemonProcess tls threads=2
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=tls
"""), start=False)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(srv.root / "key.pem"),
                    "-out", str(srv.root / "cert.pem")], check=True, capture_output=True,
                   timeout=60)
    srv.start()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http_client.HTTPSConnection("127.0.0.1", srv.port, timeout=30, context=ctx)
    try:
        conn.request("GET", "/env/x")
        r = conn.getresponse()
        assert r.status == 200
        env = json.loads(r.read())
    finally:
        conn.close()
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == str(srv.port)


def test_100_61_groups_cannot_be_chosen_in_htaccess(make_server, expect_log):
    # A tenant's .htaccess must not route requests to another tenant's daemons (as mod_wsgi).
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess tenant threads=1
WSGIDaemonProcess other threads=1
WSGIScriptAlias /tenant ${STATE}/tenant/app.wsgi process-group=tenant
<Directory "${STATE}/tenant">
    AllowOverride All
    Require all granted
</Directory>
"""), start=False)
    tenant = srv.state / "tenant"
    tenant.mkdir()
    os.chmod(tenant, 0o755)
    (tenant / "app.wsgi").write_bytes((srv.apps / "groups" / "app.wsgi").read_bytes())
    (tenant / ".htaccess").write_text("WSGIProcessGroup other\n")
    for f in ("app.wsgi", ".htaccess"):
        os.chmod(tenant / f, 0o644)
    srv.start()
    r = http.get(srv.port, "/tenant")
    # httpd refuses the directive in .htaccess (500) and says so (an alert without a log id).
    assert r.status == 500, r
    expect_log(srv, r"\.htaccess: WSGIProcessGroup not allowed here")
