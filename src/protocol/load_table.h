// SPDX-License-Identifier: Apache-2.0
// The load table of a daemon group: a small shared memory area in which each daemon process
// publishes how many of its places are taken (running plus queued requests), so that an httpd
// child sends a request to a process with a free worker instead of learning from a Busy answer,
// and a full process hands a queued request back when a sibling frees a worker
// (docs/architecture.md "Admission"). Layout and access only; mapping it is the caller's
// business. Pure: no syscalls, no httpd, no Python.
//
// Trust: the daemons that write the table run tenant code, which can write anything into it. The
// table steers only the routing of its own group's requests, and every reader treats what it
// reads as a hint: each value is bounds-checked on its own, and nothing read is ever an index or
// a size.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace wsgid::protocol {

/// One daemon process's entry. Only that process writes it; readers load each field on its own
/// (relaxed: a slightly stale value only costs a Busy answer or a short wait).
struct alignas(8) LoadSlot {
    std::uint32_t pid = 0;   ///< 0: unused (not started yet, or draining)
    std::int32_t taken = 0;  ///< places taken: requests running plus requests queued
};
static_assert(sizeof(LoadSlot) == 8);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free &&
                  std::atomic_ref<std::int32_t>::is_always_lock_free,
              "the table is shared between processes: its atomics must not need a lock");

/// Entries per process index: a recycled process's replacement starts beside it, and the two
/// run at once until the handover, each with an entry of its own.
inline constexpr int kLoadSlotsPerProcess = 2;

/// Most processes a group's table has entries for. WSGIDaemonProcess processes= beyond it still
/// work: the module then knows the load of the first ones only and learns of the others from
/// Busy answers, as without a table. 256 processes of one group is far past any host we know of.
inline constexpr int kMaxLoadTableProcesses = 256;

/// Entries of the table of a group of `processes` processes (at least 1, at most
/// kMaxLoadTableProcesses processes counted).
std::size_t loadSlotCount(int processes) noexcept;

/// Bytes of that table.
std::size_t loadTableBytes(int processes) noexcept;

/// What a reader sees of one live entry.
struct ProcessLoad {
    std::uint32_t pid = 0;
    std::int32_t taken = 0;
};

/// Copies the live entries (pid not 0) of `table` into `out`, in table order, at most
/// out.size(); returns how many. Negative counts read as 0 (a daemon's garbage).
std::size_t readLoads(std::span<const LoadSlot> table, std::span<ProcessLoad> out) noexcept;

/// The writer of one entry: the daemon process that owns it.
class LoadSlotWriter {
public:
    /// No entry: every call does nothing (a group of one process, or no table).
    LoadSlotWriter() noexcept = default;
    /// Writes to `slot`, which must outlive this writer.
    explicit LoadSlotWriter(LoadSlot* slot) noexcept : slot_(slot) {}

    /// Whether there is an entry to write.
    [[nodiscard]] bool active() const noexcept { return slot_ != nullptr; }
    /// Claims the entry for `pid` with nothing taken.
    void announce(std::uint32_t pid) noexcept;
    /// Publishes the places taken now.
    void publish(int taken) noexcept;
    /// Gives the entry up (the process drains or stops): readers skip it from now on.
    void withdraw() noexcept;

private:
    LoadSlot* slot_ = nullptr;
};

}  // namespace wsgid::protocol
