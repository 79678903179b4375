// SPDX-License-Identifier: Apache-2.0
// The request side inside httpd children: WSGIScriptAlias mapping (translate_name), the content
// handler that relays a request to its daemon group, and the per-child connection pool.
// Pure rules are in path_rules/environ_rules; the wire protocol session in daemon_connection,
// connection_pool and relay.
#include "apache/handler.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apache/httpd_includes.h"
// httpd_includes.h first: apr_raii.h needs the APR pool API.
#include "apache/apr_raii.h"
#include "apache/config.h"
#include "apache/connection_pool.h"
#include "apache/daemon_connection.h"
#include "apache/environ.h"
#include "apache/environ_rules.h"
#include "apache/path_rules.h"
#include "apache/process_manager.h"
#include "apache/process_state.h"
#include "apache/relay.h"
#include "apache/request_attempts.h"
#include "common/ascii.h"
#include "common/http_syntax.h"
#include "common/status.h"
#include "protocol/response.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

using common::ErrorCode;
using common::Result;
using common::Status;

constexpr const char* kWsgiScriptHandler = "wsgi-script";
constexpr const char* kWsgiMimeHandler = "application/x-httpd-wsgi";
constexpr std::string_view kDefaultCallable = "application";
constexpr std::string_view kDefaultApplicationGroup = "%{RESOURCE}";

/// Bound on consecutive client body reads that return no data and no end (only metadata
/// buckets): a conforming input filter chain never needs more than a couple.
constexpr int kMaxEmptyBodyReads = 64;

/// Per-child state: the connection pool and the registry of this configuration generation.
struct ChildState {
    ConnectionPool pool;
    const GroupRegistry* registry = nullptr;
};

/// Set in childInit, cleared by pchild's cleanup. A raw atomic pointer (trivially destructible,
/// so no static destructor runs at DSO unload); handlers read it concurrently.
std::atomic<ChildState*> gChildState{nullptr};

apr_status_t clearChildState(void* /*unused*/) noexcept {
    gChildState.store(nullptr);
    return APR_SUCCESS;
}

/// What translateName decided, kept in r->request_config. Pool memory, trivially destructible.
struct RouteNote {
    const ScriptAlias* alias;
    const char* scriptName;
    const char* pathInfo;
};
static_assert(std::is_trivially_destructible_v<RouteNote>);

std::string aprErrorText(apr_status_t rv) {
    char buf[256];
    return apr_strerror(rv, buf, sizeof(buf));
}

const char* orEmpty(const char* s) noexcept {
    return s != nullptr ? s : "";
}

/// %{ENV:NAME} lookup over a request: notes, then subprocess_env, then the process environment
/// (mod_wsgi's order).
class RequestEnvLookup final : public EnvLookup {
public:
    explicit RequestEnvLookup(const request_rec* r) : r_(r) {}
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const override {
        const std::string key(name);
        if (const char* v = apr_table_get(r_->notes, key.c_str())) {
            return v;
        }
        if (r_->subprocess_env != nullptr) {
            if (const char* v = apr_table_get(r_->subprocess_env, key.c_str())) {
                return v;
            }
        }
        // getenv is only racy against setenv, which httpd children do not call after start-up.
        if (const char* v = std::getenv(key.c_str())) {  // NOLINT(concurrency-mt-unsafe)
            return v;
        }
        return std::nullopt;
    }

private:
    const request_rec* r_;
};

/// The client's request body through httpd's input filters (HTTP_IN enforces Content-Length,
/// chunked decoding and LimitRequestBody).
class ApacheBodySource final : public BodySource {
public:
    explicit ApacheBodySource(request_rec* r)
        : r_(r), bb_(apr_brigade_create(r->pool, r->connection->bucket_alloc)) {}

    Result<std::size_t> read(std::span<char> buf) override {
        if (eos_) {
            return std::size_t{0};
        }
        std::size_t got = 0;
        for (int emptyReads = 0;;) {
            while (!APR_BRIGADE_EMPTY(bb_) && got < buf.size()) {
                apr_bucket* b = APR_BRIGADE_FIRST(bb_);
                if (APR_BUCKET_IS_EOS(b)) {
                    eos_ = true;
                    apr_brigade_cleanup(bb_);
                    return got;
                }
                if (AP_BUCKET_IS_ERROR(b)) {
                    return fail(AP_FILTER_ERROR);
                }
                if (APR_BUCKET_IS_METADATA(b)) {
                    apr_bucket_delete(b);
                    continue;
                }
                const char* data = nullptr;
                apr_size_t len = 0;
                if (apr_status_t rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
                    rv != APR_SUCCESS) {
                    return fail(rv);
                }
                const std::size_t take = std::min<std::size_t>(len, buf.size() - got);
                if (take < len) {
                    apr_bucket_split(b, take);
                }
                std::memcpy(buf.data() + got, data, take);
                got += take;
                apr_bucket_delete(b);
            }
            if (got > 0) {
                return got;
            }
            if (++emptyReads > kMaxEmptyBodyReads) {
                return fail(APR_EGENERAL);
            }
            const apr_status_t rv =
                ap_get_brigade(r_->input_filters, bb_, AP_MODE_READBYTES, APR_BLOCK_READ,
                               static_cast<apr_off_t>(buf.size()));
            if (rv != APR_SUCCESS) {
                return fail(rv);
            }
        }
    }

    /// The APR status of the failed read (for ap_map_http_request_error).
    [[nodiscard]] apr_status_t lastError() const noexcept { return lastError_; }

private:
    Status fail(apr_status_t rv) {
        lastError_ = rv;
        apr_brigade_cleanup(bb_);
        return {ErrorCode::IoError, "reading the request body: " + aprErrorText(rv)};
    }

    request_rec* r_;
    apr_bucket_brigade* bb_;
    bool eos_ = false;
    apr_status_t lastError_ = APR_SUCCESS;
};

/// Makes the end of this client connection a TCP reset instead of an orderly close, and marks it
/// aborted so httpd neither writes to it again nor shuts it down gracefully (its lingering close
/// would send a FIN first, which ends a close-delimited body cleanly). An HTTP/2 stream has no
/// socket of its own: mod_http2 resets just the stream on the error bucket, so it is left alone.
void resetClientConnection(request_rec* r) noexcept {
    conn_rec* c = r->connection;
    c->keepalive = AP_CONN_CLOSE;
    if (c->master != nullptr) {
        return;
    }
    apr_socket_t* sock = ap_get_conn_socket(c);
    apr_os_sock_t fd = -1;
    if (sock != nullptr && apr_os_sock_get(&fd, sock) == APR_SUCCESS && fd >= 0) {
        const linger hard{.l_onoff = 1, .l_linger = 0};
        if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard)) != 0) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, errno, r,
                          "WG0124: could not set SO_LINGER to reset the client connection");
        }
    }
    c->aborted = 1;
}

/// The response through httpd's output filters: headers into r->headers_out, body bytes
/// coalesced into one brigade per flush.
class ApacheResponseSink final : public ResponseSink {
public:
    explicit ApacheResponseSink(request_rec* r)
        : r_(r), bb_(apr_brigade_create(r->pool, r->connection->bucket_alloc)) {}

    Status start(protocol::ResponseStart&& start) override {
        r_->status = start.statusCode();
        r_->status_line = apr_pstrmemdup(r_->pool, start.status.data(), start.status.size());
        if (const auto length = start.contentLength()) {
            ap_set_content_length(r_, static_cast<apr_off_t>(*length));
        }
        for (const auto& [name, value] : start.headers) {
            const char* v = apr_pstrmemdup(r_->pool, value.data(), value.size());
            if (common::isHopByHopHeader(name)) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r_,
                              "WG0122: dropped hop-by-hop response header '%s' from the app",
                              std::string(name).c_str());
                continue;
            }
            if (common::equalsIgnoreCase(name, "Content-Type")) {
                ap_set_content_type(r_, v);
                continue;
            }
            if (common::equalsIgnoreCase(name, "Content-Length")) {
                // Validated by decodeResponseStart; the relay counts the body against it.
                continue;
            }
            apr_table_addn(r_->headers_out, apr_pstrmemdup(r_->pool, name.data(), name.size()), v);
        }
        return Status::ok();
    }

    Status body(std::string_view data) override {
        if (apr_status_t rv = apr_brigade_write(bb_, nullptr, nullptr, data.data(), data.size());
            rv != APR_SUCCESS) {
            return {ErrorCode::IoError, "buffering the response: " + aprErrorText(rv)};
        }
        return Status::ok();
    }

    Status flush() override {
        APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_flush_create(bb_->bucket_alloc));
        return pass();
    }

    Status end() override {
        APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(bb_->bucket_alloc));
        return pass();
    }

    /// Ends a response that failed after Start so the client cannot take it for complete. What
    /// is held goes out first with a FLUSH, before anything touches keep-alive, so httpd frames
    /// the body as it would have (chunked for an HTTP/1.1 keep-alive client) and cannot compute a
    /// Content-Length from a partial body. Then an error bucket, which makes the chunk filter
    /// omit the last-chunk (mod_proxy's convention), and the EOS. A close-delimited body (HTTP/1.0,
    /// "Connection: close") cannot show truncation by framing at all, so the connection is then
    /// reset rather than closed: the client sees ECONNRESET, never a clean end of body.
    void abort() {
        if (aborted_) {
            return;
        }
        aborted_ = true;
        r_->no_cache = 1;
        if (r_->main != nullptr) {
            r_->main->no_cache = 1;
        }
        if (!passedAny_) {
            (void)flush();
        }
        apr_brigade_cleanup(bb_);
        APR_BRIGADE_INSERT_TAIL(
            bb_, ap_bucket_error_create(HTTP_BAD_GATEWAY, nullptr, r_->pool, bb_->bucket_alloc));
        APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(bb_->bucket_alloc));
        (void)pass();
        resetClientConnection(r_);
    }

    /// Drops what is held, before anything went out (the handler then answers an error).
    void discard() noexcept { apr_brigade_cleanup(bb_); }

    /// True once anything went to the output filters (the status line is then committed).
    [[nodiscard]] bool passedAny() const noexcept { return passedAny_; }

private:
    Status pass() {
        passedAny_ = true;
        const apr_status_t rv = ap_pass_brigade(r_->output_filters, bb_);
        apr_brigade_cleanup(bb_);
        if (rv != APR_SUCCESS || r_->connection->aborted != 0) {
            return {ErrorCode::Closed, rv != APR_SUCCESS
                                           ? "writing to the client: " + aprErrorText(rv)
                                           : std::string("client connection aborted")};
        }
        return Status::ok();
    }

    request_rec* r_;
    apr_bucket_brigade* bb_;
    bool passedAny_ = false;
    bool aborted_ = false;
};

template <typename Fn>
auto guarded(request_rec* r, const char* what, Fn&& fn) noexcept -> int {
    try {
        return fn();
    } catch (const std::exception& e) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "WG0100: %s failed: %s", what, e.what());
    } catch (...) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "WG0100: %s failed: unknown exception", what);
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

int translateNameImpl(request_rec* r) {
    // Forward-proxy requests and "OPTIONS *" are not local paths.
    if (r->proxyreq != PROXYREQ_NONE || r->uri == nullptr || r->uri[0] != '/') {
        return DECLINED;
    }
    const ServerConfig* sconf = getServerConfig(r->server);
    if (sconf == nullptr || sconf->aliases == nullptr || sconf->aliases->nelts == 0) {
        return DECLINED;
    }
    if (sconf->aliases->elt_size != static_cast<int>(sizeof(ScriptAlias))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0101: WSGIScriptAlias table has elements of %d bytes, expected %d",
                      sconf->aliases->elt_size, static_cast<int>(sizeof(ScriptAlias)));
        return DECLINED;
    }
    const std::span<const ScriptAlias> aliases(
        reinterpret_cast<const ScriptAlias*>(sconf->aliases->elts),
        static_cast<std::size_t>(sconf->aliases->nelts));
    const std::string_view uri = r->uri;
    const auto match = findAlias(aliases, uri);
    if (!match) {
        return DECLINED;
    }
    const ScriptAlias& alias = aliases[match->index];
    const ScriptTarget target = resolveTarget(orEmpty(alias.target), uri, match->matchedLength);
    const ScriptPath path = splitAtMount(uri, target.matchedLength);

    auto* note = static_cast<RouteNote*>(apr_pcalloc(r->pool, sizeof(RouteNote)));
    note->alias = &alias;
    note->scriptName = apr_pstrmemdup(r->pool, path.scriptName.data(), path.scriptName.size());
    note->pathInfo = apr_pstrmemdup(r->pool, path.pathInfo.data(), path.pathInfo.size());
    ap_set_module_config(r->request_config, &wsgid_module, note);
    r->filename = apr_pstrmemdup(r->pool, target.filename.data(), target.filename.size());
    r->handler = kWsgiScriptHandler;
    return OK;
}

/// First non-null of an alias option, a directory setting and a server setting.
const char* pick(const char* aliasValue, const char* dirValue, const char* serverValue) noexcept {
    if (aliasValue != nullptr) {
        return aliasValue;
    }
    return dirValue != nullptr ? dirValue : serverValue;
}

Flag pickFlag(Flag a, Flag b, Flag c) noexcept {
    if (a != Flag::Unset) {
        return a;
    }
    return b != Flag::Unset ? b : c;
}

/// The application's I/O timeout: socket-timeout= of the group, else the server's Timeout.
std::chrono::milliseconds ioTimeoutFor(const DaemonGroup& group, const request_rec* r) {
    if (group.socketTimeout) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(*group.socketTimeout);
    }
    return std::chrono::milliseconds(apr_time_as_msec(r->server->timeout));
}

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

/// Maps how a relay ended onto the handler's return value, logging once.
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
        case RelayOutcome::HeadTooLarge:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "WG0120: %s", result.detail.c_str());
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

int handleRequestImpl(request_rec* r) {
    if (r->handler == nullptr || (std::strcmp(r->handler, kWsgiScriptHandler) != 0 &&
                                  std::strcmp(r->handler, kWsgiMimeHandler) != 0)) {
        return DECLINED;
    }
    ChildState* child = gChildState.load();
    if (child == nullptr || child->registry == nullptr) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0102: mod_wsgid was not initialised in this httpd child");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    const ServerConfig* sconf = getServerConfig(r->server);
    const DirConfig* dconf = getDirConfig(r->per_dir_config);
    const auto* note =
        static_cast<const RouteNote*>(ap_get_module_config(r->request_config, &wsgid_module));

    const ScriptAlias* alias = note != nullptr ? note->alias : nullptr;
    ScriptPath path;
    if (note != nullptr) {
        path.scriptName = note->scriptName;
        path.pathInfo = note->pathInfo;
    } else {
        // SetHandler/AddHandler wsgi-script: like CGI, only where ExecCGI is allowed.
        if ((ap_allow_options(r) & OPT_EXECCGI) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0105: Options ExecCGI is off in this directory: %s",
                          orEmpty(r->filename));
            return HTTP_FORBIDDEN;
        }
        path = splitByPathInfo(orEmpty(r->uri), orEmpty(r->path_info));
    }
    // For an alias, httpd's directory walk moves whatever part of the target does not exist
    // into r->path_info: then the script is missing.
    const bool aliasTargetMissing =
        note != nullptr && r->path_info != nullptr && *r->path_info != '\0';
    if (r->filename == nullptr || r->finfo.filetype == APR_NOFILE || aliasTargetMissing) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "WG0103: target WSGI script not found or unable to stat: %s%s",
                      orEmpty(r->filename), aliasTargetMissing ? r->path_info : "");
        return HTTP_NOT_FOUND;
    }
    if (r->finfo.filetype != APR_REG) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0104: target WSGI script is not a regular file: %s", r->filename);
        return HTTP_FORBIDDEN;
    }

    static constexpr DirConfig kNoDir{.processGroup = nullptr,
                                      .applicationGroup = nullptr,
                                      .callableObject = nullptr,
                                      .passAuthorization = Flag::Unset,
                                      .chunkedRequest = Flag::Unset};
    static constexpr ServerConfig kNoServer{.aliases = nullptr,
                                            .processGroup = nullptr,
                                            .applicationGroup = nullptr,
                                            .passAuthorization = Flag::Unset,
                                            .chunkedRequest = Flag::Unset};
    static constexpr ScriptAlias kNoAlias{.urlPath = nullptr,
                                          .target = nullptr,
                                          .processGroup = nullptr,
                                          .applicationGroup = nullptr,
                                          .callableObject = nullptr,
                                          .passAuthorization = Flag::Unset};
    const DirConfig& dir = dconf != nullptr ? *dconf : kNoDir;
    const ServerConfig& srv = sconf != nullptr ? *sconf : kNoServer;
    const ScriptAlias& al = alias != nullptr ? *alias : kNoAlias;

    // 1. The daemon group.
    const RequestEnvLookup envLookup(r);
    const ExpansionContext ctx{.serverHostname = orEmpty(r->server->server_hostname),
                               .requestHost = orEmpty(r->hostname),
                               .port = ap_get_server_port(r),
                               .scriptName = path.scriptName,
                               .env = &envLookup};
    const char* groupSpec = pick(al.processGroup, dir.processGroup, srv.processGroup);
    std::string groupName = groupSpec != nullptr ? expandGroupSpec(groupSpec, ctx) : std::string();
    if (groupName.empty()) {
        groupName = GroupRegistry::kDefaultGroupName;
    }
    const DaemonGroup* group = child->registry->find(groupName);
    if (group == nullptr) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0106: no WSGI daemon process group '%s' is configured (from '%s') for %s",
                      groupName.c_str(), groupSpec != nullptr ? groupSpec : "", r->filename);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!group->serverName.empty() && group->serverName != orEmpty(r->server->server_hostname)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0107: daemon process group '%s' belongs to server '%s' and may not be "
                      "used by server '%s'",
                      group->name.c_str(), group->serverName.c_str(),
                      orEmpty(r->server->server_hostname));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (group->socketPath.empty()) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0108: daemon process group '%s' has no socket (not started)",
                      group->name.c_str());
        return HTTP_SERVICE_UNAVAILABLE;
    }

    // 2. Interpreter and callable.
    const char* appSpec = pick(al.applicationGroup, dir.applicationGroup, srv.applicationGroup);
    std::string applicationGroup =
        expandGroupSpec(appSpec != nullptr ? appSpec : kDefaultApplicationGroup, ctx);
    const char* callableSpec = pick(al.callableObject, dir.callableObject, nullptr);
    std::string callable =
        expandGroupSpec(callableSpec != nullptr ? callableSpec : kDefaultCallable, ctx);
    const auto* core =
        static_cast<const core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
    const bool passAuthorization =
        flagValue(pickFlag(al.passAuthorization, dir.passAuthorization, srv.passAuthorization),
                  false) ||
        (core != nullptr && core->cgi_pass_auth == AP_CGI_PASS_AUTH_ON);

    // 3. The request body.
    std::int64_t contentLength = 0;
    if (const char* te = apr_table_get(r->headers_in, "Transfer-Encoding")) {
        if (ap_is_chunked(r->pool, te) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0110: unsupported request Transfer-Encoding '%s'", te);
            return HTTP_NOT_IMPLEMENTED;
        }
        if (!flagValue(pickFlag(dir.chunkedRequest, srv.chunkedRequest, Flag::Unset), false)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0109: chunked request body refused (WSGIChunkedRequest Off) for %s",
                          r->filename);
            return HTTP_LENGTH_REQUIRED;
        }
        contentLength = -1;
    } else if (const char* cl = apr_table_get(r->headers_in, "Content-Length")) {
        apr_off_t len = 0;
        if (ap_parse_strict_length(&len, cl) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "WG0111: invalid Content-Length '%s'", cl);
            return HTTP_BAD_REQUEST;
        }
        contentLength = len;
    }

    // 4. The request head.
    const protocol::RequestHead head =
        buildRequestHead(r, RequestRouting{.scriptName = std::move(path.scriptName),
                                           .pathInfo = std::move(path.pathInfo),
                                           .callableObject = std::move(callable),
                                           .applicationGroup = std::move(applicationGroup),
                                           .processGroup = group->name,
                                           .passAuthorization = passAuthorization,
                                           .contentLength = contentLength});

    // 5 and 6. Connect and relay.
    const GroupRegistry& registry = *child->registry;
    const ConnectParams params{
        .socketPath = group->socketPath,
        .connectTimeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(group->connectTimeout),
        .ioTimeout = ioTimeoutFor(*group, r),
        .group = group->name,
        .managerPid = registry.managerPid,
        .generation = registry.generation,
        .secret = group->secret};
    ApacheBodySource source(r);
    ApacheResponseSink sink(r);
    const DeathClock::time_point sentAt = DeathClock::now();
    auto attempt = runRequestAttempts(
        child->pool, params, head, source, sink, [r, group](const RelayResult& retried) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "WG0121: retrying on a new connection to daemon group '%s': %s",
                          group->name.c_str(), retried.detail.c_str());
        });
    if (!attempt) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0112: daemon group '%s' not reachable at %s: %s", group->name.c_str(),
                      group->socketPath.c_str(), attempt.status().message().c_str());
        return HTTP_SERVICE_UNAVAILABLE;
    }
    const RelayResult& result = attempt->result;
    const int status =
        finishRelay(r, *group, attempt->connection.get(), result, source, sink, sentAt);
    if (result.reusable) {
        child->pool.giveBack(std::move(attempt->connection));
    }
    return status;
}

}  // namespace

int translateName(request_rec* r) noexcept {
    return guarded(r, "translate_name", [r] { return translateNameImpl(r); });
}

int handleRequest(request_rec* r) noexcept {
    return guarded(r, "handler", [r] { return handleRequestImpl(r); });
}

void childInit(apr_pool_t* pchild, server_rec* s) noexcept {
    try {
        auto state = std::make_unique<ChildState>();
        state->registry = &GroupRegistry::get(s->process->pconf);
        ChildState* raw = attachToPool(pchild, std::move(state));
        // Registered after attachToPool, so (cleanups run in reverse order) the pointer is
        // cleared before the state is deleted.
        apr_pool_cleanup_register(pchild, nullptr, clearChildState, apr_pool_cleanup_null);
        gChildState.store(raw);
    } catch (const std::exception& e) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "WG0123: child initialisation failed: %s",
                     e.what());
    } catch (...) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "WG0123: child initialisation failed: unknown exception");
    }
}

}  // namespace wsgid::apache
