// SPDX-License-Identifier: Apache-2.0
// Manager (manager.h), retired processes: those of earlier generations and recycled ones, each
// watched through APR's other-child list so its death is reaped, published and logged here.
// The pure bookkeeping (deadlines, reaping) is retired_daemons.h.
#include <algorithm>
#include <csignal>
#include <memory>
#include <optional>
#include <utility>

#include "apache/c_boundary.h"
#include "apache/httpd_includes.h"
#include "apache/manager.h"
#include "apache/other_child.h"
#include "protocol/daemon_status.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

void logReapEvent(server_rec* s, const ReapEvent& e) {
    const RetiredDaemon& d = e.daemon;
    switch (e.kind) {
        case ReapEvent::Kind::Reaped:
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         "WG0040: daemon pid %ld of group %s (generation %u) %s after SIGTERM",
                         static_cast<long>(d.pid), d.group.c_str(), d.generation,
                         e.exit.describe().c_str());
            break;
        case ReapEvent::Kind::Killed:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "WG0041: daemon pid %ld of group %s (generation %u) is still running "
                         "past its shutdown-timeout; sending SIGKILL",
                         static_cast<long>(d.pid), d.group.c_str(), d.generation);
            break;
        case ReapEvent::Kind::Gone:
            break;
    }
}

void Manager::adoptRetired() {
    // Earlier generations' processes still draining: reap those that are done, and watch the
    // others so their deaths are logged (and reaped) by this generation.
    ChildProcessControl control;
    for (const ReapEvent& e : retained_.retired.reap(SupervisorClock::now(), control)) {
        logReapEvent(s_, e);
    }
    for (const RetiredDaemon& d : retained_.retired.list()) {
        watchRetired(d.pid, StatusChannel());
    }
}

void Manager::watchRetired(pid_t pid, StatusChannel channel) {
    auto watch = std::make_unique<RetiredWatch>();
    watch->manager = this;
    watch->proc.pid = pid;
    watch->channel = std::move(channel);
    apr_proc_other_child_register(&watch->proc, &Manager::retiredCallback, watch.get(), nullptr,
                                  retiredPool_);
    watch->registered = true;
    watches_.push_back(std::move(watch));
}

void Manager::onRetiredEnded(RetiredWatch& watch, int reason, int status) {
    const std::optional<RetiredDaemon> d = retained_.retired.remove(watch.proc.pid);
    if (!d) {
        return;
    }
    ProcessExit exit =
        mpmStopping() ? ProcessExit::fromWaitStatus(status) : ProcessExit::fromMpmStatus(status);
    if (d->killed && exit.kind == ProcessExit::Kind::Ambiguous && exit.value == SIGKILL) {
        exit.kind = ProcessExit::Kind::Signaled;  // this module sent it
    }
    noteRetiredDeath(*d, exit, &watch, reason == APR_OC_REASON_LOST);
}

void Manager::noteRetiredDeath(const RetiredDaemon& d, const ProcessExit& exit, RetiredWatch* watch,
                               bool lost) {
    std::optional<protocol::StatusRecord> lastWords;
    if (watch != nullptr) {
        for (int i = 0; i < 4 && watch->channel.open(); ++i) {
            (void)watch->channel.pump();
        }
        watch->channel.close();
        lastWords = watch->channel.lastWords();
    }
    DaemonDeath death;
    if (!lost) {
        death = DaemonDeath::conclude(exit, lastWords, d.killed);
    }
    publishDeath(d.pid, death);
    ap_log_error(APLOG_MARK, d.killed ? APLOG_WARNING : APLOG_INFO, 0, s_,
                 "WG0040: daemon pid %ld of group %s (generation %u) %s after SIGTERM",
                 static_cast<long>(d.pid), d.group.c_str(), d.generation, death.describe().c_str());
}

void Manager::retiredCallback(int reason, void* data, int status) noexcept {
    guardedVoid("retired daemon supervision", [&] {
        auto& watch = *static_cast<RetiredWatch*>(data);
        // On RESTART and RUNNING nothing: it was already told to stop; the deadline in tick()
        // bounds it.
        if (otherChildEnded(reason, &watch, watch.registered)) {
            watch.manager->onRetiredEnded(watch, reason, status);
        }
    });
}

Manager::RetiredWatch* Manager::watchOf(pid_t pid) {
    const auto it = std::find_if(watches_.begin(), watches_.end(),
                                 [pid](const auto& w) { return w->proc.pid == pid; });
    return it == watches_.end() ? nullptr : it->get();
}

void Manager::unregisterWatch(pid_t pid) {
    for (auto& w : watches_) {
        if (w->proc.pid == pid && w->registered) {
            w->registered = false;
            apr_proc_other_child_unregister(w.get());
        }
    }
}

}  // namespace wsgid::apache
