// SPDX-License-Identifier: Apache-2.0
// Locale-independent ASCII helpers for protocol text (header names, On/Off values). No httpd,
// APR or Python here. <cctype> is avoided on purpose: its answers depend on the C locale, which
// the daemon sets from lang=/locale=.
#pragma once

#include <string_view>

namespace wsgid::common {

/// 'A'-'Z' mapped to 'a'-'z'; every other byte unchanged.
constexpr char asciiToLower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// True for ASCII letters and digits.
constexpr bool isAsciiAlnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// Case-insensitive equality of two ASCII strings (bytes >= 0x80 compare exactly).
constexpr bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (asciiToLower(a[i]) != asciiToLower(b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace wsgid::common
