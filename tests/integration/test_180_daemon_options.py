# SPDX-License-Identifier: Apache-2.0
"""1xx: WSGIDaemonProcess options of mod_wsgi beyond the process basics: script-user= and
script-group= (the owner a group's scripts must have), cpu-priority=, stack-size=,
switch-interval=, python-eggs= and socket-user=."""

import os
import pwd
import shutil
import socket

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails
from harness.util import wait_for_file

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


def procinfo(srv, path: str) -> dict:
    r = http.get(srv.port, path)
    assert r.status == 200, r.text
    return r.json()


def test_180_03_process_tuning_options(make_server):
    # cpu-priority= (setpriority before the user switch, so a negative one works when httpd
    # starts as root), stack-size= (every thread the daemon starts: request threads and the app's
    # own), python-eggs= (PYTHON_EGG_CACHE); WSGIPythonEggs is the implicit default group's.
    priority = -3 if os.geteuid() == 0 else 5
    srv = make_server(ServerConf(rf"""
WSGIPythonEggs /var/tmp/default-eggs
WSGIDaemonProcess tuned threads=2 cpu-priority={priority} stack-size=262144 python-eggs=/tmp/eggs
WSGIDaemonProcess plain threads=2
WSGIScriptAlias /tuned ${{APPS}}/procinfo/app.wsgi process-group=tuned
WSGIScriptAlias /plain ${{APPS}}/procinfo/app.wsgi process-group=plain
WSGIScriptAlias /default ${{APPS}}/procinfo/app.wsgi
"""))
    tuned = procinfo(srv, "/tuned")
    plain = procinfo(srv, "/plain")
    default = procinfo(srv, "/default")
    assert tuned["priority"] == priority
    assert plain["priority"] == os.getpriority(os.PRIO_PROCESS, 0)
    assert tuned["stack_size"] == 262144 and tuned["app_thread_stack_size"] == 262144
    assert plain["stack_size"] != 262144
    assert tuned["env"]["PYTHON_EGG_CACHE"] == "/tmp/eggs"
    assert plain["env"]["PYTHON_EGG_CACHE"] is None
    assert default["env"]["PYTHON_EGG_CACHE"] == "/var/tmp/default-eggs"


@pytest.mark.allow_log("WG0244")
def test_180_04_refused_stack_size_is_a_warning(make_server):
    # As mod_wsgi: a stack size the system refuses leaves the default, and the daemon serves.
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess small threads=1 stack-size=1024
WSGIScriptAlias /small ${APPS}/procinfo/app.wsgi process-group=small
"""))
    assert procinfo(srv, "/small")["stack_size"] > 1024
    record = srv.log.wait_for(r"WG0244", 0)
    assert "stack-size=1024" in record.text, record.text


@pytest.mark.allow_log("WG0311")  # the app's print() goes to the error log, at error level
def test_180_05_switch_interval_per_group(make_server):
    srv = make_server(ServerConf(r"""
WSGISwitchInterval 0.002
WSGIDaemonProcess own threads=1 switch-interval=0.0125
WSGIDaemonProcess inherits threads=1
WSGIScriptAlias /own ${APPS}/pyruntime/app.wsgi process-group=own
WSGIScriptAlias /inherits ${APPS}/pyruntime/app.wsgi process-group=inherits
"""))
    assert http.get(srv.port, "/own").json()["switch_interval"] == pytest.approx(0.0125)
    assert http.get(srv.port, "/inherits").json()["switch_interval"] == pytest.approx(0.002)
    assert_configtest_fails(make_server, "WSGIDaemonProcess g switch-interval=100\n",
                            ["switch-interval", "at most 60"])


def socket_owner(srv, group: str) -> str:
    paths = list((srv.root / "run").glob(f"wsgi.*.{group}.sock"))
    assert len(paths) == 1, paths
    return pwd.getpwuid(paths[0].lstat().st_uid).pw_name


@ROOT_ONLY
@pytest.mark.allow_log("WG0112")
def test_180_06_socket_user_owns_the_socket_and_is_the_only_peer(make_server):
    # As mod_wsgi: socket-user= owns the group's socket, for httpd children that run as another
    # user than User (mod_ruid2, mpm-itk). Here the children are www-data, so a group whose
    # socket-user is nobody cannot be reached (503), while socket-user=www-data is the default.
    srv = make_server(ServerConf(r"""
WSGISocketPrefix ${WG_ROOT}/run/wsgi
WSGIDaemonProcess same threads=1 socket-user=www-data
WSGIDaemonProcess other threads=1 socket-user=nobody
WSGIDaemonProcess plain threads=1
WSGIScriptAlias /same ${APPS}/procinfo/app.wsgi process-group=same
WSGIScriptAlias /other ${APPS}/procinfo/app.wsgi process-group=other
WSGIScriptAlias /plain ${APPS}/procinfo/app.wsgi process-group=plain
"""))
    assert socket_owner(srv, "same") == "www-data"
    assert socket_owner(srv, "plain") == "www-data"
    assert socket_owner(srv, "other") == "nobody"
    assert http.get(srv.port, "/same").status == 200
    assert http.get(srv.port, "/plain").status == 200
    mark = srv.log.size()
    assert http.get(srv.port, "/other").status == 503
    assert "Permission denied" in srv.log.wait_for(r"WG0112", mark).text


@ROOT_ONLY
def test_180_07_unknown_socket_user_fails_configtest(make_server):
    assert_configtest_fails(make_server, "WSGIDaemonProcess g socket-user=no-such-user-wg\n",
                            ["socket-user", "no-such-user-wg", "does not exist"])


def test_180_08_response_socket_timeout_bounds_writes_to_a_stalled_client(make_server):
    # As mod_wsgi: a client that stops reading holds a response no longer than
    # response-socket-timeout= per write; then the response is cut and the app's close() runs.
    # The other group keeps the server's Timeout (20 s in the harness).
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess limited threads=1 response-socket-timeout=1
WSGIDaemonProcess patient threads=1
WSGIScriptAlias /limited ${APPS}/close/app.wsgi process-group=limited
WSGIScriptAlias /patient ${APPS}/close/app.wsgi process-group=patient
"""))
    clients = []
    for name in ("limited", "patient"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", srv.port))
        marker = srv.state / f"{name}.closed"
        s.sendall(f"GET /{name}?mode=slow&n=100000&delay=0&marker={marker} HTTP/1.1\r\n"
                  f"Host: localhost\r\n\r\n".encode())
        clients.append(s)
    try:
        text = wait_for_file(srv.state / "limited.closed", timeout=10)
        assert text.startswith("closed after"), text
        assert not (srv.state / "patient.closed").exists()
    finally:
        for s in clients:
            s.close()
