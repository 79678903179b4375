// SPDX-License-Identifier: Apache-2.0
// header-buffer-size=, response-buffer-size= and response-flush-delay= (see
// response_buffering.h).
#include "apache/response_buffering.h"

namespace wsgid::apache {

ResponseBuffering ResponseBuffering::fromOptions(int headerBufferSize, int responseBufferSize,
                                                 int responseFlushDelayMs) noexcept {
    ResponseBuffering b;
    if (headerBufferSize > 0) {
        b.maxHeaderLine = static_cast<std::size_t>(headerBufferSize);
    }
    if (responseBufferSize > 0) {
        b.flushAfterBytes = static_cast<std::size_t>(responseBufferSize);
    }
    if (responseFlushDelayMs > 0) {
        b.flushDelay = std::chrono::milliseconds(responseFlushDelayMs);
    }
    return b;
}

std::optional<std::size_t> firstOverlongHeader(const protocol::ResponseStart& start,
                                               std::size_t maxLine) noexcept {
    for (std::size_t i = 0; i < start.headers.size(); ++i) {
        const auto& [name, value] = start.headers[i];
        if (name.size() + value.size() > maxLine) {
            return i;
        }
    }
    return std::nullopt;
}

}  // namespace wsgid::apache
