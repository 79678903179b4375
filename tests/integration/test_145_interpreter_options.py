# SPDX-License-Identifier: Apache-2.0
"""1xx: <WSGIInterpreterOptions> (mod_wsgi 6): WSGIPythonPath, WSGIRestrictStdin/Stdout/Signal and
WSGISwitchInterval for the interpreters a section matches by process-group= and
application-group=; the most specific section wins, ties go to the last, python-path adds up."""

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails

SECTIONS_CONF = ServerConf(r"""
WSGIDaemonProcess sec threads=2 python-path=${STATE}/group-lib
WSGIDaemonProcess other threads=2
WSGIScriptAlias /main ${APPS}/pyruntime/app.wsgi process-group=sec application-group=%{GLOBAL}
WSGIScriptAlias /admin ${APPS}/pyruntime/app.wsgi process-group=sec application-group=admin
WSGIScriptAlias /other ${APPS}/pyruntime/app.wsgi process-group=other application-group=admin

<WSGIInterpreterOptions>
    WSGIPythonPath ${STATE}/everywhere
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=sec application-group=admin>
    WSGIRestrictStdout Off
    WSGIRestrictSignal Off
</WSGIInterpreterOptions>
<WSGIInterpreterOptions process-group=sec>
    WSGISwitchInterval 0.02
    WSGIRestrictStdin On
</WSGIInterpreterOptions>
<WSGIInterpreterOptions application-group=admin>
    WSGIRestrictStdout On
    WSGIPythonPath ${STATE}/admin-lib
</WSGIInterpreterOptions>
""")

LIBS = ("group-lib", "everywhere", "admin-lib")


@pytest.mark.allow_log("WG0311")  # print() of the unrestricted interpreters goes to the error log
def test_145_01_sections_apply_to_the_interpreters_they_match(make_server):
    srv = make_server(SECTIONS_CONF, start=False)
    for name in LIBS:
        (srv.state / name).mkdir()
    srv.start()
    lib = {name: str(srv.state / name) for name in LIBS}

    main = http.get(srv.port, "/main").json()  # group sec, the main interpreter
    assert main["stdin"].startswith("OSError: sys.stdin access is restricted"), main
    assert main["print"] == "ok: None", main
    assert main["signal"].startswith("ok: "), main  # WSGIRestrictSignal On: ignored and logged
    assert main["switch_interval"] == pytest.approx(0.02)
    assert lib["group-lib"] in main["path"] and lib["everywhere"] in main["path"]
    assert lib["admin-lib"] not in main["path"]

    # Group sec, interpreter admin: the section naming both wins over the one naming only
    # application-group=admin, although that one comes later in the file.
    admin = http.get(srv.port, "/admin").json()
    assert admin["stdin"].startswith("OSError: sys.stdin access is restricted"), admin
    assert admin["print"] == "ok: None", admin
    assert admin["signal"].startswith("ValueError"), admin  # Python's own, on a worker thread
    assert admin["switch_interval"] == pytest.approx(0.02)
    for name in LIBS:
        assert lib[name] in admin["path"], (name, admin["path"])

    # Group other, interpreter admin: only the sections without process-group= apply.
    other = http.get(srv.port, "/other").json()
    assert other["stdin"] == "ok: ''", other
    assert other["print"].startswith("OSError: sys.stdout access is restricted"), other
    assert other["switch_interval"] == pytest.approx(0.005)
    assert lib["everywhere"] in other["path"] and lib["admin-lib"] in other["path"]
    assert lib["group-lib"] not in other["path"]


@pytest.mark.parametrize("body,words", [
    ("<WSGIInterpreterOptions>\nWSGIScriptAlias /x /tmp/x.wsgi\n</WSGIInterpreterOptions>\n",
     ["WSGIScriptAlias", "cannot be used inside <WSGIInterpreterOptions>"]),
    ("WSGIDaemonProcess g threads=1\n"
     "<WSGIInterpreterOptions application-group=a>\nWSGISwitchInterval 0.01\n"
     "</WSGIInterpreterOptions>\n",
     ["WSGISwitchInterval", "one switch interval per process"]),
    ("<WSGIInterpreterOptions process-group=nosuch>\nWSGIRestrictStdin On\n"
     "</WSGIInterpreterOptions>\n",
     ["process-group 'nosuch'", "no WSGIDaemonProcess defines"]),
    ("<WSGIInterpreterOptions user=bob>\nWSGIRestrictStdin On\n</WSGIInterpreterOptions>\n",
     ["unknown option 'user'"]),
    ("<WSGIInterpreterOptions application-group=%{SERVER}>\nWSGIRestrictStdin On\n"
     "</WSGIInterpreterOptions>\n",
     ["a name or %{GLOBAL}"]),
    ("<VirtualHost *:80>\n<WSGIInterpreterOptions>\nWSGIRestrictStdin On\n"
     "</WSGIInterpreterOptions>\n</VirtualHost>\n",
     ["<WSGIInterpreterOptions", "cannot occur within"]),
])
def test_145_90_bad_sections_fail_configtest(make_server, body, words):
    assert_configtest_fails(make_server, body, words)
