// SPDX-License-Identifier: Apache-2.0
// Durations as operators write them in configuration and read them in logs ("15s", "1.5s",
// "250ms"): every duration a log line shows goes through durationText, so all read alike.
#pragma once

#include <chrono>
#include <string>

namespace wsgid::common {

/// Exact to the millisecond, in the shortest form: whole seconds as "15s", anything under a
/// second as "250ms", any other duration as seconds with its fraction's trailing zeros dropped
/// ("1.5s", "1.25s", "2.001s"). A negative duration reads the same with a leading '-'.
inline std::string durationText(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    if (ms > -1000 && ms < 1000) {
        return std::to_string(ms) + "ms";
    }
    std::string frac = std::to_string(ms < 0 ? -(ms % 1000) : ms % 1000);
    frac.insert(0, 3 - frac.size(), '0');
    while (frac.back() == '0') {
        frac.pop_back();
    }
    return std::to_string(ms / 1000) + "." + frac + "s";
}

}  // namespace wsgid::common
