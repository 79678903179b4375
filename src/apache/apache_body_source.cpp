// SPDX-License-Identifier: Apache-2.0
// The request body through httpd's input filters (see apache_body_source.h).
#include <algorithm>
#include <cstring>
#include <string>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR types.
#include "apache/apache_body_source.h"
#include "apache/apr_error_text.h"

namespace wsgid::apache {

namespace {

/// Bound on consecutive client body reads that return no data and no end (only metadata
/// buckets): a conforming input filter chain never needs more than a couple.
constexpr int kMaxEmptyBodyReads = 64;

/// Bytes asked of the input filters per read when the rest of a body is dropped: the body is
/// not copied anywhere, so larger reads only mean fewer filter calls.
constexpr apr_off_t kDiscardReadSize = apr_off_t{64} * 1024;

}  // namespace

ApacheBodySource::ApacheBodySource(request_rec* r)
    : r_(r), bb_(apr_brigade_create(r->pool, r->connection->bucket_alloc)) {}

common::Result<std::size_t> ApacheBodySource::read(std::span<char> buf) {
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
        const apr_status_t rv = ap_get_brigade(r_->input_filters, bb_, AP_MODE_READBYTES,
                                               APR_BLOCK_READ, static_cast<apr_off_t>(buf.size()));
        if (rv != APR_SUCCESS) {
            return fail(rv);
        }
    }
}

common::Status ApacheBodySource::discardRest(std::size_t maxBytes) {
    std::size_t dropped = 0;
    for (int emptyReads = 0; !eos_;) {
        bool data = false;
        for (apr_bucket* b = APR_BRIGADE_FIRST(bb_); b != APR_BRIGADE_SENTINEL(bb_);
             b = APR_BUCKET_NEXT(b)) {
            if (APR_BUCKET_IS_EOS(b)) {
                eos_ = true;
            } else if (AP_BUCKET_IS_ERROR(b)) {
                return fail(AP_FILTER_ERROR);
            } else if (!APR_BUCKET_IS_METADATA(b)) {
                data = true;
                // Data buckets from the input filters have known lengths.
                dropped += b->length;
            }
        }
        apr_brigade_cleanup(bb_);
        if (eos_) {
            break;
        }
        if (dropped > maxBytes) {
            return {common::ErrorCode::LimitExceeded,
                    "more than " + std::to_string(maxBytes) + " bytes left unread"};
        }
        emptyReads = data ? 0 : emptyReads + 1;
        if (emptyReads > kMaxEmptyBodyReads) {
            return fail(APR_EGENERAL);
        }
        const apr_status_t rv = ap_get_brigade(r_->input_filters, bb_, AP_MODE_READBYTES,
                                               APR_BLOCK_READ, kDiscardReadSize);
        if (rv != APR_SUCCESS) {
            return fail(rv);
        }
    }
    return common::Status::ok();
}

common::Status ApacheBodySource::fail(apr_status_t rv) {
    lastError_ = rv;
    apr_brigade_cleanup(bb_);
    return {common::ErrorCode::IoError, "reading the request body: " + aprErrorText(rv)};
}

}  // namespace wsgid::apache
