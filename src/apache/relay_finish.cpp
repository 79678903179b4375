// SPDX-License-Identifier: Apache-2.0
// How a relay to a daemon ends for the handler (see relay_finish.h).
#include "apache/relay_finish.h"

#include <string>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/apache_body_source.h"
#include "apache/apache_response_sink.h"
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/daemon_connection.h"
#include "apache/process_manager.h"
#include "apache/process_state.h"
#include "apache/relay.h"
#include "protocol/response.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// Retry-After of a 503 for a saturated group: one that stayed busy for its queue-timeout rarely
/// frees a worker within a second or two, and a client that honours it should not hammer it.
constexpr int kBusyRetryAfterSeconds = 5;

/// How long a handler whose daemon connection broke waits for the parent's record of why the
/// daemon died: the parent sees a death within the MPM's one-second maintenance loop, so two
/// seconds cover a loaded machine. Only a request whose daemon died ever waits.
constexpr std::chrono::milliseconds kDeathCauseWait{2000};

/// "; the daemon process was killed by signal 9 (Killed)" when the parent recorded why daemon
/// `pid` died after `sentAt`; otherwise why it cannot be said. Also sets the 502 page's reason.
std::string daemonEndText(request_rec* r, unsigned pid, DeathClock::time_point sentAt) {
    const auto cause =
        ProcessManager::daemonDeathCause(static_cast<pid_t>(pid), sentAt, kDeathCauseWait);
    if (!cause) {
        return "; the daemon process did not die (or its death was not recorded in time)";
    }
    const std::string note = "The daemon process serving this request " + *cause + ".";
    apr_table_setn(r->notes, "error-notes", ap_escape_html(r->pool, note.c_str()));
    return "; the daemon process " + *cause;
}

}  // namespace

int groupBusy(request_rec* r) {
    apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, kBusyRetryAfterSeconds));
    return HTTP_SERVICE_UNAVAILABLE;
}

ResponseBuffering responseBufferingFor(const DaemonGroup& group) noexcept {
    return ResponseBuffering::fromOptions(group.headerBufferSize, group.responseBufferSize,
                                          group.responseFlushDelayMs);
}

AttemptOptions attemptOptionsFor(const DaemonGroup& group) noexcept {
    AttemptOptions options{.singleProcess = group.processes == 1,
                           .buffering = responseBufferingFor(group)};
    if (group.loadTable != nullptr) {
        options.loadTable = group.loadTable->slots();
        options.workers = group.threads;
    }
    return options;
}

int finishRelay(request_rec* r, const DaemonGroup& group, const DaemonConnection* conn,
                const RelayResult& result, const ApacheBodySource& source, ApacheResponseSink& sink,
                DeathClock::time_point sentAt) {
    const unsigned pid = conn != nullptr ? conn->daemonPid() : 0;
    switch (result.outcome) {
        case RelayOutcome::Completed:
            if (result.trailingBytes != 0) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                              "WG0126: daemon group '%s' (pid %u) sent %" APR_SIZE_T_FMT
                              " bytes after the end "
                              "of the response for %s; closing the daemon connection",
                              group.name.c_str(), pid, result.trailingBytes, orEmpty(r->filename));
            }
            return OK;
        case RelayOutcome::ErrorBeforeStart: {
            const auto code =
                result.error ? result.error->code : protocol::ResponseErrorCode::Internal;
            if (code == protocol::ResponseErrorCode::QueueTimeout ||
                code == protocol::ResponseErrorCode::Busy) {
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                              "WG0130: daemon group '%s' (pid %u) had no free worker for %s: %s",
                              group.name.c_str(), pid, orEmpty(r->filename),
                              result.error->message.c_str());
                return groupBusy(r);
            }
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0113: daemon group '%s' (pid %u) failed the request for %s: %s: %s",
                          group.name.c_str(), pid, orEmpty(r->filename),
                          std::string(protocol::toString(code)).c_str(),
                          result.error ? result.error->message.c_str() : "");
            return protocol::httpStatusFor(code);
        }
        case RelayOutcome::FailedAfterStart: {
            // A broken connection (no Error frame) after the headers: the daemon may have died.
            const std::string end = result.error ? std::string() : daemonEndText(r, pid, sentAt);
            if (!sink.passedAny() && sink.disposition() != ResponseDisposition::Pass) {
                // Nothing of it was to reach the client (a redirect or an overridden error).
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                              "WG0155: response from daemon group '%s' (pid %u) failed after its "
                              "headers, before it was replaced; answering 502: %s%s",
                              group.name.c_str(), pid, result.detail.c_str(), end.c_str());
                return HTTP_BAD_GATEWAY;
            }
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0114: response from daemon group '%s' (pid %u) failed after its "
                          "headers; aborting the client connection: %s%s",
                          group.name.c_str(), pid, result.detail.c_str(), end.c_str());
            sink.abort();
            return OK;
        }
        case RelayOutcome::Broken: {
            const std::string end = daemonEndText(r, pid, sentAt);
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0115: daemon group '%s' (pid %u) closed the connection before "
                          "sending a response for %s: %s%s",
                          group.name.c_str(), pid, orEmpty(r->filename), result.detail.c_str(),
                          end.c_str());
            return HTTP_BAD_GATEWAY;
        }
        case RelayOutcome::Timeout: {
            const RunState state = processRunState(static_cast<pid_t>(pid));
            const char* stopped = state == RunState::Stopped
                                      ? "; the daemon process is stopped (SIGSTOP), so it could "
                                        "not answer"
                                  : state == RunState::Traced
                                      ? "; the daemon process is stopped by a debugger"
                                      : "";
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0116: timeout waiting for daemon group '%s' (pid %u) for %s: %s%s",
                          group.name.c_str(), pid, orEmpty(r->filename), result.detail.c_str(),
                          stopped);
            return HTTP_GATEWAY_TIME_OUT;
        }
        case RelayOutcome::Malformed:
            // Nothing of a response whose framing the daemon broke may look complete: when
            // nothing went out yet the client gets a 502 instead, else the connection is reset.
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0117: malformed response from daemon group '%s' (pid %u): %s; "
                          "closing the daemon connection and %s",
                          group.name.c_str(), pid, result.detail.c_str(),
                          sink.passedAny() ? "aborting the client connection" : "answering 502");
            if (!sink.passedAny()) {
                sink.discard();
                return HTTP_BAD_GATEWAY;
            }
            sink.abort();
            return OK;
        case RelayOutcome::ClientBodyFailed:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, source.lastError(), r,
                          "WG0118: could not read the request body from the client: %s",
                          result.detail.c_str());
            if (sink.passedAny()) {
                sink.abort();
                return OK;
            }
            return ap_map_http_request_error(source.lastError(), HTTP_BAD_REQUEST);
        case RelayOutcome::ClientGone:
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0119: client went away while the response was sent: %s",
                          result.detail.c_str());
            r->connection->keepalive = AP_CONN_CLOSE;
            return OK;
        case RelayOutcome::BodyLengthMismatch: {
            // Nothing of a response whose framing the daemon broke may look complete: when
            // nothing went out yet the client gets a 502 instead, else the connection is reset.
            const bool sent = sink.passedAny();
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0125: daemon group '%s' (pid %u) sent %" APR_INT64_T_FMT
                          " response body bytes for %s where the response announced "
                          "%" APR_INT64_T_FMT " (%s); closing the daemon connection and %s",
                          group.name.c_str(), pid, static_cast<apr_int64_t>(result.daemonBodyBytes),
                          orEmpty(r->filename), static_cast<apr_int64_t>(result.announcedBodyBytes),
                          result.detail.c_str(),
                          sent ? "aborting the client connection" : "answering 502");
            if (!sent) {
                sink.discard();
                return HTTP_BAD_GATEWAY;
            }
            sink.abort();
            return OK;
        }
        case RelayOutcome::HeaderTooLong:
            // Checked before anything of the response reached the sink.
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0127: daemon group '%s' (pid %u) sent response header %s for %s, "
                          "longer than its header-buffer-size of %" APR_SIZE_T_FMT
                          " bytes; answering 500 (raise header-buffer-size= of WSGIDaemonProcess "
                          "%s, at most %" APR_SIZE_T_FMT ")",
                          group.name.c_str(), pid, result.detail.c_str(), orEmpty(r->filename),
                          responseBufferingFor(group).maxHeaderLine, group.name.c_str(),
                          kMaxHeaderBufferBytes);
            return HTTP_INTERNAL_SERVER_ERROR;
        case RelayOutcome::HeadTooLarge:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "WG0120: %s", result.detail.c_str());
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

}  // namespace wsgid::apache
