// SPDX-License-Identifier: Apache-2.0
// FileWrapper (see file_wrapper.h): an iterable of filelike.read(blksize) blocks. A response that
// is one may skip the iteration and pass the file's descriptor instead (file_bypass.h).
#include "python/file_wrapper.h"

#include <structmember.h>

#include "python/slot_guard.h"

namespace wsgid::python {

namespace {

struct WrapperObject {
    PyObject_HEAD PyObject* filelike;
    Py_ssize_t blksize;
};

WrapperObject* wrapperOf(PyObject* self) {
    return reinterpret_cast<WrapperObject*>(self);
}

PyObject* wrapperNew(PyTypeObject* type, PyObject* args, PyObject* kwargs) noexcept {
    return guardedObject([&]() -> PyObject* {
        static const char* keywords[] = {"filelike", "blksize", nullptr};
        PyObject* filelike = nullptr;
        Py_ssize_t blksize = kFileWrapperBlockSize;
        if (PyArg_ParseTupleAndKeywords(args, kwargs, "O|n:file_wrapper",
                                        const_cast<char**>(keywords), &filelike, &blksize) == 0) {
            return nullptr;
        }
        if (blksize <= 0) {
            PyErr_SetString(PyExc_ValueError, "file_wrapper blksize must be positive");
            return nullptr;
        }
        PyObject* self = type->tp_alloc(type, 0);
        if (self == nullptr) {
            return nullptr;
        }
        Py_INCREF(filelike);
        wrapperOf(self)->filelike = filelike;
        wrapperOf(self)->blksize = blksize;
        return self;
    });
}

PyObject* wrapperIter(PyObject* self) noexcept {
    Py_INCREF(self);
    return self;
}

PyObject* wrapperNext(PyObject* self) noexcept {
    return guardedObject([&]() -> PyObject* {
        WrapperObject* w = wrapperOf(self);
        if (w->filelike == nullptr) {
            return nullptr;  // cleared by the garbage collector: exhausted
        }
        PyObject* block = PyObject_CallMethod(w->filelike, "read", "n", w->blksize);
        if (block == nullptr) {
            return nullptr;
        }
        // Non-bytes blocks are passed on: the response loop rejects them with a clear message.
        const bool empty = (PyBytes_Check(block) && PyBytes_GET_SIZE(block) == 0) ||
                           (PyUnicode_Check(block) && PyUnicode_GET_LENGTH(block) == 0);
        if (empty) {
            Py_DECREF(block);
            return nullptr;  // StopIteration
        }
        return block;
    });
}

PyObject* wrapperClose(PyObject* self, PyObject* /*unused*/) noexcept {
    return guardedObject([&]() -> PyObject* {
        WrapperObject* w = wrapperOf(self);
        if (w->filelike == nullptr) {
            Py_RETURN_NONE;
        }
        PyObject* close = PyObject_GetAttrString(w->filelike, "close");
        if (close == nullptr) {
            if (PyErr_ExceptionMatches(PyExc_AttributeError) == 0) {
                return nullptr;
            }
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        PyObject* result = PyObject_CallNoArgs(close);
        Py_DECREF(close);
        return result;
    });
}

int wrapperTraverse(PyObject* self, visitproc visit, void* arg) noexcept {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(wrapperOf(self)->filelike);
    return 0;
}

int wrapperClear(PyObject* self) noexcept {
    Py_CLEAR(wrapperOf(self)->filelike);
    return 0;
}

void wrapperDealloc(PyObject* self) noexcept {
    PyTypeObject* type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    wrapperClear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef kMethods[] = {
    {"close", wrapperClose, METH_NOARGS, "Call filelike.close() when it has one."},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef kMembers[] = {
    {const_cast<char*>("filelike"), T_OBJECT, offsetof(WrapperObject, filelike), READONLY,
     const_cast<char*>("The wrapped file-like object.")},
    {const_cast<char*>("blksize"), T_PYSSIZET, offsetof(WrapperObject, blksize), READONLY,
     const_cast<char*>("Bytes per block.")},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot kSlots[] = {
    {Py_tp_new, reinterpret_cast<void*>(wrapperNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(wrapperDealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(wrapperTraverse)},
    {Py_tp_clear, reinterpret_cast<void*>(wrapperClear)},
    {Py_tp_iter, reinterpret_cast<void*>(wrapperIter)},
    {Py_tp_iternext, reinterpret_cast<void*>(wrapperNext)},
    {Py_tp_methods, kMethods},
    {Py_tp_members, kMembers},
    {Py_tp_doc, const_cast<char*>("wsgi.file_wrapper(filelike, blksize=8192): iterate a file "
                                  "in blocks; close() closes it.")},
    {0, nullptr},
};

PyType_Spec kSpec = {
    "mod_wsgid.FileWrapper",
    sizeof(WrapperObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    kSlots,
};

}  // namespace

PyRef createFileWrapperType() {
    return PyRef::steal(PyType_FromSpec(&kSpec));
}

PyObject* fileWrapperFilelike(PyObject* wrapper) noexcept {
    return wrapperOf(wrapper)->filelike;
}

}  // namespace wsgid::python
