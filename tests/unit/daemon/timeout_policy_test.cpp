// SPDX-License-Identifier: Apache-2.0
// Tests of the daemon's timeout rules (src/daemon/timeout_policy.h) with a fake clock: the time,
// the running requests, the GIL heartbeat and the script loads are passed in.
#include "daemon/timeout_policy.h"

#include <gtest/gtest.h>

namespace wsgid::daemon {
namespace {

using protocol::StopReason;
using std::chrono::seconds;

const common::Clock::time_point kT0 = common::Clock::time_point{} + std::chrono::hours(100);

RunningRequest running(std::string id, common::Clock::time_point started,
                       std::optional<common::Clock::time_point> timedOutAt = std::nullopt) {
    return {.worker = 0,
            .serial = 1,
            .requestId = std::move(id),
            .started = started,
            .thread = 42,
            .timedOutAt = timedOutAt};
}

TEST(TimeoutPolicy, OffDoesNothing) {
    TimeoutPolicy p({});
    const auto a = p.check(kT0 + std::chrono::hours(10), {running("r", kT0)}, kT0, kT0);
    EXPECT_TRUE(a.cutOff.empty());
    EXPECT_FALSE(a.recycle.has_value());
}

TEST(TimeoutPolicy, RequestPastItsTimeoutIsCutOffOnce) {
    TimeoutPolicy p({.requestTimeout = seconds(60)});
    EXPECT_TRUE(
        p.check(kT0 + seconds(59), {running("r", kT0)}, std::nullopt, std::nullopt).cutOff.empty());
    const auto a =
        p.check(kT0 + seconds(60), {running("r", kT0), running("young", kT0 + seconds(30))},
                std::nullopt, std::nullopt);
    ASSERT_EQ(a.cutOff.size(), 1U);
    EXPECT_EQ(a.cutOff[0].requestId, "r");
    EXPECT_FALSE(a.recycle.has_value());
    // Once cut off (the Server notes when), it is not cut off again.
    const auto again = p.check(kT0 + seconds(61), {running("r", kT0, kT0 + seconds(60))},
                               std::nullopt, std::nullopt);
    EXPECT_TRUE(again.cutOff.empty());
}

TEST(TimeoutPolicy, AThreadThatDoesNotLetGoRecyclesTheProcess) {
    TimeoutPolicy p({.requestTimeout = seconds(60)});
    const auto cut = kT0 + seconds(60);
    EXPECT_FALSE(p.check(cut + kLetGoGrace - seconds(1), {running("r", kT0, cut)}, std::nullopt,
                         std::nullopt)
                     .recycle);
    const auto a = p.check(cut + kLetGoGrace, {running("r", kT0, cut)}, std::nullopt, std::nullopt);
    EXPECT_EQ(a.recycle, StopReason::RequestTimeout);
    ASSERT_TRUE(a.stuck.has_value());
    EXPECT_EQ(a.stuck->requestId, "r");
    // Decided once.
    EXPECT_FALSE(p.check(cut + kLetGoGrace + seconds(5), {running("r", kT0, cut)}, std::nullopt,
                         std::nullopt)
                     .recycle);
}

TEST(TimeoutPolicy, StaleGilHeartbeatIsADeadlock) {
    TimeoutPolicy p({.deadlockTimeout = seconds(300)});
    EXPECT_FALSE(p.check(kT0 + seconds(299), {}, kT0, std::nullopt).recycle);
    EXPECT_EQ(p.check(kT0 + seconds(300), {}, kT0, std::nullopt).recycle,
              StopReason::DeadlockTimeout);
    TimeoutPolicy noBeat({.deadlockTimeout = seconds(1)});
    EXPECT_FALSE(noBeat.check(kT0 + std::chrono::hours(1), {}, std::nullopt, std::nullopt).recycle);
}

TEST(TimeoutPolicy, HangingScriptLoadIsAStartupTimeout) {
    TimeoutPolicy p({.startupTimeout = seconds(15)});
    EXPECT_FALSE(p.check(kT0 + seconds(14), {}, std::nullopt, kT0).recycle);
    EXPECT_FALSE(p.check(kT0 + seconds(100), {}, std::nullopt, std::nullopt).recycle);  // no load
    EXPECT_EQ(p.check(kT0 + seconds(15), {}, std::nullopt, kT0).recycle,
              StopReason::StartupTimeout);
}

TEST(TimeoutPolicy, DeadlockComesFirst) {
    TimeoutPolicy p({.requestTimeout = seconds(1),
                     .deadlockTimeout = seconds(5),
                     .startupTimeout = seconds(5)});
    const auto a = p.check(kT0 + seconds(100), {running("r", kT0, kT0 + seconds(1))}, kT0, kT0);
    EXPECT_EQ(a.recycle, StopReason::DeadlockTimeout);
    EXPECT_FALSE(a.stuck.has_value());
}

TEST(TimeoutPolicy, InterruptTimeoutIsTheGraceOfAnInterruptedThread) {
    TimeoutPolicy p({.requestTimeout = seconds(60), .interruptTimeout = seconds(2)});
    const auto cut = kT0 + seconds(60);
    EXPECT_FALSE(
        p.check(cut + seconds(1), {running("r", kT0, cut)}, std::nullopt, std::nullopt).recycle);
    const auto a = p.check(cut + seconds(2), {running("r", kT0, cut)}, std::nullopt, std::nullopt);
    EXPECT_EQ(a.recycle, StopReason::RequestTimeout);
    // A thread that left within the grace is no longer running: nothing to recycle.
    TimeoutPolicy q({.requestTimeout = seconds(60), .interruptTimeout = seconds(2)});
    EXPECT_FALSE(q.check(cut + seconds(3), {}, std::nullopt, std::nullopt).recycle);
}

}  // namespace
}  // namespace wsgid::daemon
