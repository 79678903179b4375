// SPDX-License-Identifier: Apache-2.0
// poll()-based I/O with deadlines. No httpd, APR or Python here.
#include "common/socket_io.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgid::common {

namespace {

Status ioError(const char* what, int err) {
    return {ErrorCode::IoError, std::string(what) + ": " + errnoText(err)};
}

// Waits for `events` on fd; ok when any of them (or an error/hangup) is reported.
Status waitFor(int fd, short events, Deadline deadline) noexcept {
    for (;;) {
        pollfd p{.fd = fd, .events = events, .revents = 0};
        const int rc = ::poll(&p, 1, deadline.pollTimeoutMs());
        if (rc > 0) {
            return Status::ok();
        }
        if (rc == 0) {
            return {ErrorCode::Timeout, "timed out waiting for the peer"};
        }
        if (errno != EINTR) {
            return ioError("poll", errno);
        }
    }
}

// What a read that returned `n` (negative: errno says why) means: the byte count, Closed at EOF
// or on a reset, an IoError; std::nullopt when it is to be made again, at once after EINTR
// (`wait` false) or once the fd is readable after EAGAIN (`wait` true).
std::optional<Result<std::size_t>> readOutcome(ssize_t n, bool& wait) noexcept {
    wait = false;
    if (n > 0) {
        return static_cast<std::size_t>(n);
    }
    if (n == 0) {
        return Status(ErrorCode::Closed, "connection closed by peer");
    }
    if (errno == EINTR) {
        return std::nullopt;
    }
    if (errno == ECONNRESET) {
        // The peer closed with our data unread in its queue: still a close, not an I/O fault.
        return Status(ErrorCode::Closed, "connection reset by peer");
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return ioError("read", errno);
    }
    wait = true;
    return std::nullopt;
}

}  // namespace

int Deadline::pollTimeoutMs() const noexcept {
    if (at_ == Clock::time_point::max()) {
        return -1;
    }
    const auto now = Clock::now();
    if (now >= at_) {
        return 0;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(at_ - now).count();
    return static_cast<int>(std::min<long long>(left, std::numeric_limits<int>::max()));
}

std::string errnoText(int err) {
    char buf[256];
    // GNU strerror_r returns a pointer that may or may not be buf.
    const char* text = ::strerror_r(err, buf, sizeof(buf));
    return text;
}

Status setNonBlocking(int fd, bool on) noexcept {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) {
        return ioError("fcntl(F_GETFL)", errno);
    }
    const int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) < 0) {
        return ioError("fcntl(F_SETFL)", errno);
    }
    return Status::ok();
}

Status setCloseOnExec(int fd, bool on) noexcept {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) {
        return ioError("fcntl(F_GETFD)", errno);
    }
    const int wanted = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    if (wanted != flags && ::fcntl(fd, F_SETFD, wanted) < 0) {
        return ioError("fcntl(F_SETFD)", errno);
    }
    return Status::ok();
}

Status waitReadable(int fd, Deadline deadline) noexcept {
    return waitFor(fd, POLLIN, deadline);
}

Status waitWritable(int fd, Deadline deadline) noexcept {
    return waitFor(fd, POLLOUT, deadline);
}

Result<std::size_t> readSome(int fd, std::span<char> buf, Deadline deadline) noexcept {
    // MSG_DONTWAIT keeps the deadline even on a blocking socket. Other fds (pipes) are waited
    // for first, so a blocking one cannot hang past the deadline either.
    bool socket = true;
    for (;;) {
        ssize_t n = -1;
        if (socket) {
            n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n < 0 && errno == ENOTSOCK) {
                socket = false;
                continue;
            }
        } else {
            if (Status s = waitReadable(fd, deadline); !s) {
                return s;
            }
            n = ::read(fd, buf.data(), buf.size());
        }
        bool wait = false;
        if (std::optional<Result<std::size_t>> done = readOutcome(n, wait)) {
            return std::move(*done);
        }
        if (wait) {
            if (Status s = waitReadable(fd, deadline); !s) {
                return s;
            }
        }
    }
}

Result<std::size_t> readSomeV(int fd, std::span<const iovec> buffers, Deadline deadline) noexcept {
    msghdr message{};
    // recvmsg() does not write through msg_iov; the cast only satisfies its C signature.
    message.msg_iov = const_cast<iovec*>(buffers.data());
    message.msg_iovlen = buffers.size();
    for (;;) {
        const ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT);
        bool wait = false;
        if (std::optional<Result<std::size_t>> done = readOutcome(n, wait)) {
            return std::move(*done);
        }
        if (!wait) {
            continue;
        }
        if (deadline.expired()) {
            return Status(ErrorCode::Timeout, "timed out waiting for the peer");
        }
        if (Status s = waitReadable(fd, deadline); !s) {
            return s;
        }
    }
}

Status readFully(int fd, std::span<char> buf, Deadline deadline) noexcept {
    // Copying the error Status allocates; an allocation failure must not escape the noexcept.
    try {
        std::size_t done = 0;
        while (done < buf.size()) {
            auto n = readSome(fd, buf.subspan(done), deadline);
            if (!n) {
                return n.status();
            }
            done += n.value();
        }
        return Status::ok();
    } catch (...) {
        return {ErrorCode::Internal, "out of memory"};
    }
}

Result<std::size_t> sendNow(int fd, std::span<const char> data) noexcept {
    for (;;) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTSOCK) {
            return std::size_t{0};
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            return Status{ErrorCode::Closed, "connection closed by peer: " + errnoText(errno)};
        }
        return ioError("write", errno);
    }
}

Status writeFully(int fd, std::span<const char> data, Deadline deadline) noexcept {
    const iovec one{.iov_base = const_cast<char*>(data.data()), .iov_len = data.size()};
    return writeFullyV(fd, std::span<const iovec>(&one, 1), deadline);
}

Status writeFullyV(int fd, std::span<const iovec> buffers, Deadline deadline) noexcept {
    // Work on a copy so partial writes can advance the vector without touching the caller's.
    constexpr std::size_t kInline = 8;
    iovec inlineVec[kInline];
    std::vector<iovec> heapVec;
    iovec* vec = inlineVec;
    if (buffers.size() > kInline) {
        try {
            heapVec.assign(buffers.begin(), buffers.end());
        } catch (...) {
            return {ErrorCode::Internal, "out of memory"};
        }
        vec = heapVec.data();
    } else {
        std::copy(buffers.begin(), buffers.end(), inlineVec);
    }
    std::size_t count = buffers.size();
    // Assume a socket (the hot path) and learn otherwise from ENOTSOCK, as readSome does: asking
    // with getsockopt() first would cost a system call on every response frame.
    bool socket = true;
    while (count > 0) {
        if (vec->iov_len == 0) {
            ++vec;
            --count;
            continue;
        }
        // The kernel takes at most IOV_MAX buffers per call (EMSGSIZE beyond); the rest follow.
        const std::size_t batch = std::min<std::size_t>(count, IOV_MAX);
        ssize_t n = 0;
        if (socket) {
            msghdr msg{};
            msg.msg_iov = vec;
            msg.msg_iovlen = batch;
            // MSG_DONTWAIT: the deadline holds even if the caller left the socket blocking.
            n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == ENOTSOCK) {
                socket = false;
                continue;
            }
        } else {
            n = ::writev(fd, vec, static_cast<int>(batch));
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (Status s = waitWritable(fd, deadline); !s) {
                    return s;
                }
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET) {
                return {ErrorCode::Closed, "connection closed by peer: " + errnoText(errno)};
            }
            return ioError("write", errno);
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= vec->iov_len) {
            left -= vec->iov_len;
            ++vec;
            --count;
        }
        if (count > 0) {
            vec->iov_base = static_cast<char*>(vec->iov_base) + left;
            vec->iov_len -= left;
        }
    }
    return Status::ok();
}

}  // namespace wsgid::common
