// SPDX-License-Identifier: Apache-2.0
// Restart decisions for daemon process slots (see restart_policy.h). Pure: no httpd, no APR.
#include "apache/restart_policy.h"

#include <algorithm>
#include <csignal>
#include <cstring>

#include <sys/wait.h>

#include "protocol/daemon_args.h"

namespace wsgid::apache {

namespace {

/// Highest signal number on Linux (SIGRTMAX with glibc); larger statuses are exit codes.
constexpr int kHighestSignal = 64;

/// httpd's APEXIT_CHILDFATAL. A process of httpd's that exits with this status makes the MPM shut
/// the whole server down before any other-child callback runs, so a callback that sees 15 from the
/// MPM's main loop is looking at SIGTERM.
constexpr int kHttpdChildFatalExit = 15;

/// Doublings after which any base delay has passed kMaxBackoff (2^7 s > 60 s); stops overflow.
constexpr int kMaxDoublings = 7;

SupervisorDuration exponential(std::chrono::seconds first, int failures) noexcept {
    const int doublings = std::min(std::max(failures - 1, 0), kMaxDoublings);
    const auto delay = first * (1 << doublings);
    return std::min<SupervisorDuration>(delay, kMaxBackoff);
}

}  // namespace

std::string describeSignal(int sig) {
    // sigdescr_np is the thread-safe strsignal; it knows no real-time or invalid numbers, so
    // those get the words strsignal would have used.
    std::string name;
    if (const char* descr = ::sigdescr_np(sig); descr != nullptr) {
        name = descr;
    } else if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        name = "Real-time signal " + std::to_string(sig - SIGRTMIN);
    } else {
        name = "Unknown signal " + std::to_string(sig);
    }
    std::string text = "signal " + std::to_string(sig) + " (";
    text += name;
    text += ')';
    return text;
}

ProcessExit ProcessExit::fromWaitStatus(int status) noexcept {
    if (WIFSIGNALED(status)) {
        return {Kind::Signaled, WTERMSIG(status), WCOREDUMP(status) != 0};
    }
    if (WIFEXITED(status)) {
        return {Kind::Exited, WEXITSTATUS(status), false};
    }
    return {Kind::Ambiguous, status, false};
}

ProcessExit ProcessExit::fromMpmStatus(int value) noexcept {
    if (value <= 0 || value > kHighestSignal) {
        return {Kind::Exited, value, false};
    }
    if (value == kHttpdChildFatalExit) {
        return {Kind::Signaled, SIGTERM, false};
    }
    return {Kind::Ambiguous, value, false};
}

bool ProcessExit::isStartupFailure() const noexcept {
    return kind == Kind::Exited && value == protocol::kExitStartupFailure;
}

std::string ProcessExit::describe() const {
    switch (kind) {
        case Kind::Exited:
            if (isStartupFailure()) {
                return "exited with status " + std::to_string(value) +
                       " (startup failure; the daemon's own message precedes this line)";
            }
            return "exited with status " + std::to_string(value);
        case Kind::Signaled:
            return "killed by " + describeSignal(value) + (coreDumped ? ", core dumped" : "");
        case Kind::Ambiguous:
            return "ended with status " + std::to_string(value) + ": killed by " +
                   describeSignal(value) + " or exited with that code (httpd does not say which)";
    }
    return "ended";
}

SupervisorDuration RestartBackoff::next(const SlotEnding& how) noexcept {
    if (how.startupFailure) {
        ++failures_;
        return exponential(kFirstStartupFailureBackoff, failures_);
    }
    if (how.wasReady) {
        failures_ = 0;
        return SupervisorDuration::zero();
    }
    ++failures_;
    return exponential(kFirstBackoff, failures_);
}

SupervisorDuration RestartBackoff::nextAfterSpawnFailure() noexcept {
    ++failures_;
    return exponential(kFirstBackoff, failures_);
}

void ProcessSlot::started(pid_t pid, SupervisorTime now, SupervisorDuration delay) noexcept {
    phase_ = Phase::Running;
    pid_ = pid;
    ++starts_;
    execAt_ = now + delay;
}

SupervisorDuration ProcessSlot::startFailed(SupervisorTime now) noexcept {
    const auto delay = backoff_.nextAfterSpawnFailure();
    if (phase_ != Phase::Stopping) {
        phase_ = Phase::Down;
    }
    pid_ = 0;
    nextStart_ = now + delay;
    return delay;
}

SupervisorDuration ProcessSlot::uptime(SupervisorTime now) const noexcept {
    return std::max<SupervisorDuration>(now - execAt_, SupervisorDuration::zero());
}

ProcessSlot::Decision ProcessSlot::ended(SupervisorTime now, const SlotEnding& how,
                                         bool serverStopping) noexcept {
    Decision d;
    d.uptime = uptime(now);
    d.startupFailure = how.startupFailure;
    d.wasReady = how.wasReady;
    pid_ = 0;
    recycle_.reset();
    if (serverStopping || phase_ == Phase::Stopping) {
        phase_ = Phase::Stopping;
        d.failures = backoff_.failures();
        return d;
    }
    if (replacementPid_ > 0) {
        // The replacement started for a recycle takes over at once, ready or not.
        pid_ = replacementPid_;
        execAt_ = replacementExecAt_;
        replacementPid_ = 0;
        ++starts_;
        d.promoted = true;
        d.failures = backoff_.failures();
        return d;
    }
    phase_ = Phase::Down;
    d.delay = backoff_.next(how);
    d.failures = backoff_.failures();
    d.restart = true;
    nextStart_ = now + d.delay;
    return d;
}

void ProcessSlot::stopping() noexcept {
    phase_ = Phase::Stopping;
}

bool ProcessSlot::due(SupervisorTime now) const noexcept {
    return phase_ == Phase::Down && now >= nextStart_;
}

void ProcessSlot::recycleRequested(protocol::StopReason reason) noexcept {
    if (phase_ == Phase::Running && pid_ > 0 && !recycle_) {
        recycle_ = reason;
    }
}

bool ProcessSlot::replacementDue(SupervisorTime now) const noexcept {
    return recycle_.has_value() && phase_ == Phase::Running && replacementPid_ == 0 &&
           now >= nextReplacement_;
}

std::optional<SupervisorTime> ProcessSlot::nextReplacementAttempt() const noexcept {
    if (recycle_ && phase_ == Phase::Running && replacementPid_ == 0) {
        return nextReplacement_;
    }
    return std::nullopt;
}

void ProcessSlot::replacementStarted(pid_t pid, SupervisorTime now) noexcept {
    replacementPid_ = pid;
    replacementExecAt_ = now;
}

SupervisorDuration ProcessSlot::replacementStartFailed(SupervisorTime now) noexcept {
    const auto delay = replacementBackoff_.nextAfterSpawnFailure();
    replacementPid_ = 0;
    nextReplacement_ = now + delay;
    return delay;
}

pid_t ProcessSlot::replacementReady(SupervisorTime /*now*/) noexcept {
    const pid_t old = pid_;
    pid_ = replacementPid_;
    execAt_ = replacementExecAt_;
    replacementPid_ = 0;
    recycle_.reset();
    replacementBackoff_ = RestartBackoff();
    // A process that ran until it was recycled was ready: the slot's own backoff starts over.
    backoff_ = RestartBackoff();
    ++starts_;
    return old;
}

ProcessSlot::Decision ProcessSlot::replacementEnded(SupervisorTime now,
                                                    const SlotEnding& how) noexcept {
    Decision d;
    d.uptime = std::max<SupervisorDuration>(now - replacementExecAt_, SupervisorDuration::zero());
    d.startupFailure = how.startupFailure;
    d.wasReady = how.wasReady;
    replacementPid_ = 0;
    // Whatever it said, it never took over: a failed start for the replacement's backoff.
    d.delay = replacementBackoff_.next({.startupFailure = how.startupFailure, .wasReady = false});
    d.failures = replacementBackoff_.failures();
    d.restart = recycle_.has_value() && phase_ == Phase::Running;
    nextReplacement_ = now + d.delay;
    return d;
}

}  // namespace wsgid::apache
