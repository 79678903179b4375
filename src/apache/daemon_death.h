// SPDX-License-Identifier: Apache-2.0
// DaemonDeath: why a daemon process ended, as the httpd parent concludes it from the status the
// MPM passes on (an exit code or a signal number, without saying which), what the daemon said
// last on its status pipe, and what the parent did to it. The one text of a cause, for the
// parent's log line and the module's 502. Pure (tests/unit/apache/daemon_death_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "apache/restart_policy.h"
#include "protocol/daemon_status.h"

namespace wsgid::apache {

/// Why a daemon process ended.
struct DaemonDeath {
    enum class Cause : std::uint8_t {
        Exited = 1,    ///< it exited on its own with `value`; `reason` says why if it told
        AppExit = 2,   ///< application code ended it with _exit(value) or exit(value)
        Signaled = 3,  ///< killed by signal `value` it could not report (SIGKILL, ...)
        Crashed = 4,   ///< died of signal `value` it reported (SIGSEGV, SIGABRT, ...)
        Lost = 5,      ///< no longer a child of httpd; nothing is known
    };
    Cause cause = Cause::Lost;
    int value = 0;
    protocol::StopReason reason = protocol::StopReason::None;
    bool coreDumped = false;        ///< the wait status says so (exact)
    bool coreDumpPossible = false;  ///< the daemon said a core dump may be written
    bool killedByParent = false;    ///< the parent sent the SIGKILL (a timeout overrun)

    /// Concludes the cause. `exit` is what the MPM (or waitpid) said; `lastWords` the last
    /// Exiting/AppExit/FatalSignal record the daemon wrote. A daemon reports every exit it makes
    /// and every fatal signal it can catch, so an ambiguous MPM status without matching last
    /// words is a signal; last words that do not match the status (it said it was exiting, then
    /// was killed while it drained) give way to the status.
    static DaemonDeath conclude(const ProcessExit& exit,
                                const std::optional<protocol::StatusRecord>& lastWords,
                                bool killedByParent);

    /// It ended because it could not start (kExitStartupFailure, or its own report).
    [[nodiscard]] bool startupFailure() const noexcept;
    /// It was told to stop or asked to be recycled and exited for that (not a fault).
    [[nodiscard]] bool planned() const noexcept;
    /// "was killed by signal 9 (Killed)", "exited with status 3: the application called
    /// _exit()", "exited with status 0 after being recycled (maximum-requests)", ...
    [[nodiscard]] std::string describe() const;
};

}  // namespace wsgid::apache
