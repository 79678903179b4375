// SPDX-License-Identifier: Apache-2.0
// InFlightTable: rows claimed per child pid, counts across rows against a limit, rows of dead
// children reclaimed, and the limit holding under concurrent use.
#include "apache/in_flight_table.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

/// A zero-filled, suitably aligned block for a table, as a fresh anonymous mapping is.
class TableMemory {
public:
    TableMemory(std::size_t rows, std::size_t groups)
        : words_(InFlightTable::bytesFor(rows, groups) / sizeof(std::max_align_t) + 1),
          table_(InFlightTable::create(words_.data(), rows, groups)) {}
    InFlightTable& operator*() const { return *table_; }
    InFlightTable* operator->() const { return table_; }

private:
    std::vector<std::max_align_t> words_;
    InFlightTable* table_;
};

bool everyoneAlive(pid_t /*pid*/) {
    return true;
}

TEST(InFlightTable, EachChildGetsARowOfItsOwnUntilTheTableIsFull) {
    TableMemory table(3, 1);
    std::set<std::size_t> rows;
    for (const pid_t pid : {101, 102, 103}) {
        const auto row = table->claimRow(pid, everyoneAlive);
        ASSERT_TRUE(row.has_value()) << pid;
        rows.insert(*row);
    }
    EXPECT_EQ(rows.size(), 3U);
    EXPECT_FALSE(table->claimRow(104, everyoneAlive).has_value());
}

TEST(InFlightTable, CountsAcrossChildrenAndRefusesAboveTheLimit) {
    TableMemory table(3, 2);
    const std::size_t a = *table->claimRow(101, everyoneAlive);
    const std::size_t b = *table->claimRow(102, everyoneAlive);
    EXPECT_TRUE(table->tryEnter(a, 0, 2));
    EXPECT_TRUE(table->tryEnter(b, 0, 2));
    EXPECT_FALSE(table->tryEnter(a, 0, 2));  // group 0 has its 2
    EXPECT_EQ(table->inFlight(0), 2);
    EXPECT_TRUE(table->tryEnter(a, 1, 2));  // groups are counted apart
    EXPECT_EQ(table->inFlight(1), 1);
    table->leave(b, 0);
    EXPECT_EQ(table->inFlight(0), 1);
    EXPECT_TRUE(table->tryEnter(b, 0, 2));
}

TEST(InFlightTable, RowsOfDeadChildrenAreClearedWhenAChildStarts) {
    TableMemory table(2, 1);
    const std::size_t dying = *table->claimRow(101, everyoneAlive);
    const std::size_t living = *table->claimRow(102, everyoneAlive);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(table->tryEnter(dying, 0, 100));
    }
    ASSERT_TRUE(table->tryEnter(living, 0, 100));
    EXPECT_EQ(table->inFlight(0), 6);
    // 101 crashed in the middle of its five requests; its replacement starts.
    const auto fresh = table->claimRow(103, [](pid_t pid) { return pid != 101; });
    ASSERT_TRUE(fresh.has_value());
    EXPECT_EQ(*fresh, dying);
    EXPECT_EQ(table->inFlight(0), 1);  // only the living child's request
}

TEST(InFlightTable, ARowLeftByAnEarlierProcessWithTheSamePidIsCleared) {
    TableMemory table(2, 1);
    const std::size_t row = *table->claimRow(101, everyoneAlive);
    ASSERT_TRUE(table->tryEnter(row, 0, 100));
    // A new child that got pid 101 again: that row is not its own.
    const auto again = table->claimRow(101, everyoneAlive);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(table->inFlight(0), 0);
}

TEST(InFlightTicket, CountsWhileItLivesAndNotWhenRefused) {
    TableMemory table(1, 1);
    const std::size_t row = *table->claimRow(101, everyoneAlive);
    {
        const InFlightTicket first(*table, row, 0, 1);
        EXPECT_TRUE(first.admitted());
        const InFlightTicket second(*table, row, 0, 1);
        EXPECT_FALSE(second.admitted());
        EXPECT_EQ(table->inFlight(0), 1);
    }
    EXPECT_EQ(table->inFlight(0), 0);
    const InFlightTicket unlimited(*table, row, 0, 0);
    EXPECT_TRUE(unlimited.admitted());
    EXPECT_EQ(table->inFlight(0), 0);  // no limit: nothing to count
    EXPECT_TRUE(InFlightTicket().admitted());
}

TEST(InFlightTable, TheLimitHoldsUnderConcurrentChildren) {
    constexpr int kLimit = 3;
    constexpr int kThreads = 8;
    constexpr int kRounds = 2000;
    TableMemory table(kThreads, 1);
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            const std::size_t row = *table->claimRow(1000 + t, everyoneAlive);
            for (int i = 0; i < kRounds; ++i) {
                if (table->tryEnter(row, 0, kLimit)) {
                    const int now = ++inside;
                    int seen = most.load();
                    while (now > seen && !most.compare_exchange_weak(seen, now)) {
                    }
                    --inside;
                    table->leave(row, 0);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_LE(most.load(), kLimit);
    EXPECT_EQ(table->inFlight(0), 0);
}

}  // namespace
}  // namespace wsgid::apache
