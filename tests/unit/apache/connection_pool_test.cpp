// SPDX-License-Identifier: Apache-2.0
// Unit tests for the per-child pool of idle daemon connections (apache/connection_pool.h).
#include "apache/connection_pool.h"

#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "fake_daemon.h"

namespace wsgid::apache {
namespace {

using common::ErrorCode;
using common::Status;
using common::UniqueFd;
using protocol::FrameType;
using test::FakeDaemon;
using test::kIo;
using test::socketPair;
using namespace std::chrono_literals;
using test::serveHello;
using test::SocketDir;

TEST(ConnectionPool, ReusesAGivenBackConnection) {
    ConnectionPool pool;
    auto [a, b] = socketPair();
    const int fd = a.get();
    pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), "/p.sock", 1));
    EXPECT_EQ(pool.idleCount("/p.sock"), 1U);
    auto conn = pool.takeIdle("/p.sock");
    ASSERT_NE(conn, nullptr);
    EXPECT_EQ(conn->fd(), fd);
    EXPECT_TRUE(conn->reused());
    EXPECT_EQ(pool.idleCount("/p.sock"), 0U);
    EXPECT_EQ(pool.takeIdle("/p.sock"), nullptr);
    EXPECT_EQ(pool.takeIdle("/other.sock"), nullptr);
}

TEST(ConnectionPool, DropsIdleConnectionsWhoseDaemonWentAway) {
    ConnectionPool pool;
    auto [a, b] = socketPair();
    pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), "/p.sock", 1));
    b.reset();
    EXPECT_EQ(pool.takeIdle("/p.sock"), nullptr);
    EXPECT_EQ(pool.idleCount("/p.sock"), 0U);
}

TEST(ConnectionPool, DropsIdleConnectionsWithUnexpectedData) {
    ConnectionPool pool;
    auto [a, b] = socketPair();
    pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), "/p.sock", 1));
    ASSERT_EQ(::write(b.get(), "x", 1), 1);
    EXPECT_EQ(pool.takeIdle("/p.sock"), nullptr);
}

TEST(ConnectionPool, CapsIdleConnectionsPerPath) {
    ConnectionPool pool;
    std::vector<UniqueFd> peers;
    for (std::size_t i = 0; i < kMaxIdlePerPath + 5; ++i) {
        auto [a, b] = socketPair();
        peers.push_back(std::move(b));
        pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), "/p.sock", 1));
    }
    EXPECT_EQ(pool.idleCount("/p.sock"), kMaxIdlePerPath);
}

TEST(ConnectionPool, AConnectionGivenBackLastIsTriedAfterTheOthers) {
    ConnectionPool pool;
    std::vector<UniqueFd> peers;
    std::vector<int> fds;
    for (const IdlePlace place : {IdlePlace::First, IdlePlace::Last, IdlePlace::First}) {
        auto [a, b] = socketPair();
        fds.push_back(a.get());
        peers.push_back(std::move(b));
        pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), "/p.sock", 1), place);
    }
    std::vector<int> order;
    while (auto conn = pool.takeIdle("/p.sock")) {
        order.push_back(conn->fd());
    }
    EXPECT_EQ(order, (std::vector<int>{fds[2], fds[0], fds[1]}));
}

TEST(ConnectionPool, AFullPoolClosesTheConnectionTriedLast) {
    ConnectionPool pool;
    std::vector<UniqueFd> peers;
    const auto add = [&](IdlePlace place) {
        auto [a, b] = socketPair();
        const int fd = a.get();
        peers.push_back(std::move(b));
        pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), "/p.sock", 1), place);
        return fd;
    };
    const int last = add(IdlePlace::Last);
    for (std::size_t i = 1; i < kMaxIdlePerPath; ++i) {
        add(IdlePlace::First);
    }
    ASSERT_EQ(pool.idleCount("/p.sock"), kMaxIdlePerPath);
    // A refused connection given back to a full pool is the one closed.
    const int refused = add(IdlePlace::Last);
    EXPECT_EQ(pool.idleCount("/p.sock"), kMaxIdlePerPath);
    EXPECT_EQ(::fcntl(refused, F_GETFD), -1);
    EXPECT_NE(::fcntl(last, F_GETFD), -1);
    // A good one makes room by closing the one that would be tried last.
    const int good = add(IdlePlace::First);
    EXPECT_EQ(pool.idleCount("/p.sock"), kMaxIdlePerPath);
    EXPECT_EQ(::fcntl(last, F_GETFD), -1);
    const auto first = pool.takeIdle("/p.sock");
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->fd(), good);
}

TEST(ConnectionPool, AcquireConnectsWhenNothingIsIdle) {
    SocketDir dir;
    const std::string path = dir.path("pool.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    std::unique_ptr<FakeDaemon> keep;
    std::thread daemon([&] { serveHello(listener.get(), 5, nullptr, &keep); });
    ConnectionPool pool;
    auto conn = pool.acquire({.socketPath = path, .connectTimeout = 1s, .ioTimeout = kIo});
    daemon.join();
    ASSERT_TRUE(conn) << conn.status().message();
    EXPECT_FALSE(conn.value()->reused());
    EXPECT_EQ(conn.value()->daemonPid(), 5U);
}

}  // namespace
}  // namespace wsgid::apache
