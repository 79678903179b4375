// SPDX-License-Identifier: Apache-2.0
// Runtime and WorkerScope (see runtime.h): the registry of interpreters by application group,
// the per-worker thread states, request dispatch and bounded finalization.
// Thread/GIL rules: docs/architecture.md "GIL and thread model". In short: the registry mutex is
// never taken with the GIL held; workers enter Python only through their own thread states.
#include "python/python.h"

#include "python/runtime.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "common/duration_text.h"
#include "python/gil.h"
#include "python/gil_job_thread.h"
#include "python/gil_watch.h"
#include "python/hook_call.h"
#include "python/interpreter.h"
#include "python/load_tracker.h"
#include "python/py_error.h"
#include "python/py_ref.h"
#include "python/script_loader.h"
#include "python/stack_dump.h"
#include "python/wsgi_call.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdStartFailed = "WG0301";
constexpr std::string_view kIdSubCreated = "WG0302";
constexpr std::string_view kIdSubFailed = "WG0303";
constexpr std::string_view kIdFinalizeTimeout = "WG0304";
constexpr std::string_view kIdSubNotEnded = "WG0305";
constexpr std::string_view kIdFinalizeError = "WG0306";
constexpr std::string_view kIdInternal = "WG0335";
constexpr std::string_view kIdMisuse = "WG0336";
constexpr std::string_view kIdKeptInterpreters = "WG0339";
constexpr std::string_view kIdInterrupted = "WG0340";
constexpr std::string_view kIdLetGo = "WG0341";
constexpr std::string_view kIdNotInterrupted = "WG0342";

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

// Calls _exit(0) unless disarmed within `timeout`: Py_FinalizeEx joins app threads and runs
// atexit handlers, either of which can hang, and a daemon asked to stop must stop.
class FinalizeWatchdog {
public:
    FinalizeWatchdog(std::chrono::milliseconds timeout, common::LogSink& log) noexcept {
        try {
            thread_ = std::thread([this, timeout, &log] {
                std::unique_lock<std::mutex> lock(mutex_);
                if (!wake_.wait_for(lock, timeout, [this] { return disarmed_; })) {
                    log.log(common::LogLevel::Error, kIdFinalizeTimeout,
                            "Python finalization did not finish within " +
                                common::durationText(timeout) + "; exiting without it");
                    ::_exit(0);
                }
            });
        } catch (...) {
            log.log(common::LogLevel::Warning, kIdFinalizeTimeout,
                    "could not start the finalization watchdog; finalizing unbounded");
        }
    }
    ~FinalizeWatchdog() {
        if (thread_.joinable()) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                disarmed_ = true;
            }
            wake_.notify_one();
            thread_.join();
        }
    }
    FinalizeWatchdog(const FinalizeWatchdog&) = delete;
    FinalizeWatchdog& operator=(const FinalizeWatchdog&) = delete;
    FinalizeWatchdog(FinalizeWatchdog&&) = delete;
    FinalizeWatchdog& operator=(FinalizeWatchdog&&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool disarmed_ = false;
    std::thread thread_;
};

// What Py_FinalizeEx would do for apps in the main interpreter when we cannot finalize: join
// its non-daemon threads, run its atexit handlers, flush its log streams.
constexpr const char* kPartialFinalizeCode = R"PY(
import sys
if 'threading' in sys.modules:
    sys.modules['threading']._shutdown()
import atexit
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
)PY";

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

double wallSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

CallOutcome failure(CallOutcome::Kind kind, std::string message) {
    return {kind, false, std::move(message)};
}

}  // namespace

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

namespace {

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
common::Status Runtime::stopRaisesSystemExit(WorkerScope& worker, bool on) {
    // _signal, not signal: WSGIRestrictSignal may have replaced signal.signal with a no-op.
    // The first stop signal raises SystemExit and later ones are ignored, so a second SIGTERM
    // cannot abort the script's cleanup (under mpm_prefork httpd signals its whole process
    // group at stop, and the manager signals the daemon too). The parent's SIGKILL after
    // shutdown-timeout still bounds a cleanup that hangs.
    static constexpr const char* kOnCode = R"PY(
import _signal
def _wsgid_service_stop(signum, frame):
    _signal.signal(_signal.SIGTERM, _signal.SIG_IGN)
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    raise SystemExit(0)
_signal.signal(_signal.SIGTERM, _wsgid_service_stop)
_signal.signal(_signal.SIGINT, _wsgid_service_stop)
)PY";
    static constexpr const char* kOffCode = R"PY(
import _signal
_signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
_signal.signal(_signal.SIGINT, _signal.SIG_DFL)
)PY";
    const char* const code = on ? kOnCode : kOffCode;
    try {
        WorkerScope::Impl& w = *worker.impl_;
        if (impl_->finalized.load() || w.owner != std::this_thread::get_id()) {
            return {common::ErrorCode::Internal,
                    "stopRaisesSystemExit called after shutdown or from a thread not owning the "
                    "WorkerScope"};
        }
        common::Result<EnteredInterpreter> entered = impl_->enter(w, std::string());
        if (!entered.isOk()) {
            return entered.status();
        }
        EnterThreadState python(entered->state);
        PyRef globals = PyRef::steal(PyDict_New());
        if (!globals || PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins())) {
            PyErr_Clear();
            return {common::ErrorCode::Internal, "cannot prepare the stop handler"};
        }
        PyRef result =
            PyRef::steal(PyRun_String(code, Py_file_input, globals.get(), globals.get()));
        if (!result) {
            const PyErrorInfo error = fetchError();
            return {common::ErrorCode::Internal,
                    "cannot set the SIGTERM handler: " + describeError(error)};
        }
        return common::Status::ok();
    } catch (const std::exception& e) {
        return {common::ErrorCode::Internal, std::string("stop handler: ") + e.what()};
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

// WSGIDestroyInterpreter Off: every interpreter hears process_stopping and flushes its streams;
// none is ended and Python is not finalized (non-daemon app threads are not joined, atexit does
// not run), which is the point of the directive: a process whose threads would hang
// finalization still stops. Called with the main thread state current; returns without the GIL.
void Runtime::Impl::keepInterpreters(std::string_view reason) noexcept {
    Impl& r = *this;
    for (auto& [group, sub] : r.subs) {
        PyThreadState* own = PyThreadState_New(sub->state());
        if (own == nullptr) {
            continue;
        }
        PyThreadState_Swap(own);
        sub->modWsgi().processStopping(reason);
        sub->flushStreams();
        PyThreadState_Swap(r.mainThreadState);
    }
    r.main->modWsgi().processStopping(reason);
    r.main->flushStreams();
    r.log->log(common::LogLevel::Info, kIdKeptInterpreters,
               "interpreters left as they are at exit (WSGIDestroyInterpreter Off)");
    PyEval_SaveThread();
    r.mainThreadState = nullptr;
}

void Runtime::shutdown(std::chrono::milliseconds timeout, std::string_view reason) noexcept {
    Impl& r = *impl_;
    if (r.finalized.exchange(true)) {
        return;
    }
    r.gilWatch.stop();
    r.interrupter.stop();
    r.signalDispatcher.stop();
    FinalizeWatchdog watchdog(timeout, *r.log);
    PyEval_RestoreThread(r.mainThreadState);
    if (!r.config.python.destroyInterpreter) {
        r.keepInterpreters(reason);
        return;
    }
    bool allEnded = true;
    for (auto& [group, sub] : r.subs) {
        PyThreadState* own = PyThreadState_New(sub->state());
        if (own == nullptr) {
            allEnded = false;
            continue;
        }
        PyThreadState_Swap(own);
        sub->modWsgi().processStopping(reason);
        if (!sub->end(own)) {
            allEnded = false;
            r.log->log(common::LogLevel::Warning, kIdSubNotEnded,
                       "the sub-interpreter of application group '" + group +
                           "' still has threads running (daemon threads?); it is not destroyed");
        }
        PyThreadState_Swap(r.mainThreadState);
    }
    r.main->modWsgi().processStopping(reason);
    r.main->clearObjects();
    if (allEnded) {
        if (Py_FinalizeEx() != 0) {
            r.log->log(common::LogLevel::Warning, kIdFinalizeError,
                       "Python finalization reported an error (flushing sys.stdout or "
                       "sys.stderr failed)");
        }
    } else {
        // Py_FinalizeEx aborts the process ("remaining subinterpreters") while a
        // sub-interpreter is alive, so do the part apps rely on and leave Python to _exit.
        PyRef globals = PyRef::steal(PyDict_New());
        if (globals &&
            PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins()) == 0) {
            PyRef done = PyRef::steal(
                PyRun_String(kPartialFinalizeCode, Py_file_input, globals.get(), globals.get()));
        }
        PyErr_Clear();
        globals.reset();
        r.log->log(common::LogLevel::Warning, kIdSubNotEnded,
                   "Python is not finalized because a sub-interpreter is still alive; the main "
                   "interpreter's threads were joined and its atexit handlers ran");
        PyEval_SaveThread();
    }
    r.mainThreadState = nullptr;
}

std::vector<std::string> Runtime::stackOf(unsigned long threadIdent) noexcept {
    if (impl_->finalized.load()) {
        return {};
    }
    return threadStackWithoutGil(threadIdent);
}

void Runtime::dumpAllStacks(int fd) noexcept {
    if (!impl_->finalized.load()) {
        dumpAllStacksWithoutGil(fd);
    }
}

bool Runtime::interrupt(unsigned long threadIdent, const std::string& requestId,
                        std::chrono::seconds grace) noexcept {
    if (impl_->finalized.load()) {
        return false;
    }
    try {
        Impl& r = *impl_;
        return r.interrupter.post([&r, threadIdent, requestId, grace] {
            r.raiseRequestTimeout(threadIdent, requestId, grace);
        });
    } catch (...) {
        return false;
    }
}

void Runtime::Impl::raiseRequestTimeout(unsigned long thread, const std::string& requestId,
                                        std::chrono::seconds grace) noexcept {
    const std::lock_guard lock(calls.mutex);
    const auto it = calls.byThread.find(thread);
    if (it == calls.byThread.end() || it->second.requestId != requestId) {
        log->log(common::LogLevel::Info, kIdNotInterrupted,
                 "request " + requestId +
                     " left the application before mod_wsgi.RequestTimeout "
                     "could be raised in its thread");
        return;
    }
    Interpreter& interpreter = *it->second.interpreter;
    PyObject* type = interpreter.modWsgi().requestTimeoutType();
    int raised = 0;
    if (type != nullptr) {
        if (interpreter.isMain()) {
            raised = PyThreadState_SetAsyncExc(thread, type);
        } else if (PyThreadState* own = PyThreadState_New(interpreter.state())) {
            // PyThreadState_SetAsyncExc looks for the thread in the current interpreter.
            PyThreadState* previous = PyThreadState_Swap(own);
            raised = PyThreadState_SetAsyncExc(thread, type);
            PyThreadState_Clear(own);
            PyThreadState_Swap(previous);
            PyThreadState_Delete(own);
        }
    }
    if (raised != 1) {
        log->log(common::LogLevel::Warning, kIdNotInterrupted,
                 "request " + requestId +
                     ": mod_wsgi.RequestTimeout could not be raised in its "
                     "thread (no Python thread state found for it)");
        return;
    }
    it->second.interrupted = true;
    log->log(common::LogLevel::Error, kIdInterrupted,
             "request " + requestId +
                 ": mod_wsgi.RequestTimeout raised in its thread; it has "
                 "interrupt-timeout=" +
                 common::durationText(grace) +
                 " to leave the application "
                 "(only Python bytecode sees it, not a blocking call in C)");
}

bool Runtime::publishSignal(int signo, const std::string& name) noexcept {
    if (impl_->finalized.load()) {
        return false;
    }
    try {
        Impl& r = *impl_;
        std::vector<Interpreter*> subs;
        {
            const std::lock_guard lock(r.registryMutex);  // never with the GIL held
            for (auto& [group, sub] : r.subs) {
                subs.push_back(sub.get());
            }
        }
        return r.signalDispatcher.post([&r, subs = std::move(subs), signo, name] {
            r.main->modWsgi().processSignal(signo, name);
            for (Interpreter* sub : subs) {
                PyThreadState* own = PyThreadState_New(sub->state());
                if (own == nullptr) {
                    continue;
                }
                PyThreadState* previous = PyThreadState_Swap(own);
                sub->modWsgi().processSignal(signo, name);
                PyThreadState_Clear(own);
                PyThreadState_Swap(previous);
                PyThreadState_Delete(own);
            }
        });
    } catch (...) {
        return false;
    }
}

bool Runtime::startGilWatch() noexcept {
    return !impl_->finalized.load() && impl_->gilWatch.start();
}

std::optional<std::chrono::steady_clock::time_point> Runtime::lastGilBeat() const noexcept {
    return impl_->gilWatch.lastBeat();
}

std::optional<std::chrono::steady_clock::time_point> Runtime::oldestScriptLoad() {
    return LoadTracker::oldestInProgress();
}

}  // namespace wsgid::python
