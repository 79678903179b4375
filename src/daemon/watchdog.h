// SPDX-License-Identifier: Apache-2.0
// Watchdog: runs an action on a thread of its own once a timeout passes, unless disarmed first.
// For what the main thread cannot bound itself while it is busy (startup-timeout of the preload
// scripts, which run before the supervisor). No httpd, no Python.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace wsgid::daemon {

/// One timeout. Create and disarm on one thread; `fire` runs on the watchdog's thread.
class Watchdog {
public:
    /// Arms it: `fire` runs after `timeout` unless disarm() came first. A zero timeout never
    /// fires (the option is off).
    Watchdog(std::chrono::milliseconds timeout, std::function<void()> fire);
    /// Disarms and joins.
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    Watchdog(Watchdog&&) = delete;
    Watchdog& operator=(Watchdog&&) = delete;

    /// Stops the countdown; `fire` will not run (if it is running, waits for it).
    void disarm() noexcept;

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool disarmed_ = false;  // guarded by mutex_
    std::thread thread_;
};

}  // namespace wsgid::daemon
