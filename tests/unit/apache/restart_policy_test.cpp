// SPDX-License-Identifier: Apache-2.0
// Tests of the daemon restart policy (src/apache/restart_policy.h) with a fake clock: the time is
// always passed in, so nothing here sleeps.
#include "apache/restart_policy.h"

#include <csignal>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "protocol/daemon_args.h"
#include "support/contains.h"

namespace wsgid::apache {
namespace {

using std::chrono::seconds;
using test::contains;

/// A fake clock: starts at an arbitrary epoch and only moves when told to.
class FakeClock {
public:
    [[nodiscard]] SupervisorTime now() const { return now_; }
    void advance(SupervisorDuration d) { now_ += d; }

private:
    SupervisorTime now_ = SupervisorTime{} + std::chrono::hours(1000);
};

// How processes end, as the backoff sees it.
const SlotEnding kReadyThenDied{.startupFailure = false, .wasReady = true};
const SlotEnding kDiedBeforeReady{.startupFailure = false, .wasReady = false};
const SlotEnding kStartupFailure{.startupFailure = true, .wasReady = false};

TEST(RestartBackoff, DeathsBeforeReadyDoubleFromOneSecondToTheCeiling) {
    RestartBackoff b;
    std::vector<long> delays;
    for (int i = 0; i < 10; ++i) {
        delays.push_back(std::chrono::duration_cast<seconds>(b.next(kDiedBeforeReady)).count());
    }
    EXPECT_EQ(delays, (std::vector<long>{1, 2, 4, 8, 16, 32, 60, 60, 60, 60}));
    EXPECT_EQ(b.failures(), 10);
}

TEST(RestartBackoff, ADaemonThatWasReadyRestartsAtOnceHoweverOften) {
    // A daemon killed over and over (SIGKILL, os._exit() in a request) after it served: no
    // backoff builds up, whatever the rate.
    RestartBackoff b;
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(b.next(kReadyThenDied), SupervisorDuration::zero()) << i;
    }
    EXPECT_EQ(b.failures(), 0);
}

TEST(RestartBackoff, ReadinessForgetsEarlierStartFailures) {
    RestartBackoff b;
    (void)b.next(kDiedBeforeReady);
    (void)b.next(kDiedBeforeReady);
    (void)b.next(kDiedBeforeReady);
    EXPECT_EQ(b.next(kReadyThenDied), SupervisorDuration::zero());
    EXPECT_EQ(b.failures(), 0);
    EXPECT_EQ(b.next(kDiedBeforeReady), kFirstBackoff);  // back at the start of the sequence
}

TEST(RestartBackoff, StartupFailureBacksOffFromItsOwnBase) {
    RestartBackoff b;
    EXPECT_EQ(b.next(kStartupFailure), kFirstStartupFailureBackoff);
    EXPECT_EQ(b.next(kStartupFailure), 2 * kFirstStartupFailureBackoff);
    for (int i = 0; i < 10; ++i) {
        (void)b.next(kStartupFailure);
    }
    EXPECT_EQ(b.next(kStartupFailure), kMaxBackoff);
}

TEST(RestartBackoff, SpawnFailuresCountAsFailedStarts) {
    RestartBackoff b;
    EXPECT_EQ(b.nextAfterSpawnFailure(), kFirstBackoff);
    EXPECT_EQ(b.next(kDiedBeforeReady), 2 * kFirstBackoff);
}

TEST(ProcessSlot, StartsDownAndDue) {
    FakeClock clock;
    ProcessSlot slot;
    EXPECT_EQ(slot.phase(), ProcessSlot::Phase::Down);
    EXPECT_TRUE(slot.due(clock.now()));
    slot.started(100, clock.now(), {});
    EXPECT_EQ(slot.phase(), ProcessSlot::Phase::Running);
    EXPECT_EQ(slot.pid(), 100);
    EXPECT_FALSE(slot.due(clock.now()));
    EXPECT_EQ(slot.starts(), 1U);
}

TEST(ProcessSlot, DeathAfterReadyRestartsImmediately) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(100, clock.now(), {});
    clock.advance(std::chrono::minutes(5));
    EXPECT_EQ(slot.uptime(clock.now()), std::chrono::minutes(5));
    const auto d = slot.ended(clock.now(), kReadyThenDied, false);
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay, SupervisorDuration::zero());
    EXPECT_EQ(d.uptime, std::chrono::minutes(5));
    EXPECT_EQ(d.failures, 0);
    EXPECT_TRUE(d.wasReady);
    EXPECT_EQ(slot.pid(), 0);
    EXPECT_TRUE(slot.due(clock.now()));
}

TEST(ProcessSlot, ThreeQuickKillsOfAServingDaemonNeverWait) {
    FakeClock clock;
    ProcessSlot slot;
    for (int i = 0; i < 3; ++i) {
        slot.started(100 + i, clock.now(), {});
        clock.advance(std::chrono::milliseconds(200));  // ready, served, killed within 200 ms
        const auto d = slot.ended(clock.now(), kReadyThenDied, false);
        ASSERT_TRUE(d.restart);
        EXPECT_EQ(d.delay, SupervisorDuration::zero()) << i;
        EXPECT_TRUE(slot.due(clock.now()));
    }
}

TEST(ProcessSlot, RepeatedDeathsBeforeReadyBackOff) {
    FakeClock clock;
    ProcessSlot slot;
    std::vector<SupervisorDuration> delays;
    for (int i = 0; i < 4; ++i) {
        slot.started(100 + i, clock.now(), delays.empty() ? SupervisorDuration{} : delays.back());
        if (!delays.empty()) {
            clock.advance(delays.back());  // the process waits out its delay, then execs
        }
        clock.advance(std::chrono::milliseconds(300));
        const auto d = slot.ended(clock.now(), kDiedBeforeReady, false);
        ASSERT_TRUE(d.restart);
        EXPECT_EQ(d.uptime, std::chrono::milliseconds(300));  // the delay is not uptime
        delays.push_back(d.delay);
    }
    EXPECT_EQ(delays,
              (std::vector<SupervisorDuration>{seconds(1), seconds(2), seconds(4), seconds(8)}));
    EXPECT_FALSE(slot.due(clock.now()));
    clock.advance(seconds(8));
    EXPECT_TRUE(slot.due(clock.now()));
}

TEST(ProcessSlot, StartupFailureIsFlaggedAndBacksOff) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(7, clock.now(), {});
    clock.advance(seconds(1));
    const auto d = slot.ended(clock.now(), kStartupFailure, false);
    EXPECT_TRUE(d.restart);
    EXPECT_TRUE(d.startupFailure);
    EXPECT_EQ(d.delay, kFirstStartupFailureBackoff);
    EXPECT_EQ(d.failures, 1);
}

TEST(ProcessSlot, NeverRestartsWhileTheServerStops) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(7, clock.now(), {});
    clock.advance(std::chrono::hours(1));
    const auto d = slot.ended(clock.now(), kReadyThenDied, /*serverStopping=*/true);
    EXPECT_FALSE(d.restart);
    EXPECT_EQ(slot.phase(), ProcessSlot::Phase::Stopping);
    EXPECT_FALSE(slot.due(clock.now() + std::chrono::hours(1)));
}

TEST(ProcessSlot, StoppingSlotDoesNotRestart) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(7, clock.now(), {});
    slot.stopping();
    const auto d = slot.ended(clock.now(), kReadyThenDied, false);
    EXPECT_FALSE(d.restart);
    EXPECT_EQ(slot.phase(), ProcessSlot::Phase::Stopping);
}

TEST(ProcessSlot, FailedForkIsRetriedAfterBackoff) {
    FakeClock clock;
    ProcessSlot slot;
    const auto delay = slot.startFailed(clock.now());
    EXPECT_EQ(delay, kFirstBackoff);
    EXPECT_EQ(slot.phase(), ProcessSlot::Phase::Down);
    EXPECT_FALSE(slot.due(clock.now()));
    clock.advance(delay);
    EXPECT_TRUE(slot.due(clock.now()));
}

// ---- recycling: the replacement is ready before the old process is told to stop ------------

TEST(ProcessSlotRecycle, ReplacementIsStartedThenTakesOverWhenReady) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(100, clock.now(), {});
    EXPECT_FALSE(slot.replacementDue(clock.now()));
    slot.recycleRequested(protocol::StopReason::MaximumRequests);
    slot.recycleRequested(protocol::StopReason::MaximumMemory);  // the first one counts
    EXPECT_EQ(slot.recycleReason(), protocol::StopReason::MaximumRequests);
    ASSERT_TRUE(slot.replacementDue(clock.now()));
    slot.replacementStarted(200, clock.now());
    EXPECT_FALSE(slot.replacementDue(clock.now()));  // one at a time
    EXPECT_EQ(slot.pid(), 100);                      // the old one still serves
    EXPECT_EQ(slot.replacementPid(), 200);
    clock.advance(seconds(1));
    EXPECT_EQ(slot.replacementReady(clock.now()), 100);  // tell 100 to stop
    EXPECT_EQ(slot.pid(), 200);
    EXPECT_EQ(slot.replacementPid(), 0);
    EXPECT_FALSE(slot.recycleReason().has_value());
    EXPECT_EQ(slot.phase(), ProcessSlot::Phase::Running);
    EXPECT_EQ(slot.starts(), 2U);
}

TEST(ProcessSlotRecycle, AFailedReplacementBacksOffWhileTheOldOneServes) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(100, clock.now(), {});
    slot.recycleRequested(protocol::StopReason::RestartInterval);
    slot.replacementStarted(200, clock.now());
    const auto d = slot.replacementEnded(clock.now(), kStartupFailure);
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay, kFirstStartupFailureBackoff);
    EXPECT_EQ(slot.pid(), 100);
    EXPECT_FALSE(slot.replacementDue(clock.now()));
    ASSERT_TRUE(slot.nextReplacementAttempt().has_value());
    EXPECT_EQ(*slot.nextReplacementAttempt(), clock.now() + kFirstStartupFailureBackoff);
    clock.advance(kFirstStartupFailureBackoff);
    EXPECT_TRUE(slot.replacementDue(clock.now()));
}

TEST(ProcessSlotRecycle, WhenTheOldOneDiesTheReplacementTakesOverAtOnce) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(100, clock.now(), {});
    slot.recycleRequested(protocol::StopReason::MaximumMemory);
    slot.replacementStarted(200, clock.now());
    const auto d = slot.ended(clock.now(), kReadyThenDied, false);
    EXPECT_TRUE(d.promoted);
    EXPECT_FALSE(d.restart);  // nothing new to start
    EXPECT_EQ(slot.pid(), 200);
    EXPECT_EQ(slot.replacementPid(), 0);
    EXPECT_FALSE(slot.recycleReason().has_value());
}

TEST(ProcessSlotRecycle, NoRecycleWhileStopping) {
    FakeClock clock;
    ProcessSlot slot;
    slot.started(100, clock.now(), {});
    slot.stopping();
    slot.recycleRequested(protocol::StopReason::MaximumRequests);
    EXPECT_FALSE(slot.replacementDue(clock.now()));
}

TEST(ProcessExit, DecodesRawWaitStatus) {
    const auto killed = ProcessExit::fromWaitStatus(SIGKILL);  // WIFSIGNALED layout
    EXPECT_EQ(killed.kind, ProcessExit::Kind::Signaled);
    EXPECT_EQ(killed.value, SIGKILL);
    EXPECT_FALSE(killed.coreDumped);
    const auto dumped = ProcessExit::fromWaitStatus(SIGSEGV | 0x80);
    EXPECT_TRUE(dumped.coreDumped);
    EXPECT_TRUE(contains(dumped.describe(), "core dumped"));
    const auto exited = ProcessExit::fromWaitStatus(3 << 8);
    EXPECT_EQ(exited.kind, ProcessExit::Kind::Exited);
    EXPECT_EQ(exited.value, 3);
    EXPECT_EQ(exited.describe(), "exited with status 3");
}

TEST(ProcessExit, MpmStatusIsAmbiguousOnlyWhereItMustBe) {
    EXPECT_EQ(ProcessExit::fromMpmStatus(0).kind, ProcessExit::Kind::Exited);
    const auto startup = ProcessExit::fromMpmStatus(protocol::kExitStartupFailure);
    EXPECT_TRUE(startup.isStartupFailure());
    EXPECT_TRUE(contains(startup.describe(), "startup failure"));
    const auto nine = ProcessExit::fromMpmStatus(9);
    EXPECT_EQ(nine.kind, ProcessExit::Kind::Ambiguous);
    EXPECT_FALSE(nine.isStartupFailure());
    EXPECT_TRUE(contains(nine.describe(), "signal 9"));
    EXPECT_TRUE(contains(nine.describe(), "Killed"));
    EXPECT_EQ(ProcessExit::fromMpmStatus(100).kind, ProcessExit::Kind::Exited);
    const auto term = ProcessExit::fromMpmStatus(15);  // exit(15) would have stopped httpd
    EXPECT_EQ(term.kind, ProcessExit::Kind::Signaled);
    EXPECT_EQ(term.value, SIGTERM);
}

}  // namespace
}  // namespace wsgid::apache
