# SPDX-License-Identifier: Apache-2.0
"""1xx: WSGIDaemonProcess options of mod_wsgi that mod_wsgid once only accepted (with a start-up
warning, WG0012) now all have their effect. chroot=: test_720_chroot.py; threads=0:
test_195_service_scripts.py."""

import pytest

from harness import http
from harness.httpd import ServerConf, assert_configtest_fails


def test_160_01_no_option_is_accepted_without_effect(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess opts threads=2 request-timeout=60 interrupt-timeout=5 server-metrics=On \
    send-buffer-size=65536 receive-buffer-size=65536 header-buffer-size=32768 \
    response-buffer-size=131072 response-flush-delay=0
WSGIScriptAlias /env ${APPS}/environ/app.wsgi process-group=opts
"""))
    assert http.get(srv.port, "/env").status == 200
    assert "WG0012" not in srv.log.read_from(0)


@pytest.mark.allow_log("WG0116")
def test_160_04_socket_timeout_bounds_the_wait_for_a_response(make_server):
    # socket-timeout= of the group, as in mod_wsgi: a response that does not start in time is a
    # 504 (the app goes on running in the daemon).
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess slow threads=2 socket-timeout=1
WSGIScriptAlias /sleep ${APPS}/sleep/app.wsgi process-group=slow
"""))
    assert http.get(srv.port, "/sleep?t=3").status == 504
    srv.log.wait_for(r"WG0116", 0)
