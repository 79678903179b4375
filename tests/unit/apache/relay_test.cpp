// SPDX-License-Identifier: Apache-2.0
// Unit tests for the full-duplex request relay (apache/relay.h) against a scripted fake daemon on
// the other end of a real socket.
#include "apache/relay.h"

#include <array>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_daemon.h"
#include "protocol/frame.h"

namespace wsgid::apache {
namespace {

using common::Deadline;
using common::ErrorCode;
using common::Status;
using common::UniqueFd;
using protocol::FrameType;
using test::FakeDaemon;
using test::getHead;
using test::kRelay;
using test::kTestDeadline;
using test::RecordingSink;
using test::RelayFixture;
using test::socketPair;
using test::StringSource;
using namespace std::chrono_literals;

protocol::RequestHead postHead(std::size_t length) {
    protocol::RequestHead head = getHead();
    head.contentLength = static_cast<std::int64_t>(length);
    head.environ[0].second = "POST";
    return head;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + (i * 7 + i / 977) % 26);
    }
    return s;
}

TEST(Relay, SimpleGetCompletesAndIsReusable) {
    RelayFixture fx;
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        seen = fx.daemon->readRequest();
        fx.daemon->sendStart("200 OK", {{"Content-Type", "text/plain"}, {"X-A", "1"}});
        fx.daemon->send(FrameType::Body, "hello");
        fx.daemon->send(FrameType::End);
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(r.reusable);
    EXPECT_TRUE(r.started);
    EXPECT_EQ(sink.status_, "200 OK");
    ASSERT_EQ(sink.headers_.size(), 2U);
    EXPECT_EQ(sink.headers_[1].first, "X-A");
    EXPECT_EQ(sink.body_, "hello");
    EXPECT_TRUE(sink.ended_);
    EXPECT_TRUE(seen.headOk);
    EXPECT_EQ(seen.headFlags, 0);  // not kHeadMayQueue unless asked
    EXPECT_EQ(seen.head.scriptFilename, "/srv/app.wsgi");
    EXPECT_EQ(seen.head.requestId, "r1");
    // A request without a body is its RequestHead alone: no BodyEnd follows.
    char stray = 0;
    EXPECT_EQ(::recv(fx.daemon->fd(), &stray, 1, MSG_DONTWAIT), -1);
}

TEST(Relay, MayQueueSetsTheHeadFlag) {
    RelayFixture fx;
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        seen = fx.daemon->readRequest();
        fx.daemon->sendStart();
        fx.daemon->send(FrameType::End);
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink,
                                 RelayOptions{.ioTimeout = test::kIo, .mayQueue = true});
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_EQ(seen.headFlags, protocol::kHeadMayQueue);
}

TEST(Relay, BodyIsNotReadUntilTheDaemonAsks) {
    // The app answers without reading its input: the client's body is never read, and the
    // connection is clean for the next request (no BodyEnd owed).
    RelayFixture fx;
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        seen = fx.daemon->readHead();
        fx.daemon->sendStart("200 OK", {{"Content-Length", "2"}});
        fx.daemon->send(FrameType::Body, "ok");
        fx.daemon->send(FrameType::End);
    });
    StringSource source(pattern(5000));
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(5000), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(r.reusable);
    EXPECT_EQ(source.reads_, 0);
    EXPECT_EQ(sink.body_, "ok");
    char stray = 0;
    EXPECT_EQ(::recv(fx.daemon->fd(), &stray, 1, MSG_DONTWAIT), -1);
}

TEST(Relay, SendBodyWithoutAPendingBodyIsMalformed) {
    for (const bool withBody : {false, true}) {
        RelayFixture fx;
        std::thread daemon([&] {
            FakeDaemon::Request seen = fx.daemon->readRequest();  // asks once when there is a body
            fx.daemon->send(FrameType::SendBody);                 // then (again)
        });
        StringSource source(withBody ? "abc" : "");
        RecordingSink sink;
        RelayResult r = relayRequest(*fx.conn, withBody ? postHead(3) : getHead(), source, sink,
                                     RelayOptions{.ioTimeout = 2s});
        daemon.join();
        EXPECT_EQ(r.outcome, RelayOutcome::Malformed) << withBody;
        EXPECT_FALSE(r.reusable);
    }
}

TEST(Relay, StreamsRequestBodyAsChunks) {
    RelayFixture fx;
    const std::string body = pattern(300 * 1024 + 17);
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        seen = fx.daemon->readRequest();
        fx.daemon->sendStart();
        fx.daemon->send(FrameType::Body, std::to_string(seen.body.size()));
        fx.daemon->send(FrameType::End);
    });
    StringSource source(body);
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(body.size()), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(r.reusable);
    EXPECT_EQ(seen.body, body);
    EXPECT_EQ(seen.bodyEndFlags, 0);
    EXPECT_EQ(sink.body_, std::to_string(body.size()));
}

// DESIGN.md pitfall 10: the app writes its whole (large) response before it reads any of its
// (large) input. A relay that sent the whole body first would block forever on full buffers.
TEST(Relay, NoDeadlockWhenAppAnswersBeforeReadingBody) {
    RelayFixture fx;
    const int small = 16 * 1024;
    ASSERT_EQ(::setsockopt(fx.conn->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    ASSERT_EQ(::setsockopt(fx.daemon->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    const std::string body = pattern(4 * 1024 * 1024);
    const std::string response = pattern(4 * 1024 * 1024 + 5);
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        auto head = fx.daemon->readFrame();
        fx.daemon->sendStart();
        for (std::size_t pos = 0; pos < response.size(); pos += protocol::kMaxDataChunk) {
            if (!fx.daemon->send(FrameType::Body,
                                 std::string_view(response).substr(pos, protocol::kMaxDataChunk))) {
                return;
            }
        }
        fx.daemon->askBody(seen);
        fx.daemon->send(FrameType::End);
    });
    StringSource source(body);
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(body.size()), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed) << r.detail;
    EXPECT_EQ(seen.body.size(), body.size());
    EXPECT_TRUE(seen.body == body);
    EXPECT_EQ(sink.body_.size(), response.size());
    EXPECT_TRUE(sink.body_ == response);
    EXPECT_TRUE(r.reusable);
}

TEST(Relay, ErrorBeforeStartIsReportedAndReusable) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendError(protocol::ResponseErrorCode::ScriptLoadFailed, "no such file");
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::ErrorBeforeStart);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->code, protocol::ResponseErrorCode::ScriptLoadFailed);
    EXPECT_EQ(r.error->message, "no such file");
    EXPECT_FALSE(r.started);
    EXPECT_TRUE(r.reusable);
    EXPECT_FALSE(r.retryable);
}

TEST(Relay, ErrorAfterStartFailsAndIsNotReusable) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendStart();
        fx.daemon->send(FrameType::Body, "partial");
        fx.daemon->sendError(protocol::ResponseErrorCode::AppError, "boom");
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::FailedAfterStart);
    EXPECT_TRUE(r.started);
    EXPECT_FALSE(r.reusable);
    EXPECT_FALSE(sink.ended_);
    EXPECT_NE(r.detail.find("boom"), std::string::npos);
}

TEST(Relay, EofBeforeStartIsBroken) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->close();
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Broken);
    EXPECT_FALSE(r.reusable);
    EXPECT_FALSE(r.retryable);  // a fresh connection: the daemon really failed the request
}

TEST(Relay, DeadPooledConnectionIsRetryable) {
    RelayFixture fx;
    fx.conn->markReused();
    fx.daemon->close();
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    EXPECT_EQ(r.outcome, RelayOutcome::Broken);
    EXPECT_TRUE(r.retryable);
}

TEST(Relay, DeliveredRequestIsNotRetriedAfterEof) {
    // The daemon took the request and then died: the app may have run, so no second run.
    RelayFixture fx;
    fx.conn->markReused();
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->close();
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Broken);
    EXPECT_FALSE(r.retryable);
}

TEST(Relay, ConsumedBodyIsNotRetryable) {
    RelayFixture fx;
    fx.conn->markReused();
    std::thread daemon([&] {
        fx.daemon->readFrame();
        fx.daemon->send(FrameType::SendBody);
        fx.daemon->readFrame();
        fx.daemon->close();
    });
    StringSource source(pattern(100), 10);
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(100), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Broken);
    EXPECT_FALSE(r.retryable);
}

TEST(Relay, SilentDaemonTimesOutBeforeStart) {
    RelayFixture fx;
    StringSource source("");
    RecordingSink sink;
    RelayResult r =
        relayRequest(*fx.conn, getHead(), source, sink, RelayOptions{.ioTimeout = 50ms});
    EXPECT_EQ(r.outcome, RelayOutcome::Timeout);
    EXPECT_FALSE(r.reusable);
}

TEST(Relay, TimeoutAfterStartFailsAfterStart) {
    RelayFixture fx;
    // Start is already waiting in the socket, so only the wait after it can time out.
    ASSERT_TRUE(fx.daemon->sendStart());
    StringSource source("");
    RecordingSink sink;
    RelayResult r =
        relayRequest(*fx.conn, getHead(), source, sink, RelayOptions{.ioTimeout = 100ms});
    EXPECT_EQ(r.outcome, RelayOutcome::FailedAfterStart);
    EXPECT_TRUE(r.started);
    EXPECT_FALSE(r.reusable);
}

TEST(Relay, GarbageIsMalformed) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendRaw("HTTP/1.1 200 OK\r\n\r\n");
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.reusable);
}

TEST(Relay, BodyBeforeStartIsMalformed) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->send(FrameType::Body, "x");
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
}

TEST(Relay, InvalidStartIsMalformed) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendStart("200 OK", {{"X-Bad", "a\r\nInjected: 1"}});
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.started);
}

TEST(Relay, EarlyResponseAbandonsTheBody) {
    RelayFixture fx;
    const std::size_t total = 8 * 1024 * 1024;
    FakeDaemon::Request seen;
    std::thread daemon([&] {
        fx.daemon->readFrame();  // RequestHead
        fx.daemon->send(FrameType::SendBody);
        fx.daemon->sendStart("413 Request Entity Too Large");
        fx.daemon->send(FrameType::End);
        fx.daemon->readBody(seen);  // discard up to BodyEnd, as the daemon does
    });
    StringSource source(pattern(total));
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(total), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(sink.ended_);
    EXPECT_TRUE(seen.complete);
    EXPECT_EQ(seen.bodyEndFlags, protocol::kBodyAbandoned);
    EXPECT_LT(source.pos_, total);
    EXPECT_TRUE(r.reusable);
}

TEST(Relay, ClientBodyFailureAbandonsAndStops) {
    RelayFixture fx;
    FakeDaemon::Request seen;
    std::thread daemon([&] { seen = fx.daemon->readRequest(); });
    StringSource source(pattern(1000), 100);
    source.failAfter_ = 300;
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(1000), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::ClientBodyFailed);
    EXPECT_FALSE(r.clientStatus.isOk());
    EXPECT_FALSE(r.reusable);
    EXPECT_TRUE(seen.complete);
    EXPECT_EQ(seen.bodyEndFlags, protocol::kBodyAbandoned);
    EXPECT_EQ(seen.body.size(), 300U);
}

TEST(Relay, SinkFailureEndsTheRelay) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendStart();
        fx.daemon->send(FrameType::Body, "x");
        fx.daemon->send(FrameType::End);
    });
    StringSource source("");
    RecordingSink sink;
    sink.failStart_ = true;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::ClientGone);
    EXPECT_FALSE(r.reusable);
}

TEST(Relay, ShuttingDownOrBusyBeforeTheBodyIsRetryable) {
    // A POST included: its body waits for SendBody, so nothing of it was read yet.
    for (const auto code :
         {protocol::ResponseErrorCode::ShuttingDown, protocol::ResponseErrorCode::Busy}) {
        for (const bool post : {false, true}) {
            RelayFixture fx;
            std::thread daemon([&] {
                fx.daemon->readHead();
                fx.daemon->sendError(code, "not now");
            });
            StringSource source(post ? "abc" : "");
            RecordingSink sink;
            RelayResult r =
                relayRequest(*fx.conn, post ? postHead(3) : getHead(), source, sink, kRelay);
            daemon.join();
            EXPECT_EQ(r.outcome, RelayOutcome::ErrorBeforeStart);
            EXPECT_TRUE(r.retryable) << protocol::toString(code) << " post=" << post;
            EXPECT_TRUE(r.reusable);
            EXPECT_EQ(source.reads_, 0);
        }
    }
}

TEST(Relay, AConnectionThatAnsweredRequestTimeoutIsNotReused) {
    // The daemon shuts it down right after the answer; QueueTimeout leaves it open.
    for (const auto code :
         {protocol::ResponseErrorCode::RequestTimeout, protocol::ResponseErrorCode::QueueTimeout}) {
        RelayFixture fx;
        std::thread daemon([&] {
            fx.daemon->readHead();
            fx.daemon->sendError(code, "too late");
        });
        StringSource source("");
        RecordingSink sink;
        RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
        daemon.join();
        EXPECT_EQ(r.outcome, RelayOutcome::ErrorBeforeStart);
        EXPECT_FALSE(r.retryable);
        EXPECT_EQ(r.reusable, code == protocol::ResponseErrorCode::QueueTimeout)
            << protocol::toString(code);
    }
}

TEST(Relay, ShuttingDownAfterTheBodyWasAskedForIsNotRetryable) {
    RelayFixture fx;
    std::thread daemon([&] {
        FakeDaemon::Request seen = fx.daemon->readRequest();
        fx.daemon->sendError(protocol::ResponseErrorCode::ShuttingDown, "draining");
    });
    StringSource source("abc");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, postHead(3), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::ErrorBeforeStart);
    EXPECT_FALSE(r.retryable);
}

TEST(Relay, BytesAfterEndMakeTheConnectionDoubtful) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        std::string out;
        protocol::appendFrame(out, FrameType::Start, 0,
                              protocol::encodeResponseStart({.status = "200 OK", .headers = {}}));
        protocol::appendFrame(out, FrameType::End, 0, {});
        protocol::appendFrame(out, FrameType::Body, 0, "stray");
        fx.daemon->sendRaw(out);
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_FALSE(r.reusable);
}

TEST(Relay, CoalescesWhatIsReadableIntoOneFlush) {
    RelayFixture fx;
    std::atomic<bool> release{false};
    std::thread daemon([&] {
        fx.daemon->readRequest();
        std::string out;
        protocol::appendFrame(out, FrameType::Start, 0,
                              protocol::encodeResponseStart({.status = "200 OK", .headers = {}}));
        for (int i = 0; i < 100; ++i) {
            protocol::appendFrame(out, FrameType::Body, 0, "0123456789abcdef");
        }
        fx.daemon->sendRaw(out);
        // End only after the relay has flushed what it had.
        const Deadline deadline = Deadline::after(kTestDeadline);
        while (!release.load() && !deadline.expired()) {
            std::this_thread::sleep_for(1ms);
        }
        fx.daemon->send(FrameType::End);
    });
    class ReleasingSink final : public ResponseSink {
    public:
        ReleasingSink(RecordingSink& inner, std::atomic<bool>& release)
            : inner_(inner), release_(release) {}
        Status start(protocol::ResponseStart&& s) override { return inner_.start(std::move(s)); }
        Status body(std::string_view d) override { return inner_.body(d); }
        Status file(UniqueFd fd, const protocol::ResponseFile& range) override {
            return inner_.file(std::move(fd), range);
        }
        Status flush() override {
            release_.store(true);
            return inner_.flush();
        }
        Status end() override { return inner_.end(); }
        Status settle() override { return inner_.settle(); }

    private:
        RecordingSink& inner_;
        std::atomic<bool>& release_;
    };
    StringSource source("");
    RecordingSink sink;
    ReleasingSink releasing(sink, release);
    RelayResult r = relayRequest(*fx.conn, getHead(), source, releasing, kRelay);
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    ASSERT_EQ(sink.flushes_, 1);
    EXPECT_EQ(sink.flushedChunks_[0].size(), 1600U);
    EXPECT_TRUE(sink.ended_);
}

TEST(Relay, OversizedHeadIsRefusedBeforeSending) {
    RelayFixture fx;
    protocol::RequestHead head = getHead();
    for (std::uint32_t i = 0; i <= protocol::kMaxEnvironEntries; ++i) {
        head.environ.emplace_back("K" + std::to_string(i), "v");
    }
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, head, source, sink, kRelay);
    EXPECT_EQ(r.outcome, RelayOutcome::HeadTooLarge);
}

// ---- the module does not trust the daemon's framing ----------------------------------------
// Tenant code can write raw frames to its own connection, so each case below is what a hostile
// app could forge. None may reach the client as a complete response or leave the connection
// reusable.

std::string frame(FrameType type, std::string_view payload = {}) {
    std::string out;
    protocol::appendFrame(out, type, 0, payload);
    return out;
}

std::string startFrame(std::string status, std::vector<protocol::Header> headers = {}) {
    return frame(FrameType::Start,
                 protocol::encodeResponseStart(protocol::ResponseStart{
                     .status = std::move(status), .headers = std::move(headers)}));
}

/// Only a frame header, announcing `length` payload bytes that never follow.
std::string headerOnly(FrameType type, std::uint32_t length) {
    std::array<char, protocol::kFrameHeaderSize> h{};
    protocol::encodeHeader(type, 0, length, h);
    return std::string(h.data(), h.size());
}

protocol::RequestHead headHead() {
    protocol::RequestHead head = getHead();
    head.environ[0].second = "HEAD";
    return head;
}

/// Runs `head` against a daemon that reads the request and answers with `raw`, keeping its end
/// open (so only the frames, never an EOF, can end the relay). A short I/O timeout: a relay
/// that waits for bytes it should have refused shows up as Timeout.
RelayResult relayForged(const protocol::RequestHead& head, const std::string& raw,
                        RecordingSink& sink) {
    RelayFixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendRaw(raw);
    });
    StringSource source("");
    RelayResult r = relayRequest(*fx.conn, head, source, sink, RelayOptions{.ioTimeout = 2s});
    daemon.join();
    return r;
}

TEST(RelayFraming, BodyViewsAreSettledBeforeTheBufferMoves) {
    // The whole response is in the socket before the relay reads: its first read takes the
    // Start, a small Body and the head of a large one, and the next read needs a larger buffer
    // while the small Body is still held (no empty socket came between to flush it). The sink
    // holds body() data as views; they must be settled before the buffer moves.
    RelayFixture fx;
    const std::string small = pattern(10000);
    const std::string large = pattern(100000);
    ASSERT_TRUE(fx.daemon->sendRaw(startFrame("200 OK") + frame(FrameType::Body, small) +
                                   frame(FrameType::Body, large) + frame(FrameType::End)));
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, kRelay);
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_EQ(sink.body_, small + large);
    EXPECT_TRUE(sink.ended_);
}

TEST(RelayFraming, MoreBodyThanContentLengthStopsBeforeTheExcess) {
    RecordingSink sink;
    RelayResult r = relayForged(getHead(),
                                startFrame("200 OK", {{"Content-Length", "5"}}) +
                                    frame(FrameType::Body, "hello") +
                                    frame(FrameType::Body, "EXTRA") + frame(FrameType::End),
                                sink);
    EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch);
    EXPECT_TRUE(r.started);
    EXPECT_FALSE(r.reusable);
    EXPECT_EQ(r.announcedBodyBytes, 5);
    EXPECT_EQ(r.daemonBodyBytes, 10);
    EXPECT_EQ(sink.body_ + sink.held_, "hello");
    EXPECT_FALSE(sink.ended_);
}

TEST(RelayFraming, AFrameOverrunningContentLengthPassesNothingOfIt) {
    RecordingSink sink;
    RelayResult r = relayForged(getHead(),
                                startFrame("200 OK", {{"Content-Length", "5"}}) +
                                    frame(FrameType::Body, "hello world") + frame(FrameType::End),
                                sink);
    EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch);
    EXPECT_EQ(r.daemonBodyBytes, 11);
    EXPECT_EQ(sink.body_ + sink.held_, "");
}

TEST(RelayFraming, EndBeforeContentLengthIsAMismatch) {
    RecordingSink sink;
    RelayResult r = relayForged(getHead(),
                                startFrame("200 OK", {{"Content-Length", "5"}}) +
                                    frame(FrameType::Body, "hel") + frame(FrameType::End),
                                sink);
    EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch);
    EXPECT_EQ(r.announcedBodyBytes, 5);
    EXPECT_EQ(r.daemonBodyBytes, 3);
    EXPECT_FALSE(r.reusable);
    EXPECT_FALSE(sink.ended_);
}

TEST(RelayFraming, ExactContentLengthCompletes) {
    RecordingSink sink;
    RelayResult r =
        relayForged(getHead(),
                    startFrame("200 OK", {{"Content-Length", "5"}}) + frame(FrameType::Body, "he") +
                        frame(FrameType::Body, "llo") + frame(FrameType::End),
                    sink);
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(r.reusable);
    EXPECT_EQ(sink.body_, "hello");
}

TEST(RelayFraming, HeadMayOmitTheBodyButNotExceedIt) {
    RecordingSink noBody;
    RelayResult r = relayForged(
        headHead(), startFrame("200 OK", {{"Content-Length", "5"}}) + frame(FrameType::End),
        noBody);
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(r.reusable);

    RecordingSink overrun;
    r = relayForged(headHead(),
                    startFrame("200 OK", {{"Content-Length", "5"}}) +
                        frame(FrameType::Body, "hello!") + frame(FrameType::End),
                    overrun);
    EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch);
    EXPECT_EQ(overrun.body_ + overrun.held_, "");
}

TEST(RelayFraming, NoBodyOn204Or304WhateverTheirContentLength) {
    for (const char* status : {"204 No Content", "304 Not Modified"}) {
        RecordingSink sink;
        RelayResult r = relayForged(getHead(),
                                    startFrame(status, {{"Content-Length", "3"}}) +
                                        frame(FrameType::Body, "abc") + frame(FrameType::End),
                                    sink);
        EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch) << status;
        EXPECT_EQ(r.announcedBodyBytes, 0) << status;
        EXPECT_EQ(sink.body_ + sink.held_, "") << status;

        // Without body bytes the Content-Length (that of the representation) is fine.
        RecordingSink clean;
        r = relayForged(getHead(),
                        startFrame(status, {{"Content-Length", "3"}}) + frame(FrameType::End),
                        clean);
        EXPECT_EQ(r.outcome, RelayOutcome::Completed) << status;
        EXPECT_TRUE(r.reusable) << status;
    }
}

TEST(RelayFraming, InterimStatusIsMalformed) {
    RecordingSink sink;
    RelayResult r = relayForged(
        getHead(), startFrame("100 Continue") + startFrame("200 OK") + frame(FrameType::End), sink);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.started);
    EXPECT_FALSE(r.reusable);
    EXPECT_EQ(sink.status_, "");
}

TEST(RelayFraming, ConflictingContentLengthsAreMalformed) {
    RecordingSink sink;
    RelayResult r =
        relayForged(getHead(),
                    startFrame("200 OK", {{"Content-Length", "5"}, {"Content-Length", "50"}}) +
                        frame(FrameType::Body, "hello") + frame(FrameType::End),
                    sink);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.started);
}

TEST(RelayFraming, TooManyHeadersAreMalformed) {
    std::vector<protocol::Header> headers;
    for (std::uint32_t i = 0; i <= protocol::kMaxResponseHeaders; ++i) {
        headers.emplace_back("X-" + std::to_string(i), "v");
    }
    RecordingSink sink;
    RelayResult r = relayForged(
        getHead(), startFrame("200 OK", std::move(headers)) + frame(FrameType::End), sink);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.started);
}

TEST(RelayFraming, OversizedFramesAreRefusedFromTheirHeader) {
    // The payload never follows: the relay must refuse from the length alone, not wait for it.
    RecordingSink beforeStart;
    RelayResult r = relayForged(
        getHead(), headerOnly(FrameType::Start, protocol::kMaxResponseHeadBytes + 1), beforeStart);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed) << r.detail;
    EXPECT_FALSE(r.reusable);

    RecordingSink afterStart;
    r = relayForged(getHead(),
                    startFrame("200 OK") + headerOnly(FrameType::Body, protocol::kMaxDataChunk + 1),
                    afterStart);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed) << r.detail;
    EXPECT_FALSE(r.reusable);

    RecordingSink error;
    r = relayForged(getHead(), headerOnly(FrameType::Error, protocol::kMaxErrorMessage + 17),
                    error);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed) << r.detail;
}

TEST(RelayFraming, SecondStartIsMalformedAfterStart) {
    RecordingSink sink;
    RelayResult r =
        relayForged(getHead(),
                    startFrame("200 OK") + frame(FrameType::Body, "a") +
                        startFrame("302 Found", {{"Location", "/x"}}) + frame(FrameType::End),
                    sink);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.reusable);
    EXPECT_TRUE(r.started);
    EXPECT_EQ(sink.status_, "200 OK");
    EXPECT_FALSE(sink.ended_);
}

TEST(RelayFraming, HelloAckMidRequestIsRefused) {
    const std::string ack = frame(FrameType::HelloAck, protocol::encodeHelloAck({.daemonPid = 1}));
    RecordingSink before;
    RelayResult r =
        relayForged(getHead(), ack + startFrame("200 OK") + frame(FrameType::End), before);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.reusable);

    RecordingSink after;
    r = relayForged(getHead(), startFrame("200 OK") + ack + frame(FrameType::End), after);
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed);
    EXPECT_FALSE(r.reusable);
    EXPECT_FALSE(after.ended_);
}

TEST(RelayFraming, ModuleSideFrameTypesFromTheDaemonAreRefused) {
    for (const FrameType type :
         {FrameType::Hello, FrameType::RequestHead, FrameType::BodyChunk, FrameType::BodyEnd}) {
        RecordingSink sink;
        RelayResult r = relayForged(getHead(), startFrame("200 OK") + frame(type), sink);
        EXPECT_EQ(r.outcome, RelayOutcome::Malformed) << static_cast<int>(type) << ": " << r.detail;
        EXPECT_FALSE(r.reusable);
    }
}

TEST(RelayFraming, AnythingAfterEndLeavesTheConnectionUnreusable) {
    const std::string complete = startFrame("200 OK", {{"Content-Length", "2"}}) +
                                 frame(FrameType::Body, "ok") + frame(FrameType::End);
    const std::vector<std::string> strays = {
        frame(FrameType::Body, "smuggled"),
        startFrame("200 OK"),
        frame(FrameType::End),
        frame(FrameType::Error,
              protocol::encodeResponseError(
                  {.code = protocol::ResponseErrorCode::AppError, .message = "late"})),
        frame(FrameType::HelloAck, protocol::encodeHelloAck({.daemonPid = 1})),
        std::string("\x09\x11\0\0\0\0\0\0", 8),  // a frame header of another version
    };
    for (const std::string& stray : strays) {
        RecordingSink sink;
        RelayResult r = relayForged(getHead(), complete + stray, sink);
        EXPECT_EQ(r.outcome, RelayOutcome::Completed);
        EXPECT_FALSE(r.reusable);
        EXPECT_EQ(r.trailingBytes, stray.size());
        EXPECT_EQ(sink.body_, "ok");
        EXPECT_EQ(sink.status_, "200 OK");
    }
}

TEST(RelayFraming, TheShuttingDownGoodbyeAfterEndIsExpected) {
    // A draining daemon writes Error{ShuttingDown} as soon as the connection is idle, so it may
    // arrive with the End: the connection is not reused, but nothing unexpected was sent.
    RecordingSink sink;
    RelayResult r = relayForged(
        getHead(),
        startFrame("200 OK", {{"Content-Length", "2"}}) + frame(FrameType::Body, "ok") +
            frame(FrameType::End) +
            frame(FrameType::Error,
                  protocol::encodeResponseError({.code = protocol::ResponseErrorCode::ShuttingDown,
                                                 .message = "daemon is stopping"})),
        sink);
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_FALSE(r.reusable);
    EXPECT_EQ(r.trailingBytes, 0U);
    EXPECT_EQ(sink.body_, "ok");
}

TEST(RelayFraming, AnErrorBeforeStartFollowedByMoreIsNotReusable) {
    RecordingSink sink;
    RelayResult r =
        relayForged(getHead(),
                    frame(FrameType::Error,
                          protocol::encodeResponseError(
                              {.code = protocol::ResponseErrorCode::AppError, .message = "boom"})) +
                        startFrame("200 OK") + frame(FrameType::End),
                    sink);
    EXPECT_EQ(r.outcome, RelayOutcome::ErrorBeforeStart);
    EXPECT_FALSE(r.reusable);
    EXPECT_EQ(sink.status_, "");
}

}  // namespace
}  // namespace wsgid::apache
