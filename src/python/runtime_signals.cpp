// SPDX-License-Identifier: Apache-2.0
// Runtime's signal handling (see runtime.h): SIGTERM/SIGINT as SystemExit for service scripts,
// and the mod_wsgi.subscribe_signals callbacks, run on the Runtime's own thread.
#include "python/python.h"

#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "python/gil.h"
#include "python/interpreter.h"
#include "python/py_error.h"
#include "python/py_ref.h"
#include "python/runtime.h"
#include "python/runtime_impl.h"

namespace wsgid::python {

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

}  // namespace wsgid::python
