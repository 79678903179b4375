// SPDX-License-Identifier: Apache-2.0
// The reap loop of retired processes (see retired_daemons.h). No httpd, no APR.
#include "apache/retired_daemons.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <thread>

#include <sys/wait.h>

namespace wsgid::apache {

const RetiredDaemon* RetiredDaemons::find(pid_t pid) const noexcept {
    const auto it = std::find_if(list_.begin(), list_.end(),
                                 [pid](const RetiredDaemon& d) { return d.pid == pid; });
    return it == list_.end() ? nullptr : &*it;
}

std::optional<RetiredDaemon> RetiredDaemons::remove(pid_t pid) {
    const auto it = std::find_if(list_.begin(), list_.end(),
                                 [pid](const RetiredDaemon& d) { return d.pid == pid; });
    if (it == list_.end()) {
        return std::nullopt;
    }
    RetiredDaemon d = std::move(*it);
    list_.erase(it);
    return d;
}

std::vector<ReapEvent> RetiredDaemons::reap(SupervisorTime now, ProcessControl& control,
                                            std::optional<SupervisorTime> forceKillAt) {
    std::vector<ReapEvent> events;
    for (auto it = list_.begin(); it != list_.end();) {
        int status = 0;
        switch (control.probe(it->pid, &status)) {
            case ProcessControl::State::Running: {
                const SupervisorTime due =
                    forceKillAt ? std::min(it->killAt, *forceKillAt) : it->killAt;
                if (!it->killed && now >= due) {
                    control.kill(it->pid, SIGKILL);
                    it->killed = true;
                    events.push_back({ReapEvent::Kind::Killed, *it, {}});
                }
                ++it;
                break;
            }
            case ProcessControl::State::Exited:
                events.push_back(
                    {ReapEvent::Kind::Reaped, *it, ProcessExit::fromWaitStatus(status)});
                it = list_.erase(it);
                break;
            case ProcessControl::State::Gone:
                events.push_back({ReapEvent::Kind::Gone, *it, {}});
                it = list_.erase(it);
                break;
        }
    }
    return events;
}

WaitClock WaitClock::real() {
    return {.now = [] { return SupervisorClock::now(); },
            .sleep = [](SupervisorDuration d) { std::this_thread::sleep_for(d); }};
}

DrainReport drainRetired(RetiredDaemons& retired, ProcessControl& control, const WaitClock& clock,
                         SupervisorTime forceKillAt, SupervisorTime giveUpAt,
                         SupervisorDuration pollInterval,
                         const std::function<void(const ReapEvent&)>& onEvent) {
    DrainReport report;
    while (true) {
        const SupervisorTime now = clock.now();
        for (const ReapEvent& e : retired.reap(now, control, forceKillAt)) {
            if (onEvent) {
                onEvent(e);
            }
        }
        if (retired.empty()) {
            return report;
        }
        if (now >= giveUpAt) {
            report.complete = false;
            report.leftover = retired.size();
            report.firstLeftover = retired.list().front().pid;
            return report;
        }
        clock.sleep(pollInterval);
    }
}

ProcessControl::State ChildProcessControl::probe(pid_t pid, int* waitStatus) {
    while (true) {
        int st = 0;
        const pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == 0) {
            return State::Running;
        }
        if (r == pid) {
            *waitStatus = st;
            return State::Exited;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return State::Gone;
    }
}

void ChildProcessControl::kill(pid_t pid, int signo) {
    (void)::kill(pid, signo);
}

}  // namespace wsgid::apache
