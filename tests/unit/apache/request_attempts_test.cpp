// SPDX-License-Identifier: Apache-2.0
// Unit tests for the retry rule of one request (apache/request_attempts.h): a pooled connection
// first; when the daemon cannot have started the request (busy, stopping, dead), another process's
// idle connection (unless that process was just Busy too) or a fresh one, and last a fresh one
// that may queue.
#include "apache/request_attempts.h"

#include <functional>
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

/// Adds to `pool` an idle connection to daemon process `pid`, whose end is `*daemon`.
/// Pools a connection to a new fake daemon; returns the connection's fd (to tell it apart).
int poolOneConnection(ConnectionPool& pool, const std::string& path,
                      std::unique_ptr<FakeDaemon>* daemon, std::uint32_t pid = 1) {
    auto [a, b] = socketPair();
    const int fd = a.get();
    pool.giveBack(std::make_unique<DaemonConnection>(std::move(a), path, pid));
    *daemon = std::make_unique<FakeDaemon>(std::move(b));
    return fd;
}

/// Answers a request completely with "ok".
void answerOk(FakeDaemon& daemon) {
    daemon.sendStart();
    daemon.send(FrameType::Body, "ok");
    daemon.send(FrameType::End);
}

ConnectParams paramsFor(const std::string& path) {
    return {.socketPath = path, .connectTimeout = 1s, .acceptTimeout = kIo, .ioTimeout = kIo};
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
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink, {},
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

TEST(RequestAttempts, GivesUpAfterTheLastAttempt) {
    SocketDir dir;
    const std::string path = dir.path("twice.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    ConnectionPool pool;
    std::unique_ptr<FakeDaemon> pooled;
    poolOneConnection(pool, path, &pooled);
    std::vector<std::unique_ptr<FakeDaemon>> fresh(kMaxAttempts - 1);
    std::thread daemons([&] {
        pooled->readRequest();
        pooled->sendError(protocol::ResponseErrorCode::ShuttingDown, "draining");
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            serveHello(listener.get(), 78 + static_cast<std::uint32_t>(i), nullptr, &fresh[i]);
            ASSERT_NE(fresh[i], nullptr);
            fresh[i]->readRequest();
            fresh[i]->sendError(protocol::ResponseErrorCode::ShuttingDown, "draining too");
        }
    });
    StringSource source("");
    RecordingSink sink;
    int retries = 0;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink, {},
                                      [&](const RelayResult& /*unused*/) { ++retries; });
    daemons.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(retries, kMaxAttempts - 1);
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::ErrorBeforeStart);
    EXPECT_TRUE(attempt->result.retryable);
    EXPECT_EQ(attempt->connection->daemonPid(), 78U + kMaxAttempts - 2);
}

TEST(RequestAttempts, BusyGoesToAnIdleConnectionOfAnotherProcess) {
    ConnectionPool pool;
    const std::string path = "/busy.sock";
    std::unique_ptr<FakeDaemon> other;
    std::unique_ptr<FakeDaemon> busySecond;
    std::unique_ptr<FakeDaemon> busy;
    poolOneConnection(pool, path, &other, 2);
    const int secondFd = poolOneConnection(pool, path, &busySecond, 1);
    const int refusedFd = poolOneConnection(pool, path, &busy, 1);  // most recently used: first
    FakeDaemon::Request seen;
    std::thread daemons([&] {
        FakeDaemon::Request first = busy->readRequest();
        EXPECT_EQ(first.headFlags, 0);  // may be refused: another process might be free
        busy->sendError(protocol::ResponseErrorCode::Busy, "no free worker");
        seen = other->readRequest();
        answerOk(*other);
    });
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink, {}, nullptr);
    daemons.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::Completed);
    EXPECT_EQ(attempt->connection->daemonPid(), 2U);
    EXPECT_EQ(sink.body_, "ok");
    // The busy process's other connection was skipped, and the refused one went back, to be
    // tried last by the child's next request.
    EXPECT_EQ(pool.idleCount(path), 2U);
    const auto next = pool.takeIdle(path);
    ASSERT_NE(next, nullptr);
    EXPECT_EQ(next->fd(), secondFd);
    const auto after = pool.takeIdle(path);
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(after->fd(), refusedFd);
}

TEST(RequestAttempts, BusyEverywhereEndsOnANewConnectionThatMayQueue) {
    SocketDir dir;
    const std::string path = dir.path("queue.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    ConnectionPool pool;
    std::unique_ptr<FakeDaemon> second;
    std::unique_ptr<FakeDaemon> first;
    poolOneConnection(pool, path, &second, 2);
    poolOneConnection(pool, path, &first, 1);
    std::unique_ptr<FakeDaemon> fresh;
    FakeDaemon::Request last;
    std::thread daemons([&] {
        for (FakeDaemon* d : {first.get(), second.get()}) {
            d->readRequest();
            d->sendError(protocol::ResponseErrorCode::Busy, "no free worker");
        }
        serveHello(listener.get(), 3, nullptr, &fresh);
        ASSERT_NE(fresh, nullptr);
        last = fresh->readRequest();
        answerOk(*fresh);
    });
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink, {}, nullptr);
    daemons.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::Completed);
    EXPECT_EQ(attempt->connection->daemonPid(), 3U);
    EXPECT_EQ(last.headFlags, protocol::kHeadMayQueue);
}

TEST(RequestAttempts, BusyGoesToANewConnectionWhenTheOtherProcessWasJustBusy) {
    SocketDir dir;
    const std::string path = dir.path("recent.sock");
    UniqueFd listener = SocketDir::bound(path, true);
    ConnectionPool pool;
    std::unique_ptr<FakeDaemon> other;
    std::unique_ptr<FakeDaemon> busy;
    const int otherFd = poolOneConnection(pool, path, &other, 2);
    poolOneConnection(pool, path, &busy, 1);
    pool.noteBusy(2, BusyMemory::Clock::now());  // another request of this child just heard it
    std::unique_ptr<FakeDaemon> fresh;
    FakeDaemon::Request seen;
    std::thread daemons([&] {
        busy->readRequest();
        busy->sendError(protocol::ResponseErrorCode::Busy, "no free worker");
        serveHello(listener.get(), 3, nullptr, &fresh);
        ASSERT_NE(fresh, nullptr);
        seen = fresh->readRequest();
        answerOk(*fresh);
    });
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink, {}, nullptr);
    daemons.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::Completed);
    EXPECT_EQ(attempt->connection->daemonPid(), 3U);
    EXPECT_EQ(seen.headFlags, 0);  // a new connection's first request is never refused
    // Process 2's connection was left idle, and the refused one went back behind it; a first
    // attempt still takes it (the memory only steers retries).
    EXPECT_EQ(pool.idleCount(path), 2U);
    const auto next = pool.takeIdle(path);
    ASSERT_NE(next, nullptr);
    EXPECT_EQ(next->fd(), otherFd);
}

TEST(RequestAttempts, ASingleProcessGroupMayQueueFromTheStart) {
    ConnectionPool pool;
    const std::string path = "/single.sock";
    std::unique_ptr<FakeDaemon> only;
    poolOneConnection(pool, path, &only);
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        seen = only->readRequest();
        answerOk(*only);
    });
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink,
                                      {.singleProcess = true}, nullptr);
    daemon.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(attempt->result.outcome, RelayOutcome::Completed);
    EXPECT_EQ(seen.headFlags, protocol::kHeadMayQueue);
}

TEST(RequestAttempts, AFailedConnectIsReturnedAsItsStatus) {
    SocketDir dir;
    const std::string path = dir.path("missing.sock");
    ConnectionPool pool;
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, {.socketPath = path, .connectTimeout = 1s}, getHead(),
                                      source, sink, {}, nullptr);
    ASSERT_FALSE(attempt);
    EXPECT_EQ(attempt.status().code(), ErrorCode::NotFound);
}

// ---- with the group's load table ------------------------------------------------------------

/// A load table of two processes (entries 0 and 2) with `takenOf1` and `takenOf2` places.
std::vector<protocol::LoadSlot> tableOf(std::int32_t takenOf1, std::int32_t takenOf2) {
    std::vector<protocol::LoadSlot> table(protocol::loadSlotCount(2));
    protocol::LoadSlotWriter one(&table[0]);
    protocol::LoadSlotWriter two(&table[2]);
    one.announce(1);
    one.publish(takenOf1);
    two.announce(2);
    two.publish(takenOf2);
    return table;
}

AttemptOptions withTable(const std::vector<protocol::LoadSlot>& table) {
    return {.loadTable = table, .workers = 4};
}

/// What process 1's fake daemon does before process 2's serves (nothing by default): gets
/// the table, to change what it shows.
using BeforeProcess2 = std::function<void(FakeDaemon& one, std::vector<protocol::LoadSlot>&)>;

/// Pools a connection to process 2, then one to process 1 (so the most recently used), runs one
/// request under `table`, checks that process 2 served it, and returns the flags it saw.
std::uint16_t flagsSeenByProcess2(std::vector<protocol::LoadSlot> table,
                                  const BeforeProcess2& before = {}) {
    ConnectionPool pool;
    const std::string path = "/table.sock";
    std::unique_ptr<FakeDaemon> two;
    std::unique_ptr<FakeDaemon> one;
    poolOneConnection(pool, path, &two, 2);
    poolOneConnection(pool, path, &one, 1);
    FakeDaemon::Request seen;
    std::thread daemons([&] {
        if (before) {
            before(*one, table);
        }
        seen = two->readRequest();
        answerOk(*two);
    });
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink,
                                      withTable(table), nullptr);
    daemons.join();
    EXPECT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(attempt ? attempt->connection->daemonPid() : 0U, 2U);
    EXPECT_EQ(sink.body_, "ok");
    return seen.headFlags;
}

TEST(RequestAttempts, WithALoadTableTheFirstAttemptSkipsAFullProcess) {
    // Process 1 is full (4 of 4), process 2 has a free worker.
    EXPECT_EQ(flagsSeenByProcess2(tableOf(4, 1)), protocol::kHeadMayReturn)
        << "not queued, and may be handed back";
}

TEST(RequestAttempts, WithALoadTableAFullGroupQueuesAtTheLeastLoadedProcess) {
    EXPECT_EQ(flagsSeenByProcess2(tableOf(9, 5)),
              protocol::kHeadMayQueue | protocol::kHeadMayReturn);
}

TEST(RequestAttempts, AHandedBackRequestGoesWhereTheTableShowsAFreeWorker) {
    // Both full: queued at 1, the least loaded. Then 2 frees a worker, and 1 hands it back.
    const auto handBack = [](FakeDaemon& one, std::vector<protocol::LoadSlot>& table) {
        EXPECT_EQ(one.readRequest().headFlags, protocol::kHeadMayQueue | protocol::kHeadMayReturn);
        protocol::LoadSlotWriter(&table[2]).publish(3);
        one.sendError(protocol::ResponseErrorCode::Busy, "a sibling process has a free worker");
    };
    EXPECT_EQ(flagsSeenByProcess2(tableOf(5, 6), handBack), protocol::kHeadMayReturn);
}

TEST(RequestAttempts, WithoutALoadTableNoRequestMayBeHandedBack) {
    // Daemons without a table never hand back; the flag stays off, as before the table.
    ConnectionPool pool;
    const std::string path = "/plain.sock";
    std::unique_ptr<FakeDaemon> daemon;
    poolOneConnection(pool, path, &daemon, 1);
    FakeDaemon::Request seen;
    std::thread serve([&] {
        seen = daemon->readRequest();
        answerOk(*daemon);
    });
    StringSource source("");
    RecordingSink sink;
    auto attempt = runRequestAttempts(pool, paramsFor(path), getHead(), source, sink, {}, nullptr);
    serve.join();
    ASSERT_TRUE(attempt) << attempt.status().message();
    EXPECT_EQ(seen.headFlags, 0);
}

}  // namespace
}  // namespace wsgid::apache
