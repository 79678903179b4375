// SPDX-License-Identifier: Apache-2.0
// DaemonSockets: the listening Unix socket of each daemon group, owned by the httpd parent and
// kept across restarts (so connections queued in a backlog survive them): create, keep, close,
// unlink. POSIX only, no httpd headers and no ap_* calls: messages go to an injected LogSink,
// and tests/unit/apache/daemon_sockets_test.cpp creates real sockets in a temporary directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/log_sink.h"
#include "common/status.h"

namespace wsgid::apache {

/// The listening socket of one group.
struct GroupListener {
    std::string group;
    std::string path;
    int fd = -1;
};

/// A group the configuration wants a socket for.
struct WantedListener {
    std::string group;
    std::string path;  ///< socketPathFor(prefix, parent pid, group)
    int backlog = 0;   ///< listen-backlog=
    /// socket-user=: this uid owns the socket file instead of SocketOwner::uid (when that is set,
    /// i.e. httpd started as root).
    std::optional<uid_t> ownerUid{};
    std::string ownerName{};  ///< socket-user= as written, for messages
};

/// Who the socket files are given to: the user httpd children run as (they connect, so only they
/// may). Unset: leave them to whoever created them (httpd not started as root).
struct SocketOwner {
    std::optional<uid_t> uid;
    gid_t gid = 0;
    std::string userName;  ///< for messages
};

/// The listening sockets of every group. Lives in the httpd parent's retained state across
/// configuration generations. Not thread-safe (the parent is single-threaded). Holds plain data
/// only: the module's code is unloaded and reloaded at every restart.
class DaemonSockets {
public:
    /// Makes the set match `wanted`: a group whose socket survived a restart with the same path
    /// keeps it (its backlog updated, its owner set again); the others get a new socket (a stale
    /// socket file at the path is replaced, anything else there is an error); sockets of groups
    /// no longer wanted are closed and unlinked. On failure (logged as WG0021) the sockets made
    /// or kept so far stay in the set, to be removed by closeAll(). Logs WG0021..WG0025.
    common::Status reconcile(const std::vector<WantedListener>& wanted, const SocketOwner& owner,
                             common::LogSink& log);

    /// The descriptor of `group`'s socket, or -1.
    [[nodiscard]] int fdFor(std::string_view group) const noexcept;
    [[nodiscard]] const std::vector<GroupListener>& listeners() const noexcept {
        return listeners_;
    }

    /// httpd stops: closes every socket and unlinks its file.
    void closeAll() noexcept;
    /// child_init: closes this process's copies (an httpd child connects, it never accepts);
    /// the files stay.
    void closeCopies() const noexcept;

private:
    std::vector<GroupListener> listeners_;
};

}  // namespace wsgid::apache
