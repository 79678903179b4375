// SPDX-License-Identifier: Apache-2.0
// The daemon's end of the status pipe (protocol::kStatusFd, docs/protocol.md "Status pipe"): it
// tells the httpd parent that it is ready, that it wants to be recycled, and why it ends, so the
// parent can restart promptly, back off only from start-up failures, and log (and answer
// clients) with the real cause. Also the last words nobody else can say: a crash handler for
// fatal signals and a process-wide _exit() that reports exits by application code. Process-wide
// state; no httpd headers.
#pragma once

#include "protocol/daemon_status.h"

namespace wsgid::daemon {

/// One process-wide reporter (static functions; the descriptor lives in an atomic).
class StatusReporter {
public:
    StatusReporter() = delete;

    /// Takes `fd` (the inherited protocol::kStatusFd) if it is a pipe: close-on-exec (programs
    /// the app starts must not get it) and non-blocking (a report never waits), and installs an
    /// exit hook. Call on the main thread before any other thread exists. False when `fd` is not
    /// a pipe: nothing is reported.
    static bool install(int fd) noexcept;
    /// Installs the fatal-signal handlers (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT): they
    /// report the signal, log WG0270 and hand the signal to the handler that was there before
    /// (Python's faulthandler, which writes every thread's stack to the log) or to the default
    /// action. Call on the main thread after Python started and before the worker threads.
    static void installCrashReport() noexcept;

    /// The daemon serves requests. Once.
    static void ready() noexcept;
    /// Asks the parent for a replacement: it starts one and, once that one is ready, tells this
    /// process to stop (SIGTERM). May be sent again; the parent acts once per process.
    static void recycle(protocol::StopReason reason) noexcept;
    /// The daemon itself is about to exit with `status` because of `reason`; exits after this
    /// are not reported again as exits by application code.
    static void exiting(protocol::StopReason reason, int status) noexcept;
};

}  // namespace wsgid::daemon
