// SPDX-License-Identifier: Apache-2.0
// ResponseWriter over a socketpair: order and integrity, coalescing while the reader is slow,
// no delay for a lone block, the back-pressure bound, errors from a closed peer, final frames.
#include "daemon/response_writer.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "protocol/frame.h"
#include "protocol/limits.h"

namespace wsgid::daemon {
namespace {

using common::Deadline;
using protocol::Frame;
using protocol::FrameType;

// Bound for every wait a test expects to succeed; never asserted on.
constexpr std::chrono::milliseconds kGenerous{10000};

// A daemon end (non-blocking, small send buffer so a reader that does not read stalls the
// writer quickly) and a module end read by the test.
struct Pair {
    common::UniqueFd daemon;
    common::UniqueFd module;

    Pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        daemon = common::UniqueFd(fds[0]);
        module = common::UniqueFd(fds[1]);
        const int size = 4096;
        EXPECT_EQ(::setsockopt(daemon.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
        EXPECT_TRUE(common::setNonBlocking(daemon.get(), true).isOk());
    }
};

// Reads frames from `fd` until `count` frames arrived or an End/Error frame did.
std::vector<Frame> readFrames(int fd, std::size_t count = SIZE_MAX) {
    std::vector<Frame> frames;
    protocol::FrameDecoder decoder;
    const Deadline deadline = Deadline::after(kGenerous);
    for (;;) {
        auto next = decoder.next();
        EXPECT_TRUE(next.isOk());
        if (!next.isOk()) {
            return frames;
        }
        if (next.value()) {
            frames.push_back(std::move(*next.value()));
            const FrameType type = frames.back().type;
            if (frames.size() >= count || type == FrameType::End || type == FrameType::Error) {
                return frames;
            }
            continue;
        }
        char buf[65536];
        auto n = common::readSome(fd, buf, deadline);
        EXPECT_TRUE(n.isOk()) << n.status().message();
        if (!n.isOk()) {
            return frames;
        }
        decoder.feed(std::string_view(buf, n.value()));
    }
}

// Concatenated Body payloads; checks frame order (Start first, Body frames within the limit).
std::string bodyOf(const std::vector<Frame>& frames, std::size_t* bodyFrames = nullptr) {
    std::string body;
    std::size_t count = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        if (frames[i].type == FrameType::Start) {
            EXPECT_EQ(i, 0U);
        } else if (frames[i].type == FrameType::Body) {
            EXPECT_LE(frames[i].payload.size(), protocol::kMaxDataChunk);
            EXPECT_FALSE(frames[i].payload.empty());
            body += frames[i].payload;
            ++count;
        }
    }
    if (bodyFrames != nullptr) {
        *bodyFrames = count;
    }
    return body;
}

std::string pattern(std::size_t size, std::size_t seed) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return s;
}

// Queues a block the way the Python layer does: the non-blocking call, else the blocking one.
common::Status put(ResponseWriter& writer, FrameType type, std::string_view data) {
    if (std::optional<common::Status> quick = writer.tryQueue(type, data)) {
        return *quick;
    }
    return writer.write(type, data);
}

// Queues blocks until the writer thread is stuck in a write that only the reader can finish:
// 128 KiB in blocks small enough to be queued (below kDirectWriteThreshold) is far more than the
// small socket buffer holds, so once the module end is readable the writer is mid-write.
// Returns the bytes queued.
std::string stallWriter(ResponseWriter& writer, const Pair& pair) {
    constexpr std::size_t kBlock = kDirectWriteThreshold / 2;
    std::string queued = pattern(std::size_t{128} * 1024, 99);
    for (std::size_t off = 0; off < queued.size(); off += kBlock) {
        EXPECT_TRUE(
            put(writer, FrameType::Body, std::string_view(queued).substr(off, kBlock)).isOk());
    }
    EXPECT_TRUE(common::waitReadable(pair.module.get(), Deadline::after(kGenerous)).isOk());
    return queued;
}

TEST(ResponseWriter, StartsTheThread) {
    ResponseWriter writer;
    EXPECT_TRUE(writer.usesThread());
}

TEST(ResponseWriter, BlocksArriveInOrderAndIntact) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });

    std::string expected;
    ASSERT_TRUE(put(writer, FrameType::Start, "start").isOk());
    // Small blocks (queued), blocks past the direct-write threshold and past one frame.
    const std::size_t sizes[] = {1,     16,         5000,        kDirectWriteThreshold,
                                 3,     300 * 1024, 16,          protocol::kMaxDataChunk + 1,
                                 70000, 2,          1024 * 1024, 9};
    std::size_t seed = 0;
    for (const std::size_t size : sizes) {
        const std::string block = pattern(size, seed++);
        ASSERT_TRUE(put(writer, FrameType::Body, block).isOk());
        expected += block;
    }
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    reader.join();

    ASSERT_GE(frames.size(), 3U);
    EXPECT_EQ(frames.front().type, FrameType::Start);
    EXPECT_EQ(frames.front().payload, "start");
    EXPECT_EQ(frames.back().type, FrameType::End);
    EXPECT_EQ(bodyOf(frames), expected);
}

TEST(ResponseWriter, SmallBlocksWrittenWhileTheReaderIsSlowShareFrames) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    std::string expected = stallWriter(writer, pair);
    const std::size_t blocks = 1000;
    for (std::size_t i = 0; i < blocks; ++i) {
        const std::string block = pattern(16, i);
        ASSERT_TRUE(put(writer, FrameType::Body, block).isOk());
        expected += block;
    }
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    reader.join();

    std::size_t bodyFrames = 0;
    EXPECT_EQ(bodyOf(frames, &bodyFrames), expected);
    // 8 blocks of 16 KiB stall the writer, then 1000 of 16 bytes: far fewer frames than blocks.
    EXPECT_LT(bodyFrames, 20U);
    EXPECT_EQ(frames.back().type, FrameType::End);
}

TEST(ResponseWriter, ALoneBlockIsDeliveredWithoutAnotherWrite) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    // The app "sleeps" after its first block (as an event stream does) until the test has
    // received it: nothing else is written or flushed meanwhile.
    ASSERT_TRUE(put(writer, FrameType::Start, "200 OK").isOk());
    ASSERT_TRUE(put(writer, FrameType::Body, "event: 1\n\n").isOk());
    std::vector<Frame> first = readFrames(pair.module.get(), 2);
    ASSERT_EQ(first.size(), 2U);
    EXPECT_EQ(first[0].type, FrameType::Start);
    EXPECT_EQ(first[1].type, FrameType::Body);
    EXPECT_EQ(first[1].payload, "event: 1\n\n");

    ASSERT_TRUE(put(writer, FrameType::Body, "event: 2\n\n").isOk());
    std::vector<Frame> second = readFrames(pair.module.get(), 1);
    ASSERT_EQ(second.size(), 1U);
    EXPECT_EQ(second[0].payload, "event: 2\n\n");

    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    std::vector<Frame> last = readFrames(pair.module.get());
    ASSERT_EQ(last.size(), 1U);
    EXPECT_EQ(last[0].type, FrameType::End);
}

TEST(ResponseWriter, AHeldFrameGoesOutWithTheNextCall) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    // `more` defers the wake-up to the next call, which sends both frames.
    std::optional<common::Status> held = writer.tryQueue(FrameType::Start, "200 OK", true);
    ASSERT_TRUE(held.has_value());
    ASSERT_TRUE(held->isOk());
    ASSERT_TRUE(put(writer, FrameType::Body, "now").isOk());
    std::vector<Frame> frames = readFrames(pair.module.get(), 2);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[0].type, FrameType::Start);
    EXPECT_EQ(frames[1].payload, "now");
    // Held data also goes out with the final frame.
    held = writer.tryQueue(FrameType::Body, "last", true);
    ASSERT_TRUE(held.has_value());
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    frames = readFrames(pair.module.get());
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[0].payload, "last");
    EXPECT_EQ(frames[1].type, FrameType::End);
}

TEST(ResponseWriter, PendingDataIsBoundedAndTheBlockingWriteWaitsForTheReader) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    std::string expected = stallWriter(writer, pair);
    // The non-blocking call takes blocks until the bound, then declines.
    const std::string block = pattern(1000, 1);
    std::size_t accepted = 0;
    for (;;) {
        std::optional<common::Status> quick = writer.tryQueue(FrameType::Body, block);
        if (!quick) {
            break;
        }
        ASSERT_TRUE(quick->isOk());
        expected += block;
        accepted += block.size();
        ASSERT_LE(accepted, 2 * kMaxPendingResponseBytes);
    }
    // It declined only because the queue neared the bound, not earlier.
    EXPECT_GE(accepted, kMaxPendingResponseBytes / 2);

    // The blocking call can only return once the reader drained the stalled write.
    std::atomic<bool> readerStarted{false};
    std::atomic<bool> startedBeforeReturn{false};
    std::thread app([&] {
        const common::Status s = writer.write(FrameType::Body, block);
        EXPECT_TRUE(s.isOk());
        startedBeforeReturn = readerStarted.load();
    });
    readerStarted = true;
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });
    app.join();
    expected += block;
    EXPECT_TRUE(startedBeforeReturn.load());
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    reader.join();
    EXPECT_EQ(bodyOf(frames), expected);
}

TEST(ResponseWriter, AClosedPeerIsReported) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    pair.module.reset();
    ASSERT_TRUE(put(writer, FrameType::Start, "start").isOk());
    // The failure surfaces from a later write (the queued one fails on the writer thread) or from
    // the final flush; a direct write of a large block fails at once.
    const common::Status direct = writer.write(FrameType::Body, pattern(kDirectWriteThreshold, 0));
    EXPECT_FALSE(direct.isOk());
    std::optional<common::Status> quick = writer.tryQueue(FrameType::Body, "x");
    ASSERT_TRUE(quick.has_value());
    EXPECT_FALSE(quick->isOk());
    EXPECT_FALSE(writer.finish(FrameType::End, {}).isOk());
}

TEST(ResponseWriter, AFailedQueuedWriteIsReportedByTheFinalFlush) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    pair.module.reset();
    ASSERT_TRUE(put(writer, FrameType::Body, "lost").isOk());
    EXPECT_FALSE(writer.finish(FrameType::End, {}).isOk());
    // The next response on a fresh socket starts clean.
    Pair next;
    writer.begin(next.daemon.get(), kGenerous);
    ASSERT_TRUE(put(writer, FrameType::Body, "kept").isOk());
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    std::vector<Frame> frames = readFrames(next.module.get());
    EXPECT_EQ(bodyOf(frames), "kept");
    EXPECT_EQ(frames.back().type, FrameType::End);
}

TEST(ResponseWriter, ErrorFollowsAllPendingData) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    ASSERT_TRUE(put(writer, FrameType::Start, "start").isOk());
    std::string expected = stallWriter(writer, pair);
    for (std::size_t i = 0; i < 50; ++i) {
        const std::string block = pattern(100, i);
        ASSERT_TRUE(put(writer, FrameType::Body, block).isOk());
        expected += block;
    }
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });
    ASSERT_TRUE(writer.finish(FrameType::Error, "failed").isOk());
    reader.join();
    EXPECT_EQ(bodyOf(frames), expected);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().type, FrameType::Error);
    EXPECT_EQ(frames.back().payload, "failed");
}

TEST(ResponseWriter, AbandonDropsPendingDataAndReleasesTheSocket) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), std::chrono::milliseconds(200));
    (void)stallWriter(writer, pair);
    ASSERT_TRUE(put(writer, FrameType::Body, "dropped").isOk());
    // The stalled write times out (nobody reads); abandon() returns once it did.
    writer.abandon();
    Pair next;
    writer.begin(next.daemon.get(), kGenerous);
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    std::vector<Frame> frames = readFrames(next.module.get());
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].type, FrameType::End);
}

TEST(ResponseWriter, ControlFrameGoesOutAtOnce) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    ASSERT_TRUE(writer.control(FrameType::SendBody).isOk());
    std::vector<Frame> frames = readFrames(pair.module.get(), 1);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].type, FrameType::SendBody);
    EXPECT_TRUE(frames[0].payload.empty());
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
}

TEST(ResponseWriter, ControlFromAnotherThreadDuringADirectWriteIsNeitherLostNorMixedIn) {
    // An app thread reads wsgi.input (SendBody) while the worker writes a large block itself.
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    const std::string big = pattern(std::size_t{512} * 1024, 3);
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });
    std::thread worker([&] { EXPECT_TRUE(writer.write(FrameType::Body, big).isOk()); });
    EXPECT_TRUE(writer.control(FrameType::SendBody).isOk());
    worker.join();
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    reader.join();
    EXPECT_EQ(bodyOf(frames), big);
    std::size_t sendBodies = 0;
    for (const Frame& f : frames) {
        sendBodies += f.type == FrameType::SendBody ? 1 : 0;
    }
    EXPECT_EQ(sendBodies, 1U);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames.back().type, FrameType::End);
}

TEST(ResponseWriter, ControlWithoutAResponseIsRefused) {
    ResponseWriter writer;
    EXPECT_FALSE(writer.control(FrameType::SendBody).isOk());
}

}  // namespace
}  // namespace wsgid::daemon
