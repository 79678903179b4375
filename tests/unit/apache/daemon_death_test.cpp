// SPDX-License-Identifier: Apache-2.0
// Tests of how the parent concludes why a daemon died (src/apache/daemon_death.h): the MPM's
// ambiguous status, the daemon's last words, and what each case is called.
#include "apache/daemon_death.h"

#include <csignal>

#include <gtest/gtest.h>

#include "protocol/daemon_args.h"
#include "support/contains.h"

namespace wsgid::apache {
namespace {

using protocol::StatusRecord;
using protocol::StatusType;
using protocol::StopReason;
using test::contains;

std::optional<StatusRecord> said(StatusType type, int value, StopReason reason = StopReason::None,
                                 std::uint8_t flags = 0) {
    return StatusRecord{.type = type, .reason = reason, .flags = flags, .value = value};
}

TEST(DaemonDeath, AmbiguousStatusWithoutLastWordsIsASignal) {
    // SIGKILL cannot be caught: nothing was said, the MPM passes 9.
    const auto d = DaemonDeath::conclude(ProcessExit::fromMpmStatus(9), std::nullopt, false);
    EXPECT_EQ(d.cause, DaemonDeath::Cause::Signaled);
    EXPECT_EQ(d.describe(), "was killed by signal 9 (Killed)");
}

TEST(DaemonDeath, AppExitTellsTheStatusTheCodeAskedFor) {
    const auto d =
        DaemonDeath::conclude(ProcessExit::fromMpmStatus(3), said(StatusType::AppExit, 3), false);
    EXPECT_EQ(d.cause, DaemonDeath::Cause::AppExit);
    EXPECT_TRUE(contains(d.describe(), "exited with status 3: the application ended the process"));
}

TEST(DaemonDeath, AppExitWithAStatusThatStopsHttpdMatchesItsReplacement) {
    // os._exit(15): the daemon exits with 1 instead (httpd would shut down on 15).
    const auto d =
        DaemonDeath::conclude(ProcessExit::fromMpmStatus(1), said(StatusType::AppExit, 15), false);
    EXPECT_EQ(d.cause, DaemonDeath::Cause::AppExit);
    EXPECT_EQ(d.value, 15);
}

TEST(DaemonDeath, ReportedCrashIsACrashWithItsCoreDumpHint) {
    const auto d = DaemonDeath::conclude(
        ProcessExit::fromMpmStatus(SIGSEGV),
        said(StatusType::FatalSignal, SIGSEGV, StopReason::None, protocol::kStatusCoreDumpPossible),
        false);
    EXPECT_EQ(d.cause, DaemonDeath::Cause::Crashed);
    EXPECT_EQ(d.describe(),
              "crashed with signal 11 (Segmentation fault), a core dump may have been written");
    const auto exact = DaemonDeath::conclude(ProcessExit::fromWaitStatus(SIGSEGV | 0x80),
                                             said(StatusType::FatalSignal, SIGSEGV), false);
    EXPECT_TRUE(contains(exact.describe(), ", core dumped"));
}

TEST(DaemonDeath, OwnExitKeepsItsReason) {
    const auto recycled =
        DaemonDeath::conclude(ProcessExit::fromMpmStatus(0),
                              said(StatusType::Exiting, 0, StopReason::MaximumRequests), false);
    EXPECT_EQ(recycled.cause, DaemonDeath::Cause::Exited);
    EXPECT_TRUE(recycled.planned());
    EXPECT_EQ(recycled.describe(), "exited with status 0 after being recycled (maximum-requests)");
    const auto stopped = DaemonDeath::conclude(
        ProcessExit::fromMpmStatus(0), said(StatusType::Exiting, 0, StopReason::Signal), false);
    EXPECT_EQ(stopped.describe(), "exited with status 0 after a stop signal");
    const auto lost = DaemonDeath::conclude(
        ProcessExit::fromMpmStatus(1), said(StatusType::Exiting, 1, StopReason::LostThread), false);
    EXPECT_FALSE(lost.planned());
    EXPECT_TRUE(contains(lost.describe(), "a server thread failed"));
}

TEST(DaemonDeath, LastWordsThatDoNotMatchTheStatusGiveWay) {
    // It said it was exiting for a recycle, then was SIGKILLed while it drained.
    const auto d = DaemonDeath::conclude(ProcessExit::fromMpmStatus(9),
                                         said(StatusType::Exiting, 0, StopReason::MaximumRequests),
                                         /*killedByParent=*/true);
    EXPECT_EQ(d.cause, DaemonDeath::Cause::Signaled);
    EXPECT_EQ(d.value, 9);
    EXPECT_TRUE(contains(d.describe(), "sent by httpd"));
}

TEST(DaemonDeath, StartupFailureIsRecognisedBothWays) {
    const auto byStatus = DaemonDeath::conclude(
        ProcessExit::fromMpmStatus(protocol::kExitStartupFailure), std::nullopt, false);
    EXPECT_TRUE(byStatus.startupFailure());
    EXPECT_TRUE(contains(byStatus.describe(), "startup failure"));
    const auto byReport = DaemonDeath::conclude(
        ProcessExit::fromMpmStatus(protocol::kExitStartupFailure),
        said(StatusType::Exiting, protocol::kExitStartupFailure, StopReason::StartupFailure),
        false);
    EXPECT_TRUE(byReport.startupFailure());
    EXPECT_FALSE(byReport.planned());
}

TEST(DaemonDeath, UnambiguousStatusesStandWithoutLastWords) {
    EXPECT_EQ(DaemonDeath::conclude(ProcessExit::fromMpmStatus(0), std::nullopt, false).describe(),
              "exited with status 0");
    EXPECT_EQ(DaemonDeath::conclude(ProcessExit::fromMpmStatus(100), std::nullopt, false).cause,
              DaemonDeath::Cause::Exited);
    EXPECT_EQ(DaemonDeath{}.describe(), "was lost (no longer a child of httpd)");
}

}  // namespace
}  // namespace wsgid::apache
