// SPDX-License-Identifier: Apache-2.0
// Test helper: spells wire bytes as hex so golden encodings read like a packet dump.
// Test-only; header-only so every protocol test can include it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wsgid::test {

/// Bytes from hex pairs separated by spaces ("01 02 ff"). Throws std::invalid_argument on a
/// malformed spelling, so a typo in a golden vector fails loudly instead of comparing garbage.
inline std::string hexBytes(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        throw std::invalid_argument("bad hex digit");
    };
    std::string out;
    std::size_t i = 0;
    while (i < hex.size()) {
        if (hex[i] == ' ') {
            ++i;
            continue;
        }
        if (i + 1 >= hex.size()) {
            throw std::invalid_argument("odd number of hex digits");
        }
        out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
        i += 2;
    }
    return out;
}

/// Hex spelling of `bytes` ("01 02 ff"), for readable failure messages.
inline std::string toHex(std::string_view bytes) {
    constexpr std::string_view kDigits = "0123456789abcdef";
    std::string out;
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (!out.empty()) {
            out.push_back(' ');
        }
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 0xf]);
    }
    return out;
}

}  // namespace wsgid::test
