// SPDX-License-Identifier: Apache-2.0
// A process's run state from /proc (see process_state.h). No httpd headers.
#include "apache/process_state.h"

#include <array>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

namespace wsgid::apache {

RunState parseProcStat(std::string_view statLine) noexcept {
    const auto close = statLine.rfind(')');
    if (close == std::string_view::npos || close + 2 >= statLine.size() ||
        statLine[close + 1] != ' ') {
        return RunState::Gone;
    }
    switch (statLine[close + 2]) {
        case 'T':
            return RunState::Stopped;
        case 't':
            return RunState::Traced;
        case 'Z':
        case 'X':
        case 'x':
            return RunState::Zombie;
        default:
            return RunState::Running;
    }
}

RunState processRunState(pid_t pid) noexcept {
    // "/proc/" + pid + "/stat": the pid has at most 7 digits (pid_max is at most 2^22).
    std::array<char, 32> path{};
    (void)std::snprintf(path.data(), path.size(), "/proc/%ld/stat", static_cast<long>(pid));
    const int fd = ::open(path.data(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return RunState::Gone;
    }
    // The state comes after the command name (at most 16 bytes) and the pid: 128 bytes hold it.
    std::array<char, 128> buf{};
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    (void)::close(fd);
    if (n <= 0) {
        return RunState::Gone;
    }
    return parseProcStat(std::string_view(buf.data(), static_cast<std::size_t>(n)));
}

}  // namespace wsgid::apache
