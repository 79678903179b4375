// SPDX-License-Identifier: Apache-2.0
// Unit tests for connecting to a daemon group (apache/daemon_connection.h): retry while refused,
// the handshake (Challenge, Hello with its proof, HelloAck), and moving on from a daemon that is
// stopping.
#include "apache/daemon_connection.h"

#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "fake_daemon.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"

namespace wsgid::apache {
namespace {

using common::ErrorCode;
using common::UniqueFd;
using protocol::FrameType;
using test::FakeDaemon;
using test::kIo;
using namespace std::chrono_literals;
using test::serveHello;
using test::SocketDir;

// Connects to a fake daemon that accepts one connection and plays `daemonSide` on it: the
// handshake's outcome as the module sees it.
common::Result<std::unique_ptr<DaemonConnection>> connectToOne(
    const std::function<void(FakeDaemon&)>& daemonSide) {
    SocketDir dir;
    const std::string path = dir.path("one.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    std::thread daemon([&] {
        FakeDaemon d(UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)));
        daemonSide(d);
    });
    auto conn = connectToDaemon({.socketPath = path, .connectTimeout = 1s, .ioTimeout = kIo});
    daemon.join();
    return conn;
}

// The daemon's side up to its answer: the Challenge from `pid`, then the module's Hello read.
void challengeAndReadHello(FakeDaemon& d, std::uint32_t pid) {
    test::sendChallenge(d, pid);
    d.readFrame();
}

TEST(ConnectToDaemon, MissingSocketFailsAtOnce) {
    SocketDir dir;
    const std::string path = dir.path("missing.sock");
    const ConnectParams params{.socketPath = path, .connectTimeout = 10s};
    auto before = common::Clock::now();
    auto conn = connectToDaemon(params);
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::NotFound) << conn.status().message();
    EXPECT_NE(conn.status().message().find("No such file"), std::string::npos);
    // Not retried: far below the 10 s connect timeout (a loose bound, not a timing assertion).
    EXPECT_LT(common::Clock::now() - before, 5s);
}

TEST(ConnectToDaemon, RefusedIsRetriedUntilTheTimeout) {
    SocketDir dir;
    const std::string path = dir.path("refused.sock");
    UniqueFd notListening = SocketDir::bound(path, false);
    const ConnectParams params{.socketPath = path, .connectTimeout = 100ms};
    auto conn = connectToDaemon(params);
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::Timeout);
    EXPECT_EQ(conn.status().message(), "Connection refused after 100ms");
}

TEST(ConnectToDaemon, SucceedsOnceTheDaemonListens) {
    SocketDir dir;
    const std::string path = dir.path("late.sock");
    UniqueFd listener = SocketDir::bound(path, false);
    std::unique_ptr<FakeDaemon> keep;
    std::thread daemon([&] {
        std::this_thread::sleep_for(30ms);
        ::listen(listener.get(), 16);
        serveHello(listener.get(), 77, nullptr, &keep);
    });
    const ConnectParams params{.socketPath = path, .connectTimeout = 10s, .ioTimeout = kIo};
    auto conn = connectToDaemon(params);
    daemon.join();
    ASSERT_TRUE(conn) << conn.status().message();
    EXPECT_EQ(conn.value()->daemonPid(), 77U);
}

TEST(ConnectToDaemon, AnswersTheChallengeWithAProofAndReadsHelloAck) {
    SocketDir dir;
    const std::string path = dir.path("hello.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    protocol::Hello seen;
    std::unique_ptr<FakeDaemon> keep;
    std::thread daemon([&] { serveHello(listener.get(), 1234, &seen, &keep); });
    protocol::Secret secret{};
    secret.fill(0x77);
    const ConnectParams params{.socketPath = path,
                               .connectTimeout = 1s,
                               .ioTimeout = kIo,
                               .group = "site-a",
                               .managerPid = 99,
                               .generation = 3,
                               .secret = secret};
    auto conn = connectToDaemon(params);
    daemon.join();
    ASSERT_TRUE(conn) << conn.status().message();
    EXPECT_EQ(conn.value()->daemonPid(), 1234U);
    EXPECT_EQ(conn.value()->socketPath(), path);
    EXPECT_FALSE(conn.value()->reused());
    EXPECT_EQ(seen.managerPid, 99U);
    EXPECT_EQ(seen.generation, 3U);
    EXPECT_TRUE(protocol::proofsEqual(
        seen.proof, protocol::helloProof(secret, "site-a", test::testNonce(), 99, 3)));
}

TEST(ConnectToDaemon, PeerThatSkipsTheChallengeIsRefused) {
    auto conn = connectToOne([](FakeDaemon& d) {
        d.send(FrameType::HelloAck, protocol::encodeHelloAck({.daemonPid = 1}));
    });
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::ProtocolError);
    EXPECT_NE(conn.status().message().find("expected Challenge"), std::string::npos);
}

TEST(ConnectToDaemon, HelloAckFromAnotherPidThanTheChallengeIsRefused) {
    auto conn = connectToOne([](FakeDaemon& d) {
        challengeAndReadHello(d, 10);
        d.send(FrameType::HelloAck, protocol::encodeHelloAck({.daemonPid = 11}));
    });
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::ProtocolError);
}

TEST(ConnectToDaemon, RejectedHelloFails) {
    auto conn = connectToOne([](FakeDaemon& d) {
        challengeAndReadHello(d, 3);
        d.sendError(protocol::ResponseErrorCode::BadRequest, "manager pid mismatch");
    });
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::ProtocolError);
    EXPECT_NE(conn.status().message().find("manager pid mismatch"), std::string::npos);
}

// The first connection meets a daemon that is stopping (`first` plays it); the client must
// connect again and reach the live daemon (pid 4321) that answers the second connection.
void expectTheNextDaemonIsReached(const std::function<void(FakeDaemon&)>& first) {
    SocketDir dir;
    const std::string path = dir.path("next.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    std::unique_ptr<FakeDaemon> keep;
    std::thread daemon([&] {
        {
            FakeDaemon stopping(
                UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)));
            challengeAndReadHello(stopping, 1);
            first(stopping);
        }
        serveHello(listener.get(), 4321, nullptr, &keep);
    });
    const ConnectParams params{.socketPath = path, .connectTimeout = 10s, .ioTimeout = kIo};
    auto conn = connectToDaemon(params);
    daemon.join();
    ASSERT_TRUE(conn) << conn.status().message();
    EXPECT_EQ(conn.value()->daemonPid(), 4321U);
}

TEST(ConnectToDaemon, DaemonStoppingDuringHelloMovesOnToTheNextDaemon) {
    // Graceful restart: a draining daemon takes the connection from the backlog and answers the
    // Hello with Error{ShuttingDown}; the client connects again and reaches a live daemon.
    expectTheNextDaemonIsReached([](FakeDaemon& stopping) {
        stopping.sendError(protocol::ResponseErrorCode::ShuttingDown, "daemon is stopping");
    });
}

TEST(ConnectToDaemon, GoodbyeRightAfterHelloAckMovesOnToTheNextDaemon) {
    // A daemon that began to drain while it answered the Hello (a recycle, a restart) sends its
    // goodbye in the same write as the HelloAck; the client tries the next daemon.
    expectTheNextDaemonIsReached([](FakeDaemon& draining) {
        std::string both;
        protocol::appendFrame(both, FrameType::HelloAck, 0,
                              protocol::encodeHelloAck({.daemonPid = 1}));
        protocol::appendFrame(
            both, FrameType::Error, 0,
            protocol::encodeResponseError({.code = protocol::ResponseErrorCode::ShuttingDown,
                                           .message = "daemon is stopping"}));
        draining.sendRaw(both);
    });
}

TEST(ConnectToDaemon, NoDaemonTakingTheConnectionEndsAtTheAcceptTimeoutAndSaysWhy) {
    // The socket accepts (its backlog holds the connection) but no daemon process ever sends
    // the Challenge: every worker busy, or none started.
    SocketDir dir;
    const std::string path = dir.path("busy.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    auto conn = connectToDaemon({.socketPath = path,
                                 .connectTimeout = 1s,
                                 .acceptTimeout = 100ms,
                                 .acceptTimeoutName = "queue-timeout",
                                 .ioTimeout = kIo});
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::Timeout);
    EXPECT_EQ(conn.status().message(),
              "no daemon process took the connection within 100ms (queue-timeout): all of them "
              "busy, or failing to start");
}

TEST(ConnectToDaemon, BytesAfterTheHelloAckThatAreNoGoodbyeAreRefused) {
    auto conn = connectToOne([](FakeDaemon& d) {
        challengeAndReadHello(d, 12);
        std::string both;
        protocol::appendFrame(both, FrameType::HelloAck, 0,
                              protocol::encodeHelloAck({.daemonPid = 12}));
        protocol::appendFrame(both, FrameType::Start, 0, "unasked");
        d.sendRaw(both);
    });
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::ProtocolError);
    EXPECT_EQ(conn.status().message(), "bytes after the HelloAck");
}

TEST(ConnectToDaemon, TooLongPathIsRejected) {
    const std::string path = "/tmp/" + std::string(200, 'x');
    auto conn = connectToDaemon({.socketPath = path});
    ASSERT_FALSE(conn);
    EXPECT_EQ(conn.status().code(), ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace wsgid::apache
