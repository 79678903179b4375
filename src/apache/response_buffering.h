// SPDX-License-Identifier: Apache-2.0
// How the module takes a response from a daemon: the longest header line it accepts
// (header-buffer-size=) and when it flushes the body to the client (response-buffer-size=,
// response-flush-delay=). Pure: no httpd, no APR, no syscalls.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "protocol/limits.h"
#include "protocol/response.h"

namespace wsgid::apache {

/// header-buffer-size= default: mod_wsgi's, so a response that works there works here; real
/// headers (cookies, CSP policies) stay far below it.
inline constexpr std::size_t kDefaultHeaderBufferBytes = std::size_t{32} * 1024;
/// Its bounds: mod_wsgi's minimum, and the protocol's own cap on a whole Start frame (a longer
/// line could never arrive).
inline constexpr std::size_t kMinHeaderBufferBytes = std::size_t{8} * 1024;
inline constexpr std::size_t kMaxHeaderBufferBytes = protocol::kMaxResponseHeadBytes;

/// response-buffer-size= default: the relay has always flushed after at most this many bytes
/// read in one go (its coalescing bound), so a default configuration streams as before; mod_wsgi
/// 6's 8 MiB would hold up to that much per request in the client's filters before a flush.
inline constexpr std::size_t kDefaultResponseBufferBytes = std::size_t{256} * 1024;
/// Its bounds: mod_wsgi's minimum; 1 GiB of one response unflushed is a typo.
inline constexpr std::size_t kMinResponseBufferBytes = std::size_t{64} * 1024;
inline constexpr std::size_t kMaxResponseBufferBytes = std::size_t{1} << 30;

/// response-flush-delay= default: flush as soon as the daemon socket is empty, as the relay
/// always did, so a streamed response (server-sent events, progress output) reaches the client
/// without added latency. mod_wsgi 6 waits 5 ms so that mod_ratelimit can pace; set it for that.
inline constexpr std::chrono::milliseconds kDefaultResponseFlushDelay{0};
/// Its bound: the relay waits on the daemon socket alone during the delay, and a streamed
/// response's every pause is held back that long; no pacing needs more than this.
inline constexpr std::chrono::milliseconds kMaxResponseFlushDelay{10000};

/// The three options of a daemon group, with 0 resolved to the defaults above.
struct ResponseBuffering {
    std::size_t maxHeaderLine = kDefaultHeaderBufferBytes;      ///< name + value bytes
    std::size_t flushAfterBytes = kDefaultResponseBufferBytes;  ///< body bytes between FLUSHes
    std::chrono::milliseconds flushDelay = kDefaultResponseFlushDelay;

    /// From the option values as configured (0: the default).
    static ResponseBuffering fromOptions(int headerBufferSize, int responseBufferSize,
                                         int responseFlushDelayMs) noexcept;
};

/// The index of the first header whose name and value together are longer than `maxLine`
/// bytes; nullopt when every one fits.
std::optional<std::size_t> firstOverlongHeader(const protocol::ResponseStart& start,
                                               std::size_t maxLine) noexcept;

}  // namespace wsgid::apache
