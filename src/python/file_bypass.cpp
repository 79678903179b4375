// SPDX-License-Identifier: Apache-2.0
// Whether a file_wrapper response may pass its file (see file_bypass.h). GIL held throughout.
#include "python/file_bypass.h"

#include <algorithm>
#include <climits>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>

#include "common/file_system.h"
#include "python/file_wrapper.h"
#include "python/py_ref.h"

namespace wsgid::python {

namespace {

/// Calls `obj.name()` and returns it as a non-negative integer; std::nullopt (exception
/// cleared) when that raises or returns anything else.
std::optional<long long> callForCount(PyObject* obj, const char* name) {
    PyRef value = PyRef::steal(PyObject_CallMethod(obj, name, nullptr));
    if (!value || !PyLong_Check(value.get())) {
        PyErr_Clear();
        return std::nullopt;
    }
    const long long n = PyLong_AsLongLong(value.get());
    if (n < 0) {
        PyErr_Clear();  // -1 with OverflowError, or a negative count
        return std::nullopt;
    }
    return n;
}

/// True when `filelike` is an io.TextIOBase (`textBase`): its blocks are str, which iterating
/// rejects as an invalid response; passing its bytes would hide that.
bool isTextFile(PyObject* filelike, PyObject* textBase) {
    const int text = textBase != nullptr ? PyObject_IsInstance(filelike, textBase) : -1;
    if (text < 0) {
        PyErr_Clear();
        return true;  // cannot tell: stream, which is always right
    }
    return text == 1;
}

/// flush() of a filelike that has one, so bytes written through it reach the file; false (error
/// cleared) when it raised.
bool flushed(PyObject* filelike) {
    if (PyObject_HasAttrString(filelike, "flush") == 0) {
        return true;
    }
    PyRef done = PyRef::steal(PyObject_CallMethod(filelike, "flush", nullptr));
    if (!done) {
        PyErr_Clear();
        return false;
    }
    return true;
}

/// A descriptor of our own for the open file behind `fd` (close-on-exec), when it can be read
/// as httpd will: not write-only, not O_PATH, not O_DIRECT (whose reads need aligned buffers).
common::UniqueFd ownDescriptor(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY || (flags & (O_PATH | O_DIRECT)) != 0) {
        return {};
    }
    return common::UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

}  // namespace

PyRef textIoBaseType() {
    PyRef io = PyRef::steal(PyImport_ImportModule("io"));
    return io ? PyRef::steal(PyObject_GetAttrString(io.get(), "TextIOBase")) : PyRef();
}

std::optional<PassableFile> findPassableFile(PyObject* result, PyObject* wrapperType,
                                             PyObject* textBase,
                                             std::optional<std::uint64_t> room) {
    if (wrapperType == nullptr || Py_TYPE(result) != reinterpret_cast<PyTypeObject*>(wrapperType)) {
        return std::nullopt;
    }
    PyObject* filelike = fileWrapperFilelike(result);
    if (filelike == nullptr || isTextFile(filelike, textBase) || !flushed(filelike)) {
        return std::nullopt;
    }
    const std::optional<long long> fd = callForCount(filelike, "fileno");
    const std::optional<long long> position = callForCount(filelike, "tell");
    if (!fd || *fd > INT_MAX || !position) {
        return std::nullopt;
    }
    struct stat st {};
    const int descriptor = static_cast<int>(*fd);
    if (::fstat(descriptor, &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    // The module refuses descriptors on FUSE (apache/passed_file.h): such files are streamed.
    if (common::onFuseFileSystem(descriptor).value_or(true)) {
        return std::nullopt;
    }
    const auto size = static_cast<std::uint64_t>(std::max<off_t>(st.st_size, 0));
    const auto offset = static_cast<std::uint64_t>(*position);
    if (offset >= size) {
        return std::nullopt;  // nothing to send
    }
    std::uint64_t length = size - offset;
    if (room) {
        if (*room == 0 || *room > length) {
            return std::nullopt;
        }
        length = *room;
    }
    common::UniqueFd own = ownDescriptor(descriptor);
    if (!own) {
        return std::nullopt;
    }
    return PassableFile{.fd = std::move(own), .offset = offset, .length = length};
}

}  // namespace wsgid::python
