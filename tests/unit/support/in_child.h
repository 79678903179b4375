// SPDX-License-Identifier: Apache-2.0
// inChild(): runs a test body in a forked child, for code that changes the process itself (its
// user, priority, thread defaults, environment) so that the test process keeps its own.
#pragma once

#include <functional>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wsgid::test {

/// Runs `body` in a forked child; its return value is the exit status (0 = pass). 98: `body`
/// threw; -1: the child could not be forked or did not exit normally.
inline int inChild(const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        int rc = 99;
        try {
            rc = body();
        } catch (...) {
            rc = 98;
        }
        ::_exit(rc);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

}  // namespace wsgid::test
