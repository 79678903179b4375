// SPDX-License-Identifier: Apache-2.0
// Manager (manager.h), spawning: fork+exec of a slot's daemon process (or of its replacement at
// a recycle) with its settings, log pipe and status pipe, registered with APR's other-child list.
#include <cerrno>
#include <chrono>
#include <string>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "apache/config.h"
#include "apache/daemon_args_builder.h"
#include "apache/daemon_environment.h"
#include "apache/daemon_spawn.h"
#include "apache/httpd_includes.h"
#include "apache/manager.h"
#include "common/unique_fd.h"
#include "protocol/daemon_status.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// Whether this module was built with sanitizers (their runtimes' settings then reach daemons).
#ifdef WSGID_SANITIZER_BUILD
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif

}  // namespace

void Manager::spawn(Slot& slot, SupervisorDuration delay) {
    const pid_t pid = startProcess(slot, *slot.current, delay);
    const auto now = SupervisorClock::now();
    if (pid <= 0) {
        const auto retry = slot.state.startFailed(now);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0030: daemon process %d of group %s did not start; retrying in %s",
                     slot.index, slot.group->name.c_str(), durationText(retry).c_str());
        return;
    }
    slot.state.started(pid, now, delay);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s_,
                 "WG0031: started daemon process %d of group %s as pid %ld%s%s", slot.index,
                 slot.group->name.c_str(), static_cast<long>(pid),
                 delay.count() > 0 ? "; it execs after " : "",
                 delay.count() > 0 ? durationText(delay).c_str() : "");
}

void Manager::spawnReplacement(Slot& slot, SupervisorTime now) {
    const pid_t pid = startProcess(slot, *slot.replacement, SupervisorDuration::zero());
    if (pid <= 0) {
        const auto retry = slot.state.replacementStartFailed(now);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0068: the replacement of daemon process %d of group %s did not start; "
                     "the process keeps serving, next attempt in %s",
                     slot.index, slot.group->name.c_str(), durationText(retry).c_str());
        return;
    }
    slot.state.replacementStarted(pid, now);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0060: daemon process %d of group %s (pid %ld) asks to be recycled (%s); "
                 "started its replacement, pid %ld; it serves until the replacement is ready",
                 slot.index, slot.group->name.c_str(), static_cast<long>(slot.state.pid()),
                 std::string(protocol::toString(
                                 slot.state.recycleReason().value_or(protocol::StopReason::None)))
                     .c_str(),
                 static_cast<long>(pid));
}

pid_t Manager::startProcess(Slot& slot, Process& process, SupervisorDuration delay) {
    DaemonSpawn plan;
    plan.binary = registry_.daemonBinary;
    plan.args = daemonArgsFor(*slot.group, slot.index, registry_, retained_, s_);
    if (GroupLoadTable* table = slot.group->loadTable) {
        // The slot's other process (the current one while a replacement starts) keeps its entry.
        const Process& other = &process == slot.current.get() ? *slot.replacement : *slot.current;
        plan.args.loadSlot = table->entryFor(slot.index, other.registered ? other.loadEntry : -1);
        plan.loadTableFd = plan.args.loadSlot >= 0 ? table->descriptor() : -1;
    }
    plan.env = daemonEnvironment(environ, kSanitizerBuild);
    plan.listenFd = slot.listenFd;
    plan.logFd = relay_ ? relay_->writeFd(slot.group->name) : -1;
    plan.delay = std::chrono::duration_cast<std::chrono::nanoseconds>(delay);
    // The status pipe: the daemon writes (ready, recycle, last words), the parent reads without
    // blocking. Without one the daemon still runs, only its reports are lost.
    int statusFds[2] = {-1, -1};
    if (::pipe2(statusFds, O_CLOEXEC) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s_,
                     "WG0064: cannot make the status pipe of daemon process %d of group %s; it "
                     "runs without one",
                     slot.index, slot.group->name.c_str());
    }
    common::UniqueFd statusRead(statusFds[0]);
    const common::UniqueFd statusWrite(statusFds[1]);
    plan.statusFd = statusWrite.get();
    const SpawnResult started = startDaemon(plan);
    if (started.failure) {
        if (started.failure->stage == SpawnStage::Settings) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                         "WG0037: cannot pass the settings to daemon process %d of group %s: %s",
                         slot.index, slot.group->name.c_str(), started.failure->message.c_str());
        } else {
            ap_log_error(APLOG_MARK, APLOG_ERR, started.failure->err, s_,
                         "WG0037: cannot fork daemon process %d of group %s", slot.index,
                         slot.group->name.c_str());
        }
        return 0;
    }
    process.termSent = false;
    process.seenStopped = false;
    process.loadEntry = plan.args.loadSlot;
    process.channel = StatusChannel(std::move(statusRead));
    process.proc = apr_proc_t{};
    process.proc.pid = started.pid;
    apr_pool_clear(process.pool);  // the previous registration is gone (unregistered on death)
    apr_proc_other_child_register(&process.proc, &Manager::processCallback, &process, nullptr,
                                  process.pool);
    process.registered = true;
    return started.pid;
}

}  // namespace wsgid::apache
