// SPDX-License-Identifier: Apache-2.0
// The wsgi.input type: a binary reader over RequestIo::tryReadBody and readBody. Python objects
// only; call everything with the GIL held (a read that has to wait for the body releases it).
#pragma once

#include "python/python.h"

#include <cstdint>

#include "python/py_ref.h"
#include "python/request_gate.h"

namespace wsgid::python {

/// Creates the wsgi.input type in the current interpreter (one per interpreter). Empty PyRef
/// with a Python exception set on failure. GIL held.
PyRef createInputStreamType();

/// A new wsgi.input reading through `gate`'s RequestIo, at most `contentLength` bytes (-1 = until
/// readBody says the body ended). `gate` must stay valid until detachInputStream(); a read in
/// flight then holds a pass, which the gate's close() waits for. Empty PyRef with a Python
/// exception set on failure. GIL held.
PyRef newInputStream(PyObject* type, RequestGate& gate, std::int64_t contentLength);

/// Ends the stream's use of its gate (the request is over; the app may keep the object): later
/// reads raise OSError. Call on the request's thread with the GIL held, before closing the gate.
void detachInputStream(PyObject* stream) noexcept;

}  // namespace wsgid::python
