// SPDX-License-Identifier: Apache-2.0
// Where to cut text that must fit a byte bound without splitting a UTF-8 sequence (long log
// lines, on both sides of the log pipe). Pure; the standard library only.
#pragma once

#include <cstddef>
#include <string_view>

namespace wsgid::common {

/// Where to cut `text` so the first piece holds at most `limit` bytes and does not end inside a
/// UTF-8 sequence: the limit backed off over at most 3 continuation bytes, or the limit itself in
/// malformed text. At least 1 if `text` is not empty (so a loop over pieces always progresses).
inline std::size_t utf8CutPoint(std::string_view text, std::size_t limit) noexcept {
    if (text.size() <= limit) {
        return text.size();
    }
    if (limit == 0) {
        return 1;
    }
    for (std::size_t cut = limit; cut + 3 >= limit && cut > 0; --cut) {
        if ((static_cast<unsigned char>(text[cut]) & 0xC0U) != 0x80U) {
            return cut;  // text[cut] starts a sequence (or is ASCII): cut before it
        }
    }
    return limit;
}

}  // namespace wsgid::common
