// SPDX-License-Identifier: Apache-2.0
// sleepFor(): sleeps on CLOCK_MONOTONIC to an absolute deadline, so signals (EINTR) and wall-clock
// changes neither cut the sleep short nor stretch it. Async-signal-safe (clock_gettime and
// clock_nanosleep only): usable between fork() and exec. Standard library and POSIX only.
#pragma once

#include <cerrno>
#include <chrono>
#include <ctime>

namespace wsgid::common {

/// Sleeps `delay` (a zero or negative delay returns at once).
inline void sleepFor(std::chrono::nanoseconds delay) noexcept {
    if (delay.count() <= 0) {
        return;
    }
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    const auto total = std::chrono::nanoseconds(deadline.tv_nsec) + delay;
    deadline.tv_sec += std::chrono::duration_cast<std::chrono::seconds>(total).count();
    deadline.tv_nsec = (total % std::chrono::seconds(1)).count();
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
    }
}

}  // namespace wsgid::common
