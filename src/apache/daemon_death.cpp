// SPDX-License-Identifier: Apache-2.0
// Why a daemon process ended (see daemon_death.h). Pure: no httpd, no APR.
#include "apache/daemon_death.h"

#include "protocol/daemon_args.h"

namespace wsgid::apache {

using protocol::StatusType;
using protocol::StopReason;

namespace {

/// The low byte of an exit status, what a wait status keeps of it.
constexpr int kExitStatusMask = 0xff;

}  // namespace

DaemonDeath DaemonDeath::conclude(const ProcessExit& exit,
                                  const std::optional<protocol::StatusRecord>& lastWords,
                                  bool killedByParent) {
    DaemonDeath d;
    d.killedByParent = killedByParent;
    const bool mayBeExit =
        exit.kind == ProcessExit::Kind::Exited || exit.kind == ProcessExit::Kind::Ambiguous;
    const bool mayBeSignal =
        exit.kind == ProcessExit::Kind::Signaled || exit.kind == ProcessExit::Kind::Ambiguous;
    const auto exitedWith = [&](int reported) {
        return mayBeExit &&
               exit.value == (protocol::httpdSafeExitStatus(reported) & kExitStatusMask);
    };
    if (lastWords) {
        const protocol::StatusRecord& w = *lastWords;
        if (w.type == StatusType::FatalSignal && mayBeSignal && exit.value == w.value) {
            d.cause = Cause::Crashed;
            d.value = w.value;
            d.coreDumped = exit.coreDumped;
            d.coreDumpPossible = (w.flags & protocol::kStatusCoreDumpPossible) != 0;
            return d;
        }
        if (w.type == StatusType::AppExit && exitedWith(w.value)) {
            d.cause = Cause::AppExit;
            d.value = w.value & kExitStatusMask;
            return d;
        }
        if (w.type == StatusType::Exiting && exitedWith(w.value)) {
            d.cause = Cause::Exited;
            d.value = w.value & kExitStatusMask;
            d.reason = w.reason;
            return d;
        }
    }
    d.value = exit.value;
    d.coreDumped = exit.coreDumped;
    // A daemon reports every exit it makes; an ambiguous status it did not report is a signal.
    d.cause = exit.kind == ProcessExit::Kind::Exited ? Cause::Exited : Cause::Signaled;
    return d;
}

bool DaemonDeath::startupFailure() const noexcept {
    return cause == Cause::Exited &&
           (value == protocol::kExitStartupFailure || reason == StopReason::StartupFailure);
}

bool DaemonDeath::planned() const noexcept {
    return cause == Cause::Exited && reason != StopReason::None &&
           reason != StopReason::StartupFailure && reason != StopReason::LostThread;
}

std::string DaemonDeath::describe() const {
    const std::string status = "status " + std::to_string(value);
    switch (cause) {
        case Cause::Exited:
            if (startupFailure()) {
                return "exited with " + status +
                       " (startup failure; the daemon's own message precedes this line)";
            }
            switch (reason) {
                case StopReason::None:
                    return "exited with " + status;
                case StopReason::Signal:
                    return "exited with " + status + " after a stop signal";
                case StopReason::LostThread:
                    return "exited with " + status + " because a server thread failed";
                default:
                    return "exited with " + status + " after being recycled (" +
                           std::string(protocol::toString(reason)) + ")";
            }
        case Cause::AppExit:
            return "exited with " + status +
                   ": the application ended the process (os._exit(), exit() or _exit())";
        case Cause::Signaled:
            return "was killed by " + describeSignal(value) +
                   (killedByParent ? " (sent by httpd: it overran its shutdown-timeout)" : "") +
                   (coreDumped ? ", core dumped" : "");
        case Cause::Crashed:
            return "crashed with " + describeSignal(value) +
                   (coreDumped         ? ", core dumped"
                    : coreDumpPossible ? ", a core dump may have been written"
                                       : "");
        case Cause::Lost:
            return "was lost (no longer a child of httpd)";
    }
    return "ended";
}

}  // namespace wsgid::apache
