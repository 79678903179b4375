// SPDX-License-Identifier: Apache-2.0
// ApacheResponseSink: the daemon's response written through httpd's output filters, as the relay
// pushes it (ResponseSink). Include after httpd_includes.h (this header needs the APR types).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "apache/apache_body_source.h"
#include "apache/relay.h"
#include "apache/routing_rules.h"
#include "common/status.h"
#include "protocol/response.h"

namespace wsgid::apache {

/// The response through httpd's output filters: headers into r->headers_out, body bytes
/// coalesced into one brigade per flush. Its brigade lives in r->pool: valid while the request
/// lives. Request thread only.
class ApacheResponseSink final : public ResponseSink {
public:
    /// `requestBody` is the request's body source: on an HTTP/2 stream, end() reads what the
    /// relay left of it first (see end()). Both must outlive the sink. `errorOverride`:
    /// WSGIErrorOverride of the request.
    ApacheResponseSink(request_rec* r, ApacheBodySource& requestBody, bool errorOverride);
    /// Gives the client connection back the timeout it had (see limitClientWrites).
    ~ApacheResponseSink() override;
    ApacheResponseSink(const ApacheResponseSink&) = delete;
    ApacheResponseSink& operator=(const ApacheResponseSink&) = delete;
    ApacheResponseSink(ApacheResponseSink&&) = delete;
    ApacheResponseSink& operator=(ApacheResponseSink&&) = delete;

    /// response-socket-timeout= (or socket-timeout=, as mod_wsgi): from the first write to the
    /// client on, each write may wait at most `timeout` for the client to take data. HTTP/1.x
    /// only: an HTTP/2 stream shares its connection's socket with other streams. The
    /// connection's own timeout is restored by the destructor, for its next request.
    void limitClientWrites(std::chrono::seconds timeout) noexcept { writeTimeout_ = timeout; }

    /// Applies the status and headers, unless the response is not to be passed on (its
    /// disposition, routing_rules.h): then this response is dropped whole (body and end
    /// included) and the handler answers once the relay is done.
    common::Status start(protocol::ResponseStart&& start) override;
    /// Data of kBorrowedBodyBytes and more is held as a transient bucket over the relay's
    /// buffer (no copy: httpd's filters copy it only if they keep it past the pass, and settle()
    /// copies what is still held); smaller data is copied into APR's 8 KiB heap buffers, where
    /// many small frames (an app's yields) coalesce into few buckets.
    common::Status body(std::string_view data) override;
    /// Appends the file as APR file buckets (sendfile-capable, never memory-mapped: a tenant may
    /// truncate the file, and a mapped page past its end would be SIGBUS for the whole httpd
    /// child) and holds them until end(), so a whole-file response reaches httpd's filters in one
    /// brigade with its EOS, as httpd's own static files do (byte ranges apply, the core output
    /// filter may finish it after the handler). From here r->pool owns the descriptor: it is
    /// closed when the request's pool goes, after the buckets (and any copies httpd set aside)
    /// were sent. Dropped (and closed) when the response is not passed on.
    common::Status file(common::UniqueFd fd, const protocol::ResponseFile& range) override;
    common::Status flush() override;
    /// Passes what is held down the output filters without a FLUSH bucket.
    common::Status release() override;
    /// Ends the response (nothing when it is not passed on, see start()). On an HTTP/2 stream whose
    /// request body was not read to its end (the app answered without reading all of it) and of
    /// whose response nothing went out yet, the rest of the request body (up to
    /// kMaxUnreadBodyDrain) is read and dropped before the response goes out: mod_http2 would
    /// otherwise reset the stream (RST_STREAM NO_ERROR, RFC 9113 §8.1) as soon as the response ends
    /// with the request side open, and clients such as curl 7.88 then drop the whole response. This
    /// is what httpd does itself after the handler for HTTP/1.1 (ap_discard_request_body), and what
    /// mod_wsgi's reading of the whole body up front amounts to. Not once part of the response went
    /// out (a client that has a complete response may stop sending, which would stall the read),
    /// not when httpd would close an HTTP/1.1 connection instead (400, 413, ...:
    /// ap_status_drops_connection), and not before a 100 Continue invited the body: then the reset
    /// is the right end. docs/architecture.md, "HTTP/2".
    common::Status end() override;
    /// Turns the transient buckets still held into heap copies (or, out of memory, drops them).
    common::Status settle() override;
    /// Passes what is held on (no FLUSH) when it includes transient buckets: the core output
    /// filter then writes them from the relay's buffer and copies only what the socket does not
    /// take. Copying them here instead (settle) put a copy of every large block in the
    /// connection's allocator, which keeps up to MaxMemFree of freed blocks per connection:
    /// the httpd children grew with the number of connections (docs/performance.md, "Memory").
    common::Status beforeRead() override;

    /// Ends a response that failed after Start so the client cannot take it for complete. What
    /// is held goes out first with a FLUSH, before anything touches keep-alive, so httpd frames
    /// the body as it would have (chunked for an HTTP/1.1 keep-alive client) and cannot compute a
    /// Content-Length from a partial body. Then an error bucket, which makes the chunk filter
    /// omit the last-chunk (mod_proxy's convention), and the EOS. A close-delimited body (HTTP/1.0,
    /// "Connection: close") cannot show truncation by framing at all, so the connection is then
    /// reset rather than closed: the client sees ECONNRESET, never a clean end of body.
    void abort();

    /// Drops what is held, before anything went out (the handler then answers an error).
    void discard() noexcept;

    /// True once anything went to the output filters (the status line is then committed).
    [[nodiscard]] bool passedAny() const noexcept { return passedAny_; }

    /// What start() decided (Pass before start()).
    [[nodiscard]] ResponseDisposition disposition() const noexcept { return disposition_; }
    /// The app's status (0 before start()).
    [[nodiscard]] int appStatus() const noexcept { return appStatus_; }
    /// The Location of an InternalRedirect (r->pool), else nullptr.
    [[nodiscard]] const char* redirectLocation() const noexcept { return redirectLocation_; }

private:
    common::Status pass();
    /// end()'s rule: the rest of the request body must be read before the EOS.
    [[nodiscard]] bool mustFinishRequestBody() const noexcept;

    request_rec* r_;
    ApacheBodySource& requestBody_;
    apr_bucket_brigade* bb_;
    bool errorOverride_;
    std::size_t borrowed_ = 0;  ///< transient buckets held over the relay's buffer
    bool passedAny_ = false;
    bool aborted_ = false;
    ResponseDisposition disposition_ = ResponseDisposition::Pass;
    int appStatus_ = 0;
    const char* redirectLocation_ = nullptr;
    std::optional<std::chrono::seconds> writeTimeout_;
    apr_socket_t* timedSocket_ = nullptr;  ///< the socket whose timeout pass() changed
    apr_interval_time_t savedTimeout_ = 0;
};

}  // namespace wsgid::apache
