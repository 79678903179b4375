// SPDX-License-Identifier: Apache-2.0
// Unit tests for how the relay takes a response (RelayOptions::buffering): header-buffer-size=,
// response-buffer-size= and response-flush-delay=, against a scripted fake daemon on the other
// end of a real socket. Assertions are on outcomes, bytes and flush counts, never on time.
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include "apache/relay.h"
#include "apache/response_buffering.h"
#include "fake_daemon.h"
#include "protocol/frame.h"

namespace wsgid::apache {
namespace {

using common::Deadline;
using protocol::FrameType;
using test::getHead;
using test::kIo;
using test::kTestDeadline;
using test::RecordingSink;
using test::StringSource;
using namespace std::chrono_literals;

std::string frameBytes(FrameType type, std::string_view payload = {}) {
    std::string out;
    protocol::appendFrame(out, type, 0, payload);
    return out;
}

std::string startFrame(std::vector<protocol::Header> headers) {
    return frameBytes(FrameType::Start, protocol::encodeResponseStart(protocol::ResponseStart{
                                            .status = "200 OK", .headers = std::move(headers)}));
}

using Fixture = test::RelayFixture;

/// A daemon that reads the request and answers with `raw`, keeping its end open.
RelayResult relayRaw(const std::string& raw, RecordingSink& sink, ResponseBuffering buffering) {
    Fixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        fx.daemon->sendRaw(raw);
    });
    StringSource source("");
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink,
                                 RelayOptions{.ioTimeout = kIo, .buffering = buffering});
    daemon.join();
    return r;
}

/// A header whose name and value together are `bytes` long.
protocol::Header headerOfLength(std::size_t bytes) {
    const std::string name = "X-Long";
    return {name, std::string(bytes - name.size(), 'v')};
}

TEST(RelayBuffering, AHeaderLineUpToHeaderBufferSizeIsRelayed) {
    RecordingSink sink;
    const ResponseBuffering b{.maxHeaderLine = kMinHeaderBufferBytes};
    RelayResult r = relayRaw(startFrame({headerOfLength(kMinHeaderBufferBytes)}) +
                                 frameBytes(FrameType::Body, "ok") + frameBytes(FrameType::End),
                             sink, b);
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    ASSERT_EQ(sink.headers_.size(), 1U);
    EXPECT_EQ(sink.headers_[0].second.size(), kMinHeaderBufferBytes - 6);
    EXPECT_EQ(sink.body_, "ok");
}

TEST(RelayBuffering, AHeaderLineOverHeaderBufferSizeReachesNothing) {
    RecordingSink sink;
    const ResponseBuffering b{.maxHeaderLine = kMinHeaderBufferBytes};
    RelayResult r =
        relayRaw(startFrame({{"X-Short", "1"}, headerOfLength(kMinHeaderBufferBytes + 1)}) +
                     frameBytes(FrameType::Body, "no") + frameBytes(FrameType::End),
                 sink, b);
    EXPECT_EQ(r.outcome, RelayOutcome::HeaderTooLong);
    EXPECT_FALSE(r.started);
    EXPECT_FALSE(r.reusable);
    EXPECT_FALSE(r.retryable);
    EXPECT_NE(r.detail.find("'X-Long'"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find(std::to_string(kMinHeaderBufferBytes + 1)), std::string::npos);
    EXPECT_TRUE(sink.status_.empty());  // start() never called
    EXPECT_TRUE(sink.body_.empty());
    EXPECT_TRUE(sink.held_.empty());
}

TEST(RelayBuffering, TheDefaultLimitIsModWsgisHeaderBufferSize) {
    RecordingSink fits;
    EXPECT_EQ(relayRaw(startFrame({headerOfLength(kDefaultHeaderBufferBytes)}) +
                           frameBytes(FrameType::End),
                       fits, ResponseBuffering{})
                  .outcome,
              RelayOutcome::Completed);
    RecordingSink over;
    EXPECT_EQ(relayRaw(startFrame({headerOfLength(kDefaultHeaderBufferBytes + 1)}) +
                           frameBytes(FrameType::End),
                       over, ResponseBuffering{})
                  .outcome,
              RelayOutcome::HeaderTooLong);
}

TEST(RelayBuffering, ResponseBufferSizeForcesAFlushAtThatManyBytes) {
    RecordingSink sink;
    const ResponseBuffering b{.flushAfterBytes = kMinResponseBufferBytes};
    const std::string piece(16 * 1024, 'p');
    std::string raw = startFrame({});
    std::string want;
    for (int i = 0; i < 13; ++i) {  // 208 KiB: over three times the buffer size
        raw += frameBytes(FrameType::Body, piece);
        want += piece;
    }
    raw += frameBytes(FrameType::End);
    RelayResult r = relayRaw(raw, sink, b);
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_EQ(sink.body_, want);
    EXPECT_GE(sink.flushes_, 3);
    for (const std::string& chunk : sink.flushedChunks_) {
        EXPECT_LE(chunk.size(), kMinResponseBufferBytes);
    }
}

/// Sends Start and "first", then waits (bounded) for `proceed`, then "second" and End.
struct TwoPartDaemon {
    explicit TwoPartDaemon(Fixture& fx) : fx_(fx) {}
    void run() {
        fx_.daemon->readRequest();
        fx_.daemon->sendRaw(startFrame({}) + frameBytes(FrameType::Body, "first"));
        sentFirst.store(true);
        const Deadline deadline = Deadline::after(kTestDeadline);
        while (!proceed.load() && !deadline.expired()) {
            std::this_thread::sleep_for(1ms);
        }
        fx_.daemon->sendRaw(frameBytes(FrameType::Body, "second") + frameBytes(FrameType::End));
    }
    Fixture& fx_;
    std::atomic<bool> proceed{false};
    std::atomic<bool> sentFirst{false};
};

/// Tells the daemon to go on when the relay flushes, and counts flushes and releases.
class SignallingSink final : public ResponseSink {
public:
    SignallingSink(RecordingSink& inner, std::atomic<bool>& flushed)
        : inner_(inner), flushed_(flushed) {}
    common::Status start(protocol::ResponseStart&& s) override {
        return inner_.start(std::move(s));
    }
    common::Status body(std::string_view d) override { return inner_.body(d); }
    common::Status file(common::UniqueFd fd, const protocol::ResponseFile& range) override {
        return inner_.file(std::move(fd), range);
    }
    common::Status flush() override {
        flushed_.store(true);
        return inner_.flush();
    }
    common::Status end() override { return inner_.end(); }
    common::Status settle() override { return inner_.settle(); }

private:
    RecordingSink& inner_;
    std::atomic<bool>& flushed_;
};

TEST(RelayBuffering, WithoutAFlushDelayAnEmptySocketFlushesAtOnce) {
    Fixture fx;
    TwoPartDaemon script(fx);
    std::thread daemon([&] { script.run(); });
    RecordingSink sink;
    SignallingSink signalling(sink, script.proceed);
    StringSource source("");
    RelayResult r = relayRequest(*fx.conn, getHead(), source, signalling,
                                 RelayOptions{.ioTimeout = kIo, .buffering = {}});
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    ASSERT_GE(sink.flushes_, 1);
    EXPECT_EQ(sink.flushedChunks_[0], "first");  // before "second" was even sent
    EXPECT_EQ(sink.body_, "firstsecond");
}

TEST(RelayBuffering, AFlushDelayWaitsForMoreOfTheBody) {
    Fixture fx;
    TwoPartDaemon script(fx);
    const int moduleEnd = fx.conn->fd();
    std::thread helper([&] {
        // Once the relay has read "first" (and so found the socket empty, then waits for more
        // up to the delay), the daemon goes on. Without a delay the relay would flush "first".
        const Deadline deadline = Deadline::after(kTestDeadline);
        int unread = 0;
        while (!deadline.expired() && !script.sentFirst.load()) {
            std::this_thread::sleep_for(1ms);
        }
        while (!deadline.expired() && ::ioctl(moduleEnd, FIONREAD, &unread) == 0 && unread > 0) {
            std::this_thread::sleep_for(1ms);
        }
        std::this_thread::sleep_for(20ms);  // not an assertion: lets the relay reach its wait
        script.proceed.store(true);
    });
    std::thread daemon([&] { script.run(); });
    RecordingSink sink;
    StringSource source("");
    const ResponseBuffering b{.flushDelay = kMaxResponseFlushDelay};
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink,
                                 RelayOptions{.ioTimeout = kIo, .buffering = b});
    daemon.join();
    helper.join();
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_EQ(sink.flushes_, 0);  // "first" waited for "second", and End sent both
    EXPECT_EQ(sink.body_, "firstsecond");
    EXPECT_TRUE(sink.ended_);
}

std::string pattern(std::size_t n, std::size_t seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return s;
}

TEST(RelayBuffering, LargeBodyFramesReachTheSinkInPieces) {
    // Frames of the largest size pass through reads of kDaemonReadSize: the sink gets them in
    // pieces no larger than a read, byte-exact, and the Content-Length holds across the pieces.
    constexpr int kFrames = 4;
    std::string raw;
    std::string want;
    for (int i = 0; i < kFrames; ++i) {
        const std::string block = pattern(protocol::kMaxDataChunk, static_cast<std::size_t>(i));
        raw += frameBytes(FrameType::Body, block);
        want += block;
    }
    raw = startFrame({{"Content-Length", std::to_string(want.size())}}) + raw +
          frameBytes(FrameType::End);
    RecordingSink sink;
    RelayResult r = relayRaw(raw, sink, ResponseBuffering{});
    EXPECT_EQ(r.outcome, RelayOutcome::Completed);
    EXPECT_TRUE(sink.ended_);
    EXPECT_EQ(sink.body_, want);
    EXPECT_GT(sink.bodies_, kFrames);
    EXPECT_LE(sink.largestBody_, kDaemonReadSize);
    // Before each read that reuses the buffer the sink may hand the pieces it views on (the
    // httpd sink passes them to the output filters rather than copying them).
    EXPECT_GT(sink.handOnsWithViews_, 0);
}

TEST(RelayBuffering, AFrameOverrunningContentLengthIsRefusedAtItsFirstPiece) {
    // Only the header and a few bytes of a frame longer than the announced body ever come: the
    // declared length alone stops the relay (waiting for the rest would time out instead).
    Fixture fx;
    std::thread daemon([&] {
        fx.daemon->readRequest();
        std::string raw = startFrame({{"Content-Length", "1000"}});
        std::string header(protocol::kFrameHeaderSize, '\0');
        protocol::encodeHeader(
            FrameType::Body, 0, 200000,
            std::span<char, protocol::kFrameHeaderSize>(header.data(), header.size()));
        fx.daemon->sendRaw(raw + header + "0123456789");
    });
    StringSource source("");
    RecordingSink sink;
    RelayResult r = relayRequest(*fx.conn, getHead(), source, sink, RelayOptions{.ioTimeout = kIo});
    daemon.join();
    EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch);
    EXPECT_TRUE(r.started);
    EXPECT_FALSE(r.reusable);
    EXPECT_EQ(r.announcedBodyBytes, 1000);
    EXPECT_EQ(r.daemonBodyBytes, 200000);
    EXPECT_EQ(sink.bodies_, 0);
    EXPECT_EQ(sink.body_ + sink.held_, "");
}

TEST(RelayBuffering, OptionsResolveZeroToTheDefaults) {
    const ResponseBuffering d = ResponseBuffering::fromOptions(0, 0, 0);
    EXPECT_EQ(d.maxHeaderLine, kDefaultHeaderBufferBytes);
    EXPECT_EQ(d.flushAfterBytes, kDefaultResponseBufferBytes);
    EXPECT_EQ(d.flushDelay, kDefaultResponseFlushDelay);
    const ResponseBuffering s = ResponseBuffering::fromOptions(8192, 65536, 5);
    EXPECT_EQ(s.maxHeaderLine, 8192U);
    EXPECT_EQ(s.flushAfterBytes, 65536U);
    EXPECT_EQ(s.flushDelay, 5ms);
}

TEST(RelayBuffering, FirstOverlongHeaderCountsNameAndValue) {
    protocol::ResponseStart start{.status = "200 OK",
                                  .headers = {{"A", "12345"}, {"BB", "1234"}, {"C", "123456"}}};
    EXPECT_FALSE(firstOverlongHeader(start, 7).has_value());
    EXPECT_EQ(firstOverlongHeader(start, 6), std::optional<std::size_t>(2));
    EXPECT_EQ(firstOverlongHeader(start, 5), std::optional<std::size_t>(0));
    EXPECT_FALSE(
        firstOverlongHeader(protocol::ResponseStart{.status = "200 OK", .headers = {}}, 0));
}

}  // namespace
}  // namespace wsgid::apache
