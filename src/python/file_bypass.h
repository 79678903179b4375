// SPDX-License-Identifier: Apache-2.0
// The wsgi.file_wrapper bypass PEP 3333 allows: a response that is a file_wrapper over a regular
// file is sent by passing the file's descriptor instead of reading it. This decides whether a
// response qualifies and which bytes it sends; WsgiCall sends them. Call with the GIL held.
#pragma once

#include "python/python.h"

#include <cstdint>
#include <optional>

#include "common/unique_fd.h"
#include "python/py_ref.h"

namespace wsgid::python {

/// A file a response may pass: a descriptor of its own and the range of the file to send.
struct PassableFile {
    /// A duplicate of the file object's descriptor (close-on-exec): no other thread of the app
    /// can close it under the send. It shares the open file, and httpd's reads (TLS, HTTP/2)
    /// move its position; the app's file object is closed by then (the response's close()), and
    /// one that is used on was never safe to share with the response's iteration either.
    common::UniqueFd fd;
    std::uint64_t offset = 0;  ///< the file object's tell()
    std::uint64_t length = 0;  ///< to the end of the file, or what Content-Length leaves
};

/// io.TextIOBase of the current interpreter, for findPassableFile; empty PyRef with a Python
/// exception set when io cannot be imported. GIL held.
PyRef textIoBaseType();

/// The file `result` may be sent as, or std::nullopt (no Python exception left set) when it must
/// be iterated as usual: `result` is not exactly of `wrapperType` (the interpreter's
/// wsgi.file_wrapper), its filelike is a text file (an instance of `textBase`, the interpreter's
/// io.TextIOBase: see textIoBaseType) or has no usable fileno() or tell(), the
/// descriptor is not a regular file (a pipe, a socket, a device) or is on a FUSE file system
/// (which the module refuses), nothing is left to send, the file has less than `room` (the
/// bytes the response's Content-Length still allows; iterating then reports the short body), or
/// no descriptor can be had. Otherwise the file from tell() to its end, at most `room`
/// bytes. Not when the descriptor is write-only, O_PATH or O_DIRECT. Calls the filelike's
/// flush() (bytes written through it must be in the file), fileno() and tell(): application
/// code. GIL held.
std::optional<PassableFile> findPassableFile(PyObject* result, PyObject* wrapperType,
                                             PyObject* textBase, std::optional<std::uint64_t> room);

}  // namespace wsgid::python
