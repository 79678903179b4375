// SPDX-License-Identifier: Apache-2.0
// BusyMemory: when each daemon process last answered Busy to one httpd child. No httpd calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgid::apache {

/// Daemon processes remembered at once. A child talks to the processes of every group it
/// serves; past this many, the oldest answer is forgotten first, which only costs a retry on a
/// connection that may hear Busy again.
inline constexpr std::size_t kMaxBusyRemembered = 64;

/// The last Busy answer of each daemon process, as one httpd child heard them. Not thread-safe
/// (ConnectionPool guards it).
class BusyMemory {
public:
    using Clock = std::chrono::steady_clock;

    /// Process `pid` answered Busy at `at`.
    void note(std::uint32_t pid, Clock::time_point at);

    /// Whether `pid` answered Busy at or after `since`.
    [[nodiscard]] bool busySince(std::uint32_t pid, Clock::time_point since) const;

private:
    struct Answer {
        std::uint32_t pid = 0;
        Clock::time_point at;
    };
    std::vector<Answer> answers_;  // one per pid, at most kMaxBusyRemembered
};

}  // namespace wsgid::apache
