// SPDX-License-Identifier: Apache-2.0
// Server and Connection end to end over a real listening Unix socket, with a fake Application:
// the session rules of docs/protocol.md, body streaming, error mapping, concurrency and
// graceful stop. Assertions are on frames and states, never on elapsed time.
#include "daemon/server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include "common/log_sink.h"
#include "test_client.h"

namespace wsgid::daemon {
namespace {

using common::Deadline;
using protocol::FrameType;
using protocol::ResponseErrorCode;
using python::CallOutcome;
using python::RequestIo;
using python::WsgiRequest;
using testing::kTestTimeout;
using testing::makeHead;
using testing::SocketDir;
using testing::TestClient;

// The manager pid the fixture's server expects in Hello.
constexpr std::uint32_t kManagerPid = 4242;

/// Remembers the ids of the log lines, so tests can check that a failure was logged.
class RecordingLog final : public common::LogSink {
public:
    void log(common::LogLevel /*level*/, std::string_view id,
             std::string_view /*message*/) noexcept override {
        const std::lock_guard lock(mutex_);
        ids_.emplace(id);
    }
    bool saw(std::string_view id) { return count(id) > 0; }
    std::size_t count(std::string_view id) {
        const std::lock_guard lock(mutex_);
        return ids_.count(std::string(id));
    }

private:
    std::mutex mutex_;
    std::multiset<std::string> ids_;
};

/// Records the thread it was made on, to check that workers make their own.
class FakeWorker final : public Worker {
public:
    std::thread::id thread = std::this_thread::get_id();
};

using Handler = std::function<CallOutcome(const WsgiRequest&, RequestIo&)>;

/// Runs `handler` for every request; makeWorker can be made to fail.
class FakeApplication final : public Application {
public:
    explicit FakeApplication(Handler handler) : handler_(std::move(handler)) {}

    std::unique_ptr<Worker> makeWorker() noexcept override {
        if (failWorkers) {
            return nullptr;
        }
        return std::make_unique<FakeWorker>();
    }
    CallOutcome handle(Worker& worker, const WsgiRequest& request,
                       RequestIo& io) noexcept override {
        if (static_cast<FakeWorker&>(worker).thread != std::this_thread::get_id()) {
            ++wrongThread;
        }
        return handler_(request, io);
    }

    bool failWorkers = false;
    std::atomic<int> wrongThread{0};

private:
    Handler handler_;
};

/// Reads the whole body through `io`; the error status if reading fails.
common::Result<std::string> readAll(RequestIo& io) {
    std::string body;
    char buf[7000];  // odd size: exercises partial chunks
    for (;;) {
        auto n = io.readBody(buf);
        if (!n) {
            return n.status();
        }
        if (n.value() == 0) {
            return body;
        }
        body.append(buf, n.value());
    }
}

CallOutcome outcome(CallOutcome::Kind kind, std::string message = {}, bool headersSent = false) {
    CallOutcome o;
    o.kind = kind;
    o.message = std::move(message);
    o.headersSent = headersSent;
    return o;
}

CallOutcome respond(RequestIo& io, std::string_view body,
                    const std::vector<std::pair<std::string, std::string>>& headers = {
                        {"Content-Type", "text/plain"}}) {
    if (!io.writeStart("200 OK", headers)) {
        return outcome(CallOutcome::Kind::ClientGone);
    }
    if (!body.empty() && !io.writeBody(body)) {
        return outcome(CallOutcome::Kind::ClientGone, {}, true);
    }
    return outcome(CallOutcome::Kind::Completed, {}, true);
}

/// Echoes the request body; the request id goes into a header.
CallOutcome echo(const WsgiRequest& request, RequestIo& io) {
    auto body = readAll(io);
    if (!body) {
        return outcome(CallOutcome::Kind::AppError, body.status().message());
    }
    return respond(io, body.value(),
                   {{"Content-Type", "text/plain"}, {"X-Request-Id", request.requestId}});
}

/// Lets a test hold requests inside the app and release them.
class Gate {
public:
    void enter() {
        std::unique_lock lock(mutex_);
        ++inside_;
        cv_.notify_all();
        cv_.wait_until(lock, common::Clock::now() + kTestTimeout, [this] { return open_; });
    }
    bool waitInside(int n) {
        std::unique_lock lock(mutex_);
        return cv_.wait_until(lock, common::Clock::now() + kTestTimeout,
                              [&] { return inside_ >= n; });
    }
    void open() {
        const std::lock_guard lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int inside_ = 0;
    bool open_ = false;
};

class ServerTest : public ::testing::Test {
protected:
    void startServer(Handler handler, int threads = 2, std::size_t queueCapacity = 64) {
        app_ = std::make_unique<FakeApplication>(std::move(handler));
        startWith(threads, queueCapacity);
    }
    void startWith(int threads, std::size_t queueCapacity,
                   std::chrono::milliseconds socketTimeout = kTestTimeout) {
        ServerConfig config;
        config.threads = threads;
        config.connection.managerPid = kManagerPid;
        config.connection.group = std::string(testing::kTestGroup);
        config.connection.secrets = {{.generation = 1, .secret = testing::testSecret(1)},
                                     {.generation = 2, .secret = testing::testSecret(2)}};
        config.connection.peerUid = peerUid_;
        config.siblings = siblings_;
        config.queueTimeout = queueTimeout_;
        config.connection.socketTimeout = socketTimeout;
        config.queueCapacity = queueCapacity;
        config.loadTable = loadTable_;
        config.loadSlot = 0;
        common::UniqueFd listenFd = dir_.listen();
        ASSERT_TRUE(listenFd.valid());
        server_ = std::make_unique<Server>(std::move(listenFd), config, *app_, log_);
        ASSERT_TRUE(server_->start().isOk());
    }
    void TearDown() override {
        server_.reset();
        if (app_) {
            EXPECT_EQ(app_->wrongThread.load(), 0);
        }
    }

    /// Waits (bounded) until the server holds no admitted request: a worker frees its place just
    /// after the response it wrote.
    bool noneAdmitted() {
        const Deadline deadline = Deadline::after(kTestTimeout);
        while (server_->admittedRequests() != 0 && !deadline.expired()) {
            std::this_thread::yield();
        }
        return server_->admittedRequests() == 0;
    }

    /// Waits (bounded) until `n` requests wait in the server's queue; the count then.
    std::size_t queuedReaches(std::size_t n) {
        const Deadline deadline = Deadline::after(kTestTimeout);
        while (server_->queuedRequests() < n && !deadline.expired()) {
            std::this_thread::yield();
        }
        return server_->queuedRequests();
    }

    /// A connected client past Hello.
    std::unique_ptr<TestClient> connect() {
        auto client = std::make_unique<TestClient>(dir_.socketPath());
        EXPECT_TRUE(client->ok());
        auto ack = client->hello(kManagerPid);
        EXPECT_TRUE(ack.isOk()) << ack.status().message();
        return client;
    }

    /// A connected client past its first request (`id`): a pooled connection, whose further
    /// requests hold no reserved worker.
    std::unique_ptr<TestClient> pooledConnection(const std::string& id) {
        auto client = connect();
        EXPECT_TRUE(client->sendRequest(makeHead(id, 0), {}));
        EXPECT_TRUE(client->readResponse().isOk());
        return client;
    }

    /// A connected client whose request "hold" is inside the app (holdingApp), holding one
    /// worker until gate_ opens.
    std::unique_ptr<TestClient> holdTheOnlyWorker() {
        auto client = connect();
        EXPECT_TRUE(client->sendRequest(makeHead("hold", 0), {}));
        EXPECT_TRUE(gate_.waitInside(1));
        return client;
    }

    /// This process's taken places as the load table shows them (bounded wait until `n`).
    std::int32_t publishedReaches(std::int32_t n) {
        const Deadline deadline = Deadline::after(kTestTimeout);
        while (std::atomic_ref(loadTable_[0].taken).load() != n && !deadline.expired()) {
            std::this_thread::yield();
        }
        return std::atomic_ref(loadTable_[0].taken).load();
    }

    /// A sibling in the load table's entry 2 (the second process index) with `taken` places.
    void siblingShows(std::int32_t taken) {
        std::atomic_ref(loadTable_[2].taken).store(taken);
        std::atomic_ref(loadTable_[2].pid).store(kSiblingPid);
    }

    /// Starts a one-worker process running `handler` in a group of two with a load table (this
    /// process writes entry 0), its sibling showing `siblingTaken` of its one worker taken.
    void startInGroupOfTwo(Handler handler, std::int32_t siblingTaken) {
        siblings_ = true;
        loadTable_.resize(protocol::loadSlotCount(2));
        siblingShows(siblingTaken);
        startServer(std::move(handler), /*threads=*/1);
    }

    /// The sibling's pid in the load table: any pid but this process's.
    static constexpr std::uint32_t kSiblingPid = 999999;

    SocketDir dir_;
    /// The group's load table (ServerConfig::loadTable); empty: none. This server writes entry 0.
    std::vector<protocol::LoadSlot> loadTable_;
    std::optional<uid_t> peerUid_ = ::getuid();
    bool siblings_ = false;                      // ServerConfig::siblings
    std::chrono::milliseconds queueTimeout_{0};  // ServerConfig::queueTimeout
    RecordingLog log_;
    Gate gate_;  // outlives the server, whose workers may still be leaving it
    std::unique_ptr<FakeApplication> app_;
    std::unique_ptr<Server> server_;
};

// ---- session -------------------------------------------------------------------------------

TEST_F(ServerTest, HelloWithAValidProofIsAnsweredWithTheDaemonPid) {
    startServer(echo);
    TestClient client(dir_.socketPath());
    ASSERT_TRUE(client.ok());
    auto ack = client.hello(kManagerPid);
    ASSERT_TRUE(ack.isOk()) << ack.status().message();
    EXPECT_EQ(ack.value().daemonPid, static_cast<std::uint32_t>(::getpid()));
}

TEST_F(ServerTest, HelloSignedWithAnEarlierRetainedGenerationIsAccepted) {
    // An httpd child of the previous generation, still running after a graceful restart.
    startServer(echo);
    TestClient client(dir_.socketPath());
    ASSERT_TRUE(client.ok());
    EXPECT_TRUE(client.hello(kManagerPid, 1).isOk());
    TestClient newer(dir_.socketPath());
    EXPECT_TRUE(newer.hello(kManagerPid, 2).isOk());
}

TEST_F(ServerTest, EveryConnectionGetsItsOwnNonce) {
    startServer(echo);
    TestClient a(dir_.socketPath());
    TestClient b(dir_.socketPath());
    auto ca = a.challenge();
    auto cb = b.challenge();
    ASSERT_TRUE(ca.isOk() && cb.isOk());
    EXPECT_NE(ca.value().nonce, cb.value().nonce);
    EXPECT_EQ(ca.value().daemonPid, static_cast<std::uint32_t>(::getpid()));
}

/// Expects the daemon to answer with Error{BadRequest}, close, and log WG0219.
void expectRefused(TestClient& client, const common::Result<protocol::HelloAck>& answer,
                   RecordingLog& log) {
    ASSERT_FALSE(answer.isOk());
    EXPECT_NE(answer.status().message().find("authentication failed"), std::string::npos)
        << answer.status().message();
    EXPECT_TRUE(client.closedByPeer());
    EXPECT_TRUE(log.saw("WG0219"));
}

TEST_F(ServerTest, HelloWithWrongManagerPidIsRefusedAndClosed) {
    startServer(echo);
    TestClient client(dir_.socketPath());
    ASSERT_TRUE(client.ok());
    expectRefused(client, client.hello(kManagerPid + 1, 1), log_);
}

TEST_F(ServerTest, ProofWithAnotherGroupsSecretIsRefused) {
    // A tenant knows its own group's secret; it must be useless against this group.
    startServer(echo);
    TestClient client(dir_.socketPath());
    auto c = client.challenge();
    ASSERT_TRUE(c.isOk());
    protocol::Secret other = testing::testSecret(1);
    other[0] ^= 1;
    expectRefused(
        client,
        client.sendHello({.managerPid = kManagerPid,
                          .generation = 1,
                          .proof = protocol::helloProof(other, testing::kTestGroup, c.value().nonce,
                                                        kManagerPid, 1)}),
        log_);
}

TEST_F(ServerTest, ProofForAnotherGroupNameIsRefused) {
    startServer(echo);
    TestClient client(dir_.socketPath());
    auto c = client.challenge();
    ASSERT_TRUE(c.isOk());
    expectRefused(
        client,
        client.sendHello({.managerPid = kManagerPid,
                          .generation = 1,
                          .proof = protocol::helloProof(testing::testSecret(1), "h",
                                                        c.value().nonce, kManagerPid, 1)}),
        log_);
}

TEST_F(ServerTest, ReplayedHelloIsRefused) {
    // A Hello that was valid on one connection (seen, say, by a process that could read it)
    // does not open another: the nonce differs.
    startServer(echo);
    TestClient first(dir_.socketPath());
    auto c = first.challenge();
    ASSERT_TRUE(c.isOk());
    const protocol::Hello valid{
        .managerPid = kManagerPid,
        .generation = 1,
        .proof = protocol::helloProof(testing::testSecret(1), testing::kTestGroup, c.value().nonce,
                                      kManagerPid, 1)};
    ASSERT_TRUE(first.sendHello(valid).isOk());
    TestClient replay(dir_.socketPath());
    ASSERT_TRUE(replay.challenge().isOk());
    expectRefused(replay, replay.sendHello(valid), log_);
}

TEST_F(ServerTest, HelloForAGenerationWithoutSecretIsRefused) {
    startServer(echo);
    TestClient client(dir_.socketPath());
    expectRefused(client, client.hello(kManagerPid, 0), log_);
}

TEST_F(ServerTest, HelloForANewerGenerationGetsShuttingDown) {
    // This daemon is of an older generation than the child: it is retiring, the module retries.
    startServer(echo);
    TestClient client(dir_.socketPath());
    auto answer = client.hello(kManagerPid, 3);
    ASSERT_FALSE(answer.isOk());
    EXPECT_NE(answer.status().message().find("stopping"), std::string::npos);
    EXPECT_TRUE(client.closedByPeer());
    EXPECT_TRUE(log_.saw("WG0271"));
    EXPECT_FALSE(log_.saw("WG0219"));
}

TEST_F(ServerTest, FirstFrameOtherThanHelloIsRefusedAndClosed) {
    startServer(echo);
    TestClient client(dir_.socketPath());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.challenge().isOk());
    ASSERT_TRUE(client.sendRequest(makeHead("r1"), {}));
    auto frame = client.readFrame();
    ASSERT_TRUE(frame.isOk()) << frame.status().message();
    EXPECT_EQ(frame.value().type, FrameType::Error);
    EXPECT_TRUE(client.closedByPeer());
    EXPECT_TRUE(log_.saw("WG0219"));
}

TEST_F(ServerTest, VersionOneHelloIsRefused) {
    // What a client of the old, unauthenticated protocol sends: a version-1 frame header.
    startServer(echo);
    TestClient client(dir_.socketPath());
    ASSERT_TRUE(client.challenge().isOk());
    ASSERT_TRUE(
        client.sendRaw(std::string("\x01\x01\x00\x00\x08\x00\x00\x00", 8) + std::string(8, '\0')));
    EXPECT_TRUE(client.closedByPeer());
    EXPECT_TRUE(log_.saw("WG0219"));
    EXPECT_FALSE(log_.saw("WG0213"));
}

TEST_F(ServerTest, RefusalsOfOneProcessAreLoggedOnce) {
    startServer(echo);
    for (int i = 0; i < 3; ++i) {
        TestClient client(dir_.socketPath());
        ASSERT_FALSE(client.hello(kManagerPid + 1, 1).isOk());
        EXPECT_TRUE(client.closedByPeer());
    }
    EXPECT_EQ(log_.count("WG0219"), 1U);
}

TEST_F(ServerTest, PeerOfAnotherUidGetsNoChallenge) {
    peerUid_ = ::getuid() + 1;
    startServer(echo);
    TestClient client(dir_.socketPath());
    ASSERT_TRUE(client.ok());
    EXPECT_TRUE(client.closedByPeer());
    EXPECT_TRUE(log_.saw("WG0219"));
}

TEST_F(ServerTest, SilentPeerIsDroppedAfterTheHandshakeTimeout) {
    startServer(echo);
    TestClient silent(dir_.socketPath());
    ASSERT_TRUE(silent.challenge().isOk());
    // closedByPeer() waits up to kTestTimeout, well past kHandshakeTimeout.
    EXPECT_TRUE(silent.closedByPeer());
    EXPECT_TRUE(log_.saw("WG0274"));
    // The server still serves others.
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("after"), {}));
    EXPECT_TRUE(client->readResponse().isOk());
}

TEST_F(ServerTest, TooManySilentPeersDropTheOldestFirst) {
    startServer(echo);
    std::vector<std::unique_ptr<TestClient>> silent;
    for (std::size_t i = 0; i < kMaxPendingHandshakes; ++i) {
        silent.push_back(std::make_unique<TestClient>(dir_.socketPath()));
        ASSERT_TRUE(silent.back()->challenge().isOk()) << i;
    }
    // One more: the oldest waiting peer makes room, and a real child still gets in.
    auto client = connect();
    EXPECT_TRUE(silent.front()->closedByPeer());
    ASSERT_TRUE(client->sendRequest(makeHead("busy"), {}));
    EXPECT_TRUE(client->readResponse().isOk());
}

// ---- requests ------------------------------------------------------------------------------

TEST_F(ServerTest, RequestBodyIsEchoedWithStartBodyEnd) {
    std::promise<WsgiRequest> seen;
    startServer([&seen](const WsgiRequest& request, RequestIo& io) {
        seen.set_value(request);
        return echo(request, io);
    });
    auto client = connect();
    protocol::RequestHead head = makeHead("req-1", 11);
    ASSERT_TRUE(client->sendRequest(head, {"hello ", "world"}));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    ASSERT_TRUE(response.value().start.has_value());
    EXPECT_EQ(response.value().start->status, "200 OK");
    EXPECT_EQ(response.value().body(), "hello world");
    EXPECT_TRUE(response.value().ended);

    const WsgiRequest request = seen.get_future().get();
    EXPECT_EQ(request.scriptFilename, head.scriptFilename);
    EXPECT_EQ(request.callableObject, head.callableObject);
    EXPECT_EQ(request.applicationGroup, "app");
    EXPECT_EQ(request.processGroup, "group");
    EXPECT_EQ(request.requestId, "req-1");
    EXPECT_EQ(request.contentLength, 11);
    EXPECT_EQ(request.environ, head.environ);
}

TEST_F(ServerTest, ResponseHeadersArriveInOrder) {
    startServer([](const WsgiRequest&, RequestIo& io) {
        return respond(
            io, "x", {{"Content-Type", "text/html"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}});
    });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("r"), {}));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk());
    ASSERT_TRUE(response.value().start.has_value());
    const std::vector<protocol::Header> expected = {
        {"Content-Type", "text/html"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}};
    EXPECT_EQ(response.value().start->headers, expected);
}

TEST_F(ServerTest, TwoSequentialRequestsShareOneConnection) {
    startServer(echo);
    auto client = connect();
    for (const std::string id : {"first", "second"}) {
        ASSERT_TRUE(client->sendRequest(makeHead(id), {"body of " + id}));
        auto response = client->readResponse();
        ASSERT_TRUE(response.isOk()) << response.status().message();
        EXPECT_EQ(response.value().body(), "body of " + id);
        EXPECT_TRUE(response.value().ended);
    }
}

TEST_F(ServerTest, PipelinedBodilessRequestsAreServedInOrder) {
    // The module never sends a RequestHead before the previous response ended; a daemon that
    // finds one already buffered still serves it after the first.
    startServer(
        [](const WsgiRequest& request, RequestIo& io) { return respond(io, request.requestId); });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("a", 0), {}));
    ASSERT_TRUE(client->sendRequest(makeHead("b", 0), {}));
    auto first = client->readResponse();
    auto second = client->readResponse();
    ASSERT_TRUE(first.isOk() && second.isOk());
    EXPECT_EQ(first.value().body(), "a");
    EXPECT_EQ(second.value().body(), "b");
}

TEST_F(ServerTest, SendBodyComesOnlyWhenTheAppReadsABody) {
    startServer([](const WsgiRequest& request, RequestIo& io) {
        if (request.requestId == "ignores") {
            return respond(io, "ignored");
        }
        return echo(request, io);
    });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("ignores", 4), {"abcd"}));
    auto ignored = client->readResponse();
    ASSERT_TRUE(ignored.isOk()) << ignored.status().message();
    EXPECT_FALSE(ignored.value().bodyAsked);
    EXPECT_EQ(ignored.value().body(), "ignored");

    ASSERT_TRUE(client->sendRequest(makeHead("no body", 0), {}));
    auto empty = client->readResponse();
    ASSERT_TRUE(empty.isOk()) << empty.status().message();
    EXPECT_FALSE(empty.value().bodyAsked);  // CONTENT_LENGTH 0: read() ends at once

    ASSERT_TRUE(client->sendRequest(makeHead("reads", 4), {"wxyz"}));
    auto read = client->readResponse();
    ASSERT_TRUE(read.isOk()) << read.status().message();
    EXPECT_TRUE(read.value().bodyAsked);
    EXPECT_EQ(read.value().body(), "wxyz");
}

TEST_F(ServerTest, LargeBodiesStreamBothWaysAndResponseFramesAreSplit) {
    startServer(echo);
    auto client = connect();
    // 1 MiB in chunks of at most kMaxDataChunk, with a varying pattern to catch reordering.
    std::string body(1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    }
    std::vector<std::string> chunks;
    for (std::size_t off = 0; off < body.size(); off += protocol::kMaxDataChunk) {
        chunks.push_back(body.substr(off, protocol::kMaxDataChunk));
    }
    // The body is bigger than the socket buffers: readResponse() sends it from another thread
    // once asked, as the module polls both directions.
    ASSERT_TRUE(client->sendRequest(makeHead("big"), chunks));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    EXPECT_EQ(response.value().body(), body);
    EXPECT_GT(response.value().bodyFrames.size(), 1U);
    for (const auto& frame : response.value().bodyFrames) {
        EXPECT_LE(frame.size(), protocol::kMaxDataChunk);
        EXPECT_FALSE(frame.empty());
    }
}

TEST_F(ServerTest, BodyFramesOfEverySizeArriveWholeWhateverTheReadSize) {
    // A read may end inside a frame or take several: empty frames, frames smaller than a
    // header, and frames larger than one read, with reads larger than the whole body.
    std::string body;
    std::vector<std::string> chunks;
    for (const std::size_t size : {0U, 1U, 7U, 8U, 9U, 65536U, 0U, 70001U, 3U, 262144U, 5U}) {
        std::string chunk(size, '\0');
        for (std::size_t i = 0; i < size; ++i) {
            chunk[i] = static_cast<char>('A' + (body.size() + i) % 53);
        }
        body += chunk;
        chunks.push_back(std::move(chunk));
    }
    // The request id is the read size; every request on the one connection.
    startServer([](const WsgiRequest& request, RequestIo& io) {
        std::string got;
        std::vector<char> buf(std::stoul(request.requestId));
        for (;;) {
            auto n = io.readBody(buf);
            if (!n) {
                return outcome(CallOutcome::Kind::AppError, n.status().message());
            }
            if (n.value() == 0) {
                return respond(io, got);
            }
            got.append(buf.data(), n.value());
        }
    });
    auto client = connect();
    for (const std::size_t readSize : {3U, 8192U, 100000U, 1048576U}) {
        ASSERT_TRUE(client->sendRequest(makeHead(std::to_string(readSize)), chunks));
        auto response = client->readResponse();
        ASSERT_TRUE(response.isOk()) << response.status().message();
        EXPECT_EQ(response.value().body(), body) << "reads of " << readSize;
    }
}

TEST_F(ServerTest, TryReadBodyTakesOnlyWhatIsHereAndNeverAsksForTheBody) {
    // Before SendBody nothing can be here (and asking is a write): std::nullopt. After the body
    // ended: 0, as readBody says it. In between, what it answers is part of the body in order.
    std::promise<std::string> seen;
    startServer([&seen](const WsgiRequest&, RequestIo& io) {
        std::string report;
        char buf[1000];
        report += io.tryReadBody(buf) ? "early answer;" : "nullopt before SendBody;";
        std::string got;
        bool ended = false;
        while (!ended) {
            std::optional<common::Result<std::size_t>> quick = io.tryReadBody(buf);
            common::Result<std::size_t> n = quick ? std::move(*quick) : io.readBody(buf);
            if (!n) {
                report += "error " + n.status().message();
                break;
            }
            ended = n.value() == 0;
            got.append(buf, n.value());
        }
        auto after = io.tryReadBody(buf);
        report += after && after->isOk() && after->value() == 0 ? "0 after the end;" : "not 0;";
        seen.set_value(report);
        return respond(io, got);
    });
    auto client = connect();
    const std::string body(50000, 'q');
    ASSERT_TRUE(client->sendRequest(makeHead("try"), {body.substr(0, 20000), body.substr(20000)}));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    EXPECT_EQ(response.value().body(), body);
    EXPECT_EQ(seen.get_future().get(), "nullopt before SendBody;0 after the end;");
}

TEST_F(ServerTest, UnreadBodyIsDrainedSoTheNextRequestWorks) {
    startServer([](const WsgiRequest& request, RequestIo& io) {
        if (request.requestId == "ignores-body") {
            return respond(io, "ignored");
        }
        return echo(request, io);
    });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("ignores-body"), {"aaaa", "bbbb", "cccc"}));
    auto first = client->readResponse();
    ASSERT_TRUE(first.isOk()) << first.status().message();
    EXPECT_EQ(first.value().body(), "ignored");
    ASSERT_TRUE(client->sendRequest(makeHead("echo"), {"next"}));
    auto second = client->readResponse();
    ASSERT_TRUE(second.isOk()) << second.status().message();
    EXPECT_EQ(second.value().body(), "next");
}

TEST_F(ServerTest, AbandonedBodyIsAnErrorForTheApp) {
    std::promise<std::string> readError;
    startServer([&readError](const WsgiRequest& request, RequestIo& io) {
        auto body = readAll(io);
        if (request.requestId == "r") {
            readError.set_value(body ? "" : body.status().message());
        }
        return respond(io, "done");
    });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("r"), {"partial"}, /*abandoned=*/true));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    EXPECT_EQ(readError.get_future().get(), "request body abandoned by client");
    // The connection itself is fine: BodyEnd was seen.
    ASSERT_TRUE(client->sendRequest(makeHead("r2"), {}));
    EXPECT_TRUE(client->readResponse().isOk());
}

TEST_F(ServerTest, EmptyBodyReadsAsEndAtOnce) {
    startServer(echo);
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("empty", 0), {}));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk());
    EXPECT_TRUE(response.value().ended);
    EXPECT_EQ(response.value().body(), "");
    EXPECT_TRUE(response.value().bodyFrames.empty());
}

TEST_F(ServerTest, BodyThatNeverEndsTimesOutAndClosesTheConnection) {
    std::promise<common::ErrorCode> readError;
    app_ = std::make_unique<FakeApplication>([&readError](const WsgiRequest&, RequestIo& io) {
        auto body = readAll(io);
        readError.set_value(body ? common::ErrorCode::Ok : body.status().code());
        return outcome(CallOutcome::Kind::AppError, "cannot read the body");
    });
    // A short socket timeout: the body never ends, so the read must give up on its own.
    startWith(1, 8, std::chrono::milliseconds(50));
    auto client = connect();
    ASSERT_TRUE(
        client->sendFrame(FrameType::RequestHead, protocol::encodeRequestHead(makeHead("slow"))));
    auto ask = client->readFrame();
    ASSERT_TRUE(ask.isOk()) << ask.status().message();
    EXPECT_EQ(ask.value().type, FrameType::SendBody);
    ASSERT_TRUE(client->sendFrame(FrameType::BodyChunk, "first part, and then nothing"));
    EXPECT_EQ(readError.get_future().get(), common::ErrorCode::Timeout);
    // A connection whose body broke off cannot carry another request: closed, no frames.
    EXPECT_TRUE(client->closedByPeer());
    EXPECT_TRUE(log_.saw("WG0225"));
}

// ---- error mapping -------------------------------------------------------------------------

struct ErrorCase {
    CallOutcome::Kind kind;
    std::string message;
    ResponseErrorCode expected;
};

class ServerErrorTest : public ServerTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(ServerErrorTest, OutcomeBecomesErrorFrameAndConnectionStaysUsable) {
    const ErrorCase c = GetParam();
    startServer([&c](const WsgiRequest& request, RequestIo& io) {
        if (request.requestId == "ok") {
            return echo(request, io);
        }
        return outcome(c.kind, c.message);
    });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("fails"), {"body"}));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    EXPECT_FALSE(response.value().start.has_value());
    ASSERT_TRUE(response.value().error.has_value());
    EXPECT_EQ(response.value().error->code, c.expected);
    EXPECT_EQ(response.value().error->message, c.message);

    ASSERT_TRUE(client->sendRequest(makeHead("ok"), {"again"}));
    auto next = client->readResponse();
    ASSERT_TRUE(next.isOk()) << next.status().message();
    EXPECT_EQ(next.value().body(), "again");
}

INSTANTIATE_TEST_SUITE_P(
    Outcomes, ServerErrorTest,
    ::testing::Values(ErrorCase{CallOutcome::Kind::AppError, "ZeroDivisionError: division by zero",
                                ResponseErrorCode::AppError},
                      ErrorCase{CallOutcome::Kind::ScriptLoadFailed, "no such file",
                                ResponseErrorCode::ScriptLoadFailed},
                      ErrorCase{CallOutcome::Kind::InvalidResponse, "status must be a str",
                                ResponseErrorCode::InvalidResponse},
                      ErrorCase{CallOutcome::Kind::InvalidResponse,
                                "response shorter than its Content-Length (3 of 10 bytes)",
                                ResponseErrorCode::ContentLengthMismatch}));

TEST_F(ServerTest, ErrorAfterStartFollowsTheBody) {
    startServer([](const WsgiRequest&, RequestIo& io) {
        (void)io.writeStart("200 OK", {});
        (void)io.writeBody("partial");
        return outcome(CallOutcome::Kind::AppError, "RuntimeError: mid-body", true);
    });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("r"), {}));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk());
    EXPECT_TRUE(response.value().start.has_value());
    EXPECT_EQ(response.value().body(), "partial");
    ASSERT_TRUE(response.value().error.has_value());
    EXPECT_EQ(response.value().error->code, ResponseErrorCode::AppError);
}

TEST_F(ServerTest, ClientGoneClosesTheConnection) {
    startServer(
        [](const WsgiRequest&, RequestIo&) { return outcome(CallOutcome::Kind::ClientGone); });
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(makeHead("r"), {}));
    EXPECT_TRUE(client->closedByPeer());
}

// ---- protocol violations -------------------------------------------------------------------

TEST_F(ServerTest, MalformedFrameClosesOnlyThatConnection) {
    startServer(echo);
    auto bad = connect();
    auto good = connect();
    // Version 9: rejected from the header alone.
    ASSERT_TRUE(bad->sendRaw(std::string("\x09\x02\x00\x00\x00\x00\x00\x00", 8)));
    EXPECT_TRUE(bad->closedByPeer());
    EXPECT_TRUE(log_.saw("WG0213"));

    ASSERT_TRUE(good->sendRequest(makeHead("r"), {"still fine"}));
    auto response = good->readResponse();
    ASSERT_TRUE(response.isOk());
    EXPECT_EQ(response.value().body(), "still fine");
}

TEST_F(ServerTest, BodyFrameBeforeSendBodyClosesTheConnection) {
    // A body is only sent after SendBody; one that comes early is a module out of step.
    startServer([](const WsgiRequest&, RequestIo& io) { return respond(io, "ignores its body"); });
    auto client = connect();
    std::string bytes;
    protocol::appendFrame(bytes, FrameType::RequestHead, 0,
                          protocol::encodeRequestHead(makeHead("r", 5)));
    protocol::appendFrame(bytes, FrameType::BodyChunk, 0, "early");
    ASSERT_TRUE(client->sendRaw(bytes));
    auto response = client->readFrame();  // the app's answer, which never asked for the body
    ASSERT_TRUE(response.isOk());
    EXPECT_EQ(response.value().type, FrameType::Start);
    while (auto next = client->readFrame()) {
        if (next.value().type == FrameType::End) {
            break;
        }
    }
    EXPECT_TRUE(client->closedByPeer());
    EXPECT_TRUE(log_.saw("WG0214"));
}

TEST_F(ServerTest, BodyFrameBetweenRequestsClosesTheConnection) {
    startServer(echo);
    auto client = connect();
    ASSERT_TRUE(client->sendFrame(FrameType::BodyChunk, "stray"));
    EXPECT_TRUE(client->closedByPeer());
    EXPECT_TRUE(log_.saw("WG0214"));
}

TEST_F(ServerTest, UndecodableRequestHeadGetsBadRequestAndTheConnectionGoesOn) {
    std::atomic<int> calls{0};
    startServer([&calls](const WsgiRequest& request, RequestIo& io) {
        ++calls;
        return echo(request, io);
    });
    auto client = connect();
    ASSERT_TRUE(client->sendFrame(FrameType::RequestHead, "not a request head"));
    auto response = client->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    ASSERT_TRUE(response.value().error.has_value());
    EXPECT_EQ(response.value().error->code, ResponseErrorCode::BadRequest);
    EXPECT_TRUE(log_.saw("WG0215"));

    ASSERT_TRUE(client->sendRequest(makeHead("good"), {"ok"}));
    auto next = client->readResponse();
    ASSERT_TRUE(next.isOk()) << next.status().message();
    EXPECT_EQ(next.value().body(), "ok");
    EXPECT_EQ(calls.load(), 1);
}

TEST_F(ServerTest, RequestFrameInsideABodyClosesTheConnection) {
    startServer(echo);
    auto client = connect();
    ASSERT_TRUE(
        client->sendFrame(FrameType::RequestHead, protocol::encodeRequestHead(makeHead("r"))));
    auto ask = client->readFrame();
    ASSERT_TRUE(ask.isOk()) << ask.status().message();
    EXPECT_EQ(ask.value().type, FrameType::SendBody);
    ASSERT_TRUE(client->sendFrame(FrameType::Hello, protocol::encodeHello({kManagerPid, 1, {}})));
    EXPECT_TRUE(client->closedByPeer());
    EXPECT_TRUE(log_.saw("WG0216"));
}

// ---- concurrency and queueing --------------------------------------------------------------

TEST_F(ServerTest, FourConnectionsRunConcurrentlyOnFourThreads) {
    Gate& gate = gate_;
    std::mutex mutex;
    std::set<std::thread::id> threads;
    startServer(
        [&](const WsgiRequest& request, RequestIo& io) {
            {
                const std::lock_guard lock(mutex);
                threads.insert(std::this_thread::get_id());
            }
            gate.enter();
            return echo(request, io);
        },
        4);
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(connect());
        ASSERT_TRUE(clients.back()->sendRequest(makeHead("c" + std::to_string(i)),
                                                {"from " + std::to_string(i)}));
    }
    // All four are inside the app at the same time: only possible with four workers.
    EXPECT_TRUE(gate.waitInside(4));
    gate.open();
    for (int i = 0; i < 4; ++i) {
        auto response = clients[static_cast<std::size_t>(i)]->readResponse();
        ASSERT_TRUE(response.isOk()) << response.status().message();
        EXPECT_EQ(response.value().body(), "from " + std::to_string(i));
    }
    EXPECT_EQ(threads.size(), 4U);
}

TEST_F(ServerTest, ManyMoreConnectionsThanWorkersAreAllServedInTurn) {
    // Leader/follower: idle workers read requests themselves, the I/O thread reads and queues
    // them while both workers are busy, and a request queued as a worker goes idle must still
    // be run. Sixteen clients sending at once against two workers cross those hand-overs often.
    constexpr int kClients = 16;
    constexpr int kRequestsEach = 20;
    startServer(echo, /*threads=*/2);
    std::vector<std::unique_ptr<TestClient>> clients;
    clients.reserve(kClients);
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(connect());
    }
    std::atomic<int> good{0};
    std::vector<std::thread> senders;
    senders.reserve(kClients);
    for (int i = 0; i < kClients; ++i) {
        senders.emplace_back([&, i] {
            TestClient& client = *clients[static_cast<std::size_t>(i)];
            for (int r = 0; r < kRequestsEach; ++r) {
                const std::string body = std::to_string(i) + "/" + std::to_string(r);
                if (!client.sendRequest(makeHead("c" + body), {body})) {
                    return;
                }
                auto response = client.readResponse();
                if (!response.isOk() || response.value().body() != body) {
                    return;
                }
                ++good;
            }
        });
    }
    for (auto& t : senders) {
        t.join();
    }
    EXPECT_EQ(good.load(), kClients * kRequestsEach);
    EXPECT_TRUE(noneAdmitted());
    EXPECT_EQ(server_->queuedRequests(), 0U);
}

TEST_F(ServerTest, FullQueueRefusesWithShuttingDown) {
    Gate& gate = gate_;
    startServer(
        [&gate](const WsgiRequest& request, RequestIo& io) {
            gate.enter();
            return echo(request, io);
        },
        /*threads=*/1, /*queueCapacity=*/1);
    auto running = connect();
    ASSERT_TRUE(running->sendRequest(makeHead("running"), {}));
    ASSERT_TRUE(gate.waitInside(1));
    auto queued = connect();
    ASSERT_TRUE(queued->sendRequest(makeHead("queued"), {}));
    ASSERT_EQ(queuedReaches(1), 1U);

    auto refused = connect();
    ASSERT_TRUE(refused->sendRequest(makeHead("refused"), {"body"}));
    auto response = refused->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    ASSERT_TRUE(response.value().error.has_value());
    EXPECT_EQ(response.value().error->code, ResponseErrorCode::ShuttingDown);
    EXPECT_TRUE(log_.saw("WG0236"));

    gate.open();
    EXPECT_TRUE(running->readResponse().isOk());
    EXPECT_TRUE(queued->readResponse().isOk());
    // The refused connection skipped its body and is usable again.
    ASSERT_TRUE(refused->sendRequest(makeHead("retry"), {"x"}));
    auto retry = refused->readResponse();
    ASSERT_TRUE(retry.isOk());
    EXPECT_EQ(retry.value().body(), "x");
}

// ---- admission (docs/architecture.md "Admission") ------------------------------------------

/// Records the request ids the app saw, and holds every request whose id starts with "hold".
struct SeenIds {
    std::mutex mutex;
    std::vector<std::string> ids;
    bool contains(const std::string& id) {
        const std::lock_guard lock(mutex);
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    }
};

Handler holdingApp(SeenIds& seen, Gate& gate) {
    return [&seen, &gate](const WsgiRequest& request, RequestIo& io) {
        {
            const std::lock_guard lock(seen.mutex);
            seen.ids.push_back(request.requestId);
        }
        if (request.requestId.rfind("hold", 0) == 0) {
            gate.enter();
        }
        return respond(io, request.requestId);
    };
}

/// True when something arrives on the client's socket within `wait`: used to show that nothing
/// does (a late arrival only makes the test pass more slowly, never fail wrongly).
bool readableWithin(const TestClient& client, std::chrono::milliseconds wait) {
    pollfd p{.fd = client.fd(), .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

TEST_F(ServerTest, WithSiblingsARequestWithoutAFreeWorkerIsAnsweredBusy) {
    SeenIds seen;
    siblings_ = true;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    // Two pooled connections, each past its first request.
    auto a = pooledConnection("warm-a");
    auto b = pooledConnection("warm-b");
    // Nothing left admitted before "hold" (the worker freed its place before warm-b's End).
    ASSERT_TRUE(noneAdmitted());

    ASSERT_TRUE(a->sendRequest(makeHead("hold", 0), {}));
    ASSERT_TRUE(gate_.waitInside(1));
    ASSERT_TRUE(b->sendRequest(makeHead("busy", 5), {"never"}));
    auto busy = b->readResponse();
    ASSERT_TRUE(busy.isOk()) << busy.status().message();
    ASSERT_TRUE(busy.value().error.has_value());
    EXPECT_EQ(busy.value().error->code, ResponseErrorCode::Busy);
    EXPECT_FALSE(busy.value().bodyAsked);

    // With nowhere else to go the module says so, and the request waits for the worker.
    ASSERT_TRUE(b->sendRequest(makeHead("queued", 0), {}, false, protocol::kHeadMayQueue));
    EXPECT_EQ(queuedReaches(1), 1U);
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    auto queued = b->readResponse();
    ASSERT_TRUE(queued.isOk()) << queued.status().message();
    EXPECT_EQ(queued.value().body(), "queued");
    EXPECT_FALSE(seen.contains("busy"));
}

TEST_F(ServerTest, WithSiblingsTheNextRequestAfterAResponseFindsTheWorkerFree) {
    // The worker frees its place before End goes out, so a request sent on another pooled
    // connection as soon as End is read is never told Busy by a place the finished response
    // still held (it was, about once in twenty tries, when the place was freed after End).
    SeenIds seen;
    siblings_ = true;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto a = pooledConnection("warm-a");
    auto b = pooledConnection("warm-b");
    constexpr int kRounds = 100;
    for (int i = 0; i < kRounds; ++i) {
        TestClient& first = (i % 2 == 0) ? *a : *b;
        TestClient& next = (i % 2 == 0) ? *b : *a;
        ASSERT_TRUE(first.sendRequest(makeHead("r" + std::to_string(i), 0), {}));
        auto done = first.readResponse();
        ASSERT_TRUE(done.isOk()) << done.status().message();
        ASSERT_FALSE(done.value().error.has_value())
            << "round " << i << ": " << done.value().error->message;
        ASSERT_TRUE(next.sendRequest(makeHead("n" + std::to_string(i), 0), {}));
        auto after = next.readResponse();
        ASSERT_TRUE(after.isOk()) << after.status().message();
        ASSERT_FALSE(after.value().error.has_value())
            << "round " << i << ": " << after.value().error->message;
    }
}

TEST_F(ServerTest, WithSiblingsANewConnectionWaitsUntilAWorkerIsFree) {
    SeenIds seen;
    siblings_ = true;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto a = holdTheOnlyWorker();
    // connect() succeeds (the socket's backlog), but no Challenge comes: a sibling with a free
    // worker would take this connection instead.
    TestClient waiting(dir_.socketPath());
    ASSERT_TRUE(waiting.ok());
    EXPECT_FALSE(readableWithin(waiting, std::chrono::milliseconds(200)));
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    ASSERT_TRUE(waiting.hello(kManagerPid).isOk());
    ASSERT_TRUE(waiting.sendRequest(makeHead("after", 0), {}));
    auto after = waiting.readResponse();
    ASSERT_TRUE(after.isOk()) << after.status().message();
    EXPECT_EQ(after.value().body(), "after");
}

TEST_F(ServerTest, WithSiblingsAWorkerReservedForANewConnectionIsNotGivenAway) {
    // The process took a connection while it had a free worker: that worker waits for the
    // connection's first request. A pooled request meanwhile hears Busy (and goes to a sibling)
    // instead of taking it, which would leave the new connection's request queued here.
    SeenIds seen;
    siblings_ = true;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto pooled = pooledConnection("warm");
    ASSERT_TRUE(noneAdmitted());
    auto fresh = connect();  // accepted: the worker was free, and is now reserved for it
    ASSERT_TRUE(pooled->sendRequest(makeHead("pooled", 0), {}));
    auto busy = pooled->readResponse();
    ASSERT_TRUE(busy.isOk()) << busy.status().message();
    ASSERT_TRUE(busy.value().error.has_value());
    EXPECT_EQ(busy.value().error->code, ResponseErrorCode::Busy);
    ASSERT_TRUE(fresh->sendRequest(makeHead("first", 0), {}));
    auto first = fresh->readResponse();
    ASSERT_TRUE(first.isOk()) << first.status().message();
    EXPECT_EQ(first.value().body(), "first");
    EXPECT_FALSE(seen.contains("pooled"));
}

TEST_F(ServerTest, WithSiblingsTheFirstRequestOfAnAcceptedConnectionIsNeverBusy) {
    // Even when the worker is taken after all (a request that may queue took it), the
    // connection's first request waits here rather than bouncing.
    SeenIds seen;
    siblings_ = true;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto pooled = pooledConnection("warm");
    ASSERT_TRUE(noneAdmitted());
    auto fresh = connect();
    ASSERT_TRUE(pooled->sendRequest(makeHead("hold", 0), {}, false, protocol::kHeadMayQueue));
    ASSERT_TRUE(gate_.waitInside(1));
    ASSERT_TRUE(fresh->sendRequest(makeHead("first", 0), {}));
    EXPECT_EQ(queuedReaches(1), 1U);
    gate_.open();
    EXPECT_TRUE(pooled->readResponse().isOk());
    auto first = fresh->readResponse();
    ASSERT_TRUE(first.isOk()) << first.status().message();
    EXPECT_EQ(first.value().body(), "first");
}

// ---- the load table ----------------------------------------------------------------------

TEST_F(ServerTest, WithALoadTableTheProcessPublishesItsPidAndPlaces) {
    SeenIds seen;
    startInGroupOfTwo(holdingApp(seen, gate_), 1);
    EXPECT_EQ(std::atomic_ref(loadTable_[0].pid).load(), static_cast<std::uint32_t>(::getpid()));
    EXPECT_EQ(publishedReaches(0), 0);
    auto a = holdTheOnlyWorker();
    EXPECT_EQ(publishedReaches(1), 1);
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    EXPECT_EQ(publishedReaches(0), 0);
    server_->stop(Deadline::after(kTestTimeout));
    EXPECT_EQ(std::atomic_ref(loadTable_[0].pid).load(), 0U) << "a draining process withdraws";
}

TEST_F(ServerTest, AQueuedRequestThatMayReturnIsHandedBackWhenASiblingShowsAFreeWorker) {
    SeenIds seen;
    startInGroupOfTwo(holdingApp(seen, gate_), 1);  // the sibling is full for now
    auto b = pooledConnection("warm-b");
    ASSERT_TRUE(noneAdmitted());
    auto a = holdTheOnlyWorker();
    ASSERT_TRUE(b->sendRequest(makeHead("returns", 0), {}, false,
                               protocol::kHeadMayQueue | protocol::kHeadMayReturn));
    ASSERT_EQ(queuedReaches(1), 1U);
    // Still queued while the sibling is full: nothing is handed back for nothing.
    EXPECT_FALSE(readableWithin(*b, kHandBackAfter * 10));
    siblingShows(0);  // its worker frees: the queued request goes there
    auto back = b->readResponse();
    ASSERT_TRUE(back.isOk()) << back.status().message();
    ASSERT_TRUE(back.value().error.has_value());
    EXPECT_EQ(back.value().error->code, ResponseErrorCode::Busy);
    EXPECT_EQ(server_->queuedRequests(), 0U);
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    EXPECT_FALSE(seen.contains("returns")) << "a request handed back never runs here";
    // The connection carries the next request as before.
    ASSERT_TRUE(b->sendRequest(makeHead("next", 0), {}));
    auto next = b->readResponse();
    ASSERT_TRUE(next.isOk()) << next.status().message();
    EXPECT_EQ(next.value().body(), "next");
}

TEST_F(ServerTest, AQueuedRequestWithoutMayReturnStaysQueuedWhatTheSiblingsShow) {
    // A module's last attempt: it must never hear Busy.
    SeenIds seen;
    startInGroupOfTwo(holdingApp(seen, gate_), 0);
    auto b = pooledConnection("warm-b");
    ASSERT_TRUE(noneAdmitted());
    auto a = holdTheOnlyWorker();
    ASSERT_TRUE(b->sendRequest(makeHead("stays", 0), {}, false, protocol::kHeadMayQueue));
    ASSERT_EQ(queuedReaches(1), 1U);
    EXPECT_FALSE(readableWithin(*b, kHandBackAfter * 20));
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    auto stays = b->readResponse();
    ASSERT_TRUE(stays.isOk()) << stays.status().message();
    EXPECT_EQ(stays.value().body(), "stays");
}

TEST_F(ServerTest, AFullProcessTakesANewConnectionOnlyWhileEverySiblingIsFull) {
    SeenIds seen;
    startInGroupOfTwo(holdingApp(seen, gate_),
                      0);  // a sibling with a free worker: it should take new connections
    auto a = holdTheOnlyWorker();
    TestClient waiting(dir_.socketPath());
    ASSERT_TRUE(waiting.ok());
    EXPECT_FALSE(readableWithin(waiting, std::chrono::milliseconds(200)))
        << "no Challenge: the connection is left to the sibling with a free worker";
    // The sibling fills up: this full process takes the connection (its first request waits
    // here, not in the backlog where no full process would take it).
    siblingShows(1);
    ASSERT_TRUE(waiting.hello(kManagerPid).isOk());
    ASSERT_TRUE(waiting.sendRequest(makeHead("waited", 0), {}));
    EXPECT_EQ(queuedReaches(1), 1U);
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    auto waited = waiting.readResponse();
    ASSERT_TRUE(waited.isOk()) << waited.status().message();
    EXPECT_EQ(waited.value().body(), "waited");
}

TEST_F(ServerTest, WithoutSiblingsRequestsQueueInsteadOfBusy) {
    SeenIds seen;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(a->sendRequest(makeHead("hold", 0), {}));
    ASSERT_TRUE(gate_.waitInside(1));
    ASSERT_TRUE(b->sendRequest(makeHead("waits", 0), {}));
    EXPECT_EQ(queuedReaches(1), 1U);
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    auto waited = b->readResponse();
    ASSERT_TRUE(waited.isOk()) << waited.status().message();
    EXPECT_EQ(waited.value().body(), "waits");
}

TEST_F(ServerTest, WithoutSiblingsWaitingRequestsRunInArrivalOrder) {
    // While the only worker is busy, requests wait unread in their connections; the I/O thread
    // reads those waiting at each scan into the queue, and the worker, once free, takes the
    // queue first and then the connections in the order their requests arrived.
    SeenIds seen;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto running = holdTheOnlyWorker();
    std::vector<std::unique_ptr<TestClient>> waiting;
    const std::vector<std::string> order = {"first", "second", "third", "fourth"};
    for (std::size_t i = 0; i < order.size(); ++i) {
        waiting.push_back(connect());
        ASSERT_TRUE(waiting.back()->sendRequest(makeHead(order[i], 0), {}));
        if (i == 1) {
            // The first two are read by a scan; the last two arrive after it and stay unread.
            ASSERT_EQ(queuedReaches(2), 2U);
        }
    }
    gate_.open();
    ASSERT_TRUE(running->readResponse().isOk());
    for (std::size_t i = 0; i < order.size(); ++i) {
        auto response = waiting[i]->readResponse();
        ASSERT_TRUE(response.isOk()) << response.status().message();
        EXPECT_EQ(response.value().body(), order[i]);
    }
    const std::lock_guard lock(seen.mutex);
    EXPECT_EQ(seen.ids, (std::vector<std::string>{"hold", "first", "second", "third", "fourth"}));
}

protocol::RequestHead receivedAgo(std::string id, std::chrono::milliseconds ago) {
    protocol::RequestHead head = makeHead(std::move(id), 0);
    head.receivedAtUs = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch() - ago)
                            .count();
    return head;
}

TEST_F(ServerTest, QueueTimeoutAnswersAStaleRequestWithoutRunningIt) {
    SeenIds seen;
    queueTimeout_ = std::chrono::seconds(1);
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto client = connect();
    ASSERT_TRUE(client->sendRequest(receivedAgo("stale", std::chrono::seconds(10)), {}));
    auto stale = client->readResponse();
    ASSERT_TRUE(stale.isOk()) << stale.status().message();
    ASSERT_TRUE(stale.value().error.has_value());
    EXPECT_EQ(stale.value().error->code, ResponseErrorCode::QueueTimeout);
    EXPECT_TRUE(log_.saw("WG0281"));
    EXPECT_FALSE(seen.contains("stale"));
    // Fresh requests, and ones whose arrival is unknown (0), run; the connection goes on.
    ASSERT_TRUE(client->sendRequest(receivedAgo("fresh", std::chrono::milliseconds(0)), {}));
    auto fresh = client->readResponse();
    ASSERT_TRUE(fresh.isOk()) << fresh.status().message();
    EXPECT_EQ(fresh.value().body(), "fresh");
    ASSERT_TRUE(client->sendRequest(makeHead("unknown", 0), {}));
    auto unknown = client->readResponse();
    ASSERT_TRUE(unknown.isOk()) << unknown.status().message();
    EXPECT_EQ(unknown.value().body(), "unknown");
}

TEST_F(ServerTest, QueueTimeoutAnswersAWaitingRequestAtItsDeadline) {
    // Not when a worker frees up: the running request still holds the only worker.
    SeenIds seen;
    queueTimeout_ = std::chrono::milliseconds(300);
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto running = connect();
    ASSERT_TRUE(running->sendRequest(receivedAgo("hold", std::chrono::milliseconds(0)), {}));
    ASSERT_TRUE(gate_.waitInside(1));
    auto waiting = connect();
    ASSERT_TRUE(waiting->sendRequest(receivedAgo("waits", std::chrono::milliseconds(0)), {}));
    auto answer = waiting->readResponse();
    ASSERT_TRUE(answer.isOk()) << answer.status().message();
    ASSERT_TRUE(answer.value().error.has_value());
    EXPECT_EQ(answer.value().error->code, ResponseErrorCode::QueueTimeout);
    EXPECT_EQ(server_->queuedRequests(), 0U);
    gate_.open();
    EXPECT_TRUE(running->readResponse().isOk());
    EXPECT_FALSE(seen.contains("waits"));
    EXPECT_TRUE(noneAdmitted());
}

TEST_F(ServerTest, QueuedRequestWhoseModuleHungUpNeverRuns) {
    SeenIds seen;
    startServer(holdingApp(seen, gate_), /*threads=*/1);
    auto a = holdTheOnlyWorker();
    auto gone = connect();
    ASSERT_TRUE(gone->sendRequest(makeHead("abandoned", 0), {}));
    ASSERT_EQ(queuedReaches(1), 1U);
    gone.reset();  // the module gave up (its socket-timeout, or its client went away)
    // Only a request that waited this long is checked: a module gives up no sooner.
    std::this_thread::sleep_for(kHangUpCheckAfter);
    gate_.open();
    EXPECT_TRUE(a->readResponse().isOk());
    const Deadline deadline = Deadline::after(kTestTimeout);
    while (!log_.saw("WG0280") && !deadline.expired()) {
        std::this_thread::yield();
    }
    EXPECT_TRUE(log_.saw("WG0280"));
    EXPECT_FALSE(seen.contains("abandoned"));
    EXPECT_TRUE(noneAdmitted());
}

TEST_F(ServerTest, WorkerThatCannotStartMakesTheServerUnhealthy) {
    app_ = std::make_unique<FakeApplication>(echo);
    app_->failWorkers = true;
    startWith(2, 8);
    const Deadline deadline = Deadline::after(kTestTimeout);
    while (server_->healthy() && !deadline.expired()) {
        std::this_thread::yield();
    }
    EXPECT_FALSE(server_->healthy());
    EXPECT_TRUE(log_.saw("WG0237"));
}

// ---- stop ----------------------------------------------------------------------------------

TEST_F(ServerTest, GracefulStopFinishesTheRunningRequestAndStopsAccepting) {
    Gate& gate = gate_;
    startServer([&gate](const WsgiRequest& request, RequestIo& io) {
        gate.enter();
        return echo(request, io);
    });
    auto busy = connect();
    auto idle = connect();
    ASSERT_TRUE(busy->sendRequest(makeHead("in-flight"), {"finish me"}));
    ASSERT_TRUE(gate.waitInside(1));

    auto stopped = std::async(std::launch::async,
                              [this] { return server_->stop(Deadline::after(kTestTimeout)); });
    // Stop is under way once our listening socket is gone: new connections are refused.
    const Deadline deadline = Deadline::after(kTestTimeout);
    bool refused = false;
    while (!refused && !deadline.expired()) {
        refused = !TestClient(dir_.socketPath()).ok();
    }
    ASSERT_TRUE(refused);
    EXPECT_TRUE(idle->toldShuttingDownThenClosed());

    gate.open();
    auto response = busy->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    EXPECT_EQ(response.value().body(), "finish me");
    EXPECT_TRUE(response.value().ended);
    const StopReport report = stopped.get();
    EXPECT_TRUE(report.clean);
    EXPECT_EQ(report.cutOff, 0U);
    EXPECT_TRUE(busy->toldShuttingDownThenClosed());
}

TEST_F(ServerTest, StopDeadlineCutsOffAStuckRequest) {
    Gate& gate = gate_;
    startServer(
        [&gate](const WsgiRequest& request, RequestIo& io) {
            gate.enter();
            return echo(request, io);
        },
        1);
    auto stuck = connect();
    ASSERT_TRUE(stuck->sendRequest(makeHead("stuck"), {}));
    ASSERT_TRUE(gate.waitInside(1));
    auto queued = connect();
    ASSERT_TRUE(queued->sendRequest(makeHead("queued"), {}));
    ASSERT_EQ(queuedReaches(1), 1U);

    const StopReport report = server_->stop(Deadline::after(std::chrono::milliseconds(50)));
    EXPECT_FALSE(report.clean);
    EXPECT_EQ(report.cutOff, 2U);  // one running, one queued
    EXPECT_TRUE(log_.saw("WG0230"));
    auto response = queued->readResponse();
    ASSERT_TRUE(response.isOk()) << response.status().message();
    ASSERT_TRUE(response.value().error.has_value());
    EXPECT_EQ(response.value().error->code, ResponseErrorCode::ShuttingDown);

    gate.open();
    server_.reset();  // joins the worker before `gate` goes out of scope
}

TEST_F(ServerTest, DestructorStopsARunningServer) {
    startServer(echo);
    auto client = connect();
    server_.reset();
    EXPECT_TRUE(client->toldShuttingDownThenClosed());
}

}  // namespace
}  // namespace wsgid::daemon

// ---- request-timeout (Server::runningRequests, Server::timeOut) ----------------------------

namespace wsgid::daemon {
namespace {

TEST_F(ServerTest, ATimedOutRequestGetsRequestTimeoutWhileItsThreadGoesOn) {
    startServer(
        [this](const WsgiRequest& request, RequestIo& io) {
            gate_.enter();  // stuck in the app until the test opens the gate
            return respond(io, request.requestId);
        },
        /*threads=*/2);
    auto stuck = connect();
    ASSERT_TRUE(stuck->sendRequest(makeHead("stuck", 0), {}));
    ASSERT_TRUE(gate_.waitInside(1));
    const std::vector<RunningRequest> running = server_->runningRequests();
    ASSERT_EQ(running.size(), 1U);
    EXPECT_EQ(running[0].requestId, "stuck");
    EXPECT_NE(running[0].thread, 0UL);
    EXPECT_TRUE(server_->timeOut(running[0], "request-timeout (2s) passed"));
    EXPECT_FALSE(server_->timeOut(running[0], "twice"));  // once per request
    auto answer = stuck->readResponse();
    ASSERT_TRUE(answer.isOk()) << answer.status().message();
    ASSERT_TRUE(answer.value().error.has_value());
    EXPECT_EQ(answer.value().error->code, ResponseErrorCode::RequestTimeout);
    EXPECT_EQ(answer.value().error->message, "request-timeout (2s) passed");
    // The other worker serves on; then the stuck thread leaves the app, into a dead connection.
    gate_.open();
    auto other = connect();
    ASSERT_TRUE(other->sendRequest(makeHead("other", 0), {}));
    auto served = other->readResponse();
    ASSERT_TRUE(served.isOk()) << served.status().message();
    EXPECT_EQ(served.value().body(), "other");
    EXPECT_TRUE(stuck->closedByPeer());  // never reused
}

TEST_F(ServerTest, ARequestThatFinishedCannotBeTimedOut) {
    startServer(echo);
    auto client = pooledConnection("quick");
    // The worker leaves the request just after the response went out.
    const auto deadline = common::Clock::now() + kTestTimeout;
    while (!server_->runningRequests().empty() && common::Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(server_->runningRequests().empty());
    RunningRequest gone{.worker = 0,
                        .serial = 1,
                        .requestId = "quick",
                        .started = {},
                        .thread = 0,
                        .timedOutAt = {}};
    EXPECT_FALSE(server_->timeOut(gone, "late"));
}

}  // namespace
}  // namespace wsgid::daemon
