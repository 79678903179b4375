// SPDX-License-Identifier: Apache-2.0
// RejectedPeers: which refused peers were already logged, so a process that keeps trying fills
// the error log with one line, not one per attempt. No httpd headers here.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include <sys/types.h>

namespace wsgid::daemon {

/// Peers remembered: a handful of misbehaving processes at once is the realistic case; beyond
/// that the oldest is forgotten and may be logged again, which only costs a line.
inline constexpr std::size_t kRememberedRejectedPeers = 64;

/// A small ring of peer pids already logged. I/O thread only.
class RejectedPeers {
public:
    /// True the first time `pid` is seen (log it), false while it is remembered.
    bool firstRejection(pid_t pid) noexcept {
        const auto end = pids_.begin() + static_cast<std::ptrdiff_t>(size_);
        if (std::find(pids_.begin(), end, pid) != end) {
            return false;
        }
        pids_[next_] = pid;
        next_ = (next_ + 1) % pids_.size();
        size_ = std::min(size_ + 1, pids_.size());
        return true;
    }

private:
    std::array<pid_t, kRememberedRejectedPeers> pids_{};
    std::size_t next_ = 0;
    std::size_t size_ = 0;
};

}  // namespace wsgid::daemon
