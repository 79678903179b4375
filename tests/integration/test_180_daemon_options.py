# SPDX-License-Identifier: Apache-2.0
"""1xx: WSGIDaemonProcess options of mod_wsgi beyond the process basics: script-user= and
script-group= (the owner a group's scripts must have), cpu-priority=, stack-size=,
switch-interval=, python-eggs= and socket-user=."""

import os
import pwd
import shutil

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown files")


def owned_script(srv, name: str, user: str, group: str) -> None:
    """A copy of the procinfo app at ${STATE}/NAME/app.wsgi owned by user:group."""
    d = srv.state / name
    d.mkdir()
    os.chmod(d, 0o755)
    shutil.copy(srv.apps / "procinfo" / "app.wsgi", d / "app.wsgi")
    os.chmod(d / "app.wsgi", 0o644)
    shutil.chown(d / "app.wsgi", user, group)


@ROOT_ONLY
@pytest.mark.allow_log("WG0161")
def test_180_01_scripts_must_have_the_required_owner(make_server):
    # As mod_wsgi: a request whose WSGI script is not owned by script-user= (or has another
    # group than script-group=) gets 403, and the log says which owner was required.
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess byuser threads=2 script-user=nobody
WSGIDaemonProcess bygroup threads=2 script-group=nogroup
WSGIDaemonProcess both threads=2 script-user=#0 script-group=root
WSGIScriptAlias /user/nobody ${STATE}/nobody/app.wsgi process-group=byuser
WSGIScriptAlias /user/root ${STATE}/root/app.wsgi process-group=byuser
WSGIScriptAlias /group/nobody ${STATE}/nobody/app.wsgi process-group=bygroup
WSGIScriptAlias /group/root ${STATE}/root/app.wsgi process-group=bygroup
WSGIScriptAlias /both/root ${STATE}/root/app.wsgi process-group=both
WSGIScriptAlias /both/nobody ${STATE}/nobody/app.wsgi process-group=both
<Directory "${STATE}">
    Require all granted
</Directory>
"""), start=False)
    owned_script(srv, "nobody", "nobody", "nogroup")
    owned_script(srv, "root", "root", "root")
    srv.start()
    assert http.get(srv.port, "/user/nobody").status == 200
    assert http.get(srv.port, "/group/nobody").status == 200
    assert http.get(srv.port, "/both/root").status == 200
    mark = srv.log.size()
    assert http.get(srv.port, "/user/root").status == 403
    record = srv.log.wait_for(r"WG0161", mark)
    assert "script-user=nobody" in record.text and "byuser" in record.text, record.text
    mark = srv.log.size()
    assert http.get(srv.port, "/group/root").status == 403
    record = srv.log.wait_for(r"WG0161", mark)
    assert "script-group=nogroup" in record.text, record.text
    assert http.get(srv.port, "/both/nobody").status == 403


def test_180_02_unknown_script_owner_fails_configtest(make_server):
    assert_configtest_fails(make_server, "WSGIDaemonProcess g script-user=no-such-user-wg\n",
                            ["script-user", "no-such-user-wg", "does not exist"])
    assert_configtest_fails(make_server, "WSGIDaemonProcess g script-group=no-such-group-wg\n",
                            ["script-group", "no-such-group-wg", "does not exist"])
