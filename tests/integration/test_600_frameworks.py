# SPDX-License-Identifier: Apache-2.0
"""6xx: real frameworks from Debian packages: a Flask app and a single-file Django project, each
under a sub-mount, in their own application groups of one daemon group."""

import os

from harness.httpd import ServerConf

FRAMEWORKS_CONF = ServerConf(tls=True, body=r"""
WSGIDaemonProcess frameworks processes=1 threads=4
WSGIProcessGroup frameworks
WSGIScriptAlias /flask ${APPS}/flask/app.wsgi
WSGIScriptAlias /django ${APPS}/django/app.wsgi
""")

FORM = b"name=wsgid&tags=a&tags=b&empty=&utf8=caf%C3%A9"
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


class TestFlask:
    server_conf = FRAMEWORKS_CONF

    def test_600_01_index(self, client):
        r = client.get("/flask/")
        assert (r.status, r.body) == (200, b"Hello from Flask"), r

    def test_600_02_json(self, client):
        r = client.get("/flask/json")
        assert r.status == 200
        assert r.header("Content-Type") == "application/json"
        body = r.json()
        assert body["framework"] == "flask" and body["numbers"] == [1, 2, 3]
        assert body["pid"] in {p.pid for p in client.server.daemons()}

    def test_600_03_routing_and_url_for_under_mount(self, client):
        r = client.get("/flask/items/42")
        assert r.status == 200, r
        assert r.json() == {"item": 42, "url": "/flask/items/42", "script_root": "/flask",
                            "path": "/items/42"}

    def test_600_04_form_post(self, client):
        r = client.post("/flask/form", FORM, FORM_TYPE)
        assert r.status == 200, r
        assert r.json()["fields"] == {"name": ["wsgid"], "tags": ["a", "b"], "empty": [""],
                                      "utf8": ["café"]}

    def test_600_05_large_upload(self, client):
        body = os.urandom(1 << 20)
        r = client.post("/flask/upload", body, {"Content-Type": "application/octet-stream"})
        assert r.status == 200 and r.json()["length"] == 1 << 20

    def test_600_06_not_found(self, client):
        assert client.get("/flask/no/such/route").status == 404

    def test_600_07_method_not_allowed(self, client):
        assert client.get("/flask/form").status == 405


class TestDjango:
    server_conf = FRAMEWORKS_CONF

    def test_600_21_index(self, client):
        r = client.get("/django/")
        assert (r.status, r.body) == (200, b"Hello from Django"), r

    def test_600_22_json(self, client):
        r = client.get("/django/json")
        assert r.status == 200
        assert r.header("Content-Type") == "application/json"
        assert r.json()["framework"] == "django"

    def test_600_23_routing_and_reverse_under_mount(self, client):
        r = client.get("/django/items/7")
        assert r.status == 200, r
        assert r.json() == {"item": 7, "url": "/django/items/7", "path": "/django/items/7",
                            "path_info": "/items/7"}

    def test_600_24_form_post(self, client):
        r = client.post("/django/form", FORM, FORM_TYPE)
        assert r.status == 200, r
        assert r.json()["fields"] == {"name": ["wsgid"], "tags": ["a", "b"], "empty": [""],
                                      "utf8": ["café"]}

    def test_600_25_not_found(self, client):
        assert client.get("/django/no/such/route").status == 404

    def test_600_26_both_frameworks_side_by_side(self, client):
        # The two apps live in separate sub-interpreters of the same daemon process.
        f = client.get("/flask/json").json()
        d = client.get("/django/json").json()
        assert f["pid"] == d["pid"]
