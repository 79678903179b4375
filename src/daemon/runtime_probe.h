// SPDX-License-Identifier: Apache-2.0
// RuntimeProbe: what the daemon's supervisor asks of the Python runtime to enforce
// request-timeout, deadlock-timeout and startup-timeout: stacks, the GIL's heartbeat and the
// script loads in progress. main.cpp adapts python::Runtime to it; tests use fakes, so the daemon
// library needs no Python. No httpd headers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/socket_io.h"

namespace wsgid::daemon {

/// The Python runtime, as the supervisor sees it. Called on the daemon's main thread.
class RuntimeProbe {
public:
    virtual ~RuntimeProbe() = default;

    /// The Python stack of OS thread `threadIdent`, most recent call first (read without the
    /// GIL, so it never blocks).
    virtual std::vector<std::string> stackOf(unsigned long threadIdent) noexcept = 0;
    /// Writes every thread's Python stack to `fd` without the GIL.
    virtual void dumpAllStacks(int fd) noexcept = 0;
    /// Raises mod_wsgi.RequestTimeout in OS thread `threadIdent` if it still runs `requestId`
    /// (interrupt-timeout), without waiting for the GIL; false if that cannot be arranged.
    virtual bool interrupt(unsigned long threadIdent, const std::string& requestId,
                           std::chrono::seconds grace) noexcept = 0;
    /// Hands `signo` to the app's mod_wsgi.subscribe_signals callbacks without waiting for the
    /// GIL; false if that cannot be arranged.
    virtual bool publishSignal(int signo, const std::string& name) noexcept = 0;
    /// When the GIL heartbeat last held the GIL; std::nullopt when it does not run.
    [[nodiscard]] virtual std::optional<common::Clock::time_point> lastGilBeat() const noexcept = 0;
    /// When the oldest WSGI script load still in progress began.
    [[nodiscard]] virtual std::optional<common::Clock::time_point> oldestScriptLoad() const = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    RuntimeProbe() = default;
    RuntimeProbe(const RuntimeProbe&) = default;
    RuntimeProbe& operator=(const RuntimeProbe&) = default;
    RuntimeProbe(RuntimeProbe&&) = default;
    RuntimeProbe& operator=(RuntimeProbe&&) = default;
};

}  // namespace wsgid::daemon
