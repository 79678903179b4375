// SPDX-License-Identifier: Apache-2.0
// When to (re)start a daemon process: how a process ended, the restart backoff, and the state
// machine of one process slot. Pure: the caller passes the time and performs the actions, so it is
// unit-tested with a fake clock (tests/unit/apache/restart_policy_test.cpp). No httpd, no APR.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <sys/types.h>

#include "protocol/daemon_status.h"

namespace wsgid::apache {

/// The clock of supervision decisions (monotonic: wall-clock jumps must not stall a respawn).
using SupervisorClock = std::chrono::steady_clock;
using SupervisorTime = SupervisorClock::time_point;
using SupervisorDuration = SupervisorClock::duration;

/// For a process that cannot say it is ready (the log relay): one that ran at least this long
/// before it died counts as having been healthy. At most one start per 10 s can never become a
/// fork storm.
inline constexpr std::chrono::seconds kHealthyUptime{10};
/// First delay after a process died before it was ready; doubles with each further such death.
/// One second keeps a single crash at start (say, a segfault in a C extension at import) nearly
/// invisible to clients.
inline constexpr std::chrono::seconds kFirstBackoff{1};
/// Ceiling of every backoff: a broken group costs one fork a minute, and a fixed one (e.g. the
/// missing module was installed) comes back within a minute without an Apache restart.
inline constexpr std::chrono::seconds kMaxBackoff{60};
/// First delay after a startup failure (exit status protocol::kExitStartupFailure). Such a
/// failure (unloadable Python, bad preload script) rarely fixes itself within a second, so it
/// starts higher than kFirstBackoff; it still doubles up to kMaxBackoff.
inline constexpr std::chrono::seconds kFirstStartupFailureBackoff{5};

/// "signal 11 (Segmentation fault)": a signal's number and description, for log lines.
std::string describeSignal(int sig);

/// How a daemon process ended, as far as the httpd parent can tell.
struct ProcessExit {
    enum class Kind {
        Exited,     ///< exit(value)
        Signaled,   ///< killed by signal `value`
        Ambiguous,  ///< exit(value) or signal `value`: see fromMpmStatus()
    };
    Kind kind = Kind::Exited;
    int value = 0;
    bool coreDumped = false;

    /// Decodes a raw waitpid() status: exact.
    static ProcessExit fromWaitStatus(int status) noexcept;
    /// Decodes the status httpd's MPMs pass to other-child callbacks on a death: the exit code or
    /// the signal number, without saying which (apr_proc_wait_all_procs keeps that in a separate
    /// "why" the MPM does not forward). 0, and values that are no signal number (such as
    /// kExitStartupFailure), are exit statuses; 15 is SIGTERM (an exit status 15 would have made
    /// httpd shut down instead, see restart_policy.cpp); the rest of 1..64 stays Ambiguous.
    static ProcessExit fromMpmStatus(int value) noexcept;

    /// The daemon reported that it cannot start (its own message precedes it on stderr).
    [[nodiscard]] bool isStartupFailure() const noexcept;
    /// "exited with status 3", "killed by signal 9 (Killed), core dumped", ...
    [[nodiscard]] std::string describe() const;
};

/// How a process of a slot ended, as far as the backoff cares.
struct SlotEnding {
    bool startupFailure = false;  ///< it reported that it cannot start (kExitStartupFailure)
    bool wasReady = false;        ///< it had said it serves (or, for the relay, ran long enough)
};

/// Restart backoff of one slot: only start-up failures back off. A process that was ready and
/// then died, however often, is restarted at once: it served, so it can serve again, and
/// clients of its group should not wait. One that died before it was ready, or reported a
/// start-up failure, backs off exponentially. Not thread-safe (the parent is single-threaded).
class RestartBackoff {
public:
    /// The delay before the next start after a process ended as `how` says.
    SupervisorDuration next(const SlotEnding& how) noexcept;
    /// The delay after a failed fork() (counts as a quick death).
    SupervisorDuration nextAfterSpawnFailure() noexcept;
    /// Consecutive start-up failures so far (0 after a process that was ready).
    [[nodiscard]] int failures() const noexcept { return failures_; }

private:
    int failures_ = 0;
};

/// The supervision state machine of one daemon process slot (one index of one group). It decides;
/// the process manager forks, signals and logs. Starting a slot is always a decision of this
/// machine (a later on-demand mode starts slots on first connection), never a side effect.
/// Not thread-safe (the httpd parent is single-threaded).
class ProcessSlot {
public:
    enum class Phase {
        Down,      ///< no process; start one when due()
        Running,   ///< a process exists (it may still be waiting out its start delay)
        Stopping,  ///< httpd restarts or stops and the process was told to exit; no restart
    };

    /// What to do after the process of this slot ended.
    struct Decision {
        bool restart = false;         ///< start a new process
        SupervisorDuration delay{};   ///< ... after this long
        SupervisorDuration uptime{};  ///< how long the ended process ran (after its delay)
        bool startupFailure = false;  ///< it reported a startup failure
        bool wasReady = false;        ///< it had said it serves
        int failures = 0;             ///< consecutive start-up failures, including this one
        /// The slot's replacement (started for a recycle) took over as its process: nothing
        /// new to start.
        bool promoted = false;
    };

    [[nodiscard]] Phase phase() const noexcept { return phase_; }
    /// The running process, or 0.
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Starts made so far (the first one included).
    [[nodiscard]] unsigned starts() const noexcept { return starts_; }

    /// A process `pid` was forked at `now`; it execs the daemon after `delay`.
    void started(pid_t pid, SupervisorTime now, SupervisorDuration delay) noexcept;
    /// fork() failed at `now`: Down, due again after a backoff (returned).
    SupervisorDuration startFailed(SupervisorTime now) noexcept;
    /// How long the running process has run (after its start delay), at `now`.
    [[nodiscard]] SupervisorDuration uptime(SupervisorTime now) const noexcept;
    /// The process ended at `now`, as `how` says. With `serverStopping` (httpd is stopping or
    /// restarting) or in Stopping, the slot stays Down; otherwise the backoff decides the delay.
    Decision ended(SupervisorTime now, const SlotEnding& how, bool serverStopping) noexcept;
    /// httpd restarts or stops: the process (if any) is being told to exit.
    void stopping() noexcept;
    /// Down, not stopping, and the backoff after a failed start has passed.
    [[nodiscard]] bool due(SupervisorTime now) const noexcept;

    // ---- recycling: a replacement is started and ready before the running process stops ----

    /// The running process asked to be replaced. The first request counts; ignored unless a
    /// process runs.
    void recycleRequested(protocol::StopReason reason) noexcept;
    /// Why a replacement is wanted, if one is.
    [[nodiscard]] std::optional<protocol::StopReason> recycleReason() const noexcept {
        return recycle_;
    }
    /// A replacement should be started now: one is wanted, none runs, the slot is not stopping,
    /// and the backoff after a failed replacement has passed.
    [[nodiscard]] bool replacementDue(SupervisorTime now) const noexcept;
    /// When the next replacement may be started, while one is wanted and none runs.
    [[nodiscard]] std::optional<SupervisorTime> nextReplacementAttempt() const noexcept;
    /// The replacement process, or 0.
    [[nodiscard]] pid_t replacementPid() const noexcept { return replacementPid_; }
    /// A replacement `pid` was forked at `now`.
    void replacementStarted(pid_t pid, SupervisorTime now) noexcept;
    /// Starting a replacement failed at `now`; the next try waits the returned backoff.
    SupervisorDuration replacementStartFailed(SupervisorTime now) noexcept;
    /// The replacement said it is ready: it becomes the slot's process (a fresh start, no
    /// recycle wanted). Returns the pid of the process it replaces, to be told to stop.
    pid_t replacementReady(SupervisorTime now) noexcept;
    /// The replacement ended before it was ready; the running process keeps serving and the
    /// next replacement waits out the start-up backoff (Decision::delay).
    Decision replacementEnded(SupervisorTime now, const SlotEnding& how) noexcept;

private:
    Phase phase_ = Phase::Down;
    pid_t pid_ = 0;
    unsigned starts_ = 0;
    SupervisorTime execAt_{};     ///< when the running process execs the daemon (start + delay)
    SupervisorTime nextStart_{};  ///< when Down: not before this
    RestartBackoff backoff_;
    std::optional<protocol::StopReason> recycle_;  ///< a replacement is wanted, and why
    pid_t replacementPid_ = 0;
    SupervisorTime replacementExecAt_{};
    SupervisorTime nextReplacement_{};  ///< after a failed replacement: not before this
    RestartBackoff replacementBackoff_;
};

}  // namespace wsgid::apache
