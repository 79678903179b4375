// SPDX-License-Identifier: Apache-2.0
// RAII for the GIL and for explicit thread states (pybind11's gil.h idea). Long story:
// docs/architecture.md "GIL and thread model". Worker threads never use PyGILState_*.
#pragma once

#include "python/python.h"

#include <cassert>

namespace wsgid::python {

/// Whether the calling thread holds the GIL (with any interpreter's thread state). Never aborts.
/// Not PyGILState_Check(): that only knows a thread's first thread state, so it reports false
/// inside a sub-interpreter. And up to 3.11 the "current thread state" is process-wide (whoever
/// holds the GIL), hence the comparison of thread ids.
inline bool thisThreadHoldsGil() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
    PyThreadState* current = PyThreadState_GetUnchecked();
#else
    PyThreadState* current = _PyThreadState_UncheckedGet();
#endif
    return current != nullptr && current->thread_id == PyThread_get_thread_ident();
}

/// Takes the GIL with PyGILState_Ensure for the scope: main interpreter only, for threads that
/// have no thread state of their own (never on worker threads, which use EnterThreadState).
class GilAcquire {
public:
    GilAcquire() noexcept : state_(PyGILState_Ensure()) {}
    ~GilAcquire() { PyGILState_Release(state_); }
    GilAcquire(const GilAcquire&) = delete;
    GilAcquire& operator=(const GilAcquire&) = delete;
    GilAcquire(GilAcquire&&) = delete;
    GilAcquire& operator=(GilAcquire&&) = delete;

private:
    PyGILState_STATE state_;
};

/// Releases the GIL for the scope (Py_BEGIN/END_ALLOW_THREADS) and takes it back with the same
/// thread state. Precondition: the GIL is held. No Python object may be touched in the scope.
class GilRelease {
public:
    GilRelease() noexcept : saved_((assert(thisThreadHoldsGil()), PyEval_SaveThread())) {}
    ~GilRelease() { PyEval_RestoreThread(saved_); }
    GilRelease(const GilRelease&) = delete;
    GilRelease& operator=(const GilRelease&) = delete;
    GilRelease(GilRelease&&) = delete;
    GilRelease& operator=(GilRelease&&) = delete;

private:
    PyThreadState* saved_;
};

/// Makes an explicit thread state current and takes the GIL for the scope; at the end releases
/// the GIL with whatever thread state is then current (Py_NewInterpreter swaps in a new one).
/// Precondition: this thread holds no GIL and `state` was made for (or by) this thread.
class EnterThreadState {
public:
    explicit EnterThreadState(PyThreadState* state) noexcept {
        assert(!thisThreadHoldsGil());
        PyEval_RestoreThread(state);
    }
    ~EnterThreadState() { PyEval_SaveThread(); }
    EnterThreadState(const EnterThreadState&) = delete;
    EnterThreadState& operator=(const EnterThreadState&) = delete;
    EnterThreadState(EnterThreadState&&) = delete;
    EnterThreadState& operator=(EnterThreadState&&) = delete;
};

}  // namespace wsgid::python
