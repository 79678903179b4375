# SPDX-License-Identifier: Apache-2.0
"""1xx: the drop-in promise. One realistic mod_wsgi configuration (two virtual hosts with their
own daemon groups, a static Alias beside the WSGI mount, WSGIScriptAliasMatch, Basic auth
through WSGIAuthUserScript, trusted proxy headers, a Flask site) is served by Debian's mod_wsgi
4.9.4 and by mod_wsgid, with only the LoadModule line changed, and both answer every request
the same way, over HTTP/1.1 and HTTP/2."""

import base64
import os

import pytest

from harness.client import Client
from harness.httpd import ServerConf

MOD_WSGI = "/usr/lib/apache2/modules/mod_wsgi.so"

# The configuration both servers get, as an operator would write it for mod_wsgi.
SITE_CONF = r"""
LoadModule alias_module "${MODULES}/mod_alias.so"
LoadModule authn_core_module "${MODULES}/mod_authn_core.so"
LoadModule auth_basic_module "${MODULES}/mod_auth_basic.so"
LoadModule authz_user_module "${MODULES}/mod_authz_user.so"
WSGISocketPrefix ${WG_ROOT}/run/wsgi
WSGIRestrictEmbedded On
WSGIPythonHashSeed 0
<VirtualHost 127.0.0.1:${PORT}>
    ServerName site-a.test
    WSGIDaemonProcess site-a processes=2 threads=4 display-name=%{GROUP}
    WSGIProcessGroup site-a
    WSGIApplicationGroup %{GLOBAL}
    WSGIScriptAlias /app ${APPS}/environ/app.wsgi
    WSGIScriptAliasMatch ^/tenant/([a-z]+) ${APPS}/$1/app.wsgi
    WSGIScriptAlias /private ${APPS}/environ/app.wsgi
    Alias /static/ ${APPS}/scriptdir/
    WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Proto
    WSGITrustedProxies 127.0.0.1 ::1
    <Location /private>
        AuthType Basic
        AuthName "private"
        AuthBasicProvider wsgi
        WSGIAuthUserScript ${APPS}/auth/auth.wsgi
        Require valid-user
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:${PORT}>
    ServerName site-b.test
    WSGIDaemonProcess site-b threads=2
    WSGIProcessGroup site-b
    WSGIScriptAlias /flask ${APPS}/flask/app.wsgi
</VirtualHost>
"""

# Environ keys both must agree on (mod_wsgi.version and the keys only one of them has are not
# compared).
ENVIRON_KEYS = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
                "REMOTE_USER", "AUTH_TYPE", "SERVER_NAME", "wsgi.url_scheme",
                "mod_wsgi.process_group", "mod_wsgi.application_group", "HTTP_HOST",
                "HTTP_X_FORWARDED_FOR", "CONTENT_TYPE", "CONTENT_LENGTH")


def auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# (method, host, path, headers, body, what to compare: "environ", "body" or "status")
REQUESTS = [
    ("GET", "site-a.test", "/app/x/y?q=1", {}, None, "environ"),
    ("POST", "site-a.test", "/app/form", {"Content-Type": "application/x-www-form-urlencoded"},
     b"a=1&b=2", "environ"),
    ("GET", "site-a.test", "/app/proxied", {"X-Forwarded-For": "203.0.113.7, 10.0.0.1",
                                            "X-Forwarded-Proto": "https"}, None, "environ"),
    ("GET", "site-a.test", "/tenant/environ/more", {}, None, "environ"),
    ("GET", "site-a.test", "/tenant/method", {}, None, "body"),
    ("GET", "site-a.test", "/tenant/nosuchapp", {}, None, "status"),
    ("GET", "site-a.test", "/static/data.txt", {}, None, "body"),
    ("GET", "site-a.test", "/private/x", {}, None, "status"),
    ("GET", "site-a.test", "/private/x", {"Authorization": auth("alice", "wonderland")}, None,
     "environ"),
    ("GET", "site-a.test", "/private/x", {"Authorization": auth("alice", "nope")}, None,
     "status"),
    ("GET", "site-b.test", "/flask/", {}, None, "body"),
    ("GET", "site-b.test", "/flask/items/7", {}, None, "body"),
    ("POST", "site-b.test", "/flask/form", {"Content-Type": "application/x-www-form-urlencoded"},
     b"name=wsgid&tags=a&tags=b", "body"),
    ("GET", "site-b.test", "/flask/no/such/route", {}, None, "status"),
    ("GET", "site-b.test", "/app/x", {}, None, "status"),  # site-a's mount is not site-b's
]


@pytest.fixture(scope="module")
def servers(harness):
    if not os.path.exists(MOD_WSGI):
        pytest.skip(f"{MOD_WSGI} is not installed (libapache2-mod-wsgi-py3)")
    made = {}
    for name, conf in (("mod_wsgi", ServerConf(SITE_CONF, daemons=0, mod_wsgi=MOD_WSGI,
                                               load_module=False)),
                       ("mod_wsgid", ServerConf(SITE_CONF))):
        srv = harness.new_server(conf, name=name)
        srv.start()
        made[name] = srv
    yield made
    problems = []
    for srv in made.values():
        problems += harness.retire(srv)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def answer(client, method, host, path, headers, body, what):
    port = client.port
    r = client.request(method, path, body=body, headers=dict(headers, Host=f"{host}:{port}"))
    if what == "status" or r.status != 200:
        return r.status, None
    if what == "body":
        text = r.body.replace(str(port).encode(), b"<port>")
        # pids differ between any two servers
        return r.status, text if b'"pid"' not in text else text.split(b'"pid"')[0]
    env = r.json()
    return r.status, {k: str(env.get(k, "<absent>")).replace(str(port), "<port>")
                      for k in ENVIRON_KEYS}


@pytest.mark.allow_log("AH01617")  # httpd's record of the refused password
@pytest.mark.parametrize("proto", ["h1", "h2c"])  # the virtual hosts listen on the plain port
def test_170_01_same_configuration_same_answers(servers, proto, expect_log):
    clients = {name: Client(srv, proto) for name, srv in servers.items()}
    for method, host, path, headers, body, what in REQUESTS:
        ours = answer(clients["mod_wsgid"], method, host, path, headers, body, what)
        theirs = answer(clients["mod_wsgi"], method, host, path, headers, body, what)
        assert ours == theirs, f"{method} {host}{path}: mod_wsgid {ours} != mod_wsgi {theirs}"
    # mod_wsgi logs a missing script at error level, without an id (mod_wsgid: info, WG0103).
    expect_log(servers["mod_wsgi"], r"Target WSGI script not found or unable to stat")


def test_170_02_configuration_passes_configtest_for_both(servers):
    for name, srv in servers.items():
        res = srv.configtest()
        assert res.returncode == 0 and "Syntax OK" in res.stdout + res.stderr, \
            f"{name}: {res.stdout}{res.stderr}"
