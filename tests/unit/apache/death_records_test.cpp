// SPDX-License-Identifier: Apache-2.0
// Tests of the shared table of daemon deaths (src/apache/death_records.h): lookups by pid and
// time, the ring, and a reader in another process.
#include "apache/death_records.h"

#include <csignal>
#include <thread>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wsgid::apache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

DaemonDeath killedBy(int sig) {
    DaemonDeath d;
    d.cause = DaemonDeath::Cause::Signaled;
    d.value = sig;
    return d;
}

class DeathRecordsTest : public ::testing::Test {
protected:
    void SetUp() override {
        table = DeathRecords::mapShared();
        ASSERT_NE(table, nullptr);
    }
    void TearDown() override { DeathRecords::unmap(table); }
    DeathRecords* table = nullptr;
    const DeathClock::time_point t0 = DeathClock::now();
};

TEST_F(DeathRecordsTest, FindsTheRecordOfAPidWithEveryField) {
    DaemonDeath d;
    d.cause = DaemonDeath::Cause::Crashed;
    d.value = SIGSEGV;
    d.coreDumpPossible = true;
    d.reason = protocol::StopReason::None;
    table->publish(4242, t0 + seconds(1), d);
    const auto found = table->find(4242, t0);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->cause, DaemonDeath::Cause::Crashed);
    EXPECT_EQ(found->value, SIGSEGV);
    EXPECT_TRUE(found->coreDumpPossible);
    EXPECT_FALSE(found->killedByParent);
    EXPECT_FALSE(table->find(4243, t0).has_value());
}

TEST_F(DeathRecordsTest, RecordsFromBeforeTheRequestBelongToAnEarlierProcess) {
    table->publish(4242, t0, killedBy(SIGKILL));
    EXPECT_FALSE(table->find(4242, t0 + milliseconds(1)).has_value());
    table->publish(4242, t0 + seconds(2), killedBy(SIGTERM));
    const auto found = table->find(4242, t0 + milliseconds(1));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->value, SIGTERM);
}

TEST_F(DeathRecordsTest, TheRingKeepsTheNewest) {
    for (std::size_t i = 0; i < kDeathRecordEntries + 10; ++i) {
        table->publish(static_cast<pid_t>(1000 + i), t0, killedBy(SIGKILL));
    }
    EXPECT_FALSE(table->find(1000, t0).has_value());  // overwritten
    EXPECT_TRUE(table->find(static_cast<pid_t>(1000 + kDeathRecordEntries + 9), t0).has_value());
}

TEST_F(DeathRecordsTest, AChildProcessSeesWhatTheParentPublishesLater) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        table->protectReadOnly();
        const auto found = waitForDeath(*table, 777, t0, seconds(10));
        ::_exit(found && found->value == SIGKILL ? 0 : 1);
    }
    std::this_thread::sleep_for(milliseconds(50));
    table->publish(777, DeathClock::now(), killedBy(SIGKILL));
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(DeathRecordsTest, WaitGivesUpAfterItsBound) {
    EXPECT_FALSE(waitForDeath(*table, 5, t0, milliseconds(30)).has_value());
}

}  // namespace
}  // namespace wsgid::apache
