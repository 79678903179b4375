// SPDX-License-Identifier: Apache-2.0
// SCM_RIGHTS send and receive (see descriptor_passing.h). No httpd, APR or Python here.
#include "common/descriptor_passing.h"

#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/uio.h>

namespace wsgid::common {

namespace {

// Control buffer for one descriptor. CMSG_SPACE rounds up to the header's alignment, so the
// kernel may fit a second int in it; receiveWithDescriptor closes anything past the first.
constexpr std::size_t kControlBytes = CMSG_SPACE(sizeof(int));

union ControlBuffer {
    char bytes[kControlBytes];
    cmsghdr align;  // the alignment CMSG_* expect
};

}  // namespace

Status sendWithDescriptor(int fd, std::string_view bytes, int descriptor,
                          Deadline deadline) noexcept {
    if (bytes.empty() || descriptor < 0) {
        return {ErrorCode::InvalidArgument, "a descriptor needs a valid fd and at least one byte"};
    }
    for (;;) {
        ControlBuffer control{};
        iovec vec{.iov_base = const_cast<char*>(bytes.data()), .iov_len = bytes.size()};
        msghdr msg{};
        msg.msg_iov = &vec;
        msg.msg_iovlen = 1;
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int));
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &descriptor, sizeof(int));
        const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            // The descriptor went with these bytes; the rest is plain data.
            bytes.remove_prefix(static_cast<std::size_t>(n));
            return bytes.empty() ? Status::ok() : writeFully(fd, bytes, deadline);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (Status s = waitWritable(fd, deadline); !s) {
                return s;
            }
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            return {ErrorCode::Closed, "connection closed by peer"};
        }
        return {ErrorCode::IoError, "sendmsg: " + errnoText(n < 0 ? errno : EIO)};
    }
}

ssize_t receiveWithDescriptor(int fd, std::span<char> buf, ReceivedDescriptor& out) noexcept {
    out = ReceivedDescriptor{};
    ControlBuffer control{};
    iovec vec{.iov_base = buf.data(), .iov_len = buf.size()};
    msghdr msg{};
    msg.msg_iov = &vec;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof(control.bytes);
    ssize_t n = -1;
    do {
        n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return n;
    }
    out.truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;  // nothing else is asked for (no SO_PASSCRED); nothing else needs closing
        }
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int received = -1;
            std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (!out.fd) {
                out.fd.reset(received);
            } else {
                out.extra = true;
                UniqueFd drop(received);
            }
        }
    }
    return n;
}

}  // namespace wsgid::common
