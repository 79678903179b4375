// SPDX-License-Identifier: Apache-2.0
// Kernel buffer sizes of the module<->daemon Unix sockets (send-buffer-size=,
// receive-buffer-size=). No httpd, APR or Python here.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace wsgid::common {

/// Smallest non-zero send-buffer-size= / receive-buffer-size= (mod_wsgi's bound): below it the
/// kernel's own minimum applies anyway.
inline constexpr std::uint32_t kMinSocketBufferBytes = 512;
/// Largest one: setsockopt() takes an int that the kernel doubles, and Linux caps it at
/// net.core.wmem_max / rmem_max (a few hundred KiB by default) anyway; more is a typo.
inline constexpr std::uint32_t kMaxSocketBufferBytes = 1U << 30;

/// What send-buffer-size= / receive-buffer-size= ask for when not given (0): room for a 1 MiB
/// body and its framing in flight at once (Linux doubles it for its bookkeeping). With the kernel's
/// default (208 KiB) a 1 MiB body crosses in five or more rounds, and on one core every round is a
/// sleep and a wake-up on each side; the memory is the kernel's only while bytes are in flight.
inline constexpr std::uint32_t kDefaultSocketBufferBytes = 1U << 20;
/// Below this kernel maximum the default is not asked for at all: Linux would double a smaller
/// request to less than its own default (net.core.wmem_default, 208 KiB as shipped).
inline constexpr std::uint32_t kMinDefaultSocketBufferBytes = 128U * 1024;

/// SO_SNDBUF and SO_RCVBUF of one socket, in bytes; 0 leaves the kernel's default.
struct SocketBufferSizes {
    std::uint32_t send = 0;
    std::uint32_t receive = 0;

    /// The same sizes for the socket at the other end: what one side sends, the other receives.
    [[nodiscard]] SocketBufferSizes mirrored() const noexcept { return {receive, send}; }
    [[nodiscard]] bool any() const noexcept { return send != 0 || receive != 0; }
};

/// `configured` with each 0 replaced by kDefaultSocketBufferBytes, lowered to `kernelMax` (what
/// the kernel lets an unprivileged process ask for); stays 0 (the kernel's default) when
/// `kernelMax` is below kMinDefaultSocketBufferBytes or unknown (0). Sizes given are kept as they
/// are (a cap is then reported when applied).
[[nodiscard]] SocketBufferSizes withDefaultSizes(SocketBufferSizes configured,
                                                 std::uint32_t kernelMax) noexcept;

/// The lower of net.core.wmem_max and net.core.rmem_max, read from /proc once per process; 0 when
/// unreadable.
[[nodiscard]] std::uint32_t kernelSocketBufferMax() noexcept;

/// Sets the non-zero sizes on `fd` (SO_SNDBUF, SO_RCVBUF). On a Linux AF_UNIX stream socket the
/// sender's SO_SNDBUF is what bounds the bytes in flight; SO_RCVBUF is set for symmetry and for
/// other systems.
Status applySocketBufferSizes(int fd, SocketBufferSizes sizes) noexcept;

/// What the kernel applied to `fd` (getsockopt): Linux doubles the value asked for (bookkeeping
/// overhead) and caps it at net.core.wmem_max / rmem_max.
Result<SocketBufferSizes> socketBufferSizes(int fd) noexcept;

/// True when `applied` honours every non-zero size of `asked` (at least that many bytes).
[[nodiscard]] bool honours(SocketBufferSizes applied, SocketBufferSizes asked) noexcept;

}  // namespace wsgid::common
