// SPDX-License-Identifier: Apache-2.0
// Durations as operators write them in configuration and read them in logs ("15s", "250ms").
#pragma once

#include <chrono>
#include <string>

namespace wsgid::common {

/// Whole seconds as "15s", anything else as "250ms".
inline std::string durationText(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) {
        return std::to_string(d.count() / 1000) + "s";
    }
    return std::to_string(d.count()) + "ms";
}

}  // namespace wsgid::common
