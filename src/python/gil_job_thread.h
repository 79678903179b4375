// SPDX-License-Identifier: Apache-2.0
// GilJobThread: a thread of its own that takes the GIL to run jobs for the daemon's supervisor
// (interrupt-timeout: raising mod_wsgi.RequestTimeout in a wedged worker; SIGHUP and SIGUSR2 for
// mod_wsgi.subscribe_signals callbacks). The supervisor must never wait for the GIL itself: a
// thread holding it in C would stop every other timeout with it. No httpd headers.
#pragma once

#include <functional>
#include <memory>
#include <thread>

namespace wsgid::python {

/// Jobs queued beyond this are dropped (and reported false by post()): the supervisor posts one
/// per request cut off or signal received, so this many waiting means the GIL (or a callback) is
/// stuck, and deadlock-timeout or request-timeout's recycle deals with that.
inline constexpr std::size_t kMaxQueuedGilJobs = 64;

/// The job thread, started on first use. Stop before Python is finalized.
class GilJobThread {
public:
    GilJobThread();
    GilJobThread(const GilJobThread&) = delete;
    GilJobThread& operator=(const GilJobThread&) = delete;
    GilJobThread(GilJobThread&&) = delete;
    GilJobThread& operator=(GilJobThread&&) = delete;
    /// Stops the thread if it runs.
    ~GilJobThread();

    /// Queues `job`, which runs on the job thread with the GIL held and the main interpreter
    /// current (PyGILState); false if it cannot be queued. One thread posts (the supervisor).
    bool post(std::function<void()> job) noexcept;
    /// Stops and joins the thread; one still waiting for a stuck GIL is left behind (detached,
    /// owning its state), as GilWatch does. Queued jobs are dropped.
    void stop() noexcept;

    /// What the thread shares with its owner (gil_job_thread.cpp).
    struct State;

private:
    std::shared_ptr<State> state_;  ///< shared with the thread, which may outlive a stop()
    std::thread thread_;
};

}  // namespace wsgid::python
