// SPDX-License-Identifier: Apache-2.0
// Tests for deadline-bounded socket I/O over socketpair(): partial reads and writes, EOF, resets,
// timeouts and SIGPIPE. Assertions are on status codes and bytes, never on elapsed time.
#include "common/socket_io.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace wsgid::common {
namespace {

using std::chrono::milliseconds;

// Deadline for waits that are meant to time out: short so the suite stays fast; the tests
// assert the Timeout status, not how long it took.
constexpr milliseconds kExpireSoon{50};
// Deadline for operations expected to succeed: long enough for a loaded CI machine, and still
// a bound, so a regression fails instead of hanging the suite.
constexpr milliseconds kGenerous{10000};
// Small socket buffers make "the kernel took only part of it" happen with little data.
constexpr int kSmallSocketBuffer = 4096;

struct SocketPair {
    UniqueFd a;
    UniqueFd b;
};

SocketPair makePair(bool nonBlocking = true) {
    int fds[2] = {-1, -1};
    const int type = SOCK_STREAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0);
    if (::socketpair(AF_UNIX, type, 0, fds) != 0) {
        ADD_FAILURE() << "socketpair: " << errnoText(errno);
    }
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void shrinkBuffers(int fd) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSmallSocketBuffer, sizeof(kSmallSocketBuffer));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSmallSocketBuffer, sizeof(kSmallSocketBuffer));
}

// Writes into `fd` until the kernel refuses more (fd must be non-blocking).
void fillSocket(int fd) {
    const std::string chunk(4096, 'f');
    while (::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
}

std::string pattern(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>((i * 131 + seed) & 0xff);
    }
    return s;
}

TEST(Deadline, NeverPollsForever) {
    EXPECT_EQ(Deadline::never().pollTimeoutMs(), -1);
    EXPECT_FALSE(Deadline::never().expired());
}

TEST(Deadline, ExpiredPollsZero) {
    const Deadline past(Clock::now() - std::chrono::seconds(1));
    EXPECT_TRUE(past.expired());
    EXPECT_EQ(past.pollTimeoutMs(), 0);
    EXPECT_EQ(Deadline::after(milliseconds(-5)).pollTimeoutMs(), 0);
}

TEST(Deadline, FutureDeadlineIsPositiveAndBounded) {
    const int ms = Deadline::after(kGenerous).pollTimeoutMs();
    EXPECT_GT(ms, 0);
    EXPECT_LE(ms, kGenerous.count());
}

TEST(Deadline, FarFutureIsClampedToIntMax) {
    const Deadline far(Clock::now() + std::chrono::hours(24 * 365 * 100));
    EXPECT_EQ(far.pollTimeoutMs(), INT_MAX);
}

TEST(Deadline, MinPicksTheEarlier) {
    const Deadline soon = Deadline::after(milliseconds(10));
    const Deadline late = Deadline::after(kGenerous);
    EXPECT_EQ(soon.min(late).at(), soon.at());
    EXPECT_EQ(late.min(soon).at(), soon.at());
    EXPECT_EQ(Deadline::never().min(soon).at(), soon.at());
}

TEST(SocketFlags, SetNonBlockingTogglesFlag) {
    auto p = makePair(false);
    ASSERT_TRUE(setNonBlocking(p.a.get(), true).isOk());
    EXPECT_NE(::fcntl(p.a.get(), F_GETFL) & O_NONBLOCK, 0);
    ASSERT_TRUE(setNonBlocking(p.a.get(), false).isOk());
    EXPECT_EQ(::fcntl(p.a.get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(SocketFlags, SetCloseOnExecTogglesFlag) {
    auto p = makePair();
    ASSERT_TRUE(setCloseOnExec(p.a.get(), false).isOk());
    EXPECT_EQ(::fcntl(p.a.get(), F_GETFD) & FD_CLOEXEC, 0);
    ASSERT_TRUE(setCloseOnExec(p.a.get(), true).isOk());
    EXPECT_NE(::fcntl(p.a.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(SocketFlags, BadFdIsIoError) {
    EXPECT_EQ(setNonBlocking(-1, true).code(), ErrorCode::IoError);
    EXPECT_EQ(setCloseOnExec(-1, true).code(), ErrorCode::IoError);
}

TEST(SocketIo, ReadFullyAssemblesPartialWrites) {
    auto p = makePair();
    const std::string data = pattern(100000, 1);
    std::thread writer([&] {
        // Uneven pieces with pauses, so the reader sees many short reads and waits.
        std::size_t pos = 0;
        std::size_t piece = 1;
        while (pos < data.size()) {
            const std::size_t n = std::min(piece, data.size() - pos);
            EXPECT_TRUE(
                writeFully(p.b.get(), std::span(data).subspan(pos, n), Deadline::after(kGenerous))
                    .isOk());
            pos += n;
            piece = piece * 3 + 1;
            std::this_thread::sleep_for(milliseconds(1));
        }
    });
    std::string got(data.size(), '\0');
    const Status s = readFully(p.a.get(), got, Deadline::after(kGenerous));
    writer.join();
    ASSERT_TRUE(s.isOk()) << s.message();
    EXPECT_EQ(got, data);
}

TEST(SocketIo, ReadFullyOfNothingSucceedsAtOnce) {
    auto p = makePair();
    std::string empty;
    EXPECT_TRUE(readFully(p.a.get(), empty, Deadline::after(kExpireSoon)).isOk());
}

TEST(SocketIo, ReadFullyReportsClosedWhenEofComesFirst) {
    auto p = makePair();
    ASSERT_TRUE(writeFully(p.b.get(), std::string_view("abc"), Deadline::after(kGenerous)));
    p.b.reset();
    char buf[10];
    const Status s = readFully(p.a.get(), buf, Deadline::after(kGenerous));
    EXPECT_EQ(s.code(), ErrorCode::Closed);
}

TEST(SocketIo, ReadSomeReturnsWhatIsAvailable) {
    auto p = makePair();
    ASSERT_TRUE(writeFully(p.b.get(), std::string_view("hello"), Deadline::after(kGenerous)));
    char buf[64];
    auto n = readSome(p.a.get(), buf, Deadline::after(kGenerous));
    ASSERT_TRUE(n.isOk()) << n.status().message();
    EXPECT_EQ(std::string(buf, n.value()), "hello");
}

TEST(SocketIo, ReadSomeReportsClosedAtEof) {
    auto p = makePair();
    p.b.reset();
    char buf[8];
    auto n = readSome(p.a.get(), buf, Deadline::after(kGenerous));
    ASSERT_FALSE(n.isOk());
    EXPECT_EQ(n.status().code(), ErrorCode::Closed);
}

TEST(SocketIo, ReadSomeReportsClosedWhenPeerResets) {
    // The peer closes with our bytes unread in its queue: Linux reports ECONNRESET to us,
    // which is still "the peer closed the connection".
    auto p = makePair();
    ASSERT_TRUE(writeFully(p.a.get(), std::string_view("unread"), Deadline::after(kGenerous)));
    p.b.reset();
    char buf[8];
    auto n = readSome(p.a.get(), buf, Deadline::after(kGenerous));
    ASSERT_FALSE(n.isOk());
    EXPECT_EQ(n.status().code(), ErrorCode::Closed) << n.status().message();
}

TEST(SocketIo, ReadSomeVFillsTheBuffersInOrder) {
    auto p = makePair();
    ASSERT_TRUE(
        writeFully(p.b.get(), std::string_view("headpayload!"), Deadline::after(kGenerous)));
    char head[4];
    char rest[64];
    const iovec iov[2] = {{head, sizeof(head)}, {rest, sizeof(rest)}};
    auto n = readSomeV(p.a.get(), iov, Deadline::after(kGenerous));
    ASSERT_TRUE(n.isOk()) << n.status().message();
    ASSERT_EQ(n.value(), 12u);
    EXPECT_EQ(std::string(head, 4), "head");
    EXPECT_EQ(std::string(rest, 8), "payload!");
}

TEST(SocketIo, ReadSomeVWithAnExpiredDeadlineTakesOnlyWhatIsThere) {
    auto p = makePair();
    char buf[8];
    const iovec iov[1] = {{buf, sizeof(buf)}};
    const Deadline now(Clock::time_point::min());
    auto none = readSomeV(p.a.get(), iov, now);
    ASSERT_FALSE(none.isOk());
    EXPECT_EQ(none.status().code(), ErrorCode::Timeout);
    ASSERT_TRUE(writeFully(p.b.get(), std::string_view("ab"), Deadline::after(kGenerous)));
    auto some = readSomeV(p.a.get(), iov, now);
    ASSERT_TRUE(some.isOk()) << some.status().message();
    EXPECT_EQ(std::string(buf, some.value()), "ab");
}

TEST(SocketIo, ReadSomeVReportsClosedAtEof) {
    auto p = makePair();
    p.b.reset();
    char buf[8];
    const iovec iov[1] = {{buf, sizeof(buf)}};
    auto n = readSomeV(p.a.get(), iov, Deadline::after(kGenerous));
    ASSERT_FALSE(n.isOk());
    EXPECT_EQ(n.status().code(), ErrorCode::Closed);
}

TEST(SocketIo, ReadTimesOutWithShortDeadline) {
    auto p = makePair();
    char buf[4];
    const Status s = readFully(p.a.get(), buf, Deadline::after(kExpireSoon));
    EXPECT_EQ(s.code(), ErrorCode::Timeout);
}

TEST(SocketIo, ReadTimesOutAfterPartialData) {
    auto p = makePair();
    ASSERT_TRUE(writeFully(p.b.get(), std::string_view("ab"), Deadline::after(kGenerous)));
    char buf[4];
    const Status s = readFully(p.a.get(), buf, Deadline::after(kExpireSoon));
    EXPECT_EQ(s.code(), ErrorCode::Timeout);
}

TEST(SocketIo, ReadHonoursDeadlineOnBlockingSocket) {
    // A caller that forgot O_NONBLOCK must still get its deadline, not a hang.
    auto p = makePair(false);
    auto result = std::async(std::launch::async, [&] {
        char buf[4];
        return readFully(p.a.get(), buf, Deadline::after(kExpireSoon)).code();
    });
    if (result.wait_for(kGenerous) != std::future_status::ready) {
        // Unblock the stuck read so the test fails instead of hanging.
        ::shutdown(p.b.get(), SHUT_RDWR);
        result.wait();
        FAIL() << "readFully ignored its deadline on a blocking socket";
    }
    EXPECT_EQ(result.get(), ErrorCode::Timeout);
}

TEST(SocketIo, ReadHonoursDeadlineOnBlockingPipe) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    auto result = std::async(std::launch::async, [&] {
        char buf[4];
        return readFully(readEnd.get(), buf, Deadline::after(kExpireSoon)).code();
    });
    if (result.wait_for(kGenerous) != std::future_status::ready) {
        writeEnd.reset();  // EOF unblocks the stuck read
        result.wait();
        FAIL() << "readFully ignored its deadline on a blocking pipe";
    }
    EXPECT_EQ(result.get(), ErrorCode::Timeout);
}

TEST(SocketIo, ReadFromPipeReportsClosedAtEof) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    ASSERT_TRUE(writeFully(writeEnd.get(), std::string_view("ab"), Deadline::after(kGenerous)));
    writeEnd.reset();
    char buf[4];
    auto n = readSome(readEnd.get(), buf, Deadline::after(kGenerous));
    ASSERT_TRUE(n.isOk()) << n.status().message();
    EXPECT_EQ(std::string(buf, n.value()), "ab");
    EXPECT_EQ(readFully(readEnd.get(), buf, Deadline::after(kGenerous)).code(), ErrorCode::Closed);
}

TEST(SocketIo, WriteTimesOutWhenPeerDoesNotRead) {
    auto p = makePair();
    shrinkBuffers(p.a.get());
    fillSocket(p.a.get());
    const std::string more(65536, 'm');
    const Status s = writeFully(p.a.get(), more, Deadline::after(kExpireSoon));
    EXPECT_EQ(s.code(), ErrorCode::Timeout);
}

TEST(SocketIo, WriteHonoursDeadlineOnBlockingSocket) {
    auto p = makePair(false);
    shrinkBuffers(p.a.get());
    fillSocket(p.a.get());
    auto result = std::async(std::launch::async, [&] {
        const std::string more(65536, 'm');
        return writeFully(p.a.get(), more, Deadline::after(kExpireSoon)).code();
    });
    if (result.wait_for(kGenerous) != std::future_status::ready) {
        ::shutdown(p.b.get(), SHUT_RDWR);
        result.wait();
        FAIL() << "writeFully ignored its deadline on a blocking socket";
    }
    EXPECT_EQ(result.get(), ErrorCode::Timeout);
}

TEST(SocketIo, WriteFullyVSendsManyBuffersThroughFullSocket) {
    auto p = makePair();
    shrinkBuffers(p.a.get());
    shrinkBuffers(p.b.get());
    // More buffers than IOV_MAX (1024), with empty ones mixed in, adding up to several MiB.
    std::vector<std::string> parts;
    std::string expected;
    for (unsigned i = 0; i < 3000; ++i) {
        parts.push_back(i % 7 == 0 ? std::string() : pattern(1 + (i * 977) % 4000, i));
        expected += parts.back();
    }
    std::vector<iovec> iov;
    for (auto& part : parts) {
        iov.push_back({.iov_base = part.data(), .iov_len = part.size()});
    }
    std::string got(expected.size(), '\0');
    std::atomic<bool> readOk{false};
    std::thread reader(
        [&] { readOk = readFully(p.b.get(), got, Deadline::after(kGenerous)).isOk(); });
    const Status s = writeFullyV(p.a.get(), iov, Deadline::after(kGenerous));
    if (!s.isOk()) {
        p.a.reset();  // let the reader see EOF and finish
    }
    reader.join();
    ASSERT_TRUE(s.isOk()) << s.message();
    ASSERT_TRUE(readOk.load());
    EXPECT_EQ(got, expected);
    // The caller's vector is left untouched (the function advances a private copy).
    EXPECT_EQ(iov[1].iov_len, parts[1].size());
    EXPECT_EQ(iov[1].iov_base, parts[1].data());
}

TEST(SocketIo, WriteFullyVOfOnlyEmptyBuffersSucceeds) {
    auto p = makePair();
    std::vector<iovec> iov(3, iovec{.iov_base = nullptr, .iov_len = 0});
    EXPECT_TRUE(writeFullyV(p.a.get(), iov, Deadline::after(kExpireSoon)).isOk());
}

TEST(SocketIo, WritesToAPipe) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    const std::string data = pattern(300000, 9);  // several pipe buffers' worth
    std::string got(data.size(), '\0');
    std::atomic<bool> readOk{false};
    std::thread reader(
        [&] { readOk = readFully(readEnd.get(), got, Deadline::after(kGenerous)).isOk(); });
    const Status s = writeFully(writeEnd.get(), data, Deadline::after(kGenerous));
    writeEnd.reset();
    reader.join();
    ASSERT_TRUE(s.isOk()) << s.message();
    ASSERT_TRUE(readOk.load());
    EXPECT_EQ(got, data);
}

TEST(SocketIoDeathTest, WriteToClosedPeerIsClosedNotSigpipe) {
    // Runs in a child with SIGPIPE at its default action: if MSG_NOSIGNAL were missing, the
    // child would die of the signal instead of exiting 0.
    EXPECT_EXIT(
        {
            ::signal(SIGPIPE, SIG_DFL);
            auto p = makePair();
            p.b.reset();
            const std::string data(100000, 'x');
            const Status s = writeFully(p.a.get(), data, Deadline::after(kGenerous));
            std::_Exit(s.code() == ErrorCode::Closed ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
}

TEST(SocketIo, WaitReadableTimesOutThenSeesData) {
    auto p = makePair();
    EXPECT_EQ(waitReadable(p.a.get(), Deadline::after(kExpireSoon)).code(), ErrorCode::Timeout);
    ASSERT_TRUE(writeFully(p.b.get(), std::string_view("x"), Deadline::after(kGenerous)));
    EXPECT_TRUE(waitReadable(p.a.get(), Deadline::after(kGenerous)).isOk());
}

TEST(SocketIo, WaitReadableWakesOnHangup) {
    auto p = makePair();
    p.b.reset();
    EXPECT_TRUE(waitReadable(p.a.get(), Deadline::after(kGenerous)).isOk());
}

TEST(SocketIo, WaitWritableTimesOutOnFullSocket) {
    auto p = makePair();
    shrinkBuffers(p.a.get());
    EXPECT_TRUE(waitWritable(p.a.get(), Deadline::after(kGenerous)).isOk());
    fillSocket(p.a.get());
    EXPECT_EQ(waitWritable(p.a.get(), Deadline::after(kExpireSoon)).code(), ErrorCode::Timeout);
}

TEST(SocketIo, SendNowTakesWhatFitsAndNeverWaits) {
    auto p = makePair(/*nonBlocking=*/false);  // MSG_DONTWAIT holds on a blocking socket too
    shrinkBuffers(p.a.get());
    const std::string small = pattern(100, 3);
    auto sent = sendNow(p.a.get(), small);
    ASSERT_TRUE(sent.isOk());
    EXPECT_EQ(*sent, small.size());
    std::string got(small.size(), '\0');
    ASSERT_TRUE(readFully(p.b.get(), got, Deadline::after(kGenerous)).isOk());
    EXPECT_EQ(got, small);
    const std::string large = pattern(std::size_t{1} << 20, 4);
    sent = sendNow(p.a.get(), large);
    ASSERT_TRUE(sent.isOk());
    EXPECT_GT(*sent, 0U);
    EXPECT_LT(*sent, large.size());  // only what the small buffer holds
    sent = sendNow(p.a.get(), large);
    ASSERT_TRUE(sent.isOk());
    EXPECT_EQ(*sent, 0U);  // full: nothing, at once
}

TEST(SocketIo, SendNowToAClosedPeerIsClosedAndToAPipeIsNothing) {
    auto p = makePair();
    p.b.reset();
    EXPECT_EQ(sendNow(p.a.get(), "x").status().code(), ErrorCode::Closed);
    int fds[2] = {-1, -1};
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const UniqueFd readEnd(fds[0]);
    const UniqueFd writeEnd(fds[1]);
    auto sent = sendNow(writeEnd.get(), "x");
    ASSERT_TRUE(sent.isOk());
    EXPECT_EQ(*sent, 0U);  // not a socket: the caller writes with writeFully
}

TEST(SocketIo, ReadOnBadFdIsIoError) {
    char buf[4];
    auto n = readSome(-1, buf, Deadline::after(kExpireSoon));
    ASSERT_FALSE(n.isOk());
    EXPECT_EQ(n.status().code(), ErrorCode::IoError);
}

TEST(ErrnoText, DescribesErrno) {
    EXPECT_EQ(errnoText(ECONNREFUSED), "Connection refused");
    EXPECT_FALSE(errnoText(99999).empty());
}

}  // namespace
}  // namespace wsgid::common
