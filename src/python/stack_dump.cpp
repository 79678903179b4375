// SPDX-License-Identifier: Apache-2.0
// Python stack dumps without the GIL (see stack_dump.h). No httpd headers.
#include "python/python.h"

#include "python/stack_dump.h"

#include <array>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"

// faulthandler's own dumps (Python/traceback.c): exported by libpython, declared only in an
// internal header (Include/internal/pycore_traceback.h), unchanged from 3.9 to 3.13. They walk
// thread states without the GIL and write with write(2) only.
// NOLINTNEXTLINE(bugprone-reserved-identifier): CPython's name
extern "C" void _Py_DumpTraceback(int fd, PyThreadState* tstate);
// NOLINTNEXTLINE(bugprone-reserved-identifier): CPython's name
extern "C" const char* _Py_DumpTracebackThreads(int fd, PyInterpreterState* interp,
                                                PyThreadState* current_tstate);

namespace wsgid::python {

namespace {

/// The "  File ..." lines faulthandler writes for a stack; it prints at most 100 frames, each a
/// line of at most a few hundred bytes (it truncates names), which a pipe's 64 KiB holds.
constexpr std::string_view kFramePrefix = "  File ";

void writeAll(int fd, std::string_view text) noexcept {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n <= 0) {
            return;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

std::vector<std::string> threadStackWithoutGil(unsigned long threadIdent) noexcept {
    try {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            return {};
        }
        const common::UniqueFd readEnd(fds[0]);
        common::UniqueFd writeEnd(fds[1]);
        for (PyInterpreterState* interp = PyInterpreterState_Head(); interp != nullptr;
             interp = PyInterpreterState_Next(interp)) {
            for (PyThreadState* t = PyInterpreterState_ThreadHead(interp); t != nullptr;
                 t = PyThreadState_Next(t)) {
                // A worker has a thread state in each interpreter it entered; the one it does
                // not run in now dumps as "<no Python frame>", which is dropped below.
                if (t->thread_id == threadIdent) {
                    _Py_DumpTraceback(writeEnd.get(), t);
                }
            }
        }
        writeEnd.reset();
        std::string text;
        std::array<char, 4096> buf{};
        for (;;) {
            const ssize_t n = ::read(readEnd.get(), buf.data(), buf.size());
            if (n <= 0) {
                break;
            }
            text.append(buf.data(), static_cast<std::size_t>(n));
        }
        std::vector<std::string> lines;
        std::string_view rest = text;
        while (!rest.empty()) {
            const auto eol = rest.find('\n');
            const std::string_view line = rest.substr(0, eol);
            if (line.substr(0, kFramePrefix.size()) == kFramePrefix) {
                lines.emplace_back(line);
            }
            if (eol == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(eol + 1);
        }
        return lines;
    } catch (...) {
        return {};
    }
}

void dumpAllStacksWithoutGil(int fd) noexcept {
    for (PyInterpreterState* interp = PyInterpreterState_Head(); interp != nullptr;
         interp = PyInterpreterState_Next(interp)) {
        const char* error = _Py_DumpTracebackThreads(fd, interp, nullptr);
        if (error != nullptr) {
            writeAll(fd, error);
            writeAll(fd, "\n");
        }
    }
}

}  // namespace wsgid::python
