// SPDX-License-Identifier: Apache-2.0
// The run state of a process as /proc/<pid>/stat shows it: whether a daemon is stopped (SIGSTOP,
// a debugger) rather than slow. POSIX and /proc only; no httpd headers
// (tests/unit/apache/process_state_test.cpp).
#pragma once

#include <string_view>

#include <sys/types.h>

namespace wsgid::apache {

/// What the kernel says a process is doing.
enum class RunState {
    Running,  ///< running, sleeping or in disk wait: it will get on by itself
    Stopped,  ///< stopped by a signal (SIGSTOP, SIGTSTP, ...) until SIGCONT
    Traced,   ///< stopped by a debugger (ptrace)
    Zombie,   ///< it has exited and waits to be reaped
    Gone,     ///< no such process (or /proc is not there)
};

/// The state field of a /proc/<pid>/stat line ("1234 (comm) S 1 ..."); the command name may
/// contain blanks and parentheses, so the field is the one after the last ')'. Gone for a line
/// that does not parse.
RunState parseProcStat(std::string_view statLine) noexcept;

/// Reads /proc/<pid>/stat. Any thread; no allocation beyond a small buffer.
RunState processRunState(pid_t pid) noexcept;

}  // namespace wsgid::apache
