// SPDX-License-Identifier: Apache-2.0
// Tests of when a daemon asks to be recycled (src/daemon/recycle_policy.h), with a fake clock:
// the time and the server's activity are passed in, so nothing here sleeps.
#include "daemon/recycle_policy.h"

#include <gtest/gtest.h>

#include "support/contains.h"

namespace wsgid::daemon {
namespace {

using protocol::StopReason;
using std::chrono::seconds;
using test::contains;

const common::Clock::time_point kStart = common::Clock::time_point{} + std::chrono::hours(100);

ServerActivity served(std::uint64_t done, std::size_t inFlight = 0,
                      common::Clock::time_point last = kStart) {
    return {.requestsDone = done, .inFlight = inFlight, .lastActivity = last};
}

TEST(RecyclePolicy, NothingConfiguredNeverRecycles) {
    RecyclePolicy p({}, kStart);
    EXPECT_FALSE(p.check(kStart + std::chrono::hours(100), served(1000000), 1ULL << 40));
    EXPECT_FALSE(p.reason().has_value());
}

TEST(RecyclePolicy, MaximumRequestsAsksOnceWhenReached) {
    RecyclePolicy p({.maximumRequests = 100}, kStart);
    EXPECT_FALSE(p.check(kStart, served(99), std::nullopt));
    EXPECT_EQ(p.check(kStart, served(100), std::nullopt), StopReason::MaximumRequests);
    EXPECT_FALSE(p.check(kStart, served(150), std::nullopt));  // asked already
    EXPECT_EQ(p.reason(), StopReason::MaximumRequests);
    EXPECT_TRUE(contains(p.describe(StopReason::MaximumRequests, served(100), std::nullopt),
                         "maximum-requests=100 reached (100 requests served)"));
}

TEST(RecyclePolicy, MaximumMemoryLooksAtTheResidentSetSize) {
    RecyclePolicy p({.maximumMemoryBytes = 100ULL << 20}, kStart);
    EXPECT_FALSE(p.check(kStart, served(1), 100ULL << 20));
    EXPECT_FALSE(p.check(kStart, served(1), std::nullopt));  // unreadable: no decision
    EXPECT_EQ(p.check(kStart, served(1), (100ULL << 20) + 1), StopReason::MaximumMemory);
    EXPECT_TRUE(contains(p.describe(StopReason::MaximumMemory, served(1), 210ULL << 20),
                         "resident set size 210 MiB is above maximum-memory=100 MiB"));
}

TEST(RecyclePolicy, RestartIntervalCountsFromTheStart) {
    RecyclePolicy p({.restartInterval = seconds(60)}, kStart);
    EXPECT_FALSE(p.check(kStart + seconds(59), served(5, 2), std::nullopt));
    EXPECT_EQ(p.check(kStart + seconds(60), served(5, 2), std::nullopt),
              StopReason::RestartInterval);
}

TEST(RecyclePolicy, InactivityNeedsAnIdleProcessThatServedSomething) {
    RecyclePolicy fresh({.inactivityTimeout = seconds(30)}, kStart);
    // A fresh process has nothing to give back: never recycled for being idle.
    EXPECT_FALSE(fresh.check(kStart + std::chrono::hours(1), served(0), std::nullopt));

    RecyclePolicy p({.inactivityTimeout = seconds(30)}, kStart);
    const auto last = kStart + seconds(10);
    EXPECT_FALSE(p.check(last + seconds(29), served(3, 0, last), std::nullopt));
    // A request still running is activity, however long it takes.
    EXPECT_FALSE(p.check(last + seconds(300), served(3, 1, last), std::nullopt));
    EXPECT_EQ(p.check(last + seconds(30), served(3, 0, last), std::nullopt),
              StopReason::InactivityTimeout);
}

TEST(RecyclePolicy, OutsideTriggersAreNotedOnce) {
    RecyclePolicy p({.maximumRequests = 10}, kStart);
    EXPECT_TRUE(p.note(StopReason::Evicted));
    EXPECT_FALSE(p.note(StopReason::CpuTimeLimit));
    EXPECT_EQ(p.reason(), StopReason::Evicted);
    EXPECT_FALSE(p.check(kStart, served(10), std::nullopt));  // one replacement is enough
}

TEST(DrainBound, RecycleEvictionAndStopEachHaveTheirTimeout) {
    const seconds graceful(15);
    const seconds eviction(7);
    const seconds shutdown(5);
    EXPECT_EQ(drainBound(std::nullopt, graceful, eviction, shutdown), shutdown);
    EXPECT_EQ(drainBound(StopReason::MaximumRequests, graceful, eviction, shutdown), graceful);
    EXPECT_EQ(drainBound(StopReason::Evicted, graceful, eviction, shutdown), eviction);
}

TEST(ResidentBytes, ReadsThisProcess) {
    const auto rss = residentBytes();
    ASSERT_TRUE(rss.has_value());
    EXPECT_GT(*rss, 0U);
}

}  // namespace
}  // namespace wsgid::daemon
