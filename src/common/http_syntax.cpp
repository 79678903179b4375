// SPDX-License-Identifier: Apache-2.0
// HTTP syntax checks. No httpd, APR or Python here.
#include "common/http_syntax.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string_view>

#include "common/ascii.h"

namespace wsgid::common {

namespace {

bool isTokenChar(unsigned char c) noexcept {
    if (c <= 0x20 || c >= 0x7f) {
        return false;
    }
    constexpr std::string_view kSeparators = "()<>@,;:\\\"/[]?={}";
    return kSeparators.find(static_cast<char>(c)) == std::string_view::npos;
}

}  // namespace

bool isHttpToken(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return isTokenChar(static_cast<unsigned char>(c)); });
}

bool isSafeHeaderValue(std::string_view s) noexcept {
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

bool isValidStatusLine(std::string_view s) noexcept {
    if (s.size() < 4 || s[3] != ' ') {
        return false;
    }
    for (std::size_t i = 0; i < 3; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    if (s[0] < '1' || s[0] > '5') {
        return false;
    }
    return isSafeHeaderValue(s.substr(4));
}

bool isFinalStatusLine(std::string_view s) noexcept {
    return isValidStatusLine(s) && s[0] != '1';
}

std::optional<std::int64_t> parseContentLength(std::string_view s) noexcept {
    if (s.empty() ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
        return std::nullopt;
    }
    return value;
}

bool isHopByHopHeader(std::string_view name) noexcept {
    constexpr std::array<std::string_view, 8> kHopByHop = {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te",         "trailers",   "transfer-encoding",  "upgrade"};
    return std::any_of(kHopByHop.begin(), kHopByHop.end(),
                       [&](std::string_view h) { return equalsIgnoreCase(name, h); });
}

}  // namespace wsgid::common
