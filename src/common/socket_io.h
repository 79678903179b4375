// SPDX-License-Identifier: Apache-2.0
// Deadline-bounded, EINTR-safe socket I/O built on poll(). No httpd, APR or Python here.
// Every function here waits at most until its Deadline; none blocks forever.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include <sys/uio.h>

#include "common/status.h"

namespace wsgid::common {

using Clock = std::chrono::steady_clock;

/// A point in time after which a blocking operation gives up with ErrorCode::Timeout.
class Deadline {
public:
    /// A deadline `timeout` from now.
    static Deadline after(std::chrono::milliseconds timeout) noexcept {
        return Deadline(Clock::now() + timeout);
    }
    /// A deadline that never passes (only for waits that something else bounds, e.g. shutdown).
    static Deadline never() noexcept { return Deadline(Clock::time_point::max()); }
    explicit Deadline(Clock::time_point at) noexcept : at_(at) {}

    [[nodiscard]] bool expired() const noexcept { return Clock::now() >= at_; }
    /// Milliseconds left, rounded up, as poll() wants them: -1 for never, 0 when expired.
    [[nodiscard]] int pollTimeoutMs() const noexcept;
    [[nodiscard]] Clock::time_point at() const noexcept { return at_; }
    /// The earlier of two deadlines.
    [[nodiscard]] Deadline min(Deadline other) const noexcept {
        return at_ <= other.at_ ? *this : other;
    }

private:
    Clock::time_point at_;
};

/// Sets or clears O_NONBLOCK.
Status setNonBlocking(int fd, bool on) noexcept;

/// Sets FD_CLOEXEC.
Status setCloseOnExec(int fd, bool on) noexcept;

/// Waits until `fd` is readable (or hung up). Timeout when the deadline passes.
Status waitReadable(int fd, Deadline deadline) noexcept;

/// Waits until `fd` is writable. Timeout when the deadline passes; Closed if the peer hung up.
Status waitWritable(int fd, Deadline deadline) noexcept;

/// Reads at least one byte into `buf` (up to its size). Returns the byte count; Closed at EOF
/// or when the peer reset the connection.
Result<std::size_t> readSome(int fd, std::span<char> buf, Deadline deadline) noexcept;

/// Reads at least one byte into the buffers, in order (one recvmsg()), from a socket: the
/// reader then puts a stream's bytes straight where each belongs. Returns the byte count; Closed
/// at EOF or when the peer reset the connection. With an already expired deadline it takes only
/// what the socket has at once and never polls (Timeout when that is nothing): one system call.
Result<std::size_t> readSomeV(int fd, std::span<const iovec> buffers, Deadline deadline) noexcept;

/// Reads exactly `buf.size()` bytes. Closed if EOF comes first.
Status readFully(int fd, std::span<char> buf, Deadline deadline) noexcept;

/// Writes all of `data`. Uses MSG_NOSIGNAL on sockets so a closed peer is an error, not SIGPIPE.
/// Sockets keep the deadline even when blocking; a pipe must be O_NONBLOCK for it to hold.
Status writeFully(int fd, std::span<const char> data, Deadline deadline) noexcept;

/// Writes all of the buffers in order (one sendmsg() where the kernel takes it all).
Status writeFullyV(int fd, std::span<const iovec> buffers, Deadline deadline) noexcept;

/// One send() that never waits: the number of bytes the socket took now (0 when its buffer is
/// full, or when `fd` is not a socket: the caller then writes with writeFully). Closed when the
/// peer has gone.
Result<std::size_t> sendNow(int fd, std::span<const char> data) noexcept;

/// The text of errno `err`, for messages ("Connection refused").
std::string errnoText(int err);

}  // namespace wsgid::common
