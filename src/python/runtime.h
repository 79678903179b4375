// SPDX-License-Identifier: Apache-2.0
// Runtime: the daemon's single entry point into Python. Owns interpreter start-up, the
// sub-interpreters per application group, per-worker thread states and bounded finalization.
// Long story: docs/architecture.md "GIL and thread model".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/interpreter_options.h"
#include "common/log_sink.h"
#include "common/python_settings.h"
#include "common/status.h"
#include "python/process_metrics.h"
#include "python/request_io.h"

namespace wsgid::python {

/// Settings for Py_InitializeFromConfig and the per-interpreter set-up.
struct RuntimeConfig {
    std::string pythonHome;               ///< PyConfig.home; empty = the built-in prefix
    std::vector<std::string> pythonPath;  ///< added with site.addsitedir, moved to the front
    std::string home;                     ///< inserted at sys.path[0] when set
    std::string processGroup;             ///< mod_wsgi.process_group
    int threads = 15;                     ///< wsgi.multithread = threads > 1
    int processes = 1;
    bool multiprocess = false;      ///< wsgi.multiprocess
    common::PythonSettings python;  ///< WSGIPythonOptimize, WSGIRestrictStdout, ...
    /// <WSGIInterpreterOptions> sections of this group, least specific first: applied to each
    /// interpreter's WSGIRestrict*, switch interval and python-path as it is created.
    std::vector<common::InterpreterOptions> interpreterOptions;
    common::LogSink* log = nullptr;   ///< wsgi.errors, sys.stdout/stderr, our own lines
    bool serverMetrics = false;       ///< server-metrics=: mod_wsgi.server_metrics() answers
    std::string newrelicConfigFile;   ///< newrelic-config-file=: start the agent in interpreters
    std::string newrelicEnvironment;  ///< newrelic-environment=
    int processIndex = 0;             ///< this process's number in its group (server_metrics())
    std::uint32_t generation = 0;     ///< httpd generation that started it (server_metrics())
    /// The process's request accounting (set by Runtime::start, which owns it).
    ProcessMetrics* metrics = nullptr;
    /// See CallContext::inFlightGrace.
    std::chrono::milliseconds inFlightGrace = kInFlightGrace;
};

class Runtime;

/// Python state of one worker thread: its thread state in each interpreter it has entered
/// (kept for the thread's lifetime so threading.local survives between requests).
/// Create on the worker thread at start, destroy on the same thread before it exits.
class WorkerScope {
public:
    explicit WorkerScope(Runtime& runtime);
    ~WorkerScope();
    WorkerScope(const WorkerScope&) = delete;
    WorkerScope& operator=(const WorkerScope&) = delete;
    WorkerScope(WorkerScope&&) = delete;
    WorkerScope& operator=(WorkerScope&&) = delete;

private:
    friend class Runtime;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Python for one daemon process. Construct with start() on the main thread; it returns with the
/// GIL released. handle() is called concurrently from worker threads.
class Runtime {
public:
    /// Initialises Python (isolated config, no signal handlers). On failure the message says
    /// what to change ("python-home '/x' has no lib/python3.11/encodings").
    static common::Result<std::unique_ptr<Runtime>> start(const RuntimeConfig& config);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    Runtime(Runtime&&) = delete;
    Runtime& operator=(Runtime&&) = delete;

    /// Loads a script into an application group ahead of the first request (preload). A script
    /// that ends by raising SystemExit (a service script told to stop) gives ErrorCode::Closed.
    common::Status preload(WorkerScope& worker, const std::string& scriptFilename,
                           const std::string& applicationGroup);

    /// For a service-script daemon (threads=0): from now on SIGTERM and SIGINT raise SystemExit
    /// in the main thread while it runs Python code in the main interpreter (application-group
    /// %{GLOBAL}), so a service script's finally/with blocks run at stop; once one has, further
    /// SIGTERMs and SIGINTs are ignored so they cannot cut that cleanup short. Installs the
    /// handlers through Python's own signal module, which replaces the daemon's self-pipe handlers
    /// for these two signals. With `on` false, both go back to their default action (the process
    /// ends at once), for the finalization after the scripts. Call on the main thread (the one
    /// that called start()), which owns `worker`.
    common::Status stopRaisesSystemExit(WorkerScope& worker, bool on);

    /// Runs one WSGI request. Call without the GIL, from the thread that owns `worker`.
    CallOutcome handle(WorkerScope& worker, const WsgiRequest& request, RequestIo& io) noexcept;

    /// Publishes process_stopping (mod_wsgi.subscribe_shutdown) with `reason` in every
    /// interpreter, runs atexit and finalizes, giving up after `timeout` (the caller then
    /// _exits). Call on the main thread after all workers have been joined. Stops the GIL
    /// heartbeat.
    void shutdown(std::chrono::milliseconds timeout,
                  std::string_view reason = "shutdown_signal") noexcept;

    // ---- for the daemon's timeouts (docs/operations.md) ----------------------------------

    /// The Python stack running on OS thread `threadIdent` (pthread_self() of a worker), most
    /// recent call first (stack_dump.h: read without the GIL). Any thread.
    std::vector<std::string> stackOf(unsigned long threadIdent) noexcept;
    /// Writes every thread's Python stack to `fd` without the GIL (stack_dump.h). Any thread.
    void dumpAllStacks(int fd) noexcept;
    /// Raises mod_wsgi.RequestTimeout in OS thread `threadIdent` if it still runs request
    /// `requestId` (interrupt-timeout=), from a thread of the Runtime's own, so the caller never
    /// waits for the GIL; `grace` is only for the log line. False if it cannot be queued. Call
    /// from one thread (the supervisor's).
    bool interrupt(unsigned long threadIdent, const std::string& requestId,
                   std::chrono::seconds grace) noexcept;
    /// Calls the mod_wsgi.subscribe_signals callbacks of every interpreter with `signo` (named
    /// `name`), on a thread of the Runtime's own; false if that cannot be queued. Call from one
    /// thread (the supervisor's).
    bool publishSignal(int signo, const std::string& name) noexcept;
    /// Starts the GIL heartbeat (gil_watch.h); false if it cannot run.
    bool startGilWatch() noexcept;
    /// When the heartbeat last held the GIL; std::nullopt when it does not run.
    [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> lastGilBeat() const noexcept;
    /// When the oldest WSGI script load still in progress began (load_tracker.h).
    [[nodiscard]] static std::optional<std::chrono::steady_clock::time_point> oldestScriptLoad();

private:
    friend class WorkerScope;
    Runtime();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace wsgid::python
