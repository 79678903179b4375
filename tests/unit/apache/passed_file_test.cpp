// SPDX-License-Identifier: Apache-2.0
// Unit tests for the module's checks of a passed descriptor (apache/passed_file.h), with real
// descriptors of every kind a hostile daemon could pass.
#include "apache/passed_file.h"

#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "protocol/limits.h"
#include "support/descriptors.h"
#include "support/temp_dir.h"

namespace wsgid::apache {
namespace {

using common::ErrorCode;
using common::Status;
using common::UniqueFd;
using protocol::ResponseFile;
using testing::memFile;

// The message of a refusal, or "ok".
std::string verdict(int fd, ResponseFile range) {
    const Status s = checkPassedFile(fd, range);
    if (s.isOk()) {
        return "ok";
    }
    EXPECT_EQ(s.code(), ErrorCode::ProtocolError) << s.message();
    return s.message();
}

TEST(PassedFile, ARegularFileCoveringTheRangeIsAccepted) {
    UniqueFd f = memFile("0123456789");
    EXPECT_EQ(verdict(f.get(), {.offset = 0, .length = 10}), "ok");
    EXPECT_EQ(verdict(f.get(), {.offset = 3, .length = 7}), "ok");
    EXPECT_EQ(verdict(f.get(), {.offset = 10, .length = 0}), "ok");
    testing::TempDir dir;
    UniqueFd onDisk(::open(dir.write("f.bin", "abc").c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_EQ(verdict(onDisk.get(), {.offset = 0, .length = 3}), "ok");
    UniqueFd readWrite(::open((dir.path() + "/f.bin").c_str(), O_RDWR | O_CLOEXEC));
    EXPECT_EQ(verdict(readWrite.get(), {.offset = 1, .length = 2}), "ok");
}

TEST(PassedFile, ARangeBeyondTheFileIsRefused) {
    UniqueFd f = memFile("0123456789");
    EXPECT_NE(verdict(f.get(), {.offset = 0, .length = 11}).find("shorter than the range"),
              std::string::npos);
    EXPECT_NE(verdict(f.get(), {.offset = 11, .length = 0}), "ok");
    // The largest range the frame decoder lets through.
    EXPECT_NE(verdict(f.get(), {.offset = 0, .length = protocol::kMaxFileRangeEnd}), "ok");
    EXPECT_NE(verdict(f.get(), {.offset = protocol::kMaxFileRangeEnd, .length = 0}), "ok");
}

TEST(PassedFile, PipesSocketsDevicesAndDirectoriesAreRefused) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd readEnd(p[0]);
    UniqueFd writeEnd(p[1]);
    EXPECT_NE(verdict(readEnd.get(), {.offset = 0, .length = 0}).find("a FIFO"), std::string::npos);
    int s[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
    UniqueFd a(s[0]);
    UniqueFd b(s[1]);
    EXPECT_NE(verdict(a.get(), {.offset = 0, .length = 0}).find("a socket"), std::string::npos);
    UniqueFd zero(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    EXPECT_NE(verdict(zero.get(), {.offset = 0, .length = 1}).find("a character device"),
              std::string::npos);
    UniqueFd dir(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    EXPECT_NE(verdict(dir.get(), {.offset = 0, .length = 0}).find("a directory"),
              std::string::npos);
}

TEST(PassedFile, DescriptorsThatCannotBeReadAreRefused) {
    testing::TempDir dir;
    const std::string path = dir.write("f.bin", "abc");
    UniqueFd pathOnly(::open(path.c_str(), O_PATH | O_CLOEXEC));
    EXPECT_NE(verdict(pathOnly.get(), {.offset = 0, .length = 1}).find("O_PATH"),
              std::string::npos);
    UniqueFd writeOnly(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    EXPECT_NE(verdict(writeOnly.get(), {.offset = 0, .length = 1}).find("writing only"),
              std::string::npos);
    EXPECT_NE(verdict(-1, {.offset = 0, .length = 0}).find("unusable"), std::string::npos);
}

TEST(PassedFile, TheSizeIsTheSizeAtTheCheck) {
    // A file that shrinks after the check is the sender's problem at send time (the response
    // then ends aborted); what the check sees is the size now.
    UniqueFd f = memFile("0123456789");
    EXPECT_EQ(verdict(f.get(), {.offset = 0, .length = 10}), "ok");
    ASSERT_EQ(::ftruncate(f.get(), 4), 0);
    EXPECT_NE(verdict(f.get(), {.offset = 0, .length = 10}), "ok");
}

}  // namespace
}  // namespace wsgid::apache
