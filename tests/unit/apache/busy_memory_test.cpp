// SPDX-License-Identifier: Apache-2.0
// Unit tests for the memory of Busy answers (apache/busy_memory.h).
#include "apache/busy_memory.h"

#include <chrono>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

using namespace std::chrono_literals;
using Time = BusyMemory::Clock::time_point;

const Time kT0 = Time(1h);

TEST(BusyMemory, RemembersTheLatestAnswerOfEachProcess) {
    BusyMemory busy;
    EXPECT_FALSE(busy.busySince(7, kT0 - 1h));
    busy.note(7, kT0);
    EXPECT_TRUE(busy.busySince(7, kT0));
    EXPECT_TRUE(busy.busySince(7, kT0 - 10ms));
    EXPECT_FALSE(busy.busySince(7, kT0 + 1ms));
    EXPECT_FALSE(busy.busySince(8, kT0 - 10ms));
    busy.note(7, kT0 + 5ms);
    EXPECT_TRUE(busy.busySince(7, kT0 + 1ms));
    busy.note(7, kT0 - 5ms);  // an answer older than one already known changes nothing
    EXPECT_TRUE(busy.busySince(7, kT0 + 1ms));
}

TEST(BusyMemory, NoTimeIsBusySinceTheEndOfTime) {
    BusyMemory busy;
    busy.note(7, kT0);
    EXPECT_FALSE(busy.busySince(7, Time::max()));
}

TEST(BusyMemory, ForgetsTheOldestAnswerWhenFull) {
    BusyMemory busy;
    for (std::uint32_t pid = 1; pid <= kMaxBusyRemembered; ++pid) {
        busy.note(pid, kT0 + std::chrono::milliseconds(pid));
    }
    busy.note(1000, kT0 + 1s);
    EXPECT_FALSE(busy.busySince(1, kT0));  // the oldest went
    EXPECT_TRUE(busy.busySince(2, kT0));
    EXPECT_TRUE(busy.busySince(kMaxBusyRemembered, kT0));
    EXPECT_TRUE(busy.busySince(1000, kT0));
}

}  // namespace
}  // namespace wsgid::apache
