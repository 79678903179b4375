// SPDX-License-Identifier: Apache-2.0
// Manager (manager.h), the end of a generation: SIGTERM to its daemons and log relay, which
// drain as retired processes at a restart; at a stop a bounded wait, then SIGKILL and reaping,
// and the sockets removed.
#include <algorithm>
#include <chrono>
#include <csignal>

#include "apache/config.h"
#include "apache/httpd_includes.h"
#include "apache/manager.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// Longest wait for daemons at `apachectl stop` before they get SIGKILL whatever their
/// shutdown-timeout: below systemd's default stop timeout (90 s), so this module, not systemd,
/// kills the daemons and removes the sockets.
constexpr std::chrono::seconds kMaxStopWait{60};
/// How long to wait for SIGKILLed daemons to be reaped before giving up; SIGKILL cannot be
/// caught, so only a process stuck in uninterruptible sleep takes longer, and httpd's exit must
/// not hang on it.
constexpr std::chrono::seconds kKillReapWait{2};
/// Poll interval of the bounded waits at stop: short enough to exit promptly once the daemons are
/// gone, long enough to cost nothing.
constexpr std::chrono::milliseconds kReapPollInterval{50};

}  // namespace

void Manager::onConfigPoolCleanup() {
    stopping_ = true;
    if (waker_) {
        waker_->disarm();
    }
    // pconf is cleared for a restart (DESTROY_CONFIG) or destroyed at exit (EXITING, or any other
    // state when start-up fails).
    const bool exiting = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_DESTROY_CONFIG;
    const auto now = SupervisorClock::now();
    int signalled = 0;
    for (auto& slot : slots_) {
        // The registrations are gone already (pconf's subpools go before its cleanups): the
        // slot's own record says which processes run.
        const pid_t pids[] = {slot->state.pid(), slot->state.replacementPid()};
        slot->state.stopping();
        for (int i = 0; i < 2; ++i) {
            const pid_t pid = pids[i];
            Process* p = i == 0 ? slot->current.get() : slot->replacement.get();
            if (pid <= 0) {
                continue;
            }
            int status = 0;
            if (ChildProcessControl().probe(pid, &status) != ProcessControl::State::Running) {
                continue;
            }
            if (!p->termSent) {
                (void)::kill(pid, SIGTERM);
                p->termSent = true;
            }
            ++signalled;
            retained_.retired.add({.pid = pid,
                                   .generation = registry_.generation,
                                   .group = slot->group->name,
                                   .killAt = now + slot->group->shutdownTimeout + kKillMargin,
                                   .killed = false});
        }
    }
    retireLogRelay(now);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0042: httpd %s: sent SIGTERM to %d daemon process(es) of generation %u",
                 exiting ? "stops" : "restarts", signalled, registry_.generation);
    if (exiting) {
        finalShutdown(retained_, s_);
    }
}

void Manager::retireLogRelay(SupervisorTime now) {
    if (!relay_) {
        return;
    }
    // The relay exits at EOF once this generation's daemons are gone; it is reaped (and, past
    // the last daemon's deadline, killed) like a retired daemon.
    const pid_t pid = relay_->retire();
    if (pid <= 0) {
        return;
    }
    SupervisorTime killAt = now;
    for (const auto& slot : slots_) {
        killAt = std::max(killAt, now + slot->group->shutdownTimeout + kKillMargin);
    }
    retained_.retired.add({.pid = pid,
                           .generation = registry_.generation,
                           .group = kLogRelayLabel,
                           .killAt = killAt + kKillMargin,
                           .killed = false});
}

void Manager::finalShutdown(RetainedState& retained, server_rec* s) {
    const WaitClock clock = WaitClock::real();
    const auto forceKillAt = clock.now() + kMaxStopWait;
    ChildProcessControl control;
    const DrainReport report = drainRetired(
        retained.retired, control, clock, forceKillAt, forceKillAt + kKillReapWait,
        kReapPollInterval, [s](const ReapEvent& e) {
            if (e.kind == ReapEvent::Kind::Reaped) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "WG0043: daemon pid %ld of group %s %s",
                             static_cast<long>(e.daemon.pid), e.daemon.group.c_str(),
                             e.exit.describe().c_str());
            } else {
                logReapEvent(s, e);
            }
        });
    if (!report.complete) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "WG0044: %d daemon process(es) did not exit even after SIGKILL "
                     "(first: pid %ld); leaving them behind",
                     static_cast<int>(report.leftover), static_cast<long>(report.firstLeftover));
    }
    retained.sockets.closeAll();
    RetainedState::drop();
}

}  // namespace wsgid::apache
