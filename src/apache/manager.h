// SPDX-License-Identifier: Apache-2.0
// Manager: the process manager of one configuration generation (process_manager.h is its face
// for the hooks). Internal to the manager's .cpp files, which each define one part of it. Include
// after httpd_includes.h (this header needs the APR process and MPM API). Parent only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "apache/daemon_death.h"
#include "apache/log_relay.h"
#include "apache/restart_policy.h"
#include "apache/retained_state.h"
#include "apache/retired_daemons.h"
#include "apache/status_channel.h"
#include "apache/supervision_waker.h"
#include "common/duration_text.h"

namespace wsgid::apache {

struct DaemonGroup;
class GroupRegistry;

/// Grace after a daemon's shutdown-timeout before SIGKILL. The daemon bounds its own drain and
/// Python finalization by shutdown-timeout; this covers the exit itself around that bound.
inline constexpr std::chrono::seconds kKillMargin{2};

/// Whether the MPM reports that it is stopping (AP_MPMQ_STOPPING).
inline bool mpmStopping() {
    int state = AP_MPMQ_STOPPING;
    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING;
}

/// A duration as every log line shows it ("1s", "2.5s", "250ms"; common/duration_text.h).
inline std::string durationText(SupervisorDuration d) {
    return common::durationText(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

/// Logs what one pass of the reap loop did (WG0040 reaped, WG0041 killed).
void logReapEvent(server_rec* s, const ReapEvent& e);

// ---- the manager of one configuration generation ----------------------------------------------

/// Owned by pconf (one per generation); runs on the parent's only thread, but for
/// closeInheritedPipes() (each httpd child).
/// manager_start.cpp starts it, process_spawn.cpp forks its daemons, slot_supervision.cpp
/// supervises them, retired_watch.cpp watches the retired ones, manager_tick.cpp runs the
/// periodic supervision and manager_shutdown.cpp stops it all.
class Manager {
public:
    struct Slot;

    /// One daemon process of a slot: the one that serves, or the replacement started for a
    /// recycle. Its address is stable (APR's registration points to it); a slot swaps its two
    /// Process objects when the replacement takes over.
    struct Process {
        Slot* slot = nullptr;
        apr_proc_t proc{};           ///< registered with APR's other-child list
        apr_pool_t* pool = nullptr;  ///< holds the registration; cleared at each spawn
        bool registered = false;
        bool termSent = false;  ///< SIGTERM already sent
        StatusChannel channel;  ///< its status pipe
        /// Seen stopped (SIGSTOP, a debugger) and that was logged.
        bool seenStopped = false;
        /// Its entry in the group's load table (DaemonArgs::loadSlot); -1: none.
        int loadEntry = -1;
    };

    /// One process index of one group.
    struct Slot {
        Manager* manager = nullptr;
        DaemonGroup* group = nullptr;
        int index = 0;
        int listenFd = -1;
        ProcessSlot state;
        std::unique_ptr<Process> current;      ///< pid: state.pid()
        std::unique_ptr<Process> replacement;  ///< pid: state.replacementPid()
    };

    /// A retired process (of an earlier generation, or recycled), registered so its death is
    /// reaped and logged here; a recycled one keeps its status pipe for its last words.
    struct RetiredWatch {
        Manager* manager = nullptr;
        apr_proc_t proc{};
        bool registered = false;
        StatusChannel channel;
    };

    Manager(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry, RetainedState& retained)
        : pconf_(pconf), s_(s), registry_(registry), retained_(retained) {}
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    Manager(Manager&&) = delete;
    Manager& operator=(Manager&&) = delete;
    ~Manager() = default;

    bool start();
    /// Reads the status pipes, starts replacements and hands over to the ready ones, restarts
    /// due slots, reaps and bounds retired processes, then arms the waker. Monitor hook, waker
    /// and other-child callbacks.
    void tick();
    void onConfigPoolCleanup();
    /// child_init: closes the log pipes and status pipes an httpd child inherited.
    void closeInheritedPipes() noexcept;

    static void processCallback(int reason, void* data, int status) noexcept;
    static void retiredCallback(int reason, void* data, int status) noexcept;
    /// Waits (bounded) for every retired daemon, SIGKILLs the overdue, closes and unlinks every
    /// socket and forgets the retained state. `s` may be nullptr.
    static void finalShutdown(RetainedState& retained, server_rec* s);

private:
    bool openListeners();
    bool makeSecrets();
    /// A load table for each group of two or more processes (WG0072 when one cannot be made:
    /// that group then goes by Busy answers alone).
    void makeLoadTables();
    bool startLogRelay();
    void adoptRetired();
    /// Starts the slot's process (into slot.current).
    void spawn(Slot& slot, SupervisorDuration delay);
    /// Starts a replacement for the slot's process (into slot.replacement).
    void spawnReplacement(Slot& slot, SupervisorTime now);
    /// Fork+exec into `process`; the pid, or 0 (logged) when it could not start.
    pid_t startProcess(Slot& slot, Process& process, SupervisorDuration delay);
    void onProcessEnded(Process& process, int reason, int status);
    void onCurrentEnded(Slot& slot, Process& process, const DaemonDeath& death);
    void onReplacementEnded(Slot& slot, Process& process, const DaemonDeath& death);
    void superviseSlot(Slot& slot, SupervisorTime now);
    void handOver(Slot& slot, SupervisorTime now);
    void pumpStatus(Slot& slot, Process& process);
    void watchStopped(Slot& slot);
    void onRetiredEnded(RetiredWatch& watch, int reason, int status);
    void noteRetiredDeath(const RetiredDaemon& d, const ProcessExit& exit, RetiredWatch* watch,
                          bool lost);
    RetiredWatch* watchOf(pid_t pid);
    void unregisterWatch(pid_t pid);
    void watchRetired(pid_t pid, StatusChannel channel);
    void retireLogRelay(SupervisorTime now);
    void armWaker(SupervisorTime now);
    void publishDeath(pid_t pid, const DaemonDeath& death) const;
    [[nodiscard]] bool stopping() const { return stopping_ || mpmStopping(); }

    apr_pool_t* pconf_;
    server_rec* s_;
    GroupRegistry& registry_;
    RetainedState& retained_;
    apr_pool_t* retiredPool_ = nullptr;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<std::unique_ptr<RetiredWatch>> watches_;
    std::unique_ptr<LogRelay> relay_;  ///< this generation's; its old relay drains on its own
    std::unique_ptr<SupervisionWaker> waker_;
    bool stopping_ = false;
};

}  // namespace wsgid::apache
