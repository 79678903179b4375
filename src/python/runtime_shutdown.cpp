// SPDX-License-Identifier: Apache-2.0
// Runtime::shutdown (see runtime.h): process_stopping in every interpreter, then bounded
// finalization, or none with WSGIDestroyInterpreter Off. Main thread only, workers joined.
#include "python/python.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>

#include "common/duration_text.h"
#include "python/interpreter.h"
#include "python/py_ref.h"
#include "python/runtime.h"
#include "python/runtime_impl.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdFinalizeTimeout = "WG0304";
constexpr std::string_view kIdSubNotEnded = "WG0305";
constexpr std::string_view kIdFinalizeError = "WG0306";
constexpr std::string_view kIdKeptInterpreters = "WG0339";

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

}  // namespace

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

}  // namespace wsgid::python
