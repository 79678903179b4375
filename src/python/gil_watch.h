// SPDX-License-Identifier: Apache-2.0
// GilWatch: a heartbeat that takes the GIL once a second and notes when it got it, so the daemon
// can tell a GIL held far too long (deadlock-timeout) and avoid blocking on it for a stack dump.
// No httpd headers.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

namespace wsgid::python {

/// How often the heartbeat takes the GIL: once a second costs nothing, and deadlock-timeout is
/// whole seconds.
inline constexpr std::chrono::seconds kGilBeatInterval{1};

/// How long stop() waits for a thread that is waiting for (or holding) the GIL to come out before
/// leaving it behind. The GIL changes hands every switch interval (5 ms), so a second is plenty
/// unless a thread holds it for good; a thread left behind that later meets Python's
/// finalization is ended by CPython with pthread_exit, which aborts the process when it unwinds
/// through our noexcept thread function.
inline constexpr std::chrono::seconds kGilStopGrace{1};

/// The heartbeat thread. Start after Python is initialised (it uses the main interpreter's
/// PyGILState API), stop before Python is finalized.
class GilWatch {
public:
    using Clock = std::chrono::steady_clock;

    GilWatch();
    GilWatch(const GilWatch&) = delete;
    GilWatch& operator=(const GilWatch&) = delete;
    GilWatch(GilWatch&&) = delete;
    GilWatch& operator=(GilWatch&&) = delete;
    /// Stops the thread if it runs.
    ~GilWatch();

    /// Starts the heartbeat; false if the thread cannot be started.
    bool start() noexcept;
    /// Stops the heartbeat and joins it; one still waiting for a stuck GIL is left behind
    /// (detached, owning its state), which only a process about to _exit ever meets.
    void stop() noexcept;
    /// When the heartbeat last held the GIL; std::nullopt when it does not run.
    [[nodiscard]] std::optional<Clock::time_point> lastBeat() const noexcept;

    /// What the heartbeat thread shares with its owner (gil_watch.cpp).
    struct State;

private:
    std::shared_ptr<State> state_;  ///< shared with the thread, which may outlive a stop()
    std::thread thread_;
};

}  // namespace wsgid::python
