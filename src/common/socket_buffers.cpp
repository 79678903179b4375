// SPDX-License-Identifier: Apache-2.0
// SO_SNDBUF / SO_RCVBUF of the module<->daemon sockets (see socket_buffers.h).
#include "common/socket_buffers.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <limits>
#include <string>

#include <sys/socket.h>

#include "common/socket_io.h"

namespace wsgid::common {

namespace {

Status setSize(int fd, int option, const char* name, std::uint32_t bytes) noexcept {
    if (bytes == 0) {
        return Status::ok();
    }
    const int value = static_cast<int>(bytes);
    if (::setsockopt(fd, SOL_SOCKET, option, &value, sizeof(value)) != 0) {
        return {ErrorCode::IoError, std::string("setsockopt(") + name + "): " + errnoText(errno)};
    }
    return Status::ok();
}

Result<std::uint32_t> getSize(int fd, int option) noexcept {
    int value = 0;
    socklen_t len = sizeof(value);
    if (::getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0 || value < 0) {
        return Status(ErrorCode::IoError, "getsockopt");
    }
    return static_cast<std::uint32_t>(value);
}

/// A /proc/sys value as a byte count, 0 when unreadable.
std::uint32_t readSysctlBytes(const char* path) noexcept {
    try {
        std::ifstream in(path);
        long long value = 0;
        if (!(in >> value) || value <= 0) {
            return 0;
        }
        return static_cast<std::uint32_t>(
            std::min<long long>(value, std::numeric_limits<std::uint32_t>::max()));
    } catch (...) {
        return 0;
    }
}

}  // namespace

SocketBufferSizes withDefaultSizes(SocketBufferSizes configured, std::uint32_t kernelMax) noexcept {
    const std::uint32_t fallback = kernelMax < kMinDefaultSocketBufferBytes
                                       ? 0
                                       : std::min(kDefaultSocketBufferBytes, kernelMax);
    return {.send = configured.send != 0 ? configured.send : fallback,
            .receive = configured.receive != 0 ? configured.receive : fallback};
}

std::uint32_t kernelSocketBufferMax() noexcept {
    static const std::uint32_t max = std::min(readSysctlBytes("/proc/sys/net/core/wmem_max"),
                                              readSysctlBytes("/proc/sys/net/core/rmem_max"));
    return max;
}

Status applySocketBufferSizes(int fd, SocketBufferSizes sizes) noexcept {
    if (Status s = setSize(fd, SO_SNDBUF, "SO_SNDBUF", sizes.send); !s) {
        return s;
    }
    return setSize(fd, SO_RCVBUF, "SO_RCVBUF", sizes.receive);
}

Result<SocketBufferSizes> socketBufferSizes(int fd) noexcept {
    auto send = getSize(fd, SO_SNDBUF);
    auto receive = getSize(fd, SO_RCVBUF);
    if (!send || !receive) {
        return Status(ErrorCode::IoError, "getsockopt(SO_SNDBUF/SO_RCVBUF) failed");
    }
    return SocketBufferSizes{.send = *send, .receive = *receive};
}

bool honours(SocketBufferSizes applied, SocketBufferSizes asked) noexcept {
    return applied.send >= asked.send && applied.receive >= asked.receive;
}

}  // namespace wsgid::common
