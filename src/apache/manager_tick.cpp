// SPDX-License-Identifier: Apache-2.0
// Manager (manager.h), the supervision tick (monitor hook, waker, other-child callbacks) and
// arming the supervision waker for what is due next.
#include <algorithm>
#include <chrono>
#include <vector>

#include "apache/httpd_includes.h"
#include "apache/manager.h"

namespace wsgid::apache {

namespace {

/// Longest sleep of the supervision waker when nothing is due: it only has to catch what the
/// daemons do not say (a stopped daemon, WG0062), which the monitor hook's ticks (every 10 s or
/// so) catch too; a waker's fork every minute costs nothing.
constexpr std::chrono::seconds kWakerIdleInterval{60};

}  // namespace

void Manager::tick() {
    const auto now = SupervisorClock::now();
    if (!stopping()) {
        if (relay_) {
            relay_->tick(now);
        }
        for (const auto& slot : slots_) {
            superviseSlot(*slot, now);
        }
    }
    ChildProcessControl control;
    for (const ReapEvent& e : retained_.retired.reap(now, control)) {
        if (e.kind == ReapEvent::Kind::Killed) {
            logReapEvent(s_, e);
            continue;
        }
        if (e.kind == ReapEvent::Kind::Reaped) {
            noteRetiredDeath(e.daemon, e.exit, watchOf(e.daemon.pid), false);
        }
        unregisterWatch(e.daemon.pid);  // reaped here: APR will not call back for it
    }
    armWaker(now);
}

void Manager::armWaker(SupervisorTime now) {
    if (!waker_ || stopping()) {
        return;
    }
    std::vector<int> fds;
    // Nothing due: a waker still wakes the parent every so often, as a daemon might be stopped
    // (WG0062) without writing anything.
    SupervisorTime deadline = now + kWakerIdleInterval;
    for (const auto& slot : slots_) {
        for (const Process* p : {slot->current.get(), slot->replacement.get()}) {
            if (p->registered && p->channel.open()) {
                fds.push_back(p->channel.fd());
            }
        }
        if (const auto next = slot->state.nextReplacementAttempt()) {
            deadline = std::min(deadline, *next);
        }
    }
    for (const auto& w : watches_) {
        if (w->registered && w->channel.open()) {
            fds.push_back(w->channel.fd());
        }
    }
    for (const RetiredDaemon& d : retained_.retired.list()) {
        if (!d.killed) {
            deadline = std::min(deadline, d.killAt);
        }
    }
    waker_->arm(fds, deadline);
}

}  // namespace wsgid::apache
