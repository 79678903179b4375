// SPDX-License-Identifier: Apache-2.0
// Passing an open descriptor over a Unix-domain stream socket (SCM_RIGHTS): sending it with the
// first byte of a write, and receiving whatever descriptors a read brings. No httpd, APR or
// Python here.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include <sys/types.h>

#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace wsgid::common {

/// Writes all of `bytes` (at least one) to the stream socket `fd`, with `descriptor` attached to
/// the first byte: the first sendmsg() that takes any byte carries it, the rest follows as plain
/// writes. Blocking or non-blocking sockets; every wait is bounded by `deadline`. Once this
/// returns ok the kernel holds its own reference to the open file (it is duplicated into the
/// receiver when that reads it), so the caller may close `descriptor` at once.
Status sendWithDescriptor(int fd, std::string_view bytes, int descriptor,
                          Deadline deadline) noexcept;

/// What one receiveWithDescriptor() call brought besides bytes.
struct ReceivedDescriptor {
    /// The first descriptor the read installed (close-on-exec), owned; empty when none came.
    UniqueFd fd;
    /// The read brought more than one descriptor: the others were closed at once.
    bool extra = false;
    /// The kernel had more descriptors for this read than the control buffer holds (MSG_CTRUNC):
    /// it closed those itself. A peer that sends more than one descriptor at a time causes this.
    bool truncated = false;

    /// More than the one descriptor a read may carry came (extra or truncated).
    [[nodiscard]] bool tooMany() const noexcept { return extra || truncated; }
};

/// One non-blocking recvmsg() from the stream socket `fd` into `buf`, with room for one
/// descriptor; installed descriptors are close-on-exec (MSG_CMSG_CLOEXEC), so no child httpd
/// forks meanwhile inherits one. Returns what recv() does (the byte count, 0 at EOF, -1 with
/// errno set) and puts what came with the bytes in `out` (reset first): nothing the kernel
/// installs is ever left unowned. Linux ends a read right after the bytes a descriptor came
/// with, so a descriptor belongs to a range of the bytes this call returned (docs/protocol.md).
ssize_t receiveWithDescriptor(int fd, std::span<char> buf, ReceivedDescriptor& out) noexcept;

}  // namespace wsgid::common
