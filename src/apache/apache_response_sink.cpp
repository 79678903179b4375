// SPDX-License-Identifier: Apache-2.0
// The response through httpd's output filters (see apache_response_sink.h).
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <sys/socket.h>
#include <sys/stat.h>

#include "apache/httpd_includes.h"
#include "common/ascii.h"
#include "common/http_syntax.h"
// httpd_includes.h first: these headers need the APR types.
#include "apache/apache_response_sink.h"
#include "apache/apr_error_text.h"
#include "apache/apr_raii.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

using common::ErrorCode;
using common::Status;

/// Body data from this size on is passed on without a copy (ApacheResponseSink::body): what
/// apr_brigade_write would not copy into its 8 KiB buffers anyway, but into a heap bucket of its
/// own. A response of one 64 KiB block then reaches the client socket with no copy in the
/// module (docs/performance.md).
constexpr std::size_t kBorrowedBodyBytes = APR_BUCKET_BUFF_SIZE;

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

/// The descriptor of a passed file, owned by r->pool (apr_os_file_put registers no cleanup) and
/// closed when that pool goes, after the file buckets (and any copies httpd set aside) were sent.
/// A file that shrank under the response makes httpd send fewer bytes than announced and abort
/// the connection (or HTTP/2 stream) with no more than a trace line of its own, so before closing
/// the file this says why when it no longer covers the range (WG0140). Pool cleanups run before
/// the pool's memory goes: `uri` (r->pool) is valid here.
class PassedFileHold {
public:
    PassedFileHold(common::UniqueFd fd, const protocol::ResponseFile& range, const request_rec* r)
        : fd_(std::move(fd)),
          range_(range),
          server_(r->server),
          uri_(r->uri != nullptr ? r->uri : "") {}
    PassedFileHold(const PassedFileHold&) = delete;
    PassedFileHold& operator=(const PassedFileHold&) = delete;
    PassedFileHold(PassedFileHold&&) = delete;
    PassedFileHold& operator=(PassedFileHold&&) = delete;
    ~PassedFileHold() {
        struct stat st {};
        if (::fstat(fd_.get(), &st) != 0 || st.st_size < 0 ||
            static_cast<std::uint64_t>(st.st_size) >= range_.offset + range_.length) {
            return;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, server_,
                     "WG0140: the file passed by the daemon for %s shrank to %" APR_OFF_T_FMT
                     " bytes while httpd sent bytes %" APR_UINT64_T_FMT "-%" APR_UINT64_T_FMT
                     " of it: the response was cut short and the client connection (or HTTP/2 "
                     "stream) aborted, unless the file shrank only after it was sent",
                     uri_, static_cast<apr_off_t>(st.st_size),
                     static_cast<apr_uint64_t>(range_.offset),
                     static_cast<apr_uint64_t>(range_.offset + range_.length - 1));
    }

private:
    common::UniqueFd fd_;
    protocol::ResponseFile range_;
    const server_rec* server_;
    const char* uri_;
};

}  // namespace

ApacheResponseSink::ApacheResponseSink(request_rec* r, ApacheBodySource& requestBody,
                                       bool errorOverride)
    : r_(r),
      requestBody_(requestBody),
      bb_(apr_brigade_create(r->pool, r->connection->bucket_alloc)),
      errorOverride_(errorOverride) {}

ApacheResponseSink::~ApacheResponseSink() {
    if (timedSocket_ != nullptr) {
        (void)apr_socket_timeout_set(timedSocket_, savedTimeout_);
    }
}

Status ApacheResponseSink::start(protocol::ResponseStart&& start) {
    appStatus_ = start.statusCode();
    std::optional<std::string_view> location;
    for (const auto& [name, value] : start.headers) {
        if (common::equalsIgnoreCase(name, "Location")) {
            location = value;
            break;
        }
    }
    disposition_ = responseDisposition(appStatus_, location, errorOverride_);
    if (disposition_ == ResponseDisposition::InternalRedirect) {
        redirectLocation_ = apr_pstrmemdup(r_->pool, location->data(), location->size());
    }
    if (disposition_ != ResponseDisposition::Pass) {
        return Status::ok();  // the handler answers instead; nothing of this response is kept
    }
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

Status ApacheResponseSink::body(std::string_view data) {
    if (disposition_ != ResponseDisposition::Pass) {
        return Status::ok();
    }
    if (data.size() >= kBorrowedBodyBytes) {
        APR_BRIGADE_INSERT_TAIL(
            bb_, apr_bucket_transient_create(data.data(), data.size(), bb_->bucket_alloc));
        ++borrowed_;
        return Status::ok();
    }
    if (apr_status_t rv = apr_brigade_write(bb_, nullptr, nullptr, data.data(), data.size());
        rv != APR_SUCCESS) {
        return {ErrorCode::IoError, "buffering the response: " + aprErrorText(rv)};
    }
    return Status::ok();
}

Status ApacheResponseSink::settle() {
    if (borrowed_ == 0) {
        return Status::ok();
    }
    borrowed_ = 0;
    apr_status_t failed = APR_SUCCESS;
    for (apr_bucket* b = APR_BRIGADE_FIRST(bb_); b != APR_BRIGADE_SENTINEL(bb_);) {
        apr_bucket* const next = APR_BUCKET_NEXT(b);
        if (APR_BUCKET_IS_TRANSIENT(b)) {
            // A transient bucket's setaside copies its bytes into a heap bucket.
            if (apr_status_t rv = apr_bucket_setaside(b, r_->pool); rv != APR_SUCCESS) {
                failed = rv;
                apr_bucket_delete(b);
            }
        }
        b = next;
    }
    if (failed != APR_SUCCESS) {
        return {ErrorCode::IoError, "buffering the response: " + aprErrorText(failed)};
    }
    return Status::ok();
}

Status ApacheResponseSink::beforeRead() {
    if (borrowed_ == 0) {
        return Status::ok();
    }
    return pass();
}

Status ApacheResponseSink::file(common::UniqueFd fd, const protocol::ResponseFile& range) {
    if (disposition_ != ResponseDisposition::Pass || range.length == 0) {
        return Status::ok();  // `fd` is closed here
    }
    apr_os_file_t raw = fd.get();
    apr_file_t* file = nullptr;
    // Only requests with WSGIEnableSendfile On get files: the bucket may use sendfile.
    if (apr_status_t rv =
            apr_os_file_put(&file, &raw, APR_FOPEN_READ | APR_FOPEN_SENDFILE_ENABLED, r_->pool);
        rv != APR_SUCCESS) {
        return {ErrorCode::Internal, "wrapping a passed descriptor: " + aprErrorText(rv)};
    }
    // The EOR bucket ends r->pool only after everything before it went out (for HTTP/2 too: the
    // beam keeps a stream's EOR until the stream is done).
    attachToPool(r_->pool, std::make_unique<PassedFileHold>(std::move(fd), range, r_));
    apr_bucket* const before = APR_BRIGADE_LAST(bb_);
    apr_brigade_insert_file(bb_, file, static_cast<apr_off_t>(range.offset),
                            static_cast<apr_off_t>(range.length), r_->pool);
    for (apr_bucket* b = APR_BUCKET_NEXT(before); b != APR_BRIGADE_SENTINEL(bb_);
         b = APR_BUCKET_NEXT(b)) {
        apr_bucket_file_enable_mmap(b, 0);
    }
    return Status::ok();
}

Status ApacheResponseSink::flush() {
    if (disposition_ != ResponseDisposition::Pass) {
        return Status::ok();
    }
    APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_flush_create(bb_->bucket_alloc));
    return pass();
}

Status ApacheResponseSink::release() {
    if (disposition_ != ResponseDisposition::Pass || APR_BRIGADE_EMPTY(bb_)) {
        return Status::ok();
    }
    return pass();
}

bool ApacheResponseSink::mustFinishRequestBody() const noexcept {
    // c->master is set on the secondary connection of an HTTP/2 stream (mod_http2).
    return r_->connection->master != nullptr && !passedAny_ && !requestBody_.atEnd() &&
           r_->expecting_100 == 0 && ap_status_drops_connection(r_->status) == 0 &&
           r_->connection->aborted == 0;
}

Status ApacheResponseSink::end() {
    if (disposition_ != ResponseDisposition::Pass) {
        return Status::ok();  // the handler answers once the relay is done
    }
    if (mustFinishRequestBody()) {
        if (Status s = requestBody_.discardRest(kMaxUnreadBodyDrain); !s) {
            // The stream is reset after the response instead, as without this step.
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, requestBody_.lastError(), r_,
                          "WG0150: could not read the rest of the request body before ending "
                          "the HTTP/2 response: %s",
                          s.message().c_str());
        }
    }
    APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(bb_->bucket_alloc));
    return pass();
}

void ApacheResponseSink::abort() {
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
    borrowed_ = 0;
    APR_BRIGADE_INSERT_TAIL(
        bb_, ap_bucket_error_create(HTTP_BAD_GATEWAY, nullptr, r_->pool, bb_->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb_, apr_bucket_eos_create(bb_->bucket_alloc));
    (void)pass();
    resetClientConnection(r_);
}

void ApacheResponseSink::discard() noexcept {
    apr_brigade_cleanup(bb_);
    borrowed_ = 0;
}

namespace {

/// The failure of a pass to the client. Out of line: its strings would otherwise widen pass()'s
/// frame, below which httpd's output filters run for every response (docs/performance.md
/// "Memory").
[[gnu::noinline]] Status clientWriteFailed(apr_status_t rv) {
    return {ErrorCode::Closed, rv != APR_SUCCESS ? "writing to the client: " + aprErrorText(rv)
                                                 : std::string("client connection aborted")};
}

}  // namespace

Status ApacheResponseSink::pass() {
    if (!passedAny_ && writeTimeout_ && r_->connection->master == nullptr) {
        apr_socket_t* sock = ap_get_conn_socket(r_->connection);
        if (sock != nullptr && apr_socket_timeout_get(sock, &savedTimeout_) == APR_SUCCESS) {
            timedSocket_ = sock;
            (void)apr_socket_timeout_set(sock, apr_time_from_sec(writeTimeout_->count()));
        }
    }
    passedAny_ = true;
    const apr_status_t rv = ap_pass_brigade(r_->output_filters, bb_);
    apr_brigade_cleanup(bb_);
    borrowed_ = 0;
    if (rv != APR_SUCCESS || r_->connection->aborted != 0) {
        return clientWriteFailed(rv);
    }
    return Status::ok();
}

}  // namespace wsgid::apache
