// SPDX-License-Identifier: Apache-2.0
// ApacheBodySource: the client's request body read through httpd's input filters, as the relay
// pulls it (BodySource). Include after httpd_includes.h (this header needs the APR types).
#pragma once

#include <cstddef>
#include <span>

#include "apache/relay.h"
#include "common/status.h"

namespace wsgid::apache {

/// Most request-body bytes the handler reads and drops so that the client's request ends in step
/// with the response (an HTTP/2 stream without a reset, a kept-alive connection after an internal
/// redirect): far above the forms and small uploads an app answers without reading, small enough
/// that an httpd worker never spends long on a body nobody wants (beyond it the stream is reset,
/// which RFC 9113 allows, or the connection closed).
inline constexpr std::size_t kMaxUnreadBodyDrain = std::size_t{16} * 1024 * 1024;

/// The client's request body through httpd's input filters (HTTP_IN enforces Content-Length,
/// chunked decoding and LimitRequestBody). Its
/// brigade lives in r->pool: valid while the request lives. Request thread only.
class ApacheBodySource final : public BodySource {
public:
    explicit ApacheBodySource(request_rec* r);

    common::Result<std::size_t> read(std::span<char> buf) override;

    /// The APR status of the failed read (for ap_map_http_request_error).
    [[nodiscard]] apr_status_t lastError() const noexcept { return lastError_; }

    /// True once the whole body was read (or there was none).
    [[nodiscard]] bool atEnd() const noexcept { return eos_; }

    /// Reads what is left of the body and drops it, until its end, an error, or more than
    /// `maxBytes` (LimitExceeded). Each read is bounded by httpd's Timeout.
    common::Status discardRest(std::size_t maxBytes);

private:
    common::Status fail(apr_status_t rv);

    request_rec* r_;
    apr_bucket_brigade* bb_;
    bool eos_ = false;
    apr_status_t lastError_ = APR_SUCCESS;
};

}  // namespace wsgid::apache
