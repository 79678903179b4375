// SPDX-License-Identifier: Apache-2.0
// Runtime and WorkerScope (see runtime.h): the registry of interpreters by application group,
// the per-worker thread states and request dispatch. Finalization is in runtime_shutdown.cpp,
// signals in runtime_signals.cpp, the timeouts' helpers in runtime_timeouts.cpp.
// Thread/GIL rules: docs/architecture.md "GIL and thread model". In short: the registry mutex is
// never taken with the GIL held; workers enter Python only through their own thread states.
#include "python/python.h"

#include "python/runtime.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "python/gil.h"
#include "python/hook_call.h"
#include "python/interpreter.h"
#include "python/py_ref.h"
#include "python/runtime_impl.h"
#include "python/script_loader.h"
#include "python/wsgi_call.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdStartFailed = "WG0301";
constexpr std::string_view kIdSubCreated = "WG0302";
constexpr std::string_view kIdSubFailed = "WG0303";
constexpr std::string_view kIdInternal = "WG0335";
constexpr std::string_view kIdMisuse = "WG0336";
constexpr std::string_view kIdLetGo = "WG0341";

// Used when RuntimeConfig.log is null: one write() per line to stderr, which is the error log in
// the daemon. Never destroyed (Python's sys.stdout may write to it until the process ends).
class StderrLogSink final : public common::LogSink {
public:
    void log(common::LogLevel /*level*/, std::string_view id,
             std::string_view message) noexcept override {
        try {
            std::string line;
            line.reserve(id.size() + message.size() + 3);
            line.append(id).append(": ").append(message).append("\n");
            // A failed write to stderr has nowhere better to be reported.
            (void)::write(2, line.data(), line.size());
        } catch (...) {
            // Out of memory while logging: drop the line.
        }
    }
};

common::LogSink& stderrSink() {
    static auto* sink = new StderrLogSink;
    return *sink;
}

double wallSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

CallOutcome failure(CallOutcome::Kind kind, std::string message) {
    return {kind, false, std::move(message)};
}

/// Files the request a worker runs in Runtime::Impl::calls for its duration (made and destroyed
/// without the GIL). If RequestTimeout was raised in the thread, clears it in case it is still
/// pending (the app returned before running more bytecode), so the next request does not get it.
class CallRecord {
public:
    CallRecord(CallRegistry& calls, common::LogSink& log, Interpreter* interpreter,
               PyThreadState* state, const std::string& requestId)
        : calls_(calls), log_(log), state_(state), thread_(PyThread_get_thread_ident()) {
        const std::lock_guard lock(calls_.mutex);
        calls_.byThread[thread_] = {interpreter, requestId, false};
    }
    ~CallRecord() {
        bool interrupted = false;
        std::string requestId;
        {
            const std::lock_guard lock(calls_.mutex);
            const auto it = calls_.byThread.find(thread_);
            if (it != calls_.byThread.end()) {
                interrupted = it->second.interrupted;
                requestId = std::move(it->second.requestId);
                calls_.byThread.erase(it);
            }
        }
        if (interrupted) {
            {
                const EnterThreadState python(state_);
                PyThreadState_SetAsyncExc(thread_, nullptr);
            }
            try {
                log_.log(common::LogLevel::Notice, kIdLetGo,
                         "request " + requestId +
                             ": its thread left the application after mod_wsgi.RequestTimeout; "
                             "the process goes on serving");
            } catch (...) {
                // Out of memory while logging: drop the line.
            }
        }
    }
    CallRecord(const CallRecord&) = delete;
    CallRecord& operator=(const CallRecord&) = delete;
    CallRecord(CallRecord&&) = delete;
    CallRecord& operator=(CallRecord&&) = delete;

private:
    CallRegistry& calls_;
    common::LogSink& log_;
    PyThreadState* state_;
    unsigned long thread_;
};

}  // namespace

// The worker's thread state for `group`, creating the sub-interpreter (first use in the
// process) or the worker's thread state in it (first use on this worker). Called WITHOUT the GIL.
common::Result<EnteredInterpreter> Runtime::Impl::enter(WorkerScope::Impl& worker,
                                                        const std::string& group) {
    const auto known = std::find_if(worker.entered.begin(), worker.entered.end(),
                                    [&](const EnteredInterpreter& e) { return e.group == group; });
    if (known != worker.entered.end()) {
        return *known;
    }
    if (worker.entered.front().state == nullptr) {
        return common::Status(common::ErrorCode::Internal,
                              "this worker has no Python thread state");
    }
    Interpreter* interpreter = nullptr;
    {
        std::lock_guard<std::mutex> lock(registryMutex);
        auto it = subs.find(group);
        if (it != subs.end()) {
            interpreter = it->second.get();
        } else {
            // Safe to wait for the GIL while holding the mutex: no thread takes the mutex while
            // it holds the GIL.
            PyEval_RestoreThread(worker.entered.front().state);
            common::Result<std::unique_ptr<Interpreter>> created =
                Interpreter::createSub(group, config, *log);
            PyEval_SaveThread();
            if (!created.isOk()) {
                log->log(common::LogLevel::Error, kIdSubFailed, created.status().message());
                return created.status();
            }
            interpreter = created->get();
            subs.emplace(group, std::move(created).value());
            log->log(common::LogLevel::Info, kIdSubCreated,
                     "created the sub-interpreter of application group '" + group + "'");
        }
    }
    PyThreadState* state = PyThreadState_New(interpreter->state());
    if (state == nullptr) {
        return common::Status(
            common::ErrorCode::Internal,
            "could not create a thread state for application group '" + group + "'");
    }
    worker.entered.push_back({group, interpreter, state, true});
    return worker.entered.back();
}

WorkerScope::WorkerScope(Runtime& runtime) : impl_(std::make_unique<Impl>(*runtime.impl_)) {
    Runtime::Impl& r = *runtime.impl_;
    if (r.main == nullptr || r.finalized.load()) {
        // Python did not start or is gone: handle() and preload() will refuse this scope.
        impl_->entered.push_back({std::string(), nullptr, nullptr, false});
    } else if (impl_->owner == r.startThread) {
        // The thread that started Python already has the main thread state; a second one for
        // the main interpreter on the same thread would split its threading.local.
        impl_->entered.push_back({std::string(), r.main.get(), r.mainThreadState, false});
    } else {
        // Main interpreter first, so CPython binds this thread's PyGILState_* to it (DESIGN.md
        // pitfall 5). PyThreadState_New does not need the GIL.
        impl_->entered.push_back(
            {std::string(), r.main.get(), PyThreadState_New(r.main->state()), true});
    }
}

WorkerScope::~WorkerScope() {
    if (impl_->runtime.finalized.load()) {
        return;  // Python is gone, and its thread states with it
    }
    // Sub-interpreter states first, the main interpreter's (bound to PyGILState) last.
    std::for_each(impl_->entered.rbegin(), impl_->entered.rend(), [](const EnteredInterpreter& e) {
        if (e.owned && e.state != nullptr) {
            PyEval_RestoreThread(e.state);
            PyThreadState_Clear(e.state);
            PyThreadState_DeleteCurrent();
        }
    });
}

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}

Runtime::~Runtime() {
    if (!impl_->finalized.load()) {
        // No shutdown(): Python stays initialized until the process exits. Forget our
        // references rather than touch Python without the GIL (Interpreter's destructor).
        impl_->main.reset();
        impl_->subs.clear();
    }
}

common::Result<std::unique_ptr<Runtime>> Runtime::start(const RuntimeConfig& config) {
    std::unique_ptr<Runtime> runtime(new Runtime());
    Impl& r = *runtime->impl_;
    r.config = config;
    r.log = config.log != nullptr ? config.log : &stderrSink();
    r.environ.multithread = config.threads > 1;
    r.environ.multiprocess = config.multiprocess;
    r.environ.defaultProcessGroup = r.config.processGroup;
    r.startThread = std::this_thread::get_id();
    r.metrics = std::make_unique<ProcessMetrics>(std::max(config.threads, 1), wallSeconds());
    r.config.metrics = r.metrics.get();
    common::Result<std::unique_ptr<Interpreter>> main =
        Interpreter::initializeMain(r.config, *r.log);
    if (!main.isOk()) {
        r.log->log(common::LogLevel::Error, kIdStartFailed, main.status().message());
        if (Py_IsInitialized() != 0 && thisThreadHoldsGil()) {
            // Leave Python (half set up) without the GIL held, as on success.
            r.mainThreadState = PyEval_SaveThread();
        }
        r.finalized = true;  // no WorkerScope or shutdown may touch this half-started Python
        return main.status();
    }
    r.main = std::move(main).value();
    // Workers will need the GIL: the main thread must not keep it (DESIGN.md pitfall 5).
    r.mainThreadState = PyEval_SaveThread();
    return runtime;
}

// The worker's per-thread state changes (through its Impl) when it first enters a group.
// cppcheck-suppress constParameter
common::Status Runtime::preload(WorkerScope& worker, const std::string& scriptFilename,
                                const std::string& applicationGroup) {
    try {
        WorkerScope::Impl& w = *worker.impl_;
        if (impl_->finalized.load() || w.owner != std::this_thread::get_id()) {
            return {common::ErrorCode::Internal,
                    "preload called after shutdown or from a thread not owning the WorkerScope"};
        }
        const ScriptStamp stamp = statScript(scriptFilename);
        common::Result<EnteredInterpreter> entered = impl_->enter(w, applicationGroup);
        if (!entered.isOk()) {
            return entered.status();
        }
        EnterThreadState python(entered->state);
        common::Result<PyRef> module =
            entered->interpreter->scripts().module(scriptFilename, stamp);
        return module.isOk() ? common::Status::ok() : module.status();
    } catch (const std::exception& e) {
        return {common::ErrorCode::Internal, std::string("preload failed: ") + e.what()};
    }
}

// The worker's per-thread state changes (through its Impl) when it first enters a group.
// cppcheck-suppress constParameter
CallOutcome Runtime::handle(WorkerScope& worker, const WsgiRequest& request,
                            RequestIo& io) noexcept {
    try {
        Impl& r = *impl_;
        WorkerScope::Impl& w = *worker.impl_;
        if (r.finalized.load() || w.owner != std::this_thread::get_id() ||
            w.entered.front().state == nullptr) {
            r.log->log(common::LogLevel::Critical, kIdMisuse,
                       "Runtime::handle called after shutdown, with a broken WorkerScope or from "
                       "a thread not owning it");
            return failure(CallOutcome::Kind::AppError, "internal error: Python is unavailable");
        }
        // File I/O before taking the GIL.
        const ScriptStamp stamp = statScript(request.scriptFilename);
        common::Result<EnteredInterpreter> entered = r.enter(w, request.applicationGroup);
        if (!entered.isOk()) {
            return failure(CallOutcome::Kind::ScriptLoadFailed, entered.status().message());
        }
        Interpreter& interpreter = *entered->interpreter;
        const CallRecord record(r.calls, *r.log, entered->interpreter, entered->state,
                                request.requestId);
        EnterThreadState python(entered->state);
        // A dispatch script's functions are all optional: it runs on its module.
        common::Result<PyRef> app =
            isDispatchCall(request)
                ? interpreter.scripts().module(request.scriptFilename, stamp,
                                               request.scriptReloading)
                : interpreter.scripts().callable(request.scriptFilename, request.callableObject,
                                                 stamp, request.scriptReloading);
        if (!app.isOk()) {
            return failure(CallOutcome::Kind::ScriptLoadFailed, app.status().message());
        }
        const CallContext context{
            interpreter.types(),   *r.log, r.environ, !interpreter.isMain(), r.config.inFlightGrace,
            &interpreter.modWsgi()};
        if (isHookCall(request)) {
            return runHookCall(app->get(), request, io, context);
        }
        ProcessMetrics& metrics = *r.metrics;
        const std::size_t slot = metrics.begin(PyThread_get_thread_ident(),
                                               ProcessMetrics::Steady::now(), wallSeconds());
        CallOutcome outcome = runWsgiCall(app->get(), request, io, context);
        metrics.end(slot, ProcessMetrics::Steady::now(), wallSeconds(), outcome.status);
        return outcome;
    } catch (const std::exception& e) {
        impl_->log->log(common::LogLevel::Critical, kIdInternal,
                        std::string("internal error while running a request: ") + e.what());
    } catch (...) {
        impl_->log->log(common::LogLevel::Critical, kIdInternal,
                        "internal error while running a request: unknown exception");
    }
    return failure(CallOutcome::Kind::AppError, "internal error in the Python layer");
}

}  // namespace wsgid::python
