// SPDX-License-Identifier: Apache-2.0
// The `mod_wsgi` module inside the daemon (python/mod_wsgi_module.h): its attributes,
// request_data(), active_requests and the events of subscribe_events. Each test runs in an
// application group of its own, so module state (subscribers) does not leak between tests.
#include "python/mod_wsgi_module.h"

#include <string>

#include <gtest/gtest.h>

#include "python/runtime.h"
#include "support/fake_request_io.h"
#include "support/python_environment.h"

namespace wsgid::testing {
namespace {

using Kind = python::CallOutcome::Kind;

python::CallOutcome runIn(const std::string& group, const char* source, FakeRequestIo& io,
                          const std::string& requestId = "req-1") {
    python::WsgiRequest request;
    request.applicationGroup = group;
    request.environ = basicEnviron();
    request.requestId = requestId;
    return runApp(source, io, request);
}

TEST(ModWsgiModule, AttributesDescribeTheDaemon) {
    FakeRequestIo io;
    const auto outcome = runIn("modwsgi-attributes", R"PY(
import mod_wsgi
def application(environ, start_response):
    start_response('200 OK', [])
    return [repr((mod_wsgi.process_group, mod_wsgi.application_group,
                  mod_wsgi.maximum_processes, mod_wsgi.threads_per_process, mod_wsgi.version,
                  mod_wsgi.FileWrapper is environ['wsgi.file_wrapper'])).encode()]
)PY",
                               io);
    ASSERT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "('test-group', 'modwsgi-attributes', 1, 4, (5, 0, 0), True)");
}

TEST(ModWsgiModule, RequestDataOnlyDuringARequest) {
    FakeRequestIo io;
    const auto outcome = runIn("modwsgi-data", R"PY(
import mod_wsgi
try:
    mod_wsgi.request_data()
    AT_IMPORT = 'answered'
except RuntimeError:
    AT_IMPORT = 'RuntimeError'
def application(environ, start_response):
    data = mod_wsgi.request_data()
    data['x'] = 1
    same = mod_wsgi.request_data() is data
    active = mod_wsgi.active_requests.get(environ['mod_wsgi.request_id']) is data
    start_response('200 OK', [])
    return [repr((AT_IMPORT, same, active)).encode()]
)PY",
                               io, "req-data");
    ASSERT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "('RuntimeError', True, True)");

    // After the request it is gone from active_requests.
    FakeRequestIo after;
    ASSERT_EQ(runIn("modwsgi-data", R"PY(
import mod_wsgi
def application(environ, start_response):
    start_response('200 OK', [])
    return [repr(sorted(mod_wsgi.active_requests)).encode()]
)PY",
                    after, "req-after")
                  .kind,
              Kind::Completed);
    EXPECT_EQ(after.sent(), "['req-after']");
}

TEST(ModWsgiModule, EventsInOrderWithTheirKeys) {
    FakeRequestIo first;
    ASSERT_EQ(runIn("modwsgi-events", R"PY(
import mod_wsgi
EVENTS = []
@mod_wsgi.subscribe_events
def record(name, **event):
    EVENTS.append((name, event.get('request_id'), event.get('status'),
                   event.get('response_status')))
def application(environ, start_response):
    start_response('201 Created', [])
    return [repr(EVENTS).encode()]
)PY",
                    first, "req-a")
                  .kind,
              Kind::Completed);
    // While the app ran, only request_started and response_started had happened.
    EXPECT_EQ(first.sent(),
              "[('request_started', 'req-a', None, None), "
              "('response_started', 'req-a', None, '201 Created')]");
}

TEST(ModWsgiModule, RequestFinishedAndExceptionEvents) {
    FakeRequestIo io;
    const auto outcome = runIn("modwsgi-exception", R"PY(
import mod_wsgi, sys
@mod_wsgi.subscribe_events
def record(name, **event):
    if name == 'request_exception':
        sys.modules['__main__']._wsgid_exc = event['exception_info'][0].__name__
    if name == 'request_finished':
        sys.modules['__main__']._wsgid_finished = (event['status'], event['request_data'])
def application(environ, start_response):
    mod_wsgi.request_data()['k'] = 'v'
    raise KeyError('boom')
)PY",
                               io, "req-x");
    EXPECT_EQ(outcome.kind, Kind::AppError);
    FakeRequestIo check;
    ASSERT_EQ(runIn("modwsgi-exception", R"PY(
import sys
def application(environ, start_response):
    main = sys.modules['__main__']
    start_response('200 OK', [])
    return [repr((main._wsgid_exc, main._wsgid_finished)).encode()]
)PY",
                    check, "req-check")
                  .kind,
              Kind::Completed);
    EXPECT_EQ(check.sent(), "('KeyError', (500, {'k': 'v'}))");
}

TEST(ModWsgiModule, SubscriberMayWrapTheApplicationAndMayFail) {
    testLog().clear();
    FakeRequestIo io;
    const auto outcome = runIn("modwsgi-wrap", R"PY(
import mod_wsgi
@mod_wsgi.subscribe_events
def broken(name, **event):
    raise ValueError('subscriber bug')
@mod_wsgi.subscribe_events
def wrap(name, **event):
    if name == 'request_started':
        inner = event['application_object']
        def wrapped(environ, start_response):
            return [b'wrapped:'] + list(inner(environ, start_response))
        return {'application_object': wrapped}
def application(environ, start_response):
    start_response('200 OK', [])
    return [b'app']
)PY",
                               io);
    ASSERT_EQ(outcome.kind, Kind::Completed) << outcome.message;
    EXPECT_EQ(io.sent(), "wrapped:app");
    // The failing subscriber is reported on sys.stderr (the error log), with its traceback.
    EXPECT_TRUE(testLog().contains("WG0312", "request_started subscriber"));
    EXPECT_TRUE(testLog().contains("WG0312", "ValueError: subscriber bug"));
}

TEST(ModWsgiModule, EachRequestGetsAFreshRequestDataDictWithoutSubscribers) {
    // Without subscribers the request's state is made natively (ModWsgiModule::beginHere).
    const char* app = R"PY(
import mod_wsgi, sys
def application(environ, start_response):
    data = mod_wsgi.request_data()
    seen = (dict(data), mod_wsgi.active_requests.get(environ['mod_wsgi.request_id']) is data,
            sorted(mod_wsgi.active_requests))
    data['mark'] = environ['mod_wsgi.request_id']
    start_response('200 OK', [])
    return [repr(seen).encode()]
)PY";
    for (const char* id : {"req-one", "req-two"}) {
        FakeRequestIo io;
        ASSERT_EQ(runIn("modwsgi-fresh", app, io, id).kind, Kind::Completed);
        EXPECT_EQ(io.sent(), std::string("({}, True, ['") + id + "'])");
    }
}

TEST(ModWsgiModule, ASubscriberAddedDuringARequestHearsItFinish) {
    // The request began without subscribers (natively); its end runs the module's _finish.
    FakeRequestIo io;
    ASSERT_EQ(runIn("modwsgi-late", R"PY(
import mod_wsgi, sys
def application(environ, start_response):
    mod_wsgi.request_data()['k'] = 'late'
    @mod_wsgi.subscribe_events
    def record(name, **event):
        if name == 'request_finished':
            sys.modules['__main__']._wsgid_late = (
                event['request_id'], event['status'], event['request_data'],
                event['application_time'] >= 0, event['application_start'] > 0)
    start_response('202 Accepted', [])
    return [b'']
)PY",
                    io, "req-late")
                  .kind,
              Kind::Completed);
    FakeRequestIo check;
    ASSERT_EQ(runIn("modwsgi-late", R"PY(
import mod_wsgi, sys
def application(environ, start_response):
    start_response('200 OK', [])
    return [repr((sys.modules['__main__']._wsgid_late, sorted(mod_wsgi.active_requests),
                  mod_wsgi.request_data())).encode()]
)PY",
                    check, "req-check")
                  .kind,
              Kind::Completed);
    EXPECT_EQ(check.sent(), "(('req-late', 202, {'k': 'late'}, True, True), ['req-check'], {})");
}

}  // namespace
}  // namespace wsgid::testing
