// SPDX-License-Identifier: Apache-2.0
// Socket directory hygiene (see socket_directory.h): the pure rules, then the POSIX adapters
// that feed them lstat() results and act on their verdicts. No httpd headers, no ap_* calls.
#include "apache/socket_directory.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "apache/config_parse.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"

namespace wsgid::apache {

using common::ErrorCode;
using common::Status;

namespace {

std::string modeText(mode_t mode) {
    char buf[8];
    (void)std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::string ownerText(const PathInfo& p) {
    const std::string uid = "uid " + std::to_string(p.uid);
    return p.ownerName.empty() ? uid : p.ownerName + " (" + uid + ")";
}

bool writableByOthers(mode_t mode) noexcept {
    return (mode & (S_IWGRP | S_IWOTH)) != 0;
}

/// Who besides the owner may write a directory with this mode.
std::string writersText(mode_t mode) {
    return (mode & S_IWOTH) != 0 ? "others" : "its group";
}

Status refuse(std::string_view what, const std::string& problem, std::string_view advice) {
    return {ErrorCode::InvalidArgument,
            std::string(what) + ": " + problem + "; " + std::string(advice)};
}

}  // namespace

std::string TrustedOwners::describe() const {
    if (!extraUid || *extraUid == 0) {
        return "root";
    }
    return "root or " + (extraName.empty() ? "uid " + std::to_string(*extraUid) : extraName);
}

std::string socketDirectoryAdvice(bool configured, const TrustedOwners& trusted) {
    const std::string who = trusted.describe();
    if (configured) {
        return "point WSGISocketPrefix at a directory only " + who +
               " can write, such as /var/run/apache2/wsgi";
    }
    return "make DefaultRuntimeDir a directory only " + who +
           " can write, or point WSGISocketPrefix at one, such as /var/run/apache2/wsgi";
}

Status checkSocketDirectoryChain(std::string_view what, std::span<const PathInfo> chain,
                                 const TrustedOwners& trusted, std::string_view advice) {
    if (chain.empty()) {
        return {ErrorCode::Internal, std::string(what) + ": no directory to check"};
    }
    const PathInfo& d = chain.front();
    if (!S_ISDIR(d.mode)) {
        return refuse(what, d.path + " is not a directory", advice);
    }
    if (!trusted.trusts(d.uid)) {
        return refuse(what,
                      "directory " + d.path + " is owned by " + ownerText(d) + " (mode " +
                          modeText(d.mode) + "), not by " + trusted.describe(),
                      advice);
    }
    if (writableByOthers(d.mode)) {
        // Sticky or not: whoever may create files here can plant names the module later trusts.
        return refuse(what,
                      "directory " + d.path + " is writable by " + writersText(d.mode) + " (mode " +
                          modeText(d.mode) + ", owner " + ownerText(d) + ")",
                      advice);
    }
    return checkParentChain(what, chain, trusted, advice);
}

Status checkParentChain(std::string_view what, std::span<const PathInfo> chain,
                        const TrustedOwners& trusted, std::string_view advice) {
    for (std::size_t i = 1; i < chain.size(); ++i) {
        const PathInfo& dir = chain[i];
        const PathInfo& entry = chain[i - 1];
        const std::string holds = "directory " + dir.path + ", which holds " + entry.path;
        if (!S_ISDIR(dir.mode)) {
            return refuse(what, dir.path + " is not a directory", advice);
        }
        if (!trusted.trusts(dir.uid)) {
            return refuse(what,
                          holds + ", is owned by " + ownerText(dir) + " (mode " +
                              modeText(dir.mode) + "), not by " + trusted.describe() +
                              ", so that user can swap " + entry.path,
                          advice);
        }
        if (!writableByOthers(dir.mode)) {
            continue;
        }
        if ((dir.mode & S_ISVTX) == 0) {
            return refuse(what,
                          holds + ", is writable by " + writersText(dir.mode) + " (mode " +
                              modeText(dir.mode) + "), so they can swap " + entry.path,
                          advice);
        }
        // Sticky: only the entry's owner (and root) may rename or remove it.
        if (!trusted.trusts(entry.uid)) {
            return refuse(what,
                          entry.path + " is owned by " + ownerText(entry) +
                              " in the sticky directory " + dir.path + " (mode " +
                              modeText(dir.mode) + "), so that user can swap it",
                          advice);
        }
    }
    return {};
}

std::optional<long> socketNamePid(std::string_view prefixBase, std::string_view fileName) {
    static constexpr std::string_view kSuffix = ".sock";
    if (prefixBase.empty() || !fileName.starts_with(prefixBase) ||
        fileName.size() <= prefixBase.size() + 1 || fileName[prefixBase.size()] != '.') {
        return std::nullopt;
    }
    std::string_view rest = fileName.substr(prefixBase.size() + 1);
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
        ++digits;
    }
    if (digits == 0 || digits > kMaxPidDigits || rest[0] == '0' || digits >= rest.size() ||
        rest[digits] != '.') {
        return std::nullopt;
    }
    long pid = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        pid = pid * 10 + (rest[i] - '0');
    }
    rest.remove_prefix(digits + 1);
    if (!rest.ends_with(kSuffix) || rest.size() == kSuffix.size()) {
        return std::nullopt;
    }
    const std::string_view group = rest.substr(0, rest.size() - kSuffix.size());
    for (const char c : group) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return std::nullopt;
        }
    }
    return pid;
}

// ---- POSIX adapters -----------------------------------------------------------------------------

namespace {

common::Result<PathInfo> lstatInfo(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        const int err = errno;
        return {ErrorCode::IoError, "lstat " + path + ": " + common::errnoText(err)};
    }
    PathInfo info{path, st.st_uid, st.st_mode, {}};
    // The httpd parent is single-threaded while it checks its configuration.
    if (const passwd* pw = ::getpwuid(st.st_uid); pw != nullptr) {  // NOLINT(concurrency-mt-unsafe)
        info.ownerName = pw->pw_name;
    }
    return info;
}

/// lstat() of `path` and of every directory above it, up to "/" (path must be absolute).
common::Result<std::vector<PathInfo>> lstatChain(std::string path,
                                                 std::vector<PathInfo> chain = {}) {
    while (true) {
        auto info = lstatInfo(path);
        if (!info) {
            return info.status();
        }
        chain.push_back(std::move(info.value()));
        if (path == "/") {
            return chain;
        }
        path = socketDirectoryOf(path);
    }
}

std::optional<std::string> resolved(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) {
        return std::nullopt;
    }
    return std::string(buf);
}

/// True only when connect() says nobody listens: ECONNREFUSED. A socket that accepts, or whose
/// backlog is full (EAGAIN with a non-blocking connect), is alive.
bool nobodyListens(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
        return false;
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    const common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return false;
    }
    const int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    return rc != 0 && errno == ECONNREFUSED;
}

}  // namespace

std::string socketDirectoryOf(std::string_view prefix) {
    const auto slash = prefix.rfind('/');
    if (slash == std::string_view::npos) {
        return ".";
    }
    return slash == 0 ? "/" : std::string(prefix.substr(0, slash));
}

Status checkSocketDirectory(std::string_view what, const std::string& dir,
                            const TrustedOwners& trusted, std::string_view advice) {
    const auto real = resolved(dir);
    if (!real) {
        const int err = errno;
        return {err == ENOENT ? ErrorCode::NotFound : ErrorCode::IoError,
                std::string(what) + ": cannot resolve " + dir + ": " + common::errnoText(err)};
    }
    auto chain = lstatChain(*real);
    if (!chain) {
        return chain.status();
    }
    if (auto st = checkSocketDirectoryChain(what, chain.value(), trusted, advice); !st) {
        return st;
    }
    // A symlink on the way as written can be replaced by whoever may write the directory that
    // holds it, so that directory and those above it must pass the same rule.
    if (!dir.starts_with('/')) {
        return {};
    }
    for (auto end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
        const std::string part = dir.substr(0, end);
        struct stat st {};
        if (!part.empty() && ::lstat(part.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
            auto link = lstatInfo(part);
            const auto parent = resolved(socketDirectoryOf(part));
            if (!link || !parent) {
                return {ErrorCode::IoError, std::string(what) + ": cannot inspect " + part};
            }
            auto parents = lstatChain(*parent, {link.value()});
            if (!parents) {
                return parents.status();
            }
            if (auto verdict = checkParentChain(what, parents.value(), trusted, advice); !verdict) {
                return verdict;
            }
        }
        if (end == std::string::npos) {
            return {};
        }
    }
}

Status chownSocket(const std::string& path, uid_t uid, gid_t gid) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        const int err = errno;
        return {ErrorCode::IoError, "lstat: " + common::errnoText(err)};
    }
    if (!S_ISSOCK(st.st_mode)) {
        return {ErrorCode::InvalidArgument, "it is not a socket"};
    }
    if (::fchownat(AT_FDCWD, path.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        const int err = errno;
        return {ErrorCode::IoError, "fchownat: " + common::errnoText(err)};
    }
    return {};
}

std::vector<StaleSocket> removeStaleSockets(std::string_view prefix, long ownPid) {
    const std::string dir = socketDirectoryOf(prefix);
    const auto slash = prefix.rfind('/');
    const std::string_view base =
        slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return {};  // a missing directory is reported when the sockets are created
    }
    std::vector<std::pair<std::string, long>> candidates;
    // readdir is only unsafe on a stream shared between threads; `d` is private to this call.
    while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
        if (auto pid = socketNamePid(base, e->d_name); pid && *pid != ownPid) {
            candidates.emplace_back(e->d_name, *pid);
        }
    }
    std::vector<StaleSocket> out;
    const int dfd = ::dirfd(d);
    for (const auto& [name, pid] : candidates) {
        struct stat st {};
        if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode)) {
            continue;  // gone, a symlink, or not a socket: not ours to touch
        }
        const std::string path = (dir == "/" ? "" : dir) + "/" + name;
        if (!nobodyListens(path)) {
            continue;
        }
        StaleSocket stale{path, pid, 0};
        if (::unlinkat(dfd, name.c_str(), 0) != 0) {
            stale.error = errno;
        }
        out.push_back(std::move(stale));
    }
    ::closedir(d);
    return out;
}

}  // namespace wsgid::apache
