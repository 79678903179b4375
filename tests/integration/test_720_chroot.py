# SPDX-License-Identifier: Apache-2.0
"""7xx: chroot= (as mod_wsgi): the daemons of the group chroot into the jail before they drop
privileges and before Python starts; the app sees the jail as /, SCRIPT_FILENAME and
DOCUMENT_ROOT are paths inside it, a script outside it is a 500 naming the jail (WG0176), and
configtest refuses a jail the tenant could write to."""

import json
import os

import pytest

from harness import http, jail
from harness.httpd import ServerConf, assert_configtest_fails

# Reports what the app sees from inside the jail.
JAILED_APP = r'''
import json, os

def application(environ, start_response):
    with open("/etc/hostname") as f:
        hostname = f.read().strip()
    out = {
        "cwd": os.getcwd(),
        "hostname": hostname,
        "uid": os.getuid(),
        "apache2_visible": os.path.exists("/usr/sbin/apache2"),
        "root_entries": sorted(os.listdir("/")),
        "SCRIPT_FILENAME": environ.get("SCRIPT_FILENAME"),
        "DOCUMENT_ROOT": environ.get("DOCUMENT_ROOT"),
        "file": __file__ if "__file__" in globals() else None,
    }
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''


def write_jail_app(root):
    app_dir = root / "app"
    app_dir.mkdir(mode=0o755)
    os.chmod(app_dir, 0o755)
    (app_dir / "app.wsgi").write_text(JAILED_APP)
    os.chmod(app_dir / "app.wsgi", 0o644)
    (root / "etc" / "hostname").write_text("inside-the-jail\n")
    os.chmod(root / "etc" / "hostname", 0o644)


@pytest.mark.needs_jail
@pytest.mark.unsanitized("ASan and LSan read /proc, which the jail has not")
@pytest.mark.allow_log("WG0176")
def test_720_01_app_runs_inside_the_jail(make_server, test_user):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess jailed threads=2 user=%s chroot=${WG_ROOT}/jail home=/app
DocumentRoot "${WG_ROOT}/jail/app"
<Directory "${WG_ROOT}/jail/app">
    Require all granted
</Directory>
WSGIScriptAlias /app ${WG_ROOT}/jail/app/app.wsgi process-group=jailed
WSGIScriptAlias /outside ${APPS}/environ/app.wsgi process-group=jailed
""" % test_user["name"]), start=False)
    root = jail.make(srv.root / "jail")
    try:
        write_jail_app(root)
        srv.start()
        r = http.get(srv.port, "/app")
        assert r.status == 200, r.body
        seen = json.loads(r.body)
        assert seen["hostname"] == "inside-the-jail"
        assert seen["cwd"] == "/app"
        assert seen["uid"] == test_user["uid"]
        assert not seen["apache2_visible"]
        assert sorted(seen["root_entries"]) == ["app", "etc", "usr"]
        assert seen["SCRIPT_FILENAME"] == "/app/app.wsgi"
        assert seen["DOCUMENT_ROOT"] == "/app"

        offset = srv.log.size()
        assert http.get(srv.port, "/outside").status == 500
        rec = srv.log.wait_for(r"WG0176", offset)
        assert str(root) in rec.text and "jailed" in rec.text, rec.text
        srv.stop()
    finally:
        jail.remove(srv.root / "jail")


@pytest.mark.needs_jail
def test_720_02_configtest_refuses_a_jail_the_tenant_could_change(make_server):
    srv = make_server(ServerConf("", daemons=0), start=False)
    root = srv.root / "open-jail"
    root.mkdir()
    os.chmod(root, 0o777)
    assert_configtest_fails(make_server, "WSGIDaemonProcess g chroot=%s\n" % root,
                            ["chroot=", "owned by root", "chmod go-w"])
    assert_configtest_fails(make_server, "WSGIDaemonProcess g chroot=%s/missing\n" % root,
                            ["chroot=", "not an existing directory"])
    os.chmod(root, 0o755)
    assert_configtest_fails(
        make_server,
        "WSGIDaemonProcess g chroot=%s\n"
        "WSGIImportScript ${APPS}/environ/app.wsgi process-group=g application-group=%%{GLOBAL}\n"
        % root, ["outside the jail"])
