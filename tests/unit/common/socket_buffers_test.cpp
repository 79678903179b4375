// SPDX-License-Identifier: Apache-2.0
// Tests for the socket buffer sizes of send-buffer-size= / receive-buffer-size=: what the kernel
// applied (getsockopt), and that the sender's SO_SNDBUF bounds the bytes in flight on an
// AF_UNIX stream socket.
#include "common/socket_buffers.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "support/fd_tools.h"

namespace wsgid::common {
namespace {

// A failed socketpair() leaves invalid descriptors, which every assertion below then fails on.
using testing::StreamPair;
using testing::streamPair;

/// Bytes a non-blocking writer gets into `fd` before EAGAIN while nobody reads the other end.
std::size_t bytesInFlight(int fd) {
    const std::string chunk(std::size_t{64} * 1024, 'x');
    std::size_t total = 0;
    for (int i = 0; i < 1024; ++i) {
        const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) {
            EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
            break;
        }
        total += static_cast<std::size_t>(n);
    }
    return total;
}

TEST(SocketBuffersTest, TheKernelAppliesAtLeastTheSizesAskedFor) {
    StreamPair p = streamPair();
    const SocketBufferSizes asked{.send = 16384, .receive = 8192};
    ASSERT_TRUE(applySocketBufferSizes(p.a.get(), asked));
    auto applied = socketBufferSizes(p.a.get());
    ASSERT_TRUE(applied);
    // Linux doubles the value for its bookkeeping; never less than asked.
    EXPECT_GE(applied->send, asked.send);
    EXPECT_GE(applied->receive, asked.receive);
    EXPECT_TRUE(honours(*applied, asked));
    // Bounded by the request (doubled), not left at the default of a few hundred KiB.
    EXPECT_LE(applied->send, 2 * asked.send);
    EXPECT_LE(applied->receive, 2 * asked.receive);
}

TEST(SocketBuffersTest, ZeroLeavesTheKernelDefault) {
    StreamPair p = streamPair();
    auto before = socketBufferSizes(p.a.get());
    ASSERT_TRUE(before);
    ASSERT_TRUE(applySocketBufferSizes(p.a.get(), SocketBufferSizes{}));
    auto after = socketBufferSizes(p.a.get());
    ASSERT_TRUE(after);
    EXPECT_EQ(after->send, before->send);
    EXPECT_EQ(after->receive, before->receive);
}

TEST(SocketBuffersTest, TheSendersSendBufferBoundsTheBytesInFlight) {
    StreamPair small = streamPair();
    StreamPair large = streamPair();
    ASSERT_TRUE(applySocketBufferSizes(small.a.get(), {.send = 4096, .receive = 0}));
    ASSERT_TRUE(applySocketBufferSizes(large.a.get(), {.send = 0, .receive = 0}));
    // A large receive buffer on the reader does not let the small sender put more in flight.
    ASSERT_TRUE(applySocketBufferSizes(small.b.get(), {.send = 0, .receive = 1U << 20}));
    const std::size_t smallInFlight = bytesInFlight(small.a.get());
    const std::size_t largeInFlight = bytesInFlight(large.a.get());
    EXPECT_GT(smallInFlight, 0U);
    EXPECT_LT(smallInFlight, std::size_t{64} * 1024);
    EXPECT_GT(largeInFlight, smallInFlight);
}

TEST(SocketBuffersTest, MirroredSwapsTheDirections) {
    const SocketBufferSizes daemonSide{.send = 4096, .receive = 8192};
    const SocketBufferSizes moduleSide = daemonSide.mirrored();
    EXPECT_EQ(moduleSide.send, 8192U);
    EXPECT_EQ(moduleSide.receive, 4096U);
    EXPECT_TRUE(daemonSide.any());
    EXPECT_FALSE(SocketBufferSizes{}.any());
}

TEST(SocketBuffersTest, UnsetSizesGetTheDefaultWithinTheKernelMaximum) {
    constexpr std::uint32_t kLarge = 4U * 1024 * 1024;
    const SocketBufferSizes fromDefault = withDefaultSizes({}, kLarge);
    EXPECT_EQ(fromDefault.send, kDefaultSocketBufferBytes);
    EXPECT_EQ(fromDefault.receive, kDefaultSocketBufferBytes);
    // Lowered to what the kernel lets a process ask for (net.core.wmem_max as Debian ships it).
    const SocketBufferSizes capped = withDefaultSizes({}, 212992);
    EXPECT_EQ(capped.send, 212992U);
    EXPECT_EQ(capped.receive, 212992U);
    // A maximum too small to gain anything, or unknown: the kernel's default.
    EXPECT_FALSE(withDefaultSizes({}, kMinDefaultSocketBufferBytes - 1).any());
    EXPECT_FALSE(withDefaultSizes({}, 0).any());
}

TEST(SocketBuffersTest, GivenSizesAreKeptAsTheyAre) {
    const SocketBufferSizes given = withDefaultSizes({.send = 65536, .receive = 0}, 212992);
    EXPECT_EQ(given.send, 65536U);
    EXPECT_EQ(given.receive, 212992U);
    // Above the kernel maximum too: applying it reports the cap (WG0298).
    EXPECT_EQ(withDefaultSizes({.send = 8U << 20, .receive = 512}, 212992).send, 8U << 20);
}

TEST(SocketBuffersTest, TheKernelMaximumIsTheLowerOfWmemMaxAndRmemMax) {
    std::uint64_t wmem = 0;
    std::uint64_t rmem = 0;
    std::ifstream("/proc/sys/net/core/wmem_max") >> wmem;
    std::ifstream("/proc/sys/net/core/rmem_max") >> rmem;
    if (wmem == 0 || rmem == 0) {
        GTEST_SKIP() << "no /proc/sys/net/core here";
    }
    EXPECT_EQ(kernelSocketBufferMax(), std::min(wmem, rmem));
}

TEST(SocketBuffersTest, HonoursComparesEachNonZeroSize) {
    EXPECT_TRUE(honours({.send = 0, .receive = 0}, {}));
    EXPECT_TRUE(honours({.send = 9000, .receive = 100}, {.send = 8192, .receive = 0}));
    EXPECT_FALSE(honours({.send = 4000, .receive = 100000}, {.send = 8192, .receive = 0}));
    EXPECT_FALSE(honours({.send = 100000, .receive = 100}, {.send = 0, .receive = 512}));
}

}  // namespace
}  // namespace wsgid::common
