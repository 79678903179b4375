// SPDX-License-Identifier: Apache-2.0
// Python stacks for the daemon's timeouts, read without the GIL as faulthandler reads them: one
// thread's stack (request-timeout) and every thread's (deadlock-timeout, startup-timeout). The GIL
// is not taken because the thread to describe may be holding it (a CPU-bound thread in a
// sub-interpreter does not even hand it over, CPython 3.11); a stack read while its thread runs
// may be torn, never changed. No httpd headers.
#pragma once

#include <string>
#include <vector>

namespace wsgid::python {

/// The Python stack running on the OS thread `threadIdent` (pthread_self() of that thread), most
/// recent call first, one `  File "...", line N in name` line per frame, looked up in every
/// interpreter. Empty when the thread runs no Python code. Any thread; no GIL needed.
std::vector<std::string> threadStackWithoutGil(unsigned long threadIdent) noexcept;

/// Writes the Python stack of every thread of every interpreter to `fd` (faulthandler's format).
/// Any thread; no GIL needed.
void dumpAllStacksWithoutGil(int fd) noexcept;

}  // namespace wsgid::python
