// SPDX-License-Identifier: Apache-2.0
// Signals: meaning of each signal, the self-pipe, the block for server threads, and the reset of
// inherited state.
#include "daemon/signals.h"

#include <chrono>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wsgid::daemon {
namespace {

using common::Deadline;

// Bound for waits expected to succeed; never asserted on.
constexpr std::chrono::milliseconds kGenerous{10000};
// Deadline for a wait that is meant to time out.
constexpr std::chrono::milliseconds kExpireSoon{20};

TEST(Signals, StopSignalsStopAndHangupGoesToTheApp) {
    EXPECT_EQ(actionFor(SIGTERM), SignalAction::GracefulStop);
    EXPECT_EQ(actionFor(SIGINT), SignalAction::GracefulStop);
    EXPECT_EQ(actionFor(SIGUSR1), SignalAction::Evict);
    EXPECT_EQ(actionFor(SIGXCPU), SignalAction::CpuTimeLimit);
    EXPECT_EQ(actionFor(SIGHUP), SignalAction::Publish);
    EXPECT_EQ(actionFor(SIGUSR2), SignalAction::Publish);
    EXPECT_EQ(actionFor(SIGWINCH), SignalAction::Ignore);
    EXPECT_EQ(signalName(SIGTERM), "SIGTERM");
    EXPECT_EQ(signalName(SIGUSR2), "SIGUSR2");
    EXPECT_EQ(signalName(SIGWINCH), "signal " + std::to_string(SIGWINCH));
}

TEST(Signals, WatcherReportsEachSignalInOrder) {
    auto watcher = SignalWatcher::install();
    ASSERT_TRUE(watcher.isOk()) << watcher.status().message();
    EXPECT_FALSE(watcher.value()->next(Deadline::after(kExpireSoon)).has_value());
    ASSERT_EQ(::raise(SIGHUP), 0);
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(watcher.value()->next(Deadline::after(kGenerous)), SIGHUP);
    EXPECT_EQ(watcher.value()->next(Deadline::after(kGenerous)), SIGTERM);
    // SIGPIPE is ignored while the watcher is installed.
    ASSERT_EQ(::raise(SIGPIPE), 0);
}

TEST(Signals, WatcherRestoresDefaultsWhenDestroyed) {
    {
        auto watcher = SignalWatcher::install();
        ASSERT_TRUE(watcher.isOk());
    }
    struct sigaction sa {};
    ASSERT_EQ(::sigaction(SIGTERM, nullptr, &sa), 0);
    EXPECT_EQ(sa.sa_handler, SIG_DFL);
}

TEST(Signals, ResetClearsInheritedMaskAndIgnoredSignals) {
    // In a child, so the test process keeps its own state.
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        sigset_t all;
        ::sigfillset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        ::signal(SIGCHLD, SIG_IGN);
        ::signal(SIGTERM, SIG_IGN);
        if (!resetInheritedSignalState()) {
            ::_exit(2);
        }
        sigset_t mask;
        ::sigprocmask(SIG_SETMASK, nullptr, &mask);
        struct sigaction chld {};
        struct sigaction term {};
        ::sigaction(SIGCHLD, nullptr, &chld);
        ::sigaction(SIGTERM, nullptr, &term);
        const bool ok = ::sigismember(&mask, SIGTERM) == 0 && chld.sa_handler == SIG_DFL &&
                        term.sa_handler == SIG_DFL;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Signals, HandlerInAForkedChildExitsInsteadOfReporting) {
    auto watcher = SignalWatcher::install();
    ASSERT_TRUE(watcher.isOk());
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // Like app code calling os.fork(): the inherited handler must not feed the daemon's pipe.
        ::raise(SIGTERM);
        ::_exit(0);  // not reached if the handler exits first
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
    EXPECT_FALSE(watcher.value()->next(Deadline::after(kExpireSoon)).has_value());
}

}  // namespace
}  // namespace wsgid::daemon
