// SPDX-License-Identifier: Apache-2.0
// Which kind of file system a descriptor's file is on, where that decides how the file may be
// used. No httpd, APR or Python here.
#pragma once

#include <cerrno>
#include <optional>

#include <sys/statfs.h>

namespace wsgid::common {

/// statfs f_type of FUSE file systems (fuse, fuseblk, virtiofs): linux/magic.h FUSE_SUPER_MAGIC.
inline constexpr decltype(statfs::f_type) kFuseSuperMagic = 0x65735546;

/// Whether `fd`'s file is on a FUSE file system, whose reads are answered by a user process
/// (which may be a tenant's, and may never answer); std::nullopt (errno set) when fstatfs fails.
inline std::optional<bool> onFuseFileSystem(int fd) noexcept {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0) {
        return std::nullopt;
    }
    return fs.f_type == kFuseSuperMagic;
}

}  // namespace wsgid::common
