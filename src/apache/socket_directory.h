// SPDX-License-Identifier: Apache-2.0
// Hygiene of the daemon socket directory: who may write it and the directories above it (a
// configtest rule), socket ownership set without following symlinks, and removal of the sockets
// that dead httpd instances left behind. Pure rules first, then thin POSIX adapters; no httpd
// headers and no ap_* calls here (tests/unit/apache/socket_directory_test.cpp).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/status.h"

namespace wsgid::apache {

/// Mode of a daemon socket: only its owner (Apache's User) may connect.
inline constexpr mode_t kSocketMode = 0600;
/// umask while binding: bind() creates the socket file with mode 0777 & ~umask, so the socket is
/// born with kSocketMode and is never chmod'ed by path (which would follow a symlink).
inline constexpr mode_t kBindUmask = 0177;
static_assert((0777 & ~kBindUmask) == kSocketMode);

// ---- pure rules -------------------------------------------------------------------------------

/// What lstat() says about one path, as far as the rules need it.
struct PathInfo {
    std::string path;
    uid_t uid = 0;
    mode_t mode = 0;        ///< st_mode: file type and permission bits
    std::string ownerName;  ///< passwd name of uid, "" if it has none (messages only)
};

/// Users that may own (and so write) the socket directory and the directories above it: root,
/// plus the user httpd runs as when it was not started as root (a developer's own httpd).
struct TrustedOwners {
    std::optional<uid_t> extraUid;
    std::string extraName;

    [[nodiscard]] bool trusts(uid_t uid) const noexcept { return uid == 0 || extraUid == uid; }
    /// "root", or "root or alice".
    [[nodiscard]] std::string describe() const;
};

/// The end of every refusal: what to change. `configured`: WSGISocketPrefix was given (else the
/// sockets go to DefaultRuntimeDir).
std::string socketDirectoryAdvice(bool configured, const TrustedOwners& trusted);

/// The rule for the socket directory. `chain` is the directory itself (resolved, no symlink),
/// then each directory above it up to "/", as lstat() saw them. The directory must be owned by a
/// trusted user and writable by nobody else (no group or other write bit, sticky or not: anyone
/// could plant files in it). Each directory above must be owned by a trusted user too, and may be
/// writable by others only when it is sticky and the entry below it is trusted-owned (then only
/// that owner can rename the entry away, as with /tmp/wg-xyz in /tmp). The error names `what`,
/// the directory, its owner and mode, and ends with `advice`.
common::Status checkSocketDirectoryChain(std::string_view what, std::span<const PathInfo> chain,
                                         const TrustedOwners& trusted, std::string_view advice);

/// The rule for the directories above an entry: chain[0] is any entry (a symlink on the way to
/// the socket directory), then the directory that holds it and each one above, up to "/".
common::Status checkParentChain(std::string_view what, std::span<const PathInfo> chain,
                                const TrustedOwners& trusted, std::string_view advice);

/// The pid in a socket file name of ours: `<prefixBase>.<pid>.<group>.sock`, where prefixBase is
/// the last component of WSGISocketPrefix and group a sanitized group name (sanitizeForPath).
/// std::nullopt for every other name.
std::optional<long> socketNamePid(std::string_view prefixBase, std::string_view fileName);

// ---- POSIX adapters -----------------------------------------------------------------------------

/// The directory part of a socket prefix ("/run/apache2/wsgid" -> "/run/apache2", "/x" -> "/").
std::string socketDirectoryOf(std::string_view prefix);

/// Applies checkSocketDirectoryChain to `dir` resolved with realpath(), and checkParentChain to
/// every symlink on the way as written. NotFound (and no verdict) when `dir` does not exist.
common::Status checkSocketDirectory(std::string_view what, const std::string& dir,
                                    const TrustedOwners& trusted, std::string_view advice);

/// Gives the socket at `path` to uid:gid without following a symlink (fchownat with
/// AT_SYMLINK_NOFOLLOW), after checking with lstat() that it is a socket.
common::Status chownSocket(const std::string& path, uid_t uid, gid_t gid);

/// One socket file of another httpd instance met by removeStaleSockets.
struct StaleSocket {
    std::string path;
    long pid = 0;
    int error = 0;  ///< 0: removed; else the errno of the failed unlink
};

/// Scans the directory of `prefix` for sockets named like ours with a pid other than `ownPid`
/// and removes each one that nobody listens on any more (connect() says ECONNREFUSED). Never
/// removes a socket that accepts (or whose backlog is full), never follows a symlink, never
/// touches a name that is not ours. Returns what it removed or failed to remove.
std::vector<StaleSocket> removeStaleSockets(std::string_view prefix, long ownPid);

}  // namespace wsgid::apache
