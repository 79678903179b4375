// SPDX-License-Identifier: Apache-2.0
// The load table's layout and access (see load_table.h).
#include "protocol/load_table.h"

#include <algorithm>

namespace wsgid::protocol {

std::size_t loadSlotCount(int processes) noexcept {
    const int counted = std::clamp(processes, 1, kMaxLoadTableProcesses);
    return static_cast<std::size_t>(counted) * kLoadSlotsPerProcess;
}

std::size_t loadTableBytes(int processes) noexcept {
    return loadSlotCount(processes) * sizeof(LoadSlot);
}

std::size_t readLoads(std::span<const LoadSlot> table, std::span<ProcessLoad> out) noexcept {
    std::size_t n = 0;
    for (const LoadSlot& slot : table) {
        if (n == out.size()) {
            break;
        }
        // atomic_ref needs a non-const object; a load never writes (the readers' mapping is
        // read-only).
        auto& s = const_cast<LoadSlot&>(slot);
        const std::uint32_t pid = std::atomic_ref(s.pid).load(std::memory_order_relaxed);
        if (pid == 0) {
            continue;
        }
        const std::int32_t taken = std::atomic_ref(s.taken).load(std::memory_order_relaxed);
        out[n++] = ProcessLoad{.pid = pid, .taken = std::max(taken, 0)};
    }
    return n;
}

void LoadSlotWriter::announce(std::uint32_t pid) noexcept {
    if (slot_ == nullptr) {
        return;
    }
    std::atomic_ref(slot_->taken).store(0, std::memory_order_relaxed);
    std::atomic_ref(slot_->pid).store(pid, std::memory_order_relaxed);
}

void LoadSlotWriter::publish(int taken) noexcept {
    if (slot_ != nullptr) {
        std::atomic_ref(slot_->taken).store(taken, std::memory_order_relaxed);
    }
}

void LoadSlotWriter::withdraw() noexcept {
    if (slot_ != nullptr) {
        std::atomic_ref(slot_->pid).store(0, std::memory_order_relaxed);
    }
}

}  // namespace wsgid::protocol
