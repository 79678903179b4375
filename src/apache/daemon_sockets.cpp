// SPDX-License-Identifier: Apache-2.0
// The groups' listening sockets (see daemon_sockets.h). POSIX only; no httpd headers.
#include "apache/daemon_sockets.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "apache/socket_directory.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"

namespace wsgid::apache {

using common::ErrorCode;
using common::LogLevel;
using common::Result;
using common::Status;

namespace {

bool isSocketFile(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

/// Whether `fd` is still the Unix socket bound to `path` (not a descriptor number that something
/// else closed and reused).
bool isListenerFor(int fd, const std::string& path) {
    sockaddr_un addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        addr.sun_family != AF_UNIX) {
        return false;
    }
    return ::strncmp(addr.sun_path, path.c_str(), sizeof(addr.sun_path)) == 0;
}

void unlinkSocket(const std::string& path) {
    if (isSocketFile(path)) {
        (void)::unlink(path.c_str());  // best effort: the path contains our pid
    }
}

/// The socket file goes to the children's user (they connect as that user), or to the group's
/// socket-user=; its mode 0600 comes from kBindUmask. Neither step follows a symlink
/// (socket_directory.h).
void setOwnership(const WantedListener& w, const SocketOwner& owner, common::LogSink& log) {
    if (!owner.uid) {
        return;
    }
    const uid_t uid = w.ownerUid.value_or(*owner.uid);
    if (auto st = chownSocket(w.path, uid, owner.gid); !st) {
        log.log(LogLevel::Warning, "WG0024",
                "cannot give the daemon socket " + w.path + " to " +
                    (w.ownerUid ? "socket-user " + w.ownerName : "User " + owner.userName) + ": " +
                    st.message());
    }
}

/// socket + bind (under kBindUmask) + listen. A stale socket file at the path is replaced.
Result<int> createListener(const std::string& path, int backlog, common::LogSink& log) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
        return {ErrorCode::InvalidArgument, "the path is longer than a Unix socket path can be"};
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return {ErrorCode::InvalidArgument,
                    "the path exists and is not a socket; remove it or change WSGISocketPrefix"};
        }
        // Left by an earlier httpd that had the same pid and did not exit cleanly.
        log.log(LogLevel::Info, "WG0023", "removing stale daemon socket " + path);
        (void)::unlink(path.c_str());
    }
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return {ErrorCode::IoError, "socket(): " + common::errnoText(errno)};
    }
    const mode_t previous = ::umask(kBindUmask);
    const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int bindErr = errno;
    ::umask(previous);
    if (rc != 0) {
        return {ErrorCode::IoError,
                "bind(): " + common::errnoText(bindErr) +
                    (bindErr == ENOENT || bindErr == EACCES
                         ? "; create the directory or change WSGISocketPrefix/DefaultRuntimeDir"
                         : "")};
    }
    if (::listen(fd.get(), backlog) != 0) {
        const int err = errno;
        (void)::unlink(path.c_str());
        return {ErrorCode::IoError, "listen(): " + common::errnoText(err)};
    }
    return fd.release();
}

}  // namespace

Status DaemonSockets::reconcile(const std::vector<WantedListener>& wanted, const SocketOwner& owner,
                                common::LogSink& log) {
    std::vector<GroupListener> old = std::move(listeners_);
    listeners_.clear();
    for (const WantedListener& w : wanted) {
        auto it = std::find_if(old.begin(), old.end(),
                               [&](const GroupListener& l) { return l.group == w.group; });
        int fd = -1;
        if (it != old.end() && it->path == w.path && isListenerFor(it->fd, w.path) &&
            isSocketFile(w.path)) {
            // Same group, same socket: connections queued in its backlog survive the restart.
            fd = it->fd;
            (void)::listen(fd, w.backlog);  // applies a changed listen-backlog
            setOwnership(w, owner, log);
            log.log(LogLevel::Debug, "WG0025", "group " + w.group + " keeps its socket " + w.path);
        } else {
            if (it != old.end()) {
                (void)::close(it->fd);
                unlinkSocket(it->path);
            }
            auto created = createListener(w.path, w.backlog, log);
            if (!created) {
                if (it != old.end()) {
                    old.erase(it);
                }
                // Whatever is left is closed and unlinked when httpd exits (closeAll).
                listeners_.insert(listeners_.end(), old.begin(), old.end());
                return {created.status().code(), "cannot create the socket " + w.path +
                                                     " of daemon group " + w.group + ": " +
                                                     created.status().message()};
            }
            fd = created.value();
            setOwnership(w, owner, log);
        }
        if (it != old.end()) {
            old.erase(it);
        }
        listeners_.push_back({w.group, w.path, fd});
    }
    for (const auto& vanished : old) {
        log.log(LogLevel::Info, "WG0022",
                "daemon group " + vanished.group + " is no longer configured; closing its socket " +
                    vanished.path);
        (void)::close(vanished.fd);
        unlinkSocket(vanished.path);
    }
    return Status::ok();
}

int DaemonSockets::fdFor(std::string_view group) const noexcept {
    const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                                 [&](const GroupListener& l) { return l.group == group; });
    return it == listeners_.end() ? -1 : it->fd;
}

void DaemonSockets::closeAll() noexcept {
    for (const auto& l : listeners_) {
        (void)::close(l.fd);
        unlinkSocket(l.path);
    }
    listeners_.clear();
}

void DaemonSockets::closeCopies() const noexcept {
    for (const auto& l : listeners_) {
        (void)::close(l.fd);
    }
}

}  // namespace wsgid::apache
