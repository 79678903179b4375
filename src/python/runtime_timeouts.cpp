// SPDX-License-Identifier: Apache-2.0
// What the daemon's timeouts ask of Runtime (see runtime.h, docs/operations.md): Python stacks,
// mod_wsgi.RequestTimeout raised in a worker (interrupt-timeout=), the GIL heartbeat and the
// oldest script load. None of these waits for the GIL on the caller's thread.
#include "python/python.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/duration_text.h"
#include "python/interpreter.h"
#include "python/load_tracker.h"
#include "python/runtime.h"
#include "python/runtime_impl.h"
#include "python/stack_dump.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdInterrupted = "WG0340";
constexpr std::string_view kIdNotInterrupted = "WG0342";

}  // namespace

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
