// SPDX-License-Identifier: Apache-2.0
// GroupLoadTable: one daemon group's load table (protocol/load_table.h) as the httpd parent
// owns it: a sealed memfd that each daemon of the group gets as kLoadTableFd and maps to publish
// its places, and the parent's mapping, which the httpd children inherit and read to route the
// group's requests. No httpd calls: the manager and the handler use it.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "common/shared_memory.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/load_table.h"

namespace wsgid::apache {

class GroupLoadTable {
public:
    /// A zeroed table for a group of `processes` processes named `group`.
    static common::Result<std::unique_ptr<GroupLoadTable>> make(const std::string& group,
                                                                int processes);

    GroupLoadTable(const GroupLoadTable&) = delete;
    GroupLoadTable& operator=(const GroupLoadTable&) = delete;
    GroupLoadTable(GroupLoadTable&&) = delete;
    GroupLoadTable& operator=(GroupLoadTable&&) = delete;
    ~GroupLoadTable() = default;

    /// The descriptor a daemon inherits (parent only; -1 in children after forgetDescriptor()).
    [[nodiscard]] int descriptor() const noexcept { return fd_.get(); }
    /// The entries, as readers see them.
    [[nodiscard]] std::span<const protocol::LoadSlot> slots() const noexcept {
        return {slots_, count_};
    }
    /// Entries in the table: DaemonArgs::loadSlot is below this.
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

    /// The entry for a new process of process index `index`, given the entry `other` of the
    /// slot's other process still running (its current one while a replacement starts, or -1):
    /// each process index has two entries, and the two processes of one never share one.
    [[nodiscard]] int entryFor(int index, int other) const noexcept;

    /// Parent: a process that ended without withdrawing (it crashed, or was killed) leaves its
    /// entry showing its last load; this clears it.
    void clear(int entry) noexcept;

    /// httpd child (child_init): closes the descriptor, which only the parent passes on, and
    /// makes the inherited mapping read-only.
    void forgetDescriptor() noexcept;

private:
    GroupLoadTable(common::UniqueFd fd, common::SharedMapping mapping, std::size_t count) noexcept;

    common::UniqueFd fd_;
    common::SharedMapping mapping_;
    protocol::LoadSlot* slots_ = nullptr;
    std::size_t count_ = 0;
};

}  // namespace wsgid::apache
