// SPDX-License-Identifier: Apache-2.0
// Runtime::Impl and WorkerScope::Impl (runtime.h), shared by the files that implement Runtime:
// runtime.cpp (start-up, worker scopes, dispatch), runtime_shutdown.cpp, runtime_signals.cpp and
// runtime_timeouts.cpp. Include it nowhere else.
#pragma once

#include "python/python.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/log_sink.h"
#include "common/status.h"
#include "python/environ.h"
#include "python/gil_job_thread.h"
#include "python/gil_watch.h"
#include "python/interpreter.h"
#include "python/process_metrics.h"
#include "python/runtime.h"

namespace wsgid::python {

/// A request running on a worker thread, for Runtime::interrupt().
struct RunningCall {
    Interpreter* interpreter = nullptr;
    // Read back through the map in ~CallRecord, which cppcheck does not follow.
    // cppcheck-suppress unusedStructMember
    std::string requestId;
    bool interrupted = false;  ///< RequestTimeout was raised in its thread
};

/// The requests running on worker threads, by thread ident. The mutex is taken with or without
/// the GIL, but no thread waits for the GIL while holding it.
struct CallRegistry {
    std::mutex mutex;
    std::map<unsigned long, RunningCall> byThread;  // guarded by mutex
};

/// The worker's thread state in one interpreter.
struct EnteredInterpreter {
    std::string group;
    Interpreter* interpreter = nullptr;
    PyThreadState* state = nullptr;
    bool owned = true;  // false for the start thread's main thread state, which Runtime owns
};

struct Runtime::Impl {
    RuntimeConfig config;
    common::LogSink* log = nullptr;
    EnvironSettings environ;
    std::thread::id startThread;
    PyThreadState* mainThreadState = nullptr;  // the start thread's, saved while it is idle
    std::unique_ptr<Interpreter> main;
    std::mutex registryMutex;                                  // never locked with the GIL held
    std::map<std::string, std::unique_ptr<Interpreter>> subs;  // guarded by registryMutex
    std::atomic<bool> finalized{false};
    GilWatch gilWatch;  // deadlock-timeout's heartbeat; stopped before finalization
    std::unique_ptr<ProcessMetrics> metrics;  // mod_wsgi.process_metrics() and the others

    CallRegistry calls;             // the requests running on workers, for interrupt()
    GilJobThread interrupter;       // interrupt-timeout's GIL taker; stopped before finalization
    GilJobThread signalDispatcher;  // runs subscribe_signals callbacks; stopped before that

    common::Result<EnteredInterpreter> enter(WorkerScope::Impl& worker, const std::string& group);
    /// On the interrupter thread, GIL held: raises RequestTimeout in `thread` if it still runs
    /// `requestId`.
    void raiseRequestTimeout(unsigned long thread, const std::string& requestId,
                             std::chrono::seconds grace) noexcept;
    void keepInterpreters(std::string_view reason) noexcept;
};

struct WorkerScope::Impl {
    Runtime::Impl& runtime;
    std::thread::id owner = std::this_thread::get_id();
    std::vector<EnteredInterpreter> entered;  // [0] is always the main interpreter

    explicit Impl(Runtime::Impl& r) : runtime(r) {}
};

}  // namespace wsgid::python
