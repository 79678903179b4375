# SPDX-License-Identifier: Apache-2.0
"""1xx: authentication through Python, run in the request's daemon group (never in httpd):
WSGIAuthUserScript behind AuthBasicProvider/AuthDigestProvider wsgi, WSGIAuthGroupScript behind
Require wsgi-group, WSGIAccessScript; for WSGI mounts and for static files alike."""

import base64
import json

import pytest
import requests
from requests.auth import HTTPDigestAuth

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails
from harness.util import wait_for_file

AUTH_CONF = ServerConf(tls=True, body=r"""
LoadModule alias_module "${MODULES}/mod_alias.so"
LoadModule authn_core_module "${MODULES}/mod_authn_core.so"
LoadModule auth_basic_module "${MODULES}/mod_auth_basic.so"
LoadModule auth_digest_module "${MODULES}/mod_auth_digest.so"
LoadModule authz_user_module "${MODULES}/mod_authz_user.so"
WSGIDaemonProcess site threads=4
WSGIProcessGroup site
WSGIScriptAlias /basic ${APPS}/environ/app.wsgi
WSGIScriptAlias /digest ${APPS}/environ/app.wsgi
WSGIScriptAlias /groups ${APPS}/environ/app.wsgi
WSGIScriptAlias /access ${APPS}/environ/app.wsgi
Alias /static/ ${APPS}/scriptdir/
<Location /basic>
    AuthType Basic
    AuthName "wsgid basic"
    AuthBasicProvider wsgi
    WSGIAuthUserScript ${APPS}/auth/auth.wsgi
    Require valid-user
</Location>
<Location /digest>
    AuthType Digest
    AuthName "wsgid digest"
    AuthDigestDomain /digest
    AuthDigestProvider wsgi
    WSGIAuthUserScript ${APPS}/auth/auth.wsgi
    Require valid-user
</Location>
<Location /groups>
    AuthType Basic
    AuthName "wsgid groups"
    AuthBasicProvider wsgi
    WSGIAuthUserScript ${APPS}/auth/auth.wsgi
    WSGIAuthGroupScript ${APPS}/auth/auth.wsgi
    Require wsgi-group admins
</Location>
<Location /access>
    WSGIAccessScript ${APPS}/auth/auth.wsgi application-group=access
</Location>
<Location /static/>
    AuthType Basic
    AuthName "wsgid static"
    AuthBasicProvider wsgi
    WSGIAuthUserScript ${APPS}/auth/auth.wsgi
    Require valid-user
</Location>
""")


# httpd's own records of a refused login, at error level: a wrong password (AH01617), an unknown
# user (AH01618), a wrong Digest response (AH01794), a user in none of the required groups
# (AH01631). What these tests are about.
REFUSED_LOGIN_IDS = ("AH01617", "AH01618", "AH01794", "AH01631")


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class TestAuth:
    server_conf = AUTH_CONF

    @pytest.mark.allow_log(*REFUSED_LOGIN_IDS)
    def test_150_01_basic_through_check_password(self, client):
        assert client.get("/basic/x").status == 401
        r = client.get("/basic/x", headers=basic("alice", "wonderland"))
        assert r.status == 200, r
        env = r.json()
        assert (env["REMOTE_USER"], env["AUTH_TYPE"]) == ("alice", "Basic")
        assert "HTTP_AUTHORIZATION" not in env
        assert client.get("/basic/x", headers=basic("alice", "wrong")).status == 401
        assert client.get("/basic/x", headers=basic("nobody", "x")).status == 401

    def test_150_02_a_str_answer_renames_the_user(self, client):
        r = client.get("/basic/x", headers=basic("carol", "any"))
        assert r.status == 200, r
        assert r.json()["REMOTE_USER"] == "carol-renamed"

    @pytest.mark.allow_log("WG0350", "WG0157")
    def test_150_03_a_failing_script_is_a_server_error(self, server):
        r = http.get(server.port, "/basic/x", headers=basic("boom", "x"))
        assert r.status == 500, r
        server.log.wait_for(r"WG0350: exception in check_password of .*auth.wsgi",
                            server.checked_offset)

    def test_150_04_the_hook_runs_in_the_requests_daemon_group(self, server):
        r = http.get(server.port, "/basic/x", headers=basic("probe", "probe"))
        assert r.status == 200, r
        probe = json.loads(wait_for_file(server.state / "probe-check_password.json"))
        assert probe["pid"] in {p.pid for p in server.daemons()}
        assert probe["process_group"] == "site"
        assert probe["application_group"] == ""  # %{GLOBAL}, mod_wsgi's default for these
        # The hook's arguments (the password among them) are not in its environ.
        assert not [k for k in probe["keys"] if k.startswith("mod_wsgid.hook")], probe["keys"]

    @pytest.mark.allow_log(*REFUSED_LOGIN_IDS)
    def test_150_05_digest_through_get_realm_hash(self, server):
        url = f"http://127.0.0.1:{server.port}/digest/x"
        assert requests.get(url, timeout=30).status_code == 401
        r = requests.get(url, auth=HTTPDigestAuth("bob", "builder"), timeout=30)
        assert r.status_code == 200, r.text
        assert (r.json()["REMOTE_USER"], r.json()["AUTH_TYPE"]) == ("bob", "Digest")
        r = requests.get(url, auth=HTTPDigestAuth("bob", "wrong"), timeout=30)
        assert r.status_code == 401

    @pytest.mark.allow_log(*REFUSED_LOGIN_IDS)
    def test_150_06_require_wsgi_group(self, client):
        assert client.get("/groups/x", headers=basic("alice", "wonderland")).status == 200
        assert client.get("/groups/x", headers=basic("bob", "builder")).status == 401

    def test_150_07_access_script(self, client):
        assert client.get("/access/x").status == 200
        assert client.get("/access/x?undecided").status == 200
        assert client.get("/access/x?deny").status == 403

    def test_150_08_static_files_behind_wsgi_auth(self, client):
        assert client.get("/static/data.txt").status == 401
        r = client.get("/static/data.txt", headers=basic("alice", "wonderland"))
        assert r.status == 200 and b"no script" in r.body, r


@pytest.mark.parametrize("body,words", [
    ("<Location /x>\nWSGIAuthUserScript /srv/auth.wsgi process-group=other\n</Location>\n",
     ["WSGIAuthUserScript", "process-group", "daemon group of the request"]),
    ("<Location /x>\nWSGIAccessScript\n</Location>\n", ["WSGIAccessScript"]),
])
def test_150_90_auth_script_errors_fail_configtest(make_server, body, words):
    assert_configtest_fails(make_server, body, words)
