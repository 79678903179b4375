// SPDX-License-Identifier: Apache-2.0
// Making untrusted text (app output, status lines, header names) safe to put on one log line or
// into an exception message: control bytes become \xNN, so no CR/LF can forge a log line.
#pragma once

#include <string>
#include <string_view>

namespace wsgid::python {

/// `text` with every control byte except TAB (0x00-0x1F, 0x7F) written as \xNN. Other bytes,
/// including UTF-8 and latin-1 ones, pass unchanged.
inline std::string escapeControl(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && byte != '\t') || byte == 0x7F) {
            out.append("\\x");
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0xF]);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace wsgid::python
