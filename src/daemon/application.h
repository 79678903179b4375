// SPDX-License-Identifier: Apache-2.0
// Application: what the Server runs requests with. main.cpp adapts python::Runtime to it; tests
// use fakes, so libwsgid_daemon.la and its tests need no Python. No httpd headers here.
#pragma once

#include <memory>

#include "python/request_io.h"

namespace wsgid::daemon {

/// Per-thread state of an Application (for Python: the worker's thread states). Made by
/// Application::makeWorker on the worker thread that uses it, destroyed on that same thread.
class Worker {
public:
    virtual ~Worker() = default;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    Worker() = default;
    Worker(const Worker&) = default;
    Worker& operator=(const Worker&) = default;
    Worker(Worker&&) = default;
    Worker& operator=(Worker&&) = default;
};

/// Runs requests. makeWorker and handle are called concurrently from the Server's worker threads,
/// so implementations must be thread-safe; the Application must outlive the Server.
class Application {
public:
    virtual ~Application() = default;

    /// Per-thread state for the calling worker thread; nullptr if it cannot be made (the Server
    /// then reports itself unhealthy and the daemon exits so the parent starts a fresh one).
    virtual std::unique_ptr<Worker> makeWorker() noexcept = 0;

    /// Runs one request on the calling worker thread, which owns `worker`. Reads the body and
    /// writes the response through `io`; every `io` call is bounded by a deadline.
    virtual python::CallOutcome handle(Worker& worker, const python::WsgiRequest& request,
                                       python::RequestIo& io) noexcept = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    Application() = default;
    Application(const Application&) = default;
    Application& operator=(const Application&) = default;
    Application(Application&&) = default;
    Application& operator=(Application&&) = default;
};

}  // namespace wsgid::daemon
