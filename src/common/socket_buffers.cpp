// SPDX-License-Identifier: Apache-2.0
// SO_SNDBUF / SO_RCVBUF of the module<->daemon sockets (see socket_buffers.h).
#include "common/socket_buffers.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <limits>
#include <string>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/socket_io.h"
#include "common/unique_fd.h"

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

/// Longest /proc/sys value read: a decimal byte count and its newline.
constexpr std::size_t kSysctlTextMax = 32;

/// A /proc/sys value as a byte count, 0 when unreadable. A plain read(): with no stream, the
/// module uses none of libstdc++'s stream and locale code.
std::uint32_t readSysctlBytes(const char* path) noexcept {
    const UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return 0;
    }
    std::array<char, kSysctlTextMax> text{};
    ssize_t n = 0;
    do {
        n = ::read(fd.get(), text.data(), text.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return 0;
    }
    long long value = 0;
    const char* end = text.data() + n;
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || value <= 0 || (ptr != end && *ptr != '\n')) {
        return 0;
    }
    return static_cast<std::uint32_t>(
        std::min<long long>(value, std::numeric_limits<std::uint32_t>::max()));
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
