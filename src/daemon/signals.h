// SPDX-License-Identifier: Apache-2.0
// Signals of the daemon process: what each one means, the reset of state inherited from httpd,
// and a self-pipe that turns handler calls into events for the main thread. No httpd headers.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace wsgid::daemon {

/// What the main thread does with a signal.
enum class SignalAction {
    GracefulStop,  ///< stop accepting, finish running and queued requests, exit (the parent
                   ///< respawns us when it wants a daemon)
    Evict,         ///< ask the parent for a replacement, then stop when told (SIGUSR1)
    CpuTimeLimit,  ///< cpu-time-limit used up (SIGXCPU): ask for a replacement
    Publish,       ///< pass it to the app's mod_wsgi.subscribe_signals callbacks (SIGHUP, SIGUSR2)
    Ignore,        ///< log it and carry on
};

/// The meaning of `signo`: SIGTERM and SIGINT stop, SIGUSR1 evicts (a graceful replacement, as
/// mod_wsgi's eviction), SIGXCPU is the CPU limit, SIGHUP and SIGUSR2 go to the app (mod_wsgi 6's
/// subscribe_signals); anything else is ignored.
SignalAction actionFor(int signo) noexcept;

/// "SIGTERM" etc. for log lines; "signal N" for others.
std::string signalName(int signo);

/// Unblocks every signal and sets every catchable signal back to its default disposition.
/// exec keeps the blocked mask and the ignored signals of the httpd parent; Python's subprocess
/// module, for one, needs SIGCHLD at its default. Call first thing in main, before any thread.
common::Status resetInheritedSignalState() noexcept;

/// Installs handlers for SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGUSR2 and SIGXCPU that write the
/// signal number to a self-pipe, and ignores SIGPIPE. A handler running in a process forked by app
/// code (getpid() differs from the daemon's) _exits instead. At most one instance per process;
/// create and use it on the main thread. Destruction restores default dispositions.
class SignalWatcher {
public:
    /// Creates the pipe and installs the handlers.
    static common::Result<std::unique_ptr<SignalWatcher>> install();
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;
    SignalWatcher(SignalWatcher&&) = delete;
    SignalWatcher& operator=(SignalWatcher&&) = delete;

    /// The next signal delivered since install(), or std::nullopt once `deadline` passes.
    std::optional<int> next(common::Deadline deadline) noexcept;

private:
    SignalWatcher(common::UniqueFd readEnd, common::UniqueFd writeEnd) noexcept
        : readEnd_(std::move(readEnd)), writeEnd_(std::move(writeEnd)) {}

    common::UniqueFd readEnd_;
    common::UniqueFd writeEnd_;
};

}  // namespace wsgid::daemon
