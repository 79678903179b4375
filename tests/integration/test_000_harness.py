# SPDX-License-Identifier: Apache-2.0
"""0xx: the harness itself: error-log records, allowlisting and httpd's shutdown races, telling
complete responses from aborted ones, and a plain apache2 (no WSGI directive) started, restarted
and stopped cleanly."""

import datetime

from harness import errorlog, http
from harness.httpd import ServerConf

LOG = """\
[Sat Nov 28 07:23:18.430106 2026] [mpm_event:notice] [pid 1:tid 1] AH00489: resuming
[Sat Nov 28 07:23:19.000000 2026] [wsgid:error] [pid 7:tid 8] WG0330: exception in app
[Sat Nov 28 07:23:19.000001 2026] [wsgid:error] [pid 7:tid 8] WG0330: Traceback (most recent call last):
[Sat Nov 28 07:23:19.000002 2026] [wsgid:error] [pid 7:tid 8] WG0330:   File "x", line 1
raw continuation line
[Sat Nov 28 07:23:20.000000 2026] [core:error] [pid 9:tid 9] [client 127.0.0.1:1] AH01630: denied
[Sat Nov 28 07:23:21.000000 2026] [wsgid:info] [pid 7:tid 8] WG0333: client gone
"""


def test_000_01_log_records_and_levels():
    recs = errorlog.parse(LOG)
    assert [r.level for r in recs] == ["notice", "error", "error", "error", "error", "info"]
    assert recs[3].lines[-1] == "raw continuation line"
    assert [r.is_bad() for r in recs] == [False, True, True, True, True, False]


def test_000_02_allowlist_is_by_id():
    recs = [r for r in errorlog.parse(LOG) if r.is_bad()]
    assert {i for r in recs for i in r.ids} == {"WG0330", "AH01630"}
    left = [r for r in recs if not (r.ids & {"WG0330"})]
    assert len(left) == 1 and "AH01630" in left[0].text


def test_000_03_id_less_lines_continue_their_message():
    text = ("[Sat Nov 28 07:23:19.000000 2026] [wsgid:error] [pid 7:tid 8] WG0330: head\n"
            "[Sat Nov 28 07:23:19.000001 2026] [wsgid:error] [pid 7:tid 8] Traceback\n"
            "[Sat Nov 28 07:23:19.000001 2026] [wsgid:error] [pid 7:tid 9] Traceback\n")
    recs = errorlog.parse(text)
    assert len(recs) == 2 and recs[1].ids == set()  # another thread: a message of its own


def test_000_04_complete_and_aborted_responses():
    ok = http.parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"5\r\nhello\r\n0\r\n\r\n", closed=True)
    assert ok.complete and not ok.aborted and ok.body == b"hello"
    cut = http.parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nhello\r\n", closed=True)
    assert cut.aborted
    short = http.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
                                closed=True)
    assert short.aborted and short.body == b"hello"
    interim = http.parse_response(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                                  closed=True)
    assert interim.interim == [100] and interim.status == 204 and interim.complete


def test_000_05_plain_httpd_lifecycle(make_server):
    srv = make_server(ServerConf("", daemons=0, load_module=False))
    assert http.get(srv.port, "/nothing").status == 404
    srv.graceful()
    srv.restart()
    assert http.get(srv.port, "/nothing").status == 404
    result = srv.stop()
    assert not result.sigkilled and not result.leftovers


def test_000_06_lingering_close_race_passes_only_after_a_stop():
    rec = errorlog.parse("[Sat Nov 28 07:23:19.500000 2026] [mpm_event:error] [pid 7:tid 8] "
                         "(9)Bad file descriptor: AH03092: process_lingering_close: "
                         "apr_pollset_add failure\n")[0]
    assert rec.is_bad()
    stop = datetime.datetime(2026, 11, 28, 7, 23, 19, 400000)
    assert rec.is_stop_race([stop])
    assert not rec.is_stop_race([])  # no stop asked for: a descriptor closed behind httpd's back
    assert not rec.is_stop_race([stop + datetime.timedelta(seconds=1)])  # logged before the stop
    other = errorlog.parse(LOG)[1]
    assert not other.is_stop_race([stop - datetime.timedelta(days=1)])
