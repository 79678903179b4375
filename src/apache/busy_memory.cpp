// SPDX-License-Identifier: Apache-2.0
// BusyMemory (see busy_memory.h). No httpd calls.
#include "apache/busy_memory.h"

#include <algorithm>

namespace wsgid::apache {

void BusyMemory::note(std::uint32_t pid, Clock::time_point at) {
    const auto same = std::find_if(answers_.begin(), answers_.end(),
                                   [pid](const Answer& a) { return a.pid == pid; });
    if (same != answers_.end()) {
        same->at = std::max(same->at, at);
        return;
    }
    if (answers_.size() < kMaxBusyRemembered) {
        answers_.push_back(Answer{.pid = pid, .at = at});
        return;
    }
    const auto oldest =
        std::min_element(answers_.begin(), answers_.end(),
                         [](const Answer& a, const Answer& b) { return a.at < b.at; });
    *oldest = Answer{.pid = pid, .at = at};
}

bool BusyMemory::busySince(std::uint32_t pid, Clock::time_point since) const {
    return std::any_of(answers_.begin(), answers_.end(),
                       [pid, since](const Answer& a) { return a.pid == pid && a.at >= since; });
}

}  // namespace wsgid::apache
