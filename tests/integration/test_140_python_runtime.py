# SPDX-License-Identifier: Apache-2.0
"""1xx: the server-wide Python directives: WSGIPythonOptimize, WSGIDontWriteBytecode,
WSGIPythonWarnings, WSGIPythonHashSeed, WSGIRestrictStdin, WSGIRestrictStdout,
WSGIRestrictSignal, WSGICaseSensitivity, WSGIDestroyInterpreter, and the old directives that are
accepted with a notice (WSGILazyInitialization, WSGIRestrictEmbedded, ...)."""

import os
import subprocess

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails

# The mounts of both servers: the app, and one script reached by two paths that differ in case.
ROUTES = r"""
WSGIScriptAlias /py ${APPS}/pyruntime/app.wsgi
WSGIScriptAlias /lower ${STATE}/casedir/app.wsgi application-group=cases
WSGIScriptAlias /upper ${STATE}/CaseDir/app.wsgi application-group=cases
<Directory "${STATE}">
    Require all granted
</Directory>
"""

TUNED_CONF = ServerConf(r"""
WSGIPythonOptimize 2
WSGIDontWriteBytecode On
WSGIPythonWarnings ignore::DeprecationWarning
WSGIPythonWarnings error::ResourceWarning
WSGIPythonHashSeed 123
WSGISwitchInterval 0.002
WSGIPerInterpreterGIL Off
WSGIFreeThreading On
WSGIServerMetrics On
WSGINewRelicConfigFile /etc/newrelic.ini
WSGIPy3kWarningFlag Off
WSGIPassApacheRequest On
WSGIRestrictStdin On
WSGIRestrictStdout On
WSGIRestrictSignal Off
WSGICaseSensitivity Off
WSGIDestroyInterpreter Off
WSGIPythonEggs /tmp
WSGILazyInitialization On
WSGIRestrictEmbedded On
WSGIAcceptMutex default
WSGIVerboseDebugging Off
WSGISocketRotation Off
WSGIDaemonProcess tuned threads=2
WSGIProcessGroup tuned
""" + ROUTES)

DEFAULT_CONF = ServerConf(r"""
WSGIDaemonProcess plain threads=2
WSGIProcessGroup plain
""" + ROUTES)


def expected_hash(seed: str) -> int:
    out = subprocess.run(["/usr/bin/python3", "-c", "print(hash('wsgid'))"],
                         env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return int(out)


def case_scripts(srv) -> None:
    """One script reached by two paths that differ in case (a symlink stands in for a
    case-insensitive file system)."""
    lower = srv.state / "casedir"
    lower.mkdir()
    os.chmod(lower, 0o755)
    (lower / "app.wsgi").write_bytes((srv.apps / "pyruntime" / "app.wsgi").read_bytes())
    os.chmod(lower / "app.wsgi", 0o644)
    os.symlink(lower, srv.state / "CaseDir")


def test_140_01_python_directives_reach_the_daemons(make_server):
    srv = make_server(TUNED_CONF, start=False)
    case_scripts(srv)
    srv.start()
    r = http.get(srv.port, "/py")
    assert r.status == 200, r
    py = r.json()
    assert py["optimize"] == 2
    assert py["dont_write_bytecode"] is True
    assert py["warnoptions"] == ["ignore::DeprecationWarning", "error::ResourceWarning"]
    assert py["hash"] == expected_hash("123")
    assert py["switch_interval"] == pytest.approx(0.002)
    assert py["stdin"].startswith("OSError: sys.stdin access is restricted"), py["stdin"]
    assert py["print"].startswith("OSError: sys.stdout access is restricted"), py["print"]
    # Without the restriction, signal.signal() is Python's own: on a worker thread it refuses.
    assert py["signal"].startswith("ValueError"), py["signal"]
    # WSGICaseSensitivity Off: the two spellings of the path are one module.
    assert http.get(srv.port, "/lower").json()["module"] == \
        http.get(srv.port, "/upper").json()["module"]
    # The old directives are noted once at start.
    log = srv.log.read_from(0)
    for name in ("WSGILazyInitialization", "WSGIRestrictEmbedded",
                 "WSGIAcceptMutex", "WSGIVerboseDebugging", "WSGISocketRotation",
                 "WSGIFreeThreading", "WSGIServerMetrics", "WSGINewRelicConfigFile",
                 "WSGIPy3kWarningFlag", "WSGIPassApacheRequest"):
        assert f"{name} " in log and "has no effect" in log, name
    # WSGIDestroyInterpreter Off: a stopping daemon leaves its interpreters as they are.
    offset = srv.log.size()
    srv.graceful()
    srv.log.wait_for(r"WG0339", offset)


@pytest.mark.allow_log("WG0311")  # print() goes to the error log, at error level
def test_140_02_defaults_are_mod_wsgis(make_server):
    srv = make_server(DEFAULT_CONF, start=False)
    case_scripts(srv)
    srv.start()
    py = http.get(srv.port, "/py").json()
    assert py["optimize"] == 0
    assert py["dont_write_bytecode"] is False
    assert py["warnoptions"] == []
    assert py["switch_interval"] == pytest.approx(0.005)
    assert py["stdin"] == "ok: ''"  # the daemon's stdin is /dev/null
    assert py["print"] == "ok: None"  # to the error log
    assert py["signal"].startswith("ok: "), py["signal"]  # ignored and logged
    assert http.get(srv.port, "/lower").json()["module"] != \
        http.get(srv.port, "/upper").json()["module"]
    srv.log.wait_for(r"WG0311: pyruntime app prints", 0)
    srv.log.wait_for(r"WG0313: signal.signal\(<Signals.SIGUSR2: 12>, \.\.\.\) ignored", 0)


@pytest.mark.parametrize("body,words", [
    ("WSGIPythonOptimize 3\n", ["WSGIPythonOptimize", "3"]),
    ("WSGIPythonHashSeed sometimes\n", ["WSGIPythonHashSeed", "random"]),
    ("WSGIPythonHashSeed 4294967296\n", ["WSGIPythonHashSeed"]),
    ("WSGISwitchInterval 0\n", ["WSGISwitchInterval", "above 0"]),
    ("<VirtualHost *:80>\nWSGIRestrictStdout On\n</VirtualHost>\n",
     ["WSGIRestrictStdout", "cannot occur within"]),
])
def test_140_90_python_directive_errors_fail_configtest(make_server, body, words):
    assert_configtest_fails(make_server, body, words)
