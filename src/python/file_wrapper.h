// SPDX-License-Identifier: Apache-2.0
// The wsgi.file_wrapper type: FileWrapper(filelike, blksize=8192), an iterable of blksize blocks
// whose close() closes the file. Python objects only; call with the GIL held.
#pragma once

#include "python/python.h"

#include "python/py_ref.h"

namespace wsgid::python {

/// Default block size of FileWrapper, as PEP 3333's example and mod_wsgi use.
inline constexpr Py_ssize_t kFileWrapperBlockSize = 8192;

/// Creates the FileWrapper type in the current interpreter (one per interpreter). Empty PyRef
/// with a Python exception set on failure. GIL held.
PyRef createFileWrapperType();

/// The file-like object of `wrapper`, an instance of a type createFileWrapperType() made
/// (borrowed; nullptr once the garbage collector cleared it). GIL held.
PyObject* fileWrapperFilelike(PyObject* wrapper) noexcept;

}  // namespace wsgid::python
