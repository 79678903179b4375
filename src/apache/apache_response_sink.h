// SPDX-License-Identifier: Apache-2.0
// ApacheResponseSink: the daemon's response written through httpd's output filters, as the relay
// pushes it (ResponseSink). Include after httpd_includes.h (this header needs the APR types).
#pragma once

#include <string_view>

#include "apache/relay.h"
#include "common/status.h"
#include "protocol/response.h"

namespace wsgid::apache {

/// The response through httpd's output filters: headers into r->headers_out, body bytes
/// coalesced into one brigade per flush. Its brigade lives in r->pool: valid while the request
/// lives. Request thread only.
class ApacheResponseSink final : public ResponseSink {
public:
    explicit ApacheResponseSink(request_rec* r);

    common::Status start(protocol::ResponseStart&& start) override;
    common::Status body(std::string_view data) override;
    common::Status flush() override;
    common::Status end() override;

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

private:
    common::Status pass();

    request_rec* r_;
    apr_bucket_brigade* bb_;
    bool passedAny_ = false;
    bool aborted_ = false;
};

}  // namespace wsgid::apache
