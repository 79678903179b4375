# SPDX-License-Identifier: Apache-2.0
"""13x: the parts of mod_wsgi 6's `mod_wsgi` module beyond the request surface:
start_recording_metrics(), process_metrics() and request_metrics() (None until recording starts,
then real counts of this daemon process), server_metrics() (only with server-metrics=On), the
RequestTimeout class, and subscribe_signals (SIGHUP and SIGUSR2 reach the app's callbacks and the
process goes on serving)."""

import os
import signal
import time

from harness import http
from harness.httpd import ServerConf

METRICS_CONF = ServerConf(r"""
WSGIDaemonProcess m processes=1 threads=2 server-metrics=On
WSGIDaemonProcess plain processes=1 threads=1
WSGIScriptAlias /m ${APPS}/metrics/app.wsgi process-group=m
WSGIScriptAlias /plain ${APPS}/metrics/app.wsgi process-group=plain
""")


def ask(srv, path):
    r = http.get(srv.port, path)
    assert r.status == 200, r
    return r.json()


def test_135_01_process_metrics_count_this_process_once_recording(make_server):
    srv = make_server(METRICS_CONF)
    assert ask(srv, "/m?process")["metrics"] is None
    assert ask(srv, "/m?request")["metrics"] is None
    started = ask(srv, "/m?start")
    first = started["metrics"]
    assert first["pid"] == started["pid"]
    assert first["request_count"] >= 2  # the two above finished before this one
    assert first["active_requests"] == 1  # this one
    for _ in range(3):
        ask(srv, "/m")
    later = ask(srv, "/m?process")
    now = later["metrics"]
    assert now["pid"] == later["pid"] == started["pid"]
    assert now["request_count"] >= first["request_count"] + 4
    assert now["request_busy_time"] > first["request_busy_time"] > 0
    assert sum(t["request_count"] for t in now["threads"]) == now["request_count"]
    assert 1 <= now["request_threads"] <= 2
    assert now["memory_rss"] > 0 and now["memory_max_rss"] >= now["memory_rss"] // 2
    assert now["cpu_time"] == now["cpu_user_time"] + now["cpu_system_time"] > 0
    assert now["restart_time"] <= now["current_time"]


def test_135_02_request_metrics_drain_a_window(make_server):
    srv = make_server(METRICS_CONF)
    ask(srv, "/m?start")
    for _ in range(2):
        ask(srv, "/m")
    assert http.get(srv.port, "/m/missing-is-still-the-app").status == 200
    window = ask(srv, "/m?request")["metrics"]
    # ?start, the two plain requests and the third: all finished inside the window.
    assert window["request_count"] == 4, window
    assert window["status_2xx"] == 4 and window["status_5xx"] == 0
    assert window["request_threads_maximum"] == 2
    assert len(window["request_threads_completed"]) == 2
    assert sum(window["request_threads_completed"]) == 4
    assert len(window["application_time_buckets"]) == 65
    assert sum(window["application_time_buckets"]) == 4
    assert window["application_time_min_us"] <= window["application_time_max_us"]
    assert window["sample_period"] > 0 and window["stop_time"] > window["start_time"]
    # The next window holds only the ?request call that drained the first one.
    again = ask(srv, "/m?request")["metrics"]
    assert again["request_count"] == 1, again
    assert again["start_time"] == window["stop_time"]


def test_135_03_server_metrics_only_with_the_option(make_server):
    srv = make_server(METRICS_CONF)
    assert ask(srv, "/plain?server")["metrics"] is None
    ask(srv, "/m")
    answer = ask(srv, "/m?server")
    view = answer["metrics"]
    assert view["server_limit"] == 1 and view["thread_limit"] == 2
    (process,) = view["processes"]
    assert process["pid"] == answer["pid"] and process["process_num"] == 0
    assert len(process["workers"]) == 2
    assert [w["status"] for w in process["workers"]].count("W") == 1  # this request's thread
    assert sum(w["access_count"] for w in process["workers"]) >= 1


def test_135_04_request_timeout_is_a_base_exception(make_server):
    srv = make_server(METRICS_CONF)
    answer = ask(srv, "/plain?timeout_class")
    assert answer["base"] is True and answer["exception"] is False


def wait_for_signals(srv, count):
    for _ in range(100):
        answer = ask(srv, "/m?signals")
        if len(answer["signals"]) >= count:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"the app saw {answer['signals']}")


def test_135_05_sighup_and_sigusr2_reach_subscribe_signals(make_server):
    srv = make_server(METRICS_CONF)
    pid = ask(srv, "/m?signals")["pid"]
    os.kill(pid, signal.SIGUSR2)
    wait_for_signals(srv, 1)
    os.kill(pid, signal.SIGHUP)
    answer = wait_for_signals(srv, 2)
    assert answer["pid"] == pid  # the process goes on serving
    assert answer["signals"] == [["process_signal", int(signal.SIGUSR2), "SIGUSR2"],
                                 ["process_signal", int(signal.SIGHUP), "SIGHUP"]]


def test_135_06_newrelic_options_without_the_package_log_one_error(make_server, allow_log):
    allow_log("WG0343")
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess nr processes=1 threads=2 newrelic-config-file=/etc/newrelic.ini \
    newrelic-environment=staging
WSGIScriptAlias /nr ${APPS}/newrelic/app.wsgi process-group=nr
"""))
    record = srv.log.wait_for(r"WG0343: newrelic-config-file=/etc/newrelic.ini is set, but the "
                              r"newrelic package cannot be imported", 0)
    assert "No module named 'newrelic'" in record.text, record.text
    r = http.get(srv.port, "/nr")
    assert r.status == 200 and r.json() == {"importable": False, "at_import": None}, r
    # Once per process, not once per interpreter.
    assert srv.log.read_from(0).count("WG0343") == 1


def test_135_07_newrelic_agent_is_initialised_before_the_app_loads(make_server):
    srv = make_server(ServerConf(r"""
WSGIDaemonProcess nr processes=1 threads=2 python-path=${APPS}/newrelic/fake \
    newrelic-config-file=/srv/nr/newrelic.ini newrelic-environment=staging
WSGIDaemonProcess nr2 processes=1 threads=1 python-path=${APPS}/newrelic/fake \
    newrelic-config-file=/srv/nr/newrelic.ini
WSGIScriptAlias /nr ${APPS}/newrelic/app.wsgi process-group=nr
WSGIScriptAlias /global ${APPS}/newrelic/app.wsgi process-group=nr2 \
    application-group=%{GLOBAL}
"""))
    r = http.get(srv.port, "/nr")
    assert r.status == 200, r
    assert r.json() == {"importable": True,
                        "at_import": [["/srv/nr/newrelic.ini", "staging", [], []]]}, r
    # In the main interpreter too, and without an environment it passes None.
    r = http.get(srv.port, "/global")
    assert r.json()["at_import"] == [["/srv/nr/newrelic.ini", None, [], []]], r
