// SPDX-License-Identifier: Apache-2.0
// The wsgi.input type: a buffered binary reader over RequestIo::readBody. Python objects only;
// call everything with the GIL held (the reads themselves release it).
#pragma once

#include "python/python.h"

#include <cstdint>

#include "python/py_ref.h"
#include "python/request_io.h"

namespace wsgid::python {

/// Creates the wsgi.input type in the current interpreter (one per interpreter). Empty PyRef
/// with a Python exception set on failure. GIL held.
PyRef createInputStreamType();

/// A new wsgi.input reading from `io`, at most `contentLength` bytes (-1 = until readBody says
/// the body ended). `io` must stay valid until detachInputStream(). Empty PyRef with a Python
/// exception set on failure. GIL held.
PyRef newInputStream(PyObject* type, RequestIo& io, std::int64_t contentLength);

/// Ends the stream's use of its RequestIo (the request is over; the app may keep the object):
/// later reads raise OSError. Call on the request's thread with the GIL held.
void detachInputStream(PyObject* stream) noexcept;

}  // namespace wsgid::python
