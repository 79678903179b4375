// SPDX-License-Identifier: Apache-2.0
// A request's run on its daemon group: how to reach the group (ConnectParams and its timeouts),
// the relay of the request and its response (request_attempts), and what follows a completed
// relay: an internal redirect or httpd's error page (WSGIErrorOverride).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/apache_body_source.h"
#include "apache/apache_response_sink.h"
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/daemon_connection.h"
#include "apache/death_records.h"
#include "apache/handler_impl.h"
#include "apache/relay.h"
#include "apache/relay_finish.h"
#include "apache/request_attempts.h"
#include "common/socket_buffers.h"
#include "protocol/request_head.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// The application's I/O timeout: socket-timeout= of the group, else the server's Timeout.
std::chrono::milliseconds ioTimeoutFor(const DaemonGroup& group, const request_rec* r) {
    if (group.socketTimeout) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(*group.socketTimeout);
    }
    return std::chrono::milliseconds(apr_time_as_msec(r->server->timeout));
}

/// How long a new connection may wait for a daemon process to take it: what is left of the
/// request's queue-timeout (measured, as in mod_wsgi, from when httpd received the request), or
/// without one the I/O timeout. At least a millisecond, so an expired budget fails promptly.
std::chrono::milliseconds acceptTimeoutFor(const DaemonGroup& group, const request_rec* r) {
    if (group.queueTimeout.count() == 0) {
        return ioTimeoutFor(group, r);
    }
    const apr_time_t deadline = r->request_time + apr_time_from_sec(group.queueTimeout.count());
    const apr_time_t left = deadline - apr_time_now();
    return std::chrono::milliseconds(std::max<apr_time_t>(1, apr_time_as_msec(left)));
}

/// Serves `location` instead of the app's 200 response (mod_cgi's local redirect): as a GET
/// without a body, after the rest of the request body was read, so a kept-alive connection stays
/// in step (the connection is closed when it cannot be).
int internalRedirect(request_rec* r, ApacheBodySource& source, const char* location) {
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "WG0153: internal redirect of %s to %s (200 with a local Location)",
                  orEmpty(r->uri), location);
    if (!source.atEnd() && !source.discardRest(kMaxUnreadBodyDrain)) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    r->method = "GET";
    r->method_number = M_GET;
    apr_table_unset(r->headers_in, "Content-Length");
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    ap_internal_redirect_handler(location, r);
    return OK;
}

/// What one request's relay works with besides its connection: how to reach the group, and the
/// client's two ends.
struct RelayEnds {
    RelayEnds(request_rec* r, const ConnectParams& connect, bool errorOverride)
        : params(connect), source(r), sink(r, source, errorOverride) {}

    const ConnectParams params;
    ApacheBodySource source;
    ApacheResponseSink sink;
};

}  // namespace

ConnectParams connectParamsFor(const DaemonGroup& group, const request_rec* r,
                               const GroupRegistry& registry) {
    return {
        .socketPath = group.socketPath,
        .connectTimeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(group.connectTimeout),
        .acceptTimeout = acceptTimeoutFor(group, r),
        .acceptTimeoutName = group.queueTimeout.count() > 0 ? "queue-timeout" : "socket-timeout",
        .ioTimeout = ioTimeoutFor(group, r),
        .group = group.name,
        .managerPid = registry.managerPid,
        .generation = registry.generation,
        .secret = group.secret,
        // The module sends what the daemon receives, and the reverse.
        .socketBuffers = common::withDefaultSizes(
                             {.send = static_cast<std::uint32_t>(group.sendBufferSize),
                              .receive = static_cast<std::uint32_t>(group.receiveBufferSize)},
                             common::kernelSocketBufferMax())
                             .mirrored()};
}

int relayToDaemon(request_rec* r, ChildState& child, const DaemonGroup& group,
                  const protocol::RequestHead& head, const RequestConfig& conf) {
    // On the heap, as the relay is (relay.cpp): the response's filters run below this frame.
    const auto ends = std::make_unique<RelayEnds>(r, connectParamsFor(group, r, *child.registry),
                                                  flagValue(conf.dir.errorOverride, false));
    ApacheBodySource& source = ends->source;
    ApacheResponseSink& sink = ends->sink;
    if (const auto limit =
            group.responseSocketTimeout ? group.responseSocketTimeout : group.socketTimeout) {
        sink.limitClientWrites(*limit);
    }
    const DeathClock::time_point sentAt = DeathClock::now();
    auto attempt = runRequestAttempts(
        child.pool, ends->params, head, source, sink, attemptOptionsFor(group),
        [r, &group](const RelayResult& retried) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "WG0121: retrying on a new connection to daemon group '%s': %s",
                          group.name.c_str(), retried.detail.c_str());
        });
    if (!attempt) {
        if (attempt.status().code() == common::ErrorCode::Timeout) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "WG0130: daemon group '%s' had no free worker for %s: %s",
                          group.name.c_str(), orEmpty(r->filename),
                          attempt.status().message().c_str());
            return groupBusy(r);
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0112: daemon group '%s' not reachable at %s: %s", group.name.c_str(),
                      group.socketPath.c_str(), attempt.status().message().c_str());
        return HTTP_SERVICE_UNAVAILABLE;
    }
    const RelayResult& result = attempt->result;
    const int status =
        finishRelay(r, group, attempt->connection.get(), result, source, sink, sentAt);
    if (result.reusable) {
        child.pool.giveBack(std::move(attempt->connection));
    }
    if (status != OK || result.outcome != RelayOutcome::Completed) {
        return status;
    }
    // Only now: the redirected request may need a daemon connection of its own.
    switch (sink.disposition()) {
        case ResponseDisposition::InternalRedirect:
            return internalRedirect(r, source, sink.redirectLocation());
        case ResponseDisposition::ErrorOverride:
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "WG0154: the app's %d response for %s is replaced by httpd's "
                          "(WSGIErrorOverride On)",
                          sink.appStatus(), orEmpty(r->uri));
            return sink.appStatus();
        case ResponseDisposition::Pass:
            break;
    }
    return status;
}

}  // namespace wsgid::apache
