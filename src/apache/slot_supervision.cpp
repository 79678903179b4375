// SPDX-License-Identifier: Apache-2.0
// Manager (manager.h), supervising a slot: the other-child callback of its processes, what a
// process's end means (restart with backoff, or the replacement takes over), its status pipe
// (ready, recycle, last words), a stopped process, and the handover at a recycle.
#include <csignal>
#include <optional>
#include <string>
#include <utility>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/daemon_death.h"
#include "apache/death_records.h"
#include "apache/httpd_includes.h"
#include "apache/manager.h"
#include "apache/process_state.h"
#include "protocol/daemon_status.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

void Manager::processCallback(int reason, void* data, int status) noexcept {
    guardedVoid("daemon supervision", [&] {
        auto& process = *static_cast<Process*>(data);
        Slot& slot = *process.slot;
        switch (reason) {
            case APR_OC_REASON_DEATH:
            case APR_OC_REASON_LOST:
                if (process.registered) {
                    process.registered = false;
                    apr_proc_other_child_unregister(&process);  // calls back with UNREGISTER
                }
                slot.manager->onProcessEnded(process, reason, status);
                slot.manager->armWaker(SupervisorClock::now());
                break;
            case APR_OC_REASON_RESTART:
                // The MPM reclaims its processes (stop or hard restart): ours drain meanwhile.
                // APR has just seen the process unreaped, so its pid cannot have been reused.
                slot.state.stopping();
                if (!process.termSent) {
                    (void)::kill(process.proc.pid, SIGTERM);
                    process.termSent = true;
                }
                break;
            case APR_OC_REASON_UNREGISTER:
                process.registered = false;
                break;
            case APR_OC_REASON_RUNNING:
                slot.manager->tick();
                break;
            default:
                break;
        }
    });
}

void Manager::onProcessEnded(Process& process, int reason, int status) {
    Slot& slot = *process.slot;
    const pid_t pid = process.proc.pid;
    // Its last words are in the pipe (written before it died): read them all.
    for (int i = 0; i < 4 && process.channel.open(); ++i) {
        pumpStatus(slot, process);
    }
    process.channel.close();
    if (slot.group->loadTable != nullptr) {
        // A crash leaves its last load there: no request should be routed to a dead process.
        slot.group->loadTable->clear(process.loadEntry);
        process.loadEntry = -1;
    }
    // In the MPM's main loop the status is an exit code or signal number; while it stops,
    // apr_proc_other_child_refresh_all passes the raw wait status instead.
    DaemonDeath death;
    if (reason != APR_OC_REASON_LOST) {
        const ProcessExit exit =
            stopping() ? ProcessExit::fromWaitStatus(status) : ProcessExit::fromMpmStatus(status);
        death = DaemonDeath::conclude(exit, process.channel.lastWords(), false);
    }
    publishDeath(pid, death);
    if (&process == slot.replacement.get() && pid == slot.state.replacementPid()) {
        onReplacementEnded(slot, process, death);
    } else if (&process == slot.current.get() && pid == slot.state.pid()) {
        onCurrentEnded(slot, process, death);
    }
}

void Manager::onCurrentEnded(Slot& slot, Process& process, const DaemonDeath& death) {
    const auto now = SupervisorClock::now();
    const pid_t pid = slot.state.pid();
    const std::string how = death.describe();
    const auto d = slot.state.ended(
        now, {.startupFailure = death.startupFailure(), .wasReady = process.channel.ready()},
        stopping());
    const char* name = slot.group->name.c_str();
    if (d.promoted) {
        std::swap(slot.current, slot.replacement);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0033: daemon process %d of group %s (pid %ld) %s after running %s; its "
                     "replacement, pid %ld, takes over",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.uptime).c_str(), static_cast<long>(slot.state.pid()));
        return;
    }
    if (!d.restart) {
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, s_,
            "WG0034: daemon process %d of group %s (pid %ld) %s while httpd stops or restarts",
            slot.index, name, static_cast<long>(pid), how.c_str());
        return;
    }
    if (d.startupFailure) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0035: daemon process %d of group %s (pid %ld) could not start: %s; next "
                     "attempt in %s (%d failure(s) in a row)",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.delay).c_str(), d.failures);
    } else if (d.wasReady) {
        const bool clean =
            death.planned() || (death.cause == DaemonDeath::Cause::Exited && death.value == 0);
        ap_log_error(APLOG_MARK, clean ? APLOG_NOTICE : APLOG_ERR, 0, s_,
                     "WG0033: daemon process %d of group %s (pid %ld) %s after running %s; "
                     "restarting it now",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.uptime).c_str());
    } else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0036: daemon process %d of group %s (pid %ld) %s before it was ready "
                     "(after %s); restarting it in %s (%d failed start(s) in a row)",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.uptime).c_str(), durationText(d.delay).c_str(), d.failures);
    }
    spawn(slot, d.delay);
}

void Manager::onReplacementEnded(Slot& slot, Process& /*process*/, const DaemonDeath& death) {
    const auto now = SupervisorClock::now();
    const pid_t pid = slot.state.replacementPid();
    const auto d = slot.state.replacementEnded(
        now, {.startupFailure = death.startupFailure(), .wasReady = false});
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                 "WG0069: the replacement (pid %ld) of daemon process %d of group %s %s before "
                 "it was ready; pid %ld keeps serving%s%s",
                 static_cast<long>(pid), slot.index, slot.group->name.c_str(),
                 death.describe().c_str(), static_cast<long>(slot.state.pid()),
                 d.restart ? "; next attempt in " : "",
                 d.restart ? durationText(d.delay).c_str() : "");
}

void Manager::pumpStatus(Slot& slot, Process& process) {
    if (!process.channel.pump() || process.channel.broken().empty()) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_,
                 "WG0065: daemon process %d of group %s (pid %ld) wrote %s to its status pipe; "
                 "the pipe is ignored from now on (application code writing to descriptor %d?)",
                 slot.index, slot.group->name.c_str(), static_cast<long>(process.proc.pid),
                 process.channel.broken().c_str(), protocol::kStatusFd);
}

void Manager::watchStopped(Slot& slot) {
    Process& process = *slot.current;
    const pid_t pid = slot.state.pid();
    if (pid <= 0) {
        return;
    }
    const RunState state = processRunState(pid);
    const bool stopped = state == RunState::Stopped || state == RunState::Traced;
    if (stopped && !process.seenStopped) {
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, 0, s_,
            "WG0062: daemon process %d of group %s (pid %ld) is %s; requests sent to "
            "it wait until it continues (SIGCONT), or get 504 after socket-timeout",
            slot.index, slot.group->name.c_str(), static_cast<long>(pid),
            state == RunState::Traced ? "stopped by a debugger" : "stopped (SIGSTOP or SIGTSTP)");
    } else if (!stopped && process.seenStopped && state != RunState::Gone) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s_,
                     "WG0063: daemon process %d of group %s (pid %ld) runs again", slot.index,
                     slot.group->name.c_str(), static_cast<long>(pid));
    }
    process.seenStopped = stopped;
}

void Manager::superviseSlot(Slot& slot, SupervisorTime now) {
    if (slot.state.pid() > 0) {
        pumpStatus(slot, *slot.current);
        if (const auto reason = slot.current->channel.recycleRequest()) {
            slot.state.recycleRequested(*reason);
        }
    }
    if (slot.state.replacementPid() > 0) {
        pumpStatus(slot, *slot.replacement);
        if (slot.replacement->channel.ready()) {
            handOver(slot, now);
        }
    } else if (slot.state.replacementDue(now)) {
        spawnReplacement(slot, now);
    }
    watchStopped(slot);
    if (slot.state.due(now)) {
        spawn(slot, SupervisorDuration::zero());
    }
}

void Manager::handOver(Slot& slot, SupervisorTime now) {
    const auto reason = slot.state.recycleReason().value_or(protocol::StopReason::None);
    const pid_t old = slot.state.replacementReady(now);
    std::swap(slot.current, slot.replacement);
    Process& retiring = *slot.replacement;
    // The retiring process is watched as a retired one from now on: its drain is bounded by the
    // parent too (graceful-timeout or eviction-timeout, then shutdown-timeout, then SIGKILL).
    if (retiring.registered) {
        retiring.registered = false;
        apr_proc_other_child_unregister(&retiring);
    }
    const DaemonGroup& g = *slot.group;
    const auto drain = reason == protocol::StopReason::Evicted && g.evictionTimeout.count() > 0
                           ? g.evictionTimeout
                           : g.gracefulTimeout;
    if (old > 0) {
        (void)::kill(old, SIGTERM);
        retained_.retired.add({.pid = old,
                               .generation = registry_.generation,
                               .group = g.name,
                               .killAt = now + drain + g.shutdownTimeout + kKillMargin,
                               .killed = false});
        watchRetired(old, std::move(retiring.channel));
    }
    retiring.channel = StatusChannel();
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s_,
                 "WG0061: daemon process %d of group %s recycled (%s): pid %ld serves now; "
                 "pid %ld stops taking requests and finishes those it has (at most %s, then "
                 "%s for its exit)",
                 slot.index, g.name.c_str(), std::string(protocol::toString(reason)).c_str(),
                 static_cast<long>(slot.state.pid()), static_cast<long>(old),
                 durationText(drain).c_str(), durationText(g.shutdownTimeout).c_str());
}

void Manager::publishDeath(pid_t pid, const DaemonDeath& death) const {
    if (retained_.deaths != nullptr && pid > 0) {
        retained_.deaths->publish(pid, DeathClock::now(), death);
    }
}

}  // namespace wsgid::apache
