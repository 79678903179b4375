// SPDX-License-Identifier: Apache-2.0
// ResponseWriter over a socketpair: order and integrity, coalescing while the reader is slow,
// no delay for a lone block, the back-pressure bound, errors from a closed peer, final frames.
#include "daemon/response_writer.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>

#include "common/descriptor_passing.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "protocol/frame.h"
#include "protocol/limits.h"
#include "protocol/response.h"
#include "support/descriptors.h"

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
// small socket buffer holds, so once the module end is readable the writer is mid-write. Uses
// write(), which always hands small blocks to the writer thread (tryQueue may send a response's
// first data itself, and the module end would then be readable before the writer started).
// Returns the bytes queued.
std::string stallWriter(ResponseWriter& writer, const Pair& pair) {
    constexpr std::size_t kBlock = kDirectWriteThreshold / 2;
    std::string queued = pattern(std::size_t{128} * 1024, 99);
    for (std::size_t off = 0; off < queued.size(); off += kBlock) {
        EXPECT_TRUE(
            writer.write(FrameType::Body, std::string_view(queued).substr(off, kBlock)).isOk());
    }
    EXPECT_TRUE(common::waitReadable(pair.module.get(), Deadline::after(kGenerous)).isOk());
    return queued;
}

TEST(ResponseWriter, StartsTheThread) {
    ResponseWriter writer;
    EXPECT_TRUE(writer.usesThread());
}

// The scheduling policies of this process's threads named `name`.
std::vector<int> policiesOfThreadsNamed(const std::string& name) {
    std::vector<int> policies;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string line;
        if (std::getline(comm, line) && line == name) {
            policies.push_back(::sched_getscheduler(std::stoi(task.path().filename().string())));
        }
    }
    return policies;
}

TEST(ResponseWriter, TheWriterThreadsWakeUpsDoNotPreemptTheWorker) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    // write() hands a small block to the writer thread: once it arrived, the thread is running.
    ASSERT_TRUE(writer.write(FrameType::Body, "block").isOk());
    ASSERT_EQ(readFrames(pair.module.get(), 1).size(), 1U);
    const std::vector<int> policies = policiesOfThreadsNamed("wsgid-writer");
    ASSERT_EQ(policies.size(), 1U);
    EXPECT_EQ(policies[0], SCHED_BATCH);
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
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

TEST(ResponseWriter, AResponsesFirstSendIsMadeByTheCallerBeforeTryQueueReturns) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    auto start = writer.tryQueue(FrameType::Start, "200 OK", /*more=*/true);
    ASSERT_TRUE(start && start->isOk());
    auto body = writer.tryQueue(FrameType::Body, "one block");
    ASSERT_TRUE(body && body->isOk());
    // Already in the socket, with no hand-off to the writer thread: a read that never waits
    // finds both frames.
    std::string raw(256, '\0');
    const ssize_t n = ::recv(pair.module.get(), raw.data(), raw.size(), MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    raw.resize(static_cast<std::size_t>(n));
    protocol::FrameDecoder decoder;
    decoder.feed(raw);
    auto first = decoder.next();
    ASSERT_TRUE(first.isOk() && first->has_value());
    EXPECT_EQ((*first)->type, FrameType::Start);
    auto second = decoder.next();
    ASSERT_TRUE(second.isOk() && second->has_value());
    EXPECT_EQ((*second)->type, FrameType::Body);
    EXPECT_EQ((*second)->payload, "one block");
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    std::vector<Frame> last = readFrames(pair.module.get());
    ASSERT_EQ(last.size(), 1U);
    EXPECT_EQ(last[0].type, FrameType::End);
}

TEST(ResponseWriter, AFirstSendTheSocketTakesOnlyPartOfIsFinishedByTheWriterThread) {
    Pair pair;  // a 4 KiB send buffer: a first block just under the direct-write size overflows it
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    const std::string block = pattern(kDirectWriteThreshold - 1, 7);
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });
    auto start = writer.tryQueue(FrameType::Start, "200 OK", /*more=*/true);
    ASSERT_TRUE(start && start->isOk());
    ASSERT_TRUE(put(writer, FrameType::Body, block).isOk());
    ASSERT_TRUE(put(writer, FrameType::Body, "tail").isOk());
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    reader.join();
    ASSERT_GE(frames.size(), 3U);
    EXPECT_EQ(frames.front().type, FrameType::Start);
    EXPECT_EQ(bodyOf(frames), block + "tail");
    EXPECT_EQ(frames.back().type, FrameType::End);
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
    // The response's first send is made by the caller, so it fails at once.
    EXPECT_FALSE(put(writer, FrameType::Start, "start").isOk());
    // Every later call reports it too; a direct write of a large block fails at once.
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
    // write() hands a small block to the writer thread: its failure is only known later.
    ASSERT_TRUE(writer.write(FrameType::Body, "lost").isOk());
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

// ---- File frames: the descriptor comes with its frame's first byte --------------------------

namespace files {

struct Received {
    std::string bytes;
    int descriptors = 0;
    std::size_t from = 0;  // the range of the read that brought the descriptor
    std::size_t to = 0;
    common::UniqueFd fd;
};

// Reads everything up to EOF the way the module does, noting where the descriptor came.
Received receiveAll(int fd) {
    Received r;
    const Deadline deadline = Deadline::after(kGenerous);
    char buf[65536];
    for (;;) {
        common::ReceivedDescriptor got;
        const ssize_t n = common::receiveWithDescriptor(fd, buf, got);
        if (n > 0) {
            if (got.fd) {
                ++r.descriptors;
                r.from = r.bytes.size();
                r.to = r.from + static_cast<std::size_t>(n);
                r.fd = std::move(got.fd);
            }
            r.bytes.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0 || errno != EAGAIN || !common::waitReadable(fd, deadline).isOk() ||
            deadline.expired()) {
            return r;
        }
    }
}

}  // namespace files

// writeLast: what is queued, the block and the End in one write; the response has then ended.
TEST(ResponseWriter, ALastBlockGoesOutWithTheEndAndNothingFollowsIt) {
    Pair pair;
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    const std::string block = pattern(std::size_t{300} * 1024, 5);  // two Body frames
    ASSERT_TRUE(writer.tryQueue(FrameType::Start, "200 OK", /*more=*/true).has_value());
    std::vector<Frame> frames;
    std::thread reader([&] { frames = readFrames(pair.module.get()); });
    ASSERT_TRUE(writer.writeLast(FrameType::Body, block, FrameType::End).isOk());
    reader.join();
    ASSERT_EQ(frames.size(), 4U);
    EXPECT_EQ(frames[0].type, FrameType::Start);
    EXPECT_EQ(frames.back().type, FrameType::End);
    EXPECT_EQ(bodyOf(frames), block);

    // Nothing may follow the End; the End of finish() is the one already sent.
    EXPECT_FALSE(writer.write(FrameType::Body, "late").isOk());
    EXPECT_FALSE(writer.control(FrameType::SendBody).isOk());
    EXPECT_FALSE(writer.finish(FrameType::Error, "x").isOk());
    ::shutdown(pair.daemon.get(), SHUT_WR);
    char byte = 0;
    EXPECT_EQ(::recv(pair.module.get(), &byte, 1, 0), 0);  // EOF: nothing was written after End

    // The next response starts clean, and finish(End) after writeLast succeeds.
    Pair next;
    writer.begin(next.daemon.get(), kGenerous);
    ASSERT_TRUE(writer.writeLast(FrameType::Body, "small", FrameType::End).isOk());
    EXPECT_TRUE(writer.finish(FrameType::End, {}).isOk());
    const std::vector<Frame> small = readFrames(next.module.get());
    ASSERT_EQ(small.size(), 2U);
    EXPECT_EQ(small[0].payload, "small");
    EXPECT_EQ(small[1].type, FrameType::End);
}

TEST(ResponseWriter, AHeldFileFrameGoesOutWithTheFinalFrameAndItsDescriptor) {
    Pair pair;
    EXPECT_TRUE(common::setNonBlocking(pair.module.get(), true).isOk());
    ResponseWriter writer;
    writer.begin(pair.daemon.get(), kGenerous);
    files::Received got;
    std::thread reader([&] { got = files::receiveAll(pair.module.get()); });
    const std::string queued = pattern(100000, 3);  // more than the socket buffer holds
    ASSERT_TRUE(put(writer, FrameType::Start, "start").isOk());
    for (std::size_t off = 0; off < queued.size(); off += 1000) {
        ASSERT_TRUE(put(writer, FrameType::Body, queued.substr(off, 1000)).isOk());
    }
    const std::string payload = protocol::encodeResponseFile({.offset = 4, .length = 4});
    ASSERT_TRUE(
        writer.holdWithDescriptor(FrameType::File, payload, testing::memFile("the file's bytes"))
            .isOk());
    ASSERT_TRUE(writer.control(FrameType::SendBody).isOk());  // may still be queued
    ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
    ::shutdown(pair.daemon.get(), SHUT_WR);
    reader.join();

    protocol::FrameDecoder decoder;
    decoder.feed(got.bytes);
    std::string body;
    std::size_t fileAt = std::string::npos;
    std::size_t endAt = std::string::npos;
    std::vector<FrameType> order;
    for (;;) {
        const std::size_t at = got.bytes.size() - decoder.buffered();
        auto next = decoder.next();
        ASSERT_TRUE(next.isOk());
        if (!next.value()) {
            break;
        }
        const FrameType type = next.value()->type;
        if (order.empty() || order.back() != type) {
            order.push_back(type);
        }
        if (type == FrameType::Body) {
            body += next.value()->payload;
        } else if (type == FrameType::File) {
            fileAt = at;
            EXPECT_EQ(next.value()->payload, payload);
        } else if (type == FrameType::End) {
            endAt = at;
        }
    }
    EXPECT_EQ((std::vector{FrameType::Start, FrameType::Body, FrameType::SendBody, FrameType::File,
                           FrameType::End}),
              order);
    EXPECT_EQ(body, queued);
    ASSERT_EQ(got.descriptors, 1);
    // The descriptor came with the read that has the File frame's first byte, and the End with it.
    EXPECT_LE(got.from, fileAt);
    EXPECT_LT(fileAt, got.to);
    EXPECT_LT(endAt, got.to);
    EXPECT_EQ(testing::readRange(got.fd.get(), 4, 4), "file");
}

// The Start of a file response rides in the File frame's sendmsg() when it is the response's
// first bytes and small (kMaxBytesWithDescriptor): then the descriptor comes with the read of the
// Start's bytes (Linux attaches it to a write's first byte). Otherwise the Start is a write of
// its own and a read of exactly its bytes brings no descriptor.
TEST(ResponseWriter, ASmallFirstStartGoesInTheFileFramesWrite) {
    struct Case {
        std::size_t startSize;
        bool sentBefore;  // the Start went out at once (tryQueue without `more`)
        bool together;
    };
    for (const Case c :
         {Case{100, false, true}, Case{3000, false, false}, Case{100, true, false}}) {
        Pair pair;
        ResponseWriter writer;
        writer.begin(pair.daemon.get(), kGenerous);
        const std::string start = pattern(c.startSize, 1);
        ASSERT_TRUE(writer.tryQueue(FrameType::Start, start, /*more=*/!c.sentBefore).has_value());
        const std::string payload = protocol::encodeResponseFile({.offset = 0, .length = 4});
        ASSERT_TRUE(
            writer.holdWithDescriptor(FrameType::File, payload, testing::memFile("file")).isOk());
        ASSERT_TRUE(writer.finish(FrameType::End, {}).isOk());
        ::shutdown(pair.daemon.get(), SHUT_WR);

        std::string first(protocol::kFrameHeaderSize + c.startSize, '\0');
        common::ReceivedDescriptor got;
        ASSERT_EQ(common::receiveWithDescriptor(pair.module.get(), first, got),
                  static_cast<ssize_t>(first.size()));
        EXPECT_EQ(static_cast<bool>(got.fd), c.together) << c.startSize;
        files::Received rest = files::receiveAll(pair.module.get());
        EXPECT_EQ(rest.descriptors, c.together ? 0 : 1) << c.startSize;
        EXPECT_EQ(rest.bytes.size(), 2 * protocol::kFrameHeaderSize + payload.size());
        protocol::FrameDecoder decoder;
        decoder.feed(first + rest.bytes);
        for (const FrameType type : {FrameType::Start, FrameType::File, FrameType::End}) {
            auto next = decoder.next();
            ASSERT_TRUE(next.isOk() && next.value());
            EXPECT_EQ(next.value()->type, type);
        }
    }
}

TEST(ResponseWriter, AHeldDescriptorIsClosedWhenTheResponseFailsOrIsAbandoned) {
    const int before = testing::openDescriptorCount();
    {
        Pair pair;
        ResponseWriter writer;
        writer.begin(pair.daemon.get(), kGenerous);
        pair.module.reset();
        const std::string payload = protocol::encodeResponseFile({.offset = 0, .length = 1});
        ASSERT_TRUE(
            writer.holdWithDescriptor(FrameType::File, payload, testing::memFile("x")).isOk());
        EXPECT_FALSE(writer.finish(FrameType::End, {}).isOk());
        writer.begin(pair.daemon.get(), kGenerous);
        ASSERT_TRUE(
            writer.holdWithDescriptor(FrameType::File, payload, testing::memFile("x")).isOk());
        EXPECT_FALSE(
            writer.holdWithDescriptor(FrameType::File, payload, testing::memFile("y")).isOk());
        writer.abandon();
        EXPECT_EQ(testing::openDescriptorCount(), before + 1);  // the pair's daemon end
    }
    EXPECT_EQ(testing::openDescriptorCount(), before);
}

}  // namespace
}  // namespace wsgid::daemon
