// SPDX-License-Identifier: Apache-2.0
// RetiredDaemons: processes the httpd parent told to exit (daemons of earlier generations, or
// recycled ones, and retired log relays) while they drain, with the one reap loop that reaps the
// ones that exited and SIGKILLs the ones past their deadline. Pure: the time and the process
// operations are passed in, so tests/unit/apache/retired_daemons_test.cpp drives it with a fake
// clock and fake processes. No httpd, no APR.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "apache/restart_policy.h"

namespace wsgid::apache {

/// What the retired list calls a log relay in place of a group name.
inline constexpr const char* kLogRelayLabel = "(log relay)";

/// A process that was told to exit (SIGTERM) and is draining; SIGKILL at killAt.
struct RetiredDaemon {
    pid_t pid = 0;
    std::uint32_t generation = 0;
    std::string group;  ///< or kLogRelayLabel
    SupervisorTime killAt{};
    bool killed = false;  ///< SIGKILL was sent
};

/// The operations of the reap loop on real processes (waitpid, kill), or fakes in tests.
class ProcessControl {
public:
    enum class State {
        Running,  ///< still a running child
        Exited,   ///< it had exited and is now reaped; *waitStatus is its raw wait status
        Gone,     ///< not (or no longer) a child of this process
    };
    virtual ~ProcessControl() = default;
    /// Reaps `pid` if it has exited, without waiting.
    virtual State probe(pid_t pid, int* waitStatus) = 0;
    virtual void kill(pid_t pid, int signo) = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    ProcessControl() = default;
    ProcessControl(const ProcessControl&) = default;
    ProcessControl& operator=(const ProcessControl&) = default;
    ProcessControl(ProcessControl&&) = default;
    ProcessControl& operator=(ProcessControl&&) = default;
};

/// What one pass of the reap loop did to one process.
struct ReapEvent {
    enum class Kind {
        Reaped,  ///< it had exited: `exit` says how; dropped from the list
        Gone,    ///< no longer our child (reaped elsewhere); dropped
        Killed,  ///< still running past its deadline: SIGKILL sent now
    };
    Kind kind = Kind::Reaped;
    RetiredDaemon daemon;
    ProcessExit exit;  ///< for Reaped
};

/// The retired processes. Lives in the parent's retained state across generations. Not
/// thread-safe (the parent is single-threaded). Plain data only (the module is reloaded at
/// every restart).
class RetiredDaemons {
public:
    void add(RetiredDaemon daemon) { list_.push_back(std::move(daemon)); }
    [[nodiscard]] bool empty() const noexcept { return list_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return list_.size(); }
    [[nodiscard]] const std::vector<RetiredDaemon>& list() const noexcept { return list_; }
    /// The entry of `pid`, or nullptr.
    [[nodiscard]] const RetiredDaemon* find(pid_t pid) const noexcept;
    /// Drops `pid` (its death was seen elsewhere, e.g. by an other-child callback); returns what
    /// it was, if it was there.
    std::optional<RetiredDaemon> remove(pid_t pid);

    /// The reap loop's one pass at `now`: every process that exited is reaped and dropped, every
    /// one that is gone is dropped, and every one still running past min(killAt, forceKillAt)
    /// gets SIGKILL (once). Returns what it did, in list order.
    std::vector<ReapEvent> reap(SupervisorTime now, ProcessControl& control,
                                std::optional<SupervisorTime> forceKillAt = std::nullopt);

private:
    std::vector<RetiredDaemon> list_;
};

/// How a bounded wait for every retired process ended (RetiredDaemons::drain).
struct DrainReport {
    bool complete = true;      ///< every process was reaped or gone
    std::size_t leftover = 0;  ///< processes still there when the wait gave up
    pid_t firstLeftover = 0;
};

/// The clock of a bounded wait, and how it sleeps (the real steady clock and a nanosleep, or a
/// fake clock in tests whose sleep moves it).
struct WaitClock {
    std::function<SupervisorTime()> now;
    std::function<void(SupervisorDuration)> sleep;
    /// SupervisorClock::now() and a real sleep.
    static WaitClock real();
};

/// Waits for every retired process: repeats reap(), sleeping `pollInterval` between passes;
/// processes running past `forceKillAt` get SIGKILL whatever their own deadline, and the wait
/// gives up at `giveUpAt`. Each event goes to `onEvent`. For httpd's stop, where nothing else
/// reaps (the MPM has finished).
DrainReport drainRetired(RetiredDaemons& retired, ProcessControl& control, const WaitClock& clock,
                         SupervisorTime forceKillAt, SupervisorTime giveUpAt,
                         SupervisorDuration pollInterval,
                         const std::function<void(const ReapEvent&)>& onEvent);

/// ProcessControl on real child processes: waitpid(WNOHANG) and kill().
class ChildProcessControl final : public ProcessControl {
public:
    State probe(pid_t pid, int* waitStatus) override;
    void kill(pid_t pid, int signo) override;
};

}  // namespace wsgid::apache
