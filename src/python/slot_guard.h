// SPDX-License-Identifier: Apache-2.0
// guardedSlot(): the body wrapper for every CPython slot and method we implement, so no C++
// exception ever crosses the C frames of the interpreter (DESIGN.md rule of thumb 2).
#pragma once

#include "python/python.h"

#include <exception>
#include <new>

namespace wsgid::python {

/// Runs `body` (which returns PyObject* or int, with a Python exception set on failure) and turns
/// any C++ exception into a Python one: MemoryError for bad_alloc, SystemError otherwise. Returns
/// `failure` (nullptr or -1) in that case. Call with the GIL held.
template <typename R, typename F>
R guardedSlot(R failure, F&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
    } catch (const std::exception& e) {
        PyErr_Format(PyExc_SystemError, "mod_wsgid internal error: %s", e.what());
    } catch (...) {
        PyErr_SetString(PyExc_SystemError, "mod_wsgid internal error: unknown C++ exception");
    }
    return failure;
}

/// guardedSlot for slots returning an object.
template <typename F>
PyObject* guardedObject(F&& body) noexcept {
    return guardedSlot<PyObject*>(nullptr, static_cast<F&&>(body));
}

}  // namespace wsgid::python
