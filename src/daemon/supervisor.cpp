// SPDX-License-Identifier: Apache-2.0
// The daemon's main loop (see supervisor.h). No httpd, no Python.
#include "daemon/supervisor.h"

#include <string>

#include "daemon/status_reporter.h"

namespace wsgid::daemon {

using common::LogLevel;
using protocol::StopReason;

namespace {

RecycleLimits limitsOf(const protocol::DaemonLifecycle& l) noexcept {
    return {.maximumRequests = l.maximumRequests,
            .restartInterval = std::chrono::seconds(l.restartIntervalSec),
            .inactivityTimeout = std::chrono::seconds(l.inactivityTimeoutSec),
            .maximumMemoryBytes = l.maximumMemoryBytes};
}

}  // namespace

Supervisor::Supervisor(Server& server, SignalWatcher& signals, common::LogSink& log,
                       const protocol::DaemonArgs& args, bool reporting) noexcept
    : server_(server),
      signals_(signals),
      log_(log),
      args_(args),
      reporting_(reporting),
      recycle_(limitsOf(args.lifecycle), common::Clock::now()) {}

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
                                 std::to_string(end.drain.count()) + " s)");
                    return end;
                }
            }
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
