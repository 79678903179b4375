// SPDX-License-Identifier: Apache-2.0
// Supervisor: the daemon's main loop while it serves. It acts on signals (stop, eviction, the CPU
// limit), watches the server's health, decides when to ask the httpd parent for a replacement
// (RecyclePolicy), and enforces request-timeout, deadlock-timeout and startup-timeout
// (TimeoutPolicy); it returns when the process should stop, with how long it may drain. Main
// thread only. No httpd, no Python (the runtime is reached through RuntimeProbe).
#pragma once

#include <chrono>
#include <optional>

#include "common/log_sink.h"
#include "daemon/recycle_policy.h"
#include "daemon/runtime_probe.h"
#include "daemon/server.h"
#include "daemon/signals.h"
#include "daemon/timeout_policy.h"
#include "protocol/daemon_args.h"

namespace wsgid::daemon {

/// How often the main loop looks at the server while it waits for a signal: a dead worker or a
/// recycle limit is noticed within a second, and an idle daemon wakes only once a second.
inline constexpr std::chrono::milliseconds kSupervisionInterval = std::chrono::seconds(1);

/// How the main loop ended.
struct SupervisionEnd {
    int exitCode = 0;
    protocol::StopReason reason = protocol::StopReason::Signal;
    /// How long the server may take to finish its requests.
    std::chrono::seconds drain{0};
    /// Python's atexit handlers and finalization get shutdown-timeout after the drain (a
    /// recycle); otherwise the drain and the finalization share `drain`.
    bool finalizeAfterDrain = false;
};

/// The main loop of a serving daemon.
class Supervisor {
public:
    /// `reporting`: the status pipe works, so a recycle is asked of the parent (which starts a
    /// replacement, then sends SIGTERM); without it the process stops on its own instead.
    /// Everything passed in must outlive the Supervisor.
    /// `probe` (may be nullptr: no stacks, no GIL or load watch) reaches the Python runtime.
    Supervisor(Server& server, SignalWatcher& signals, common::LogSink& log,
               const protocol::DaemonArgs& args, bool reporting, RuntimeProbe* probe) noexcept;

    /// Runs until the process should stop.
    SupervisionEnd run();

private:
    /// Asks for a replacement for `reason` (once); false when the process should stop instead.
    bool askForReplacement(protocol::StopReason reason, std::optional<std::uint64_t> rss);
    /// Applies the timeout rules; false when the process should stop (no status pipe).
    bool enforceTimeouts();
    void cutOff(const RunningRequest& request);
    /// Logs `what` (a timeout) and that every thread's stack follows, then writes them.
    void logWithAllStacks(common::LogLevel level, std::string_view id, const std::string& what);
    [[nodiscard]] SupervisionEnd stopFor(std::optional<protocol::StopReason> recycled, int exitCode,
                                         protocol::StopReason reason) const;

    Server& server_;
    SignalWatcher& signals_;
    common::LogSink& log_;
    const protocol::DaemonArgs& args_;
    bool reporting_;
    RuntimeProbe* probe_;
    RecyclePolicy recycle_;
    TimeoutPolicy timeouts_;
};

}  // namespace wsgid::daemon
