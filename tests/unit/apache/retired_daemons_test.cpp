// SPDX-License-Identifier: Apache-2.0
// Tests of the retired processes' reap loop (src/apache/retired_daemons.h) with a fake clock and
// fake processes: nothing here forks, signals or sleeps.
#include "apache/retired_daemons.h"

#include <csignal>
#include <map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace wsgid::apache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const SupervisorTime kEpoch = SupervisorTime{} + std::chrono::hours(1000);

/// Processes that run until the test says they exit, or until they get SIGKILL (if they obey).
class FakeProcesses final : public ProcessControl {
public:
    void run(pid_t pid) { state_[pid] = {State::Running, 0}; }
    void exit(pid_t pid, int waitStatus) { state_[pid] = {State::Exited, waitStatus}; }
    /// SIGKILL does not end `pid` (a process in uninterruptible sleep).
    void unkillable(pid_t pid) { unkillable_.push_back(pid); }

    State probe(pid_t pid, int* waitStatus) override {
        ++probes;
        const auto it = state_.find(pid);
        if (it == state_.end()) {
            return State::Gone;
        }
        const auto [state, status] = it->second;
        if (state == State::Exited) {
            *waitStatus = status;
            state_.erase(it);  // reaped
        }
        return state;
    }

    void kill(pid_t pid, int signo) override {
        signals.emplace_back(pid, signo);
        if (signo == SIGKILL &&
            std::find(unkillable_.begin(), unkillable_.end(), pid) == unkillable_.end()) {
            exit(pid, SIGKILL);  // a raw wait status: killed by signal 9
        }
    }

    std::vector<std::pair<pid_t, int>> signals;
    int probes = 0;

private:
    std::map<pid_t, std::pair<State, int>> state_;
    std::vector<pid_t> unkillable_;
};

RetiredDaemon retired(pid_t pid, SupervisorTime killAt, std::string group = "g") {
    return {.pid = pid, .generation = 3, .group = std::move(group), .killAt = killAt};
}

std::vector<ReapEvent::Kind> kinds(const std::vector<ReapEvent>& events) {
    std::vector<ReapEvent::Kind> out;
    for (const auto& e : events) {
        out.push_back(e.kind);
    }
    return out;
}

TEST(RetiredDaemons, RunningBeforeItsDeadlineIsLeftAlone) {
    FakeProcesses procs;
    procs.run(10);
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(7)));
    EXPECT_TRUE(list.reap(kEpoch, procs).empty());
    EXPECT_TRUE(procs.signals.empty());
    EXPECT_EQ(list.size(), 1U);
}

TEST(RetiredDaemons, ExitedIsReapedWithItsExactStatusAndDropped) {
    FakeProcesses procs;
    procs.exit(10, 3 << 8);  // exit(3)
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(7)));
    const auto events = list.reap(kEpoch, procs);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].kind, ReapEvent::Kind::Reaped);
    EXPECT_EQ(events[0].daemon.pid, 10);
    EXPECT_EQ(events[0].exit.kind, ProcessExit::Kind::Exited);
    EXPECT_EQ(events[0].exit.value, 3);
    EXPECT_TRUE(list.empty());
}

TEST(RetiredDaemons, OverdueGetsSigkillOnceThenIsReaped) {
    FakeProcesses procs;
    procs.run(10);
    procs.unkillable(10);
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(7)));
    EXPECT_EQ(kinds(list.reap(kEpoch + seconds(7), procs)), std::vector{ReapEvent::Kind::Killed});
    EXPECT_TRUE(list.reap(kEpoch + seconds(8), procs).empty());  // not a second SIGKILL
    EXPECT_EQ(procs.signals, (std::vector<std::pair<pid_t, int>>{{10, SIGKILL}}));
    procs.exit(10, SIGKILL);
    const auto events = list.reap(kEpoch + seconds(9), procs);
    ASSERT_EQ(kinds(events), std::vector{ReapEvent::Kind::Reaped});
    EXPECT_EQ(events[0].exit.kind, ProcessExit::Kind::Signaled);
    EXPECT_EQ(events[0].exit.value, SIGKILL);
    EXPECT_TRUE(list.empty());
}

TEST(RetiredDaemons, ForcedDeadlineComesBeforeTheDaemonsOwn) {
    FakeProcesses procs;
    procs.run(10);
    procs.run(11);
    procs.unkillable(10);
    procs.unkillable(11);
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(100)));
    list.add(retired(11, kEpoch + seconds(2)));
    EXPECT_TRUE(list.reap(kEpoch + seconds(1), procs, kEpoch + seconds(60)).empty());
    EXPECT_EQ(kinds(list.reap(kEpoch + seconds(3), procs, kEpoch + seconds(60))),
              std::vector{ReapEvent::Kind::Killed});  // 11: its own deadline
    EXPECT_EQ(kinds(list.reap(kEpoch + seconds(60), procs, kEpoch + seconds(60))),
              std::vector{ReapEvent::Kind::Killed});  // 10: the forced one
}

TEST(RetiredDaemons, GoneIsDroppedAndReported) {
    FakeProcesses procs;  // knows no pid: reaped by someone else
    RetiredDaemons list;
    list.add(retired(10, kEpoch, kLogRelayLabel));
    const auto events = list.reap(kEpoch, procs);
    ASSERT_EQ(kinds(events), std::vector{ReapEvent::Kind::Gone});
    EXPECT_EQ(events[0].daemon.group, kLogRelayLabel);
    EXPECT_TRUE(list.empty());
    EXPECT_TRUE(procs.signals.empty());
}

TEST(RetiredDaemons, RemoveReturnsTheEntryOnce) {
    RetiredDaemons list;
    list.add(retired(10, kEpoch));
    list.add(retired(11, kEpoch));
    ASSERT_NE(list.find(11), nullptr);
    const auto removed = list.remove(11);
    ASSERT_TRUE(removed.has_value());
    EXPECT_EQ(removed->pid, 11);
    EXPECT_FALSE(list.remove(11).has_value());
    EXPECT_EQ(list.find(11), nullptr);
    EXPECT_EQ(list.size(), 1U);
}

/// A clock that only moves when the drain loop sleeps.
struct FakeWait {
    SupervisorTime now = kEpoch;
    int sleeps = 0;
    WaitClock clock() {
        return {.now = [this] { return now; },
                .sleep =
                    [this](SupervisorDuration d) {
                        now += d;
                        ++sleeps;
                    }};
    }
};

TEST(DrainRetired, ReturnsAtOnceWhenAllHaveExited) {
    FakeProcesses procs;
    procs.exit(10, 0);
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(5)));
    FakeWait wait;
    std::vector<ReapEvent::Kind> seen;
    const DrainReport r =
        drainRetired(list, procs, wait.clock(), kEpoch + seconds(60), kEpoch + seconds(62),
                     milliseconds(50), [&](const ReapEvent& e) { seen.push_back(e.kind); });
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(wait.sleeps, 0);
    EXPECT_EQ(seen, std::vector{ReapEvent::Kind::Reaped});
}

TEST(DrainRetired, KillsAtTheDaemonsDeadlineAndReapsAfterwards) {
    FakeProcesses procs;
    procs.run(10);
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(5)));
    FakeWait wait;
    std::vector<ReapEvent::Kind> seen;
    const DrainReport r =
        drainRetired(list, procs, wait.clock(), kEpoch + seconds(60), kEpoch + seconds(62),
                     milliseconds(50), [&](const ReapEvent& e) { seen.push_back(e.kind); });
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(seen, (std::vector{ReapEvent::Kind::Killed, ReapEvent::Kind::Reaped}));
    EXPECT_EQ(wait.now, kEpoch + seconds(5) + milliseconds(50));
}

TEST(DrainRetired, GivesUpOnAProcessThatOutlivesSigkill) {
    FakeProcesses procs;
    procs.run(10);
    procs.run(11);
    procs.unkillable(11);
    RetiredDaemons list;
    list.add(retired(10, kEpoch + seconds(500)));
    list.add(retired(11, kEpoch + seconds(500)));
    FakeWait wait;
    const DrainReport r = drainRetired(list, procs, wait.clock(), kEpoch + seconds(60),
                                       kEpoch + seconds(62), milliseconds(50), nullptr);
    EXPECT_FALSE(r.complete);
    EXPECT_EQ(r.leftover, 1U);
    EXPECT_EQ(r.firstLeftover, 11);
    EXPECT_GE(wait.now, kEpoch + seconds(62));
    EXPECT_LT(wait.now, kEpoch + seconds(62) + milliseconds(100));
}

}  // namespace
}  // namespace wsgid::apache
