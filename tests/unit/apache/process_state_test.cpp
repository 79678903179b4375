// SPDX-License-Identifier: Apache-2.0
// Tests of a process's run state from /proc (src/apache/process_state.h).
#include "apache/process_state.h"

#include <chrono>
#include <csignal>
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wsgid::apache {
namespace {

TEST(ProcessState, ParsesTheFieldAfterTheCommandName) {
    EXPECT_EQ(parseProcStat("12 (python3) S 1 12 12 0"), RunState::Running);
    EXPECT_EQ(parseProcStat("12 (a) b) T 1"), RunState::Stopped);  // ')' inside the name
    EXPECT_EQ(parseProcStat("12 (gdb target) t 1"), RunState::Traced);
    EXPECT_EQ(parseProcStat("12 (x) Z 1"), RunState::Zombie);
    EXPECT_EQ(parseProcStat("12 (x) D 1"), RunState::Running);
    EXPECT_EQ(parseProcStat("garbage"), RunState::Gone);
    EXPECT_EQ(parseProcStat("12 (x)"), RunState::Gone);
}

TEST(ProcessState, SeesAStoppedChildRunAgain) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    EXPECT_EQ(processRunState(child), RunState::Running);
    ASSERT_EQ(::kill(child, SIGSTOP), 0);
    RunState state = RunState::Running;
    for (int i = 0; i < 500 && state != RunState::Stopped; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        state = processRunState(child);
    }
    EXPECT_EQ(state, RunState::Stopped);
    ASSERT_EQ(::kill(child, SIGCONT), 0);
    for (int i = 0; i < 500 && state != RunState::Running; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        state = processRunState(child);
    }
    EXPECT_EQ(state, RunState::Running);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    ASSERT_EQ(::waitpid(child, nullptr, 0), child);
    EXPECT_EQ(processRunState(child), RunState::Gone);
}

}  // namespace
}  // namespace wsgid::apache
