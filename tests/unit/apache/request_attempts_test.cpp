// SPDX-License-Identifier: Apache-2.0
// Unit tests for the retry rule of one request (apache/request_attempts.h): a pooled connection
// first, one fresh connection more when the daemon cannot have started the request.
#include "apache/request_attempts.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "fake_daemon.h"
#include "protocol/frame.h"

namespace wsgid::apache {
namespace {

using common::ErrorCode;
using common::UniqueFd;
using protocol::FrameType;
using test::FakeDaemon;
using test::getHead;
using test::kIo;
using test::RecordingSink;
using test::serveHello;
using test::SocketDir;
using test::socketPair;
using test::StringSource;
using namespace std::chrono_literals;

/// A pool holding one idle connection whose daemon end is `*daemon`.
void poolOneConnection(ConnectionPool& pool, const std::string& path,
                       std::unique_ptr<FakeDaemon>* daemon) {
    auto [a, b] = socketPair();
    pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), path, 1));
    *daemon = std::make_unique<FakeDaemon>(std::move(b));
}

TEST(RequestAttempts, ShuttingDownOnAPooledConnectionIsRetriedOnAFreshOne) {
    SocketDir dir;
    const std::string path = dir.path("retry.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    ConnectionPool pool;
    std::unique_ptr<FakeDaemon> pooled;
    poolOneConnection(pool, path, &pooled);
    std::unique_ptr<FakeDaemon> fresh;
    std::thread daemons([&] {
        pooled->readRequest();
        pooled->sendError(protocol::ResponseErrorCode::ShuttingDown, "draining");
        serveHello(listener.get(), 77, nullptr, &fresh);
        ASSERT_NE(fresh, nullptr);
        fresh->readRequest();
        fresh->sendStart();
        fresh->send(FrameType::Body, "ok");
        fresh->send(FrameType::End);
    });
    StringSource source("");
    RecordingSink sink;
    std::vector<std::string> retries;
    auto attempt = runRequestAttempts(
        pool, {.socketPath = path, .connectTimeout = 1s, .ioTimeout = kIo}, getHead(), source, sink,
        [&](const RelayResult& r) { retries.push_back(r.detail); });
    daemons.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::Completed);
    EXPECT_EQ(attempt->connection->daemonPid(), 77U);
    EXPECT_EQ(sink.body_, "ok");
    ASSERT_EQ(retries.size(), 1U);
    EXPECT_NE(retries[0].find("draining"), std::string::npos);
    // The first connection ended cleanly, so it went back to the pool.
    EXPECT_EQ(pool.idleCount(path), 1U);
}

TEST(RequestAttempts, RetriesAtMostOnce) {
    SocketDir dir;
    const std::string path = dir.path("twice.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    ConnectionPool pool;
    std::unique_ptr<FakeDaemon> pooled;
    poolOneConnection(pool, path, &pooled);
    std::unique_ptr<FakeDaemon> fresh;
    std::thread daemons([&] {
        pooled->readRequest();
        pooled->sendError(protocol::ResponseErrorCode::ShuttingDown, "draining");
        serveHello(listener.get(), 78, nullptr, &fresh);
        ASSERT_NE(fresh, nullptr);
        fresh->readRequest();
        fresh->sendError(protocol::ResponseErrorCode::ShuttingDown, "draining too");
    });
    StringSource source("");
    RecordingSink sink;
    int retries = 0;
    auto attempt = runRequestAttempts(
        pool, {.socketPath = path, .connectTimeout = 1s, .ioTimeout = kIo}, getHead(), source, sink,
        [&](const RelayResult& /*unused*/) { ++retries; });
    daemons.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(retries, kMaxAttempts - 1);
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::ErrorBeforeStart);
    EXPECT_TRUE(attempt->result.retryable);
    EXPECT_EQ(attempt->connection->daemonPid(), 78U);
}

TEST(RequestAttempts, AFailedConnectIsReturnedAsItsStatus) {
    SocketDir dir;
    const std::string path = dir.path("missing.sock");
    ConnectionPool pool;
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, {.socketPath = path, .connectTimeout = 1s}, getHead(),
                                      source, sink, nullptr);
    ASSERT_FALSE(attempt);
    EXPECT_EQ(attempt.status().code(), ErrorCode::NotFound);
}

}  // namespace
}  // namespace wsgid::apache
