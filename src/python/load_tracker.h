// SPDX-License-Identifier: Apache-2.0
// LoadTracker: the WSGI script loads in progress in this process, so the daemon can tell a load
// that hangs (startup-timeout). Process-wide; any thread. No httpd headers.
#pragma once

#include <chrono>
#include <optional>

namespace wsgid::python {

/// Script loads in progress (executing a script's module code), by start time.
class LoadTracker {
public:
    using Clock = std::chrono::steady_clock;

    LoadTracker() = delete;

    /// A load in progress while alive.
    class Scope {
    public:
        Scope();
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        Scope(Scope&&) = delete;
        Scope& operator=(Scope&&) = delete;

    private:
        Clock::time_point started_;
    };

    /// When the oldest load still in progress began, if any.
    static std::optional<Clock::time_point> oldestInProgress();
};

}  // namespace wsgid::python
