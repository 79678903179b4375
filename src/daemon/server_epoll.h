// SPDX-License-Identifier: Apache-2.0
// The epoll registrations and the eventfd helper that the Server's source files share
// (server.cpp, server_accept.cpp, server_admission.cpp, server_workers.cpp). Internal: included
// by those files only, never by server.h. No httpd headers here.
#pragma once

#include <cstdint>

#include <sys/epoll.h>
#include <sys/types.h>
#include <unistd.h>

namespace wsgid::daemon::detail {

/// Connections wait for readable data, one readiness report at a time: while the I/O thread or a
/// worker owns a connection, epoll stays silent about it, and two threads waiting on the set never
/// get the same connection.
inline constexpr std::uint32_t kConnectionEvents = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;

/// The connection set as the I/O thread watches it (nested in its own set while no worker is
/// idle). Every item in the set is EPOLLONESHOT, so once taken it is not ready any more and a
/// level-triggered watch cannot spin.
inline constexpr std::uint32_t kConnectionSetEvents = EPOLLIN;

/// The nudge eventfd in the connection set: one report per arming, like a connection, so one
/// idle worker wakes per nudge and the I/O thread, which may take one while it still watches the
/// set, can hold it back (passNudge) instead of seeing it again and again.
inline constexpr std::uint32_t kNudgeEvents = EPOLLIN | EPOLLONESHOT;

/// Every daemon of the group that has a free worker watches the group's socket, and a new
/// connection wakes all of them: one accept() succeeds, the others see EAGAIN. Not EPOLLEXCLUSIVE:
/// its single wake-up can go to a process that has just become full and stops watching without
/// accepting, and the connection then waits for that process although a sibling is idle. A group
/// has a handful of processes, and connections are persistent, so the extra wake-ups are rare.
inline constexpr std::uint32_t kListenEvents = EPOLLIN;

/// Adds `count` to an eventfd's counter. Fails only if the counter would overflow, and then its
/// waiters are woken already.
inline void addToEventFd(int fd, std::uint64_t count) noexcept {
    [[maybe_unused]] const ssize_t n = ::write(fd, &count, sizeof(count));
}

}  // namespace wsgid::daemon::detail
