// SPDX-License-Identifier: Apache-2.0
// Test helpers for descriptor passing: regular files in memory (memfd), and the gtest-free tools
// of fd_tools.h. No httpd, APR or Python.
#pragma once

#include <cerrno>
#include <string_view>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "support/fd_tools.h"

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

}  // namespace wsgid::testing
