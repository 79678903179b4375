// SPDX-License-Identifier: Apache-2.0
// One group's load table as the httpd parent owns it (see group_load_table.h).
#include "apache/group_load_table.h"

#include <sys/mman.h>

namespace wsgid::apache {

common::Result<std::unique_ptr<GroupLoadTable>> GroupLoadTable::make(const std::string& group,
                                                                     int processes) {
    const std::size_t bytes = protocol::loadTableBytes(processes);
    // The name shows in /proc/PID/fd listings only: no file, no path, nothing to clean up.
    const std::string name = "wsgid-load:" + group;
    auto fd = common::makeSealedSharedMemory(name.c_str(), bytes);
    if (!fd) {
        return fd.status();
    }
    // Writable in the parent, which clears the entries of processes that died; children make
    // their inherited copy read-only (forgetDescriptor).
    auto mapping = common::SharedMapping::map(fd->get(), bytes, /*writable=*/true);
    if (!mapping) {
        return mapping.status();
    }
    return std::unique_ptr<GroupLoadTable>(new GroupLoadTable(
        std::move(fd.value()), std::move(mapping.value()), protocol::loadSlotCount(processes)));
}

GroupLoadTable::GroupLoadTable(common::UniqueFd fd, common::SharedMapping mapping,
                               std::size_t count) noexcept
    : fd_(std::move(fd)),
      mapping_(std::move(mapping)),
      slots_(reinterpret_cast<protocol::LoadSlot*>(mapping_.bytes().data())),
      count_(count) {}

int GroupLoadTable::entryFor(int index, int other) const noexcept {
    const int first = index * protocol::kLoadSlotsPerProcess;
    if (first < 0 || static_cast<std::size_t>(first) + 1 >= count_) {
        return -1;  // a process index beyond kMaxLoadTableProcesses: it runs without an entry
    }
    return other == first ? first + 1 : first;
}

void GroupLoadTable::clear(int entry) noexcept {
    if (entry >= 0 && static_cast<std::size_t>(entry) < count_) {
        protocol::LoadSlotWriter(&slots_[entry]).withdraw();
    }
}

void GroupLoadTable::forgetDescriptor() noexcept {
    fd_.reset();
    const auto bytes = mapping_.bytes();
    (void)::mprotect(bytes.data(), bytes.size(), PROT_READ);
}

}  // namespace wsgid::apache
