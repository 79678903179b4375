// SPDX-License-Identifier: Apache-2.0
// DeathRecords: the httpd parent's record of recent daemon deaths, in memory shared with every
// httpd child, so a request handler whose daemon connection broke can say why (the 502 and its
// log line name the signal, the exit status, the recycle). One writer, the parent; children map
// it read-only. The memory is made once per httpd parent, before any child is forked, and kept
// across restarts. No httpd headers (tests/unit/apache/death_records_test.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include <sys/types.h>

#include "apache/daemon_death.h"

namespace wsgid::apache {

/// The clock of the records: CLOCK_MONOTONIC, the same in every process of the system.
using DeathClock = std::chrono::steady_clock;

/// Deaths kept: a ring, the oldest overwritten. A handler looks its daemon up within a second or
/// two of the death, so this only has to outlast a burst of deaths (every process of many groups
/// crashing at once) in that time.
inline constexpr std::size_t kDeathRecordEntries = 256;

/// The table. Lives in a shared mapping (mapShared()); all fields are lock-free atomics, so it
/// works across processes, and each entry is a seqlock: a reader never sees a torn record.
class DeathRecords {
public:
    DeathRecords() = default;
    DeathRecords(const DeathRecords&) = delete;
    DeathRecords& operator=(const DeathRecords&) = delete;
    DeathRecords(DeathRecords&&) = delete;
    DeathRecords& operator=(DeathRecords&&) = delete;
    ~DeathRecords() = default;

    /// A new table in an anonymous shared mapping (inherited by processes forked later), or
    /// nullptr if it cannot be mapped. Parent only.
    static DeathRecords* mapShared() noexcept;
    /// Unmaps a table made by mapShared() (httpd stops; no child is left).
    static void unmap(DeathRecords* table) noexcept;
    /// Makes this process's view of the table read-only (httpd children: only the parent
    /// writes).
    void protectReadOnly() noexcept;

    /// Records that `pid` died at `when`. Single writer (the parent).
    void publish(pid_t pid, DeathClock::time_point when, const DaemonDeath& death) noexcept;
    /// The newest record of `pid` made at or after `notBefore` (earlier ones belong to an
    /// earlier process with the same pid). Any process, any thread.
    [[nodiscard]] std::optional<DaemonDeath> find(pid_t pid,
                                                  DeathClock::time_point notBefore) const noexcept;

private:
    struct Entry {
        std::atomic<std::uint32_t> seq{0};  ///< odd while the writer changes the entry
        std::atomic<std::int32_t> pid{0};
        std::atomic<std::int64_t> whenNs{0};
        std::atomic<std::uint64_t> packed{0};  ///< cause, reason, flags, value
    };
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
                  std::atomic<std::int64_t>::is_always_lock_free &&
                  std::atomic<std::uint32_t>::is_always_lock_free);

    std::atomic<std::uint32_t> next_{0};  ///< the writer's next slot (writer only)
    Entry entries_[kDeathRecordEntries];  // NOLINT(modernize-avoid-c-arrays): shared layout
};

/// Looks `pid` up until a record appears or `wait` passes (the parent records a death within
/// the MPM's one-second maintenance loop), polling every 20 ms. Request threads only: it
/// sleeps.
std::optional<DaemonDeath> waitForDeath(const DeathRecords& table, pid_t pid,
                                        DeathClock::time_point notBefore,
                                        std::chrono::milliseconds wait);

}  // namespace wsgid::apache
