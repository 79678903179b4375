// SPDX-License-Identifier: Apache-2.0
// Tests for SCM_RIGHTS passing over socketpair(): the descriptor comes with the read that has
// the first byte it was sent with, reads stop after those bytes, extra descriptors are closed,
// and nothing leaks. Assertions are on bytes, flags and descriptor counts, never on time.
#include "common/descriptor_passing.h"

#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "support/descriptors.h"

namespace wsgid::common {
namespace {

using testing::memFile;
using testing::openDescriptorCount;
using testing::readRange;

constexpr std::chrono::milliseconds kGenerous{10000};
constexpr std::chrono::milliseconds kExpireSoon{50};

/// A connected pair; the test fails at once when socketpair() does.
testing::StreamPair makePair() {
    testing::StreamPair p = testing::streamPair();
    EXPECT_TRUE(p.a);
    return p;
}

// Sends `bytes` with `count` copies of `fd` in one SCM_RIGHTS message (what a hostile peer may).
void sendMany(int sock, std::string_view bytes, int fd, int count) {
    const std::vector<int> fds(static_cast<std::size_t>(count), fd);
    ASSERT_EQ(testing::sendDescriptors(sock, bytes, fds), static_cast<ssize_t>(bytes.size()));
}

TEST(DescriptorPassing, TheDescriptorArrivesWithItsBytesAndIsCloseOnExec) {
    testing::StreamPair p = makePair();
    UniqueFd file = memFile("file contents");
    ASSERT_TRUE(sendWithDescriptor(p.a.get(), "frame", file.get(), Deadline::after(kGenerous)));
    file.reset();  // the kernel holds its own reference now
    std::array<char, 64> buf{};
    ReceivedDescriptor got;
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), buf, got), 5);
    EXPECT_EQ(std::string(buf.data(), 5), "frame");
    ASSERT_TRUE(got.fd.valid());
    EXPECT_FALSE(got.tooMany());
    EXPECT_EQ(readRange(got.fd.get(), 5, 8), "contents");
    EXPECT_NE(::fcntl(got.fd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(DescriptorPassing, AReadEndsRightAfterTheBytesADescriptorCameWith) {
    // What the module's rule rests on: earlier bytes may share the read, later ones never do.
    testing::StreamPair p = makePair();
    UniqueFd file = memFile("x");
    ASSERT_EQ(::send(p.a.get(), "aaa", 3, 0), 3);
    ASSERT_TRUE(sendWithDescriptor(p.a.get(), "bbb", file.get(), Deadline::after(kGenerous)));
    ASSERT_EQ(::send(p.a.get(), "ccc", 3, 0), 3);
    std::array<char, 64> buf{};
    ReceivedDescriptor got;
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), buf, got), 6);
    EXPECT_EQ(std::string(buf.data(), 6), "aaabbb");
    EXPECT_TRUE(got.fd.valid());
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), buf, got), 3);
    EXPECT_EQ(std::string(buf.data(), 3), "ccc");
    EXPECT_FALSE(got.fd.valid());
}

TEST(DescriptorPassing, APartialReadGetsTheDescriptorWithItsFirstBytes) {
    testing::StreamPair p = makePair();
    UniqueFd file = memFile("x");
    ASSERT_TRUE(
        sendWithDescriptor(p.a.get(), "0123456789", file.get(), Deadline::after(kGenerous)));
    std::array<char, 4> small{};
    ReceivedDescriptor got;
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), small, got), 4);
    EXPECT_TRUE(got.fd.valid());
    std::array<char, 64> rest{};
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), rest, got), 6);
    EXPECT_FALSE(got.fd.valid());
}

TEST(DescriptorPassing, ExtraDescriptorsAreClosedAndReported) {
    testing::StreamPair p = makePair();
    UniqueFd file = memFile("x");
    const int before = openDescriptorCount();
    for (const int count : {2, 3, 8}) {
        sendMany(p.a.get(), "x", file.get(), count);
        std::array<char, 64> buf{};
        ReceivedDescriptor got;
        ASSERT_EQ(receiveWithDescriptor(p.b.get(), buf, got), 1) << count;
        EXPECT_TRUE(got.tooMany()) << count;
        EXPECT_TRUE(got.fd.valid()) << count;
        got = ReceivedDescriptor{};
        EXPECT_EQ(openDescriptorCount(), before) << count << " descriptors sent";
    }
}

TEST(DescriptorPassing, PlainBytesBringNoDescriptor) {
    testing::StreamPair p = makePair();
    ASSERT_EQ(::send(p.a.get(), "plain", 5, 0), 5);
    std::array<char, 64> buf{};
    ReceivedDescriptor got;
    got.extra = true;  // reset by the call
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), buf, got), 5);
    EXPECT_FALSE(got.fd.valid());
    EXPECT_FALSE(got.tooMany());
    ASSERT_EQ(receiveWithDescriptor(p.b.get(), buf, got), -1);
    EXPECT_EQ(errno, EAGAIN);
    p.a.reset();
    EXPECT_EQ(receiveWithDescriptor(p.b.get(), buf, got), 0);
}

TEST(DescriptorPassing, ALargeWriteWaitsForRoomAndCarriesOneDescriptor) {
    testing::StreamPair p = makePair();
    const int small = 4096;
    ::setsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    UniqueFd file = memFile("x");
    const std::string big(1 << 20, 'z');
    std::string received;
    int descriptors = 0;
    std::thread reader([&] {
        std::array<char, 65536> buf{};
        while (received.size() < big.size()) {
            ReceivedDescriptor got;
            const ssize_t n = receiveWithDescriptor(p.b.get(), buf, got);
            if (n > 0) {
                received.append(buf.data(), static_cast<std::size_t>(n));
                descriptors += got.fd.valid() ? 1 : 0;
            } else if (n == 0 || errno != EAGAIN) {
                return;
            } else {
                std::this_thread::yield();
            }
        }
    });
    EXPECT_TRUE(sendWithDescriptor(p.a.get(), big, file.get(), Deadline::after(kGenerous)));
    reader.join();
    EXPECT_EQ(received, big);
    EXPECT_EQ(descriptors, 1);
}

TEST(DescriptorPassing, SendingGivesUpAtTheDeadlineAndOnAClosedPeer) {
    testing::StreamPair p = makePair();
    UniqueFd file = memFile("x");
    const std::string chunk(65536, 'f');
    while (::send(p.a.get(), chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
    }
    Status full = sendWithDescriptor(p.a.get(), "x", file.get(), Deadline::after(kExpireSoon));
    EXPECT_EQ(full.code(), ErrorCode::Timeout);
    p.b.reset();
    Status closed = sendWithDescriptor(p.a.get(), "x", file.get(), Deadline::after(kGenerous));
    EXPECT_EQ(closed.code(), ErrorCode::Closed);
    EXPECT_EQ(sendWithDescriptor(p.a.get(), "", file.get(), Deadline::after(kGenerous)).code(),
              ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace wsgid::common
