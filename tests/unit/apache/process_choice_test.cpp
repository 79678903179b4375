// SPDX-License-Identifier: Apache-2.0
// Tests of the choice of a process for a request's attempt (src/apache/process_choice.h).
#include "apache/process_choice.h"

#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

using protocol::ProcessLoad;
using Kind = ProcessChoice::Kind;

std::set<std::uint32_t> skipped(const ProcessChoice& c) {
    const auto list = c.skipList();
    return {list.begin(), list.end()};
}

TEST(ProcessChoice, NoLiveEntryGivesNoInformation) {
    const ProcessChoice c = chooseProcess({}, 16, {}, 0);
    EXPECT_EQ(c.kind, Kind::NoInformation);
    EXPECT_EQ(c.skipped, 0U);
}

TEST(ProcessChoice, AFreeWorkerAnywhereSkipsOnlyTheFullProcesses) {
    const std::vector<ProcessLoad> loads{{.pid = 10, .taken = 16}, {.pid = 20, .taken = 15}};
    const ProcessChoice c = chooseProcess(loads, 16, {}, 0);
    EXPECT_EQ(c.kind, Kind::FreeWorker);
    EXPECT_EQ(skipped(c), (std::set<std::uint32_t>{10}));
}

TEST(ProcessChoice, EveryProcessFullQueuesAtTheLeastLoaded) {
    const std::vector<ProcessLoad> loads{
        {.pid = 10, .taken = 20}, {.pid = 20, .taken = 17}, {.pid = 30, .taken = 19}};
    const ProcessChoice c = chooseProcess(loads, 16, {}, 0);
    EXPECT_EQ(c.kind, Kind::QueueAtLeastLoaded);
    EXPECT_EQ(c.target, 20U);
    EXPECT_EQ(c.skipped, 0U);
}

TEST(ProcessChoice, ProcessesToAvoidAreNeverChosenAndAlwaysSkipped) {
    // 20 answered Busy to this request: although least loaded, the queue goes to 30.
    const std::vector<ProcessLoad> loads{
        {.pid = 10, .taken = 20}, {.pid = 20, .taken = 16}, {.pid = 30, .taken = 18}};
    const std::vector<std::uint32_t> avoid{20};
    const ProcessChoice c = chooseProcess(loads, 16, avoid, 0);
    EXPECT_EQ(c.kind, Kind::QueueAtLeastLoaded);
    EXPECT_EQ(c.target, 30U);
    EXPECT_EQ(skipped(c), (std::set<std::uint32_t>{20}));
    // A free worker only at a process to avoid does not count as free.
    const std::vector<ProcessLoad> freeThere{{.pid = 10, .taken = 16}, {.pid = 20, .taken = 3}};
    const ProcessChoice d = chooseProcess(freeThere, 16, avoid, 0);
    EXPECT_EQ(d.kind, Kind::QueueAtLeastLoaded);
    EXPECT_EQ(d.target, 10U);
}

TEST(ProcessChoice, OnlyProcessesToAvoidGiveNoInformation) {
    const std::vector<ProcessLoad> loads{{.pid = 10, .taken = 2}};
    const std::vector<std::uint32_t> avoid{10};
    const ProcessChoice c = chooseProcess(loads, 16, avoid, 0);
    EXPECT_EQ(c.kind, Kind::NoInformation);
    EXPECT_EQ(skipped(c), (std::set<std::uint32_t>{10}));
}

TEST(ProcessChoice, TiesSpreadOverTheEquallyLoaded) {
    const std::vector<ProcessLoad> loads{
        {.pid = 10, .taken = 18}, {.pid = 20, .taken = 18}, {.pid = 30, .taken = 18}};
    std::set<std::uint32_t> targets;
    for (std::uint32_t coin = 0; coin < 64; ++coin) {
        const ProcessChoice c = chooseProcess(loads, 16, {}, coin);
        ASSERT_EQ(c.kind, Kind::QueueAtLeastLoaded);
        targets.insert(c.target);
    }
    EXPECT_EQ(targets, (std::set<std::uint32_t>{10, 20, 30}));
}

TEST(ProcessChoice, AGroupLargerThanTheBoundIsJudgedByItsFirstProcesses) {
    std::vector<ProcessLoad> loads;
    for (std::uint32_t i = 0; i < kMaxChoiceProcesses; ++i) {
        loads.push_back({.pid = 1000 + i, .taken = 16});
    }
    loads.push_back({.pid = 9999, .taken = 0});  // beyond the bound: not looked at
    const ProcessChoice c = chooseProcess(loads, 16, {}, 0);
    EXPECT_EQ(c.kind, Kind::QueueAtLeastLoaded);
    EXPECT_NE(c.target, 9999U);
}

}  // namespace
}  // namespace wsgid::apache
