# SPDX-License-Identifier: Apache-2.0
"""1xx: WSGITrustedProxies / WSGITrustedProxyHeaders: a trusted proxy's headers rewrite
REMOTE_ADDR, HTTP_HOST, SERVER_PORT, SCRIPT_NAME and wsgi.url_scheme; from any other peer those
headers never reach the app. The test client's peer address is always 127.0.0.1."""

import pytest

from harness.httpd import ServerConf, assert_configtest_fails

PROXY_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess proxy threads=4
WSGIProcessGroup proxy
WSGIScriptAlias /trusted ${APPS}/environ/app.wsgi
WSGIScriptAlias /untrusted ${APPS}/environ/app.wsgi
WSGIScriptAlias /any-peer ${APPS}/environ/app.wsgi
WSGIScriptAlias /chain ${APPS}/environ/app.wsgi
WSGIScriptAlias /forwarded ${APPS}/environ/app.wsgi
WSGIScriptAlias /plain ${APPS}/environ/app.wsgi
<Location /trusted>
    WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto
    WSGITrustedProxyHeaders X-Forwarded-Port X-Forwarded-Script-Name
    WSGITrustedProxies 127.0.0.1 ::1
</Location>
<Location /untrusted>
    WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto
    WSGITrustedProxies 10.0.0.0/8
</Location>
<Location /any-peer>
    WSGITrustedProxyHeaders X-Real-IP X-Forwarded-HTTPS
</Location>
<Location /chain>
    WSGITrustedProxyHeaders X-Forwarded-For
    WSGITrustedProxies 127.0.0.1 10.0.0.0/8
</Location>
<Location /forwarded>
    WSGITrustedProxyHeaders Forwarded
    WSGITrustedProxies 127.0.0.1
</Location>
""")

SPOOFED = {"X-Forwarded-For": "203.0.113.1", "X-Forwarded-Host": "www.example.org",
           "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
           "X-Forwarded-Script-Name": "/public", "X-Real-IP": "203.0.113.2"}


def environ(client, path, headers):
    r = client.get(path, headers=headers)
    assert r.status == 200, r
    return r.json()


class TestProxyHeaders:
    server_conf = PROXY_CONF

    def test_120_01_trusted_proxy_rewrites_the_environ(self, client):
        env = environ(client, "/trusted/x", SPOOFED)
        assert env["REMOTE_ADDR"] == "203.0.113.1"
        assert env["HTTP_HOST"] == "www.example.org"
        assert env["wsgi.url_scheme"] == "https"
        assert env["SERVER_PORT"] == "443"
        assert env["SCRIPT_NAME"] == "/public" and env["PATH_INFO"] == "/x"
        # What httpd mapped, before the proxy's word (mod_wsgi's meaning).
        assert env["mod_wsgi.script_name"] == "/trusted"
        assert env["mod_wsgi.mount_point"] == "/public"
        # X-Real-IP is a synonym of the trusted X-Forwarded-For: nobody vouched for it.
        assert "HTTP_X_REAL_IP" not in env

    def test_120_02_untrusted_peer_gets_the_headers_dropped(self, client):
        env = environ(client, "/untrusted/x", SPOOFED)
        assert env["REMOTE_ADDR"] == "127.0.0.1"
        assert env["HTTP_HOST"] == f"127.0.0.1:{client.port}"
        assert env["wsgi.url_scheme"] == client.scheme
        for key in ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO",
                    "HTTP_X_REAL_IP"):
            assert key not in env, key

    def test_120_03_without_a_proxy_list_every_peer_is_trusted(self, client):
        env = environ(client, "/any-peer/x", {"X-Real-IP": "198.51.100.4",
                                              "X-Forwarded-HTTPS": "On",
                                              "X-Forwarded-For": "6.6.6.6"})
        assert env["REMOTE_ADDR"] == "198.51.100.4"
        assert env["wsgi.url_scheme"] == "https"
        assert "HTTP_X_FORWARDED_FOR" not in env

    def test_120_04_forwarded_for_chain(self, client):
        env = environ(client, "/chain/x",
                      {"X-Forwarded-For": "6.6.6.6, 203.0.113.5, 10.1.1.1, 10.2.2.2"})
        assert env["REMOTE_ADDR"] == "203.0.113.5"
        assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.5, 10.1.1.1, 10.2.2.2"

    def test_120_05_rfc7239_forwarded(self, client):
        env = environ(client, "/forwarded/x",
                      {"Forwarded": 'for="[2001:db8::7]:4711";proto=https;host=www.example.org'})
        assert env["REMOTE_ADDR"] == "2001:db8::7"
        assert env["HTTP_HOST"] == "www.example.org"
        assert env["wsgi.url_scheme"] == "https"

    def test_120_06_headers_nobody_declared_pass_as_they_are(self, client):
        env = environ(client, "/plain/x", SPOOFED)
        assert env["REMOTE_ADDR"] == "127.0.0.1"
        assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.1"
        assert env["wsgi.url_scheme"] == client.scheme


@pytest.mark.parametrize("body,words", [
    ("WSGITrustedProxyHeaders X-Forwarded-Protocol\n",
     ["WSGITrustedProxyHeaders", "X-Forwarded-Protocol", "X-Forwarded-Proto"]),
    ("WSGITrustedProxies proxy.example\n", ["WSGITrustedProxies", "proxy.example"]),
    ("WSGITrustedProxies 10.0.0.0/40\n", ["WSGITrustedProxies", "10.0.0.0/40"]),
])
def test_120_90_proxy_errors_fail_configtest(make_server, body, words):
    assert_configtest_fails(make_server, body, words)
