// SPDX-License-Identifier: Apache-2.0
// Checks of a passed descriptor (see passed_file.h). No httpd calls.
#include "apache/passed_file.h"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>

#include "common/file_system.h"
#include "common/socket_io.h"

namespace wsgid::apache {

namespace {

using common::ErrorCode;
using common::Status;

const char* kindOf(mode_t mode) noexcept {
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    if (S_ISCHR(mode)) {
        return "a character device";
    }
    if (S_ISBLK(mode)) {
        return "a block device";
    }
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISLNK(mode)) {
        return "a symbolic link";
    }
    return "not a regular file";
}

Status refused(std::string why) {
    return {ErrorCode::ProtocolError, "its descriptor is " + std::move(why)};
}

}  // namespace

Status checkPassedFile(int fd, const protocol::ResponseFile& range) noexcept {
    try {
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0) {
            return refused("unusable (" + common::errnoText(errno) + ")");
        }
        if ((flags & O_PATH) != 0) {
            return refused("an O_PATH descriptor, which cannot be read");
        }
        if ((flags & O_ACCMODE) == O_WRONLY) {
            return refused("open for writing only");
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            return refused("unusable (fstat: " + common::errnoText(errno) + ")");
        }
        if (!S_ISREG(st.st_mode)) {
            return refused(std::string(kindOf(st.st_mode)) + ", not a regular file");
        }
        const auto size = static_cast<std::uint64_t>(st.st_size < 0 ? 0 : st.st_size);
        // decodeResponseFile bounds offset + length by 2^63-1: the sum cannot overflow.
        if (range.offset + range.length > size) {
            return refused("a file of " + std::to_string(size) + " bytes, shorter than the range " +
                           std::to_string(range.offset) + "+" + std::to_string(range.length));
        }
        const std::optional<bool> fuse = common::onFuseFileSystem(fd);
        if (!fuse) {
            return refused("unusable (fstatfs: " + common::errnoText(errno) + ")");
        }
        if (*fuse) {
            return refused("on a FUSE file system, whose reads its owner controls");
        }
        return Status::ok();
    } catch (...) {
        // Not a C boundary (c_boundary.h): a local recovery. Only the message strings allocate,
        // and the caller, which logs the Status, is told that it ran out of memory.
        return {ErrorCode::Internal, "out of memory checking a passed descriptor"};
    }
}

}  // namespace wsgid::apache
