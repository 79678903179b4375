// SPDX-License-Identifier: Apache-2.0
// Tests of the daemon's kernel resource limits (src/daemon/resource_limits.h).
#include "daemon/resource_limits.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/capturing_log.h"

namespace wsgid::daemon {
namespace {

TEST(ResourceLimits, NoneByDefault) {
    EXPECT_TRUE(resourceLimitsFor(protocol::DaemonArgs{}).empty());
}

TEST(ResourceLimits, CpuLimitLeavesRoomToDrainBeforeSigkill) {
    protocol::DaemonArgs args;
    args.shutdownTimeoutSec = 5;
    args.lifecycle.cpuTimeLimitSec = 60;
    args.lifecycle.gracefulTimeoutSec = 15;
    const auto limits = resourceLimitsFor(args);
    ASSERT_EQ(limits.size(), 1U);
    EXPECT_EQ(limits[0].resource, RLIMIT_CPU);
    EXPECT_EQ(limits[0].soft, 60U);
    EXPECT_EQ(limits[0].hard, 60U + 15U + 5U + 1U);
}

TEST(ResourceLimits, MemoryLimitsAreHardAndSoft) {
    protocol::DaemonArgs args;
    args.lifecycle.memoryLimitBytes = 1ULL << 30;
    args.lifecycle.virtualMemoryLimitBytes = 4ULL << 30;
    const auto limits = resourceLimitsFor(args);
    ASSERT_EQ(limits.size(), 2U);
    EXPECT_EQ(limits[0].resource, RLIMIT_DATA);
    EXPECT_EQ(limits[0].soft, limits[0].hard);
    EXPECT_EQ(limits[1].resource, RLIMIT_AS);
    EXPECT_EQ(limits[1].soft, 4ULL << 30);
}

TEST(ResourceLimits, AppliedInAChildAndAFailureIsLogged) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        testing::CapturingLog log;
        rlimit hard{};
        (void)::getrlimit(RLIMIT_DATA, &hard);
        applyResourceLimits({{RLIMIT_CPU, 100, 200}}, log);
        rlimit cpu{};
        (void)::getrlimit(RLIMIT_CPU, &cpu);
        bool ok = cpu.rlim_cur == 100 && cpu.rlim_max == 200 && log.records().empty();
        // Raising a hard limit above what we hold is refused (unless root), and logged.
        if (::geteuid() != 0) {
            applyResourceLimits({{RLIMIT_CPU, 300, 300}}, log);
            ok = ok && log.contains("WG0291", "cpu-time-limit");
        }
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace wsgid::daemon
