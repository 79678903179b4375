// SPDX-License-Identifier: Apache-2.0
// HTTP syntax checks shared by both ends (the daemon validates what the app gives start_response,
// the module validates what arrives in a Start frame). No httpd, APR or Python here.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgid::common {

/// RFC 9110 token: a header name. Non-empty, visible ASCII without separators.
bool isHttpToken(std::string_view s) noexcept;

/// A header value safe to emit: no CR, LF or NUL, and no other control bytes except TAB.
/// Bytes 0x80-0xFF are allowed (PEP 3333 values are latin-1 strings).
bool isSafeHeaderValue(std::string_view s) noexcept;

/// A PEP 3333 status line: three digits, a space, and a reason phrase that is a safe header
/// value (which may be empty). "200 OK" is valid; "200", "20 OK" and "200 OK\r\n" are not.
bool isValidStatusLine(std::string_view s) noexcept;

/// A valid status line that can end a response: not an interim 1xx status, which would leave
/// the client waiting for the real response (a WSGI app has no way to send one before another).
bool isFinalStatusLine(std::string_view s) noexcept;

/// A Content-Length value (RFC 9110 §8.6: 1*DIGIT) that fits an int64; nullopt otherwise (empty,
/// a sign, spaces, anything but digits, overflow).
std::optional<std::int64_t> parseContentLength(std::string_view s) noexcept;

/// Header names the module owns: the app may not set hop-by-hop headers (PEP 3333 §"Other HTTP
/// Features"). Case-insensitive.
bool isHopByHopHeader(std::string_view name) noexcept;

}  // namespace wsgid::common
