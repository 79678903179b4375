// SPDX-License-Identifier: Apache-2.0
// The daemon's main loop (see supervisor.h). No httpd, no Python.
#include "daemon/supervisor.h"

#include <string>

#include <unistd.h>

#include "common/duration_text.h"
#include "daemon/status_reporter.h"

namespace wsgid::daemon {

using common::LogLevel;
using protocol::StopReason;

namespace {

TimeoutLimits timeoutsOf(const protocol::DaemonLifecycle& l) noexcept {
    return {.requestTimeout = std::chrono::seconds(l.requestTimeoutSec),
            .deadlockTimeout = std::chrono::seconds(l.deadlockTimeoutSec),
            .startupTimeout = std::chrono::seconds(l.startupTimeoutSec),
            .interruptTimeout = std::chrono::seconds(l.interruptTimeoutSec)};
}

std::string seconds(std::chrono::seconds s) {
    return common::durationText(s);
}

RecycleLimits limitsOf(const protocol::DaemonLifecycle& l) noexcept {
    return {.maximumRequests = l.maximumRequests,
            .restartInterval = std::chrono::seconds(l.restartIntervalSec),
            .inactivityTimeout = std::chrono::seconds(l.inactivityTimeoutSec),
            .maximumMemoryBytes = l.maximumMemoryBytes};
}

}  // namespace

Supervisor::Supervisor(Server& server, SignalWatcher& signals, common::LogSink& log,
                       const protocol::DaemonArgs& args, bool reporting,
                       RuntimeProbe* probe) noexcept
    : server_(server),
      signals_(signals),
      log_(log),
      args_(args),
      reporting_(reporting),
      probe_(probe),
      recycle_(limitsOf(args.lifecycle), common::Clock::now()),
      timeouts_(timeoutsOf(args.lifecycle)) {}

SupervisionEnd Supervisor::run() {
    const bool watchMemory = args_.lifecycle.maximumMemoryBytes > 0;
    for (;;) {
        const auto signo = signals_.next(common::Deadline::after(kSupervisionInterval));
        if (!server_.healthy()) {
            log_.log(LogLevel::Critical, "WG0261",
                     "the server lost a thread; stopping so that a fresh daemon is started");
            // Not kExitStartupFailure: the daemon did start; a plain restart is right.
            return stopFor(std::nullopt, 1, StopReason::LostThread);
        }
        if (signo) {
            switch (actionFor(*signo)) {
                case SignalAction::Publish: {
                    const bool queued =
                        probe_ != nullptr && probe_->publishSignal(*signo, signalName(*signo));
                    log_.log(LogLevel::Info, "WG0262",
                             "received " + signalName(*signo) +
                                 (queued ? "; passed to mod_wsgi.subscribe_signals callbacks"
                                         : "; ignored (no Python to pass it to)"));
                    break;
                }
                case SignalAction::Ignore:
                    log_.log(LogLevel::Info, "WG0262",
                             "received " + signalName(*signo) + "; ignored");
                    break;
                case SignalAction::Evict:
                    if (!askForReplacement(StopReason::Evicted, std::nullopt)) {
                        return stopFor(StopReason::Evicted, 0, StopReason::Evicted);
                    }
                    break;
                case SignalAction::CpuTimeLimit:
                    if (!askForReplacement(StopReason::CpuTimeLimit, std::nullopt)) {
                        return stopFor(StopReason::CpuTimeLimit, 0, StopReason::CpuTimeLimit);
                    }
                    break;
                case SignalAction::GracefulStop: {
                    const auto recycled = recycle_.reason();
                    const SupervisionEnd end =
                        stopFor(recycled, 0, recycled.value_or(StopReason::Signal));
                    log_.log(LogLevel::Notice, "WG0263",
                             "received " + signalName(*signo) +
                                 (recycled ? "; its replacement serves, so it stops taking "
                                             "requests and finishes those it has (at most "
                                           : "; stopping gracefully (at most ") +
                                 common::durationText(end.drain) + ")");
                    return end;
                }
            }
        }
        if (!enforceTimeouts()) {
            const auto reason = recycle_.reason().value_or(StopReason::RequestTimeout);
            return stopFor(reason, 0, reason);
        }
        const ServerActivity activity = server_.activity();
        const auto rss = watchMemory ? residentBytes() : std::nullopt;
        if (const auto due = recycle_.check(common::Clock::now(), activity, rss)) {
            if (!askForReplacement(*due, rss)) {
                return stopFor(due, 0, *due);
            }
        }
    }
}

bool Supervisor::askForReplacement(StopReason reason, std::optional<std::uint64_t> rss) {
    const bool first = recycle_.note(reason) || recycle_.reason() == reason;
    const std::string why = recycle_.describe(reason, server_.activity(), rss);
    if (!reporting_) {
        log_.log(LogLevel::Notice, "WG0290",
                 why + "; no status pipe to ask the parent for a replacement, so stopping");
        return false;
    }
    if (!first) {
        log_.log(LogLevel::Info, "WG0290",
                 why + "; a replacement was already asked for (" +
                     std::string(protocol::toString(*recycle_.reason())) + ")");
        return true;
    }
    log_.log(LogLevel::Notice, "WG0290",
             why + "; asking the parent for a replacement, serving until it is ready");
    StatusReporter::recycle(reason);
    return true;
}

bool Supervisor::enforceTimeouts() {
    const TimeoutLimits& limits = timeouts_.limits();
    if (limits.requestTimeout.count() == 0 && limits.deadlockTimeout.count() == 0 &&
        limits.startupTimeout.count() == 0) {
        return true;
    }
    const auto now = common::Clock::now();
    const auto gilBeat = probe_ != nullptr ? probe_->lastGilBeat() : std::nullopt;
    const auto oldestLoad = probe_ != nullptr ? probe_->oldestScriptLoad() : std::nullopt;
    const TimeoutActions actions =
        timeouts_.check(now, server_.runningRequests(), gilBeat, oldestLoad);
    for (const RunningRequest& r : actions.cutOff) {
        cutOff(r);
    }
    if (!actions.recycle) {
        return true;
    }
    switch (*actions.recycle) {
        case StopReason::RequestTimeout:
            log_.log(LogLevel::Error, "WG0293",
                     "the thread of request " +
                         (actions.stuck ? actions.stuck->requestId : std::string("?")) +
                         " is still in the application " + seconds(limits.letGoGrace()) +
                         " after its request-timeout" +
                         (limits.interruptTimeout.count() > 0
                              ? std::string(" (interrupt-timeout: mod_wsgi.RequestTimeout did "
                                            "not get it out)")
                              : std::string()) +
                         "; the process is recycled once its other requests finish");
            break;
        case StopReason::DeadlockTimeout:
            logWithAllStacks(LogLevel::Critical, "WG0294",
                             "no thread could take the GIL for deadlock-timeout=" +
                                 seconds(limits.deadlockTimeout));
            break;
        case StopReason::StartupTimeout:
            logWithAllStacks(LogLevel::Error, "WG0295",
                             "loading a WSGI script has taken more than startup-timeout=" +
                                 seconds(limits.startupTimeout));
            break;
        default:
            break;
    }
    return askForReplacement(*actions.recycle, std::nullopt);
}

void Supervisor::logWithAllStacks(LogLevel level, std::string_view id, const std::string& what) {
    log_.log(level, id,
             what +
                 "; the Python stacks of every thread follow (faulthandler format), then the "
                 "process is recycled");
    if (probe_ != nullptr) {
        probe_->dumpAllStacks(STDERR_FILENO);
    }
}

void Supervisor::cutOff(const RunningRequest& request) {
    const std::string id = request.requestId.empty() ? std::string("?") : request.requestId;
    const std::string limit = seconds(timeouts_.limits().requestTimeout);
    const std::vector<std::string> stack =
        probe_ != nullptr ? probe_->stackOf(request.thread) : std::vector<std::string>();
    log_.log(LogLevel::Error, "WG0292",
             "request " + id + " has run longer than request-timeout=" + limit +
                 "; it is cut off. " +
                 (stack.empty() ? std::string("Its thread runs no Python code now.")
                                : std::string("The Python stack of its thread (most recent "
                                              "call first):")));
    const std::string prefix = "request " + id + ":";
    for (const std::string& line : stack) {
        log_.log(LogLevel::Error, "WG0292", prefix + line);
    }
    const bool answered =
        server_.timeOut(request, "request-timeout (" + limit + ") passed; the request was cut off");
    if (!answered) {
        log_.log(
            LogLevel::Error, "WG0292",
            "request " + id + ": its response had started, so the client connection is aborted");
    }
    const std::chrono::seconds interrupt = timeouts_.limits().interruptTimeout;
    if (interrupt.count() > 0 && probe_ != nullptr &&
        !probe_->interrupt(request.thread, request.requestId, interrupt)) {
        log_.log(LogLevel::Warning, "WG0297",
                 "request " + id +
                     ": mod_wsgi.RequestTimeout cannot be raised in its thread; it "
                     "has " +
                     seconds(interrupt) + " to leave the application on its own");
    }
}

SupervisionEnd Supervisor::stopFor(std::optional<StopReason> recycled, int exitCode,
                                   StopReason reason) const {
    const auto& l = args_.lifecycle;
    SupervisionEnd end;
    end.exitCode = exitCode;
    end.reason = reason;
    end.drain = drainBound(recycled, std::chrono::seconds(l.gracefulTimeoutSec),
                           std::chrono::seconds(l.evictionTimeoutSec),
                           std::chrono::seconds(args_.shutdownTimeoutSec));
    end.finalizeAfterDrain = recycled.has_value();
    return end;
}

}  // namespace wsgid::daemon
