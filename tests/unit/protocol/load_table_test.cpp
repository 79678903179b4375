// SPDX-License-Identifier: Apache-2.0
// Tests of the load table's layout and access (src/protocol/load_table.h): what a reader sees of
// what writers published, and of garbage a daemon may write instead.
#include "protocol/load_table.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace wsgid::protocol {
namespace {

TEST(LoadTable, SizeIsTwoEntriesPerProcessWithinBounds) {
    EXPECT_EQ(loadSlotCount(1), 2U);
    EXPECT_EQ(loadSlotCount(3), 6U);
    EXPECT_EQ(loadTableBytes(3), 6U * sizeof(LoadSlot));
    EXPECT_EQ(loadSlotCount(0), 2U);
    EXPECT_EQ(loadSlotCount(-5), 2U);
    EXPECT_EQ(loadSlotCount(kMaxLoadTableProcesses + 1000),
              static_cast<std::size_t>(kMaxLoadTableProcesses) * kLoadSlotsPerProcess);
}

TEST(LoadTable, ReadersSeeWhatEachWriterPublished) {
    std::vector<LoadSlot> table(loadSlotCount(2));
    LoadSlotWriter first(&table[0]);
    LoadSlotWriter second(&table[2]);
    first.announce(101);
    second.announce(202);
    first.publish(3);
    second.publish(17);
    std::array<ProcessLoad, 8> out{};
    ASSERT_EQ(readLoads(table, out), 2U);
    EXPECT_EQ(out[0].pid, 101U);
    EXPECT_EQ(out[0].taken, 3);
    EXPECT_EQ(out[1].pid, 202U);
    EXPECT_EQ(out[1].taken, 17);
}

TEST(LoadTable, AnnounceStartsFromNothingTaken) {
    std::vector<LoadSlot> table(loadSlotCount(1));
    LoadSlotWriter old(&table[0]);
    old.announce(7);
    old.publish(9);
    old.withdraw();
    LoadSlotWriter next(&table[0]);  // a later process of the same entry
    next.announce(8);
    std::array<ProcessLoad, 2> out{};
    ASSERT_EQ(readLoads(table, out), 1U);
    EXPECT_EQ(out[0].pid, 8U);
    EXPECT_EQ(out[0].taken, 0);
}

TEST(LoadTable, WithdrawnAndUnusedEntriesAreSkipped) {
    std::vector<LoadSlot> table(loadSlotCount(2));
    LoadSlotWriter a(&table[0]);
    LoadSlotWriter b(&table[1]);
    LoadSlotWriter c(&table[3]);
    a.announce(1);
    b.announce(2);
    c.announce(3);
    b.withdraw();
    std::array<ProcessLoad, 8> out{};
    ASSERT_EQ(readLoads(table, out), 2U);
    EXPECT_EQ(out[0].pid, 1U);
    EXPECT_EQ(out[1].pid, 3U);
}

TEST(LoadTable, AReaderNeverWritesPastItsBuffer) {
    std::vector<LoadSlot> table(loadSlotCount(4));
    for (std::size_t i = 0; i < table.size(); ++i) {
        LoadSlotWriter(&table[i]).announce(static_cast<std::uint32_t>(100 + i));
    }
    std::array<ProcessLoad, 3> out{};
    EXPECT_EQ(readLoads(table, out), 3U);
    EXPECT_EQ(out[2].pid, 102U);
    EXPECT_EQ(readLoads(table, std::span<ProcessLoad>()), 0U);
}

TEST(LoadTable, GarbageFromADaemonReadsAsAHintInRange) {
    // Tenant code can write anything: a negative count reads as nothing taken.
    std::vector<LoadSlot> table(loadSlotCount(1));
    table[0].pid = 55;
    table[0].taken = -123456;
    std::array<ProcessLoad, 2> out{};
    ASSERT_EQ(readLoads(table, out), 1U);
    EXPECT_EQ(out[0].taken, 0);
}

TEST(LoadTable, AWriterWithoutAnEntryDoesNothing) {
    LoadSlotWriter none;
    none.announce(1);
    none.publish(2);
    none.withdraw();
    SUCCEED() << "no entry, no write: nothing to crash on";
}

}  // namespace
}  // namespace wsgid::protocol
