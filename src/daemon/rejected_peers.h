// SPDX-License-Identifier: Apache-2.0
// RejectedPeers: which refused peers were already logged, so a process that keeps trying fills
// the error log with one line, not one per attempt. No httpd headers here.
#pragma once

#include <algorithm>  // std::min
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
        for (std::size_t i = 0; i < size_; ++i) {
            if (pids_[i] == pid) {
                return false;
            }
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
