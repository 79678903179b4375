// SPDX-License-Identifier: Apache-2.0
// Tests of a group's load table as the httpd parent owns it (src/apache/group_load_table.h).
#include "apache/group_load_table.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wsgid::apache {
namespace {

/// The permissions column of /proc/self/maps for the mapping that holds `address` ("" if none).
std::string mappingPermissions(const void* address) {
    std::ifstream maps("/proc/self/maps");
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    std::string line;
    while (std::getline(maps, line)) {
        std::uintptr_t from = 0;
        std::uintptr_t to = 0;
        char perms[5] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %4s", &from, &to, perms) == 3 && from <= at &&
            at < to) {
            return perms;
        }
    }
    return {};
}

TEST(GroupLoadTable, ADaemonMappingItsDescriptorPublishesToTheParentsView) {
    auto table = GroupLoadTable::make("site", 2);
    ASSERT_TRUE(table.isOk()) << table.status().message();
    ASSERT_EQ((*table)->size(), 4U);
    // What a daemon does with kLoadTableFd.
    auto daemonView = common::SharedMapping::map((*table)->descriptor(),
                                                 protocol::loadTableBytes(2), /*writable=*/true);
    ASSERT_TRUE(daemonView.isOk()) << daemonView.status().message();
    auto* slots = reinterpret_cast<protocol::LoadSlot*>(daemonView->bytes().data());
    protocol::LoadSlotWriter writer(&slots[3]);
    writer.announce(4321);
    writer.publish(7);
    std::array<protocol::ProcessLoad, 4> seen{};
    ASSERT_EQ(protocol::readLoads((*table)->slots(), seen), 1U);
    EXPECT_EQ(seen[0].pid, 4321U);
    EXPECT_EQ(seen[0].taken, 7);
    (*table)->clear(3);  // the process died without withdrawing
    EXPECT_EQ(protocol::readLoads((*table)->slots(), seen), 0U);
}

TEST(GroupLoadTable, TheTwoProcessesOfAnIndexNeverShareAnEntry) {
    auto table = GroupLoadTable::make("site", 3);
    ASSERT_TRUE(table.isOk());
    const GroupLoadTable& t = **table;
    EXPECT_EQ(t.entryFor(0, -1), 0);
    EXPECT_EQ(t.entryFor(0, 0), 1) << "a replacement beside the current process in entry 0";
    EXPECT_EQ(t.entryFor(0, 1), 0) << "and the next replacement once that one took over";
    EXPECT_EQ(t.entryFor(2, -1), 4);
    EXPECT_EQ(t.entryFor(2, 4), 5);
    EXPECT_EQ(t.entryFor(3, -1), -1) << "no entry past the group's processes";
    EXPECT_EQ(t.entryFor(-1, -1), -1);
}

TEST(GroupLoadTable, AChildKeepsAReadOnlyViewAndNoDescriptor) {
    auto table = GroupLoadTable::make("site", 1);
    ASSERT_TRUE(table.isOk());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        (*table)->forgetDescriptor();
        const bool closed = (*table)->descriptor() < 0;
        const bool readable = (*table)->slots().size() == 2 && (*table)->slots()[0].pid == 0;
        // A write through the view would fault: ask the kernel's map instead of trying.
        const bool readOnly = mappingPermissions((*table)->slots().data()).starts_with("r--s");
        ::_exit(closed && readable && readOnly ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_GE((*table)->descriptor(), 0) << "the parent keeps its descriptor";
}

}  // namespace
}  // namespace wsgid::apache
