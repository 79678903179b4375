// SPDX-License-Identifier: Apache-2.0
// PyRef: the owner of one strong reference to a Python object. No GIL handling here: every
// operation that touches a reference count must run with the GIL held.
#pragma once

#include "python/python.h"

#include <utility>

namespace wsgid::python {

/// Owns one strong reference (or nothing). Construct only through steal() or borrow(), so every
/// call site says which reference it takes. Destroy, reset or assign only with the GIL held (and
/// the object's interpreter current): order scopes so that no GilRelease encloses the end of a
/// PyRef's life. Move-only; not thread-safe.
class PyRef {
public:
    PyRef() noexcept = default;
    ~PyRef() { Py_XDECREF(obj_); }
    PyRef(const PyRef&) = delete;
    PyRef& operator=(const PyRef&) = delete;
    PyRef(PyRef&& other) noexcept : obj_(other.release()) {}
    PyRef& operator=(PyRef&& other) noexcept {
        if (this != &other) {
            PyObject* old = std::exchange(obj_, other.release());
            Py_XDECREF(old);
        }
        return *this;
    }

    /// Takes over a new reference (the result of most C-API calls); nullptr gives an empty PyRef.
    [[nodiscard]] static PyRef steal(PyObject* obj) noexcept { return PyRef(obj); }
    /// Adds a reference to a borrowed object (PyTuple_GET_ITEM, PyDict_GetItem, ...).
    [[nodiscard]] static PyRef borrow(PyObject* obj) noexcept {
        Py_XINCREF(obj);
        return PyRef(obj);
    }

    /// The object, still owned here; nullptr when empty.
    [[nodiscard]] PyObject* get() const noexcept { return obj_; }
    /// Hands the reference to the caller (to a stealing C-API call or a deliberate leak).
    [[nodiscard]] PyObject* release() noexcept { return std::exchange(obj_, nullptr); }
    /// Drops the reference now (GIL held).
    void reset() noexcept {
        PyObject* old = std::exchange(obj_, nullptr);
        Py_XDECREF(old);
    }
    [[nodiscard]] explicit operator bool() const noexcept { return obj_ != nullptr; }

private:
    explicit PyRef(PyObject* obj) noexcept : obj_(obj) {}
    PyObject* obj_ = nullptr;
};

}  // namespace wsgid::python
