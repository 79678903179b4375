// SPDX-License-Identifier: Apache-2.0
// Test helpers for descriptor passing: regular files in memory (memfd), reading a range back,
// counting this process's open descriptors (to prove none leaked). No httpd, APR or Python.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace wsgid::testing {

/// A regular file holding `content` (a memfd: no directory to clean up), position at its end.
inline common::UniqueFd memFile(std::string_view content) {
    common::UniqueFd fd(::memfd_create("wg-test", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid()) << "memfd_create: " << errno;
    std::string_view left = content;
    while (!left.empty()) {
        const ssize_t n = ::write(fd.get(), left.data(), left.size());
        if (n <= 0) {
            ADD_FAILURE() << "write to memfd failed";
            break;
        }
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd;
}

/// `length` bytes of `fd` from `offset` (pread: the file position is left alone).
inline std::string readRange(int fd, std::uint64_t offset, std::uint64_t length) {
    std::string out(length, '\0');
    std::size_t done = 0;
    while (done < length) {
        const ssize_t n =
            ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
}

/// How many descriptors this process has open now.
inline int openDescriptorCount() {
    int count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return -1;
    }
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    return count - 1;  // opendir's own
}

}  // namespace wsgid::testing
