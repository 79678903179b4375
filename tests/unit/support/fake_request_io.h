// SPDX-License-Identifier: Apache-2.0
// FakeRequestIo: an in-memory RequestIo for the python unit tests. Serves a configured body
// (optionally in small pieces, optionally failing), records the start and the body blocks, and
// can be told to fail writes as a vanished client would.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "python/request_io.h"

namespace wsgid::testing {

/// Single-request fake; used by one worker thread at a time (no locking).
class FakeRequestIo : public python::RequestIo {
public:
    // ---- configuration ----
    std::string body;                      ///< what readBody serves
    std::size_t maxReadChunk = 1 << 30;    ///< most bytes one readBody call returns
    std::optional<std::string> readError;  ///< when set, readBody fails with it
    bool failStart = false;                ///< writeStart reports a closed connection
    int failBodyAt = -1;                   ///< writeBody call (0-based) that fails first

    // ---- recorded ----
    int startCalls = 0;
    std::string status;
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<std::string> blocks;  ///< every successful writeBody, in order
    std::size_t readCalls = 0;
    std::size_t largestReadRequest = 0;
    bool bodyBeforeStart = false;  ///< writeBody was called before writeStart (a bug)

    common::Result<std::size_t> readBody(std::string& out, std::size_t max) override {
        ++readCalls;
        largestReadRequest = std::max(largestReadRequest, max);
        if (readError) {
            return common::Status(common::ErrorCode::Timeout, *readError);
        }
        const std::size_t n = std::min({max, maxReadChunk, body.size() - readPos_});
        out.append(body, readPos_, n);
        readPos_ += n;
        return n;
    }

    common::Status writeStart(
        std::string_view statusLine,
        const std::vector<std::pair<std::string, std::string>>& responseHeaders) override {
        ++startCalls;
        if (failStart) {
            return {common::ErrorCode::Closed, "client closed the connection"};
        }
        status = statusLine;
        headers = responseHeaders;
        return common::Status::ok();
    }

    common::Status writeBody(std::string_view data) override {
        if (startCalls == 0) {
            bodyBeforeStart = true;
        }
        if (failBodyAt >= 0 && bodyCalls_++ >= failBodyAt) {
            return {common::ErrorCode::Closed, "client closed the connection"};
        }
        blocks.emplace_back(data);
        return common::Status::ok();
    }

    /// All body bytes sent, concatenated.
    [[nodiscard]] std::string sent() const {
        std::string all;
        for (const std::string& b : blocks) {
            all += b;
        }
        return all;
    }

    /// The value of the first header called `name` (exact case), if any.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers) {
            if (k == name) {
                return v;
            }
        }
        return std::nullopt;
    }

    /// Body bytes consumed by readBody so far.
    [[nodiscard]] std::size_t bodyRead() const { return readPos_; }

private:
    std::size_t readPos_ = 0;
    int bodyCalls_ = 0;
};

}  // namespace wsgid::testing
