// SPDX-License-Identifier: Apache-2.0
// Tests for FrameDecoder's streamed payloads (streamPayloadsOf): a Body frame comes out in pieces
// as its bytes arrive, every other frame whole, however the stream is cut. Pure: no sockets here.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/frame.h"
#include "protocol/limits.h"
#include "protocol/same_frames.h"

namespace wsgid::protocol {
namespace {

using test::expectSameFrames;

std::string pattern(std::size_t n, std::size_t seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    }
    return s;
}

struct Stream {
    std::string bytes;
    std::vector<Frame> frames;
};

Stream makeStream(std::size_t bodyScale) {
    Stream s;
    auto add = [&s](FrameType t, std::uint16_t flags, std::string payload) {
        appendFrame(s.bytes, t, flags, payload);
        s.frames.push_back(Frame{t, flags, std::move(payload)});
    };
    add(FrameType::Start, 0, pattern(40, 1));
    add(FrameType::Body, 0x8001, pattern(3 * bodyScale, 2));
    add(FrameType::Body, 0, "");
    add(FrameType::Body, 2, "x");
    add(FrameType::Error, 0, pattern(30, 3));
    add(FrameType::Body, 0, pattern(bodyScale, 4));
    add(FrameType::End, 0, "");
    return s;
}

// What came out of a decoder that streams Body payloads: every frame reassembled from its pieces,
// each piece checked against the rules of FrameView as it comes.
struct Reassembled {
    std::vector<Frame> frames;
    std::size_t pieces = 0;
    std::optional<FrameView> open;  // the streamed frame whose last piece has not come
};

void take(const FrameView& v, Reassembled& out) {
    ++out.pieces;
    if (v.first) {
        ASSERT_FALSE(out.open.has_value()) << "a header inside another frame's payload";
        ASSERT_EQ(v.offset, 0U);
        out.frames.push_back(Frame{v.type, v.flags, std::string()});
        if (v.type != FrameType::Body) {
            EXPECT_EQ(v.payload.size(), v.length) << "only Body frames come in pieces";
        }
    } else {
        ASSERT_TRUE(out.open.has_value()) << "a piece with no frame open";
        EXPECT_EQ(v.type, out.open->type);
        EXPECT_EQ(v.flags, out.open->flags);
        EXPECT_EQ(v.length, out.open->length);
        EXPECT_FALSE(v.payload.empty()) << "only a first piece may be empty";
    }
    ASSERT_EQ(v.offset, out.frames.back().payload.size()) << "pieces follow one another";
    out.frames.back().payload.append(v.payload);
    ASSERT_LE(out.frames.back().payload.size(), v.length) << "pieces beyond the declared length";
    if (v.lastPiece()) {
        out.open.reset();
    } else {
        out.open = v;
    }
}

// Receives `stream` in place, cut at the given positions (ascending), draining after each read.
Reassembled receive(std::string_view stream, const std::vector<std::size_t>& cuts) {
    FrameDecoder d;
    d.streamPayloadsOf(FrameType::Body);
    Reassembled out;
    std::size_t pos = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
        const std::size_t end = i < cuts.size() ? cuts[i] : stream.size();
        const std::size_t n = end - pos;
        const std::span<char> room = d.prepare(n);
        EXPECT_GE(room.size(), n);
        std::copy_n(stream.data() + pos, n, room.data());
        d.commit(n);
        pos = end;
        for (;;) {
            auto r = d.nextView();
            EXPECT_TRUE(r.isOk()) << r.status().message();
            if (!r.isOk() || !r.value()) {
                break;
            }
            take(*r.value(), out);
            if (::testing::Test::HasFatalFailure()) {
                return out;
            }
        }
    }
    EXPECT_EQ(d.buffered(), 0U);
    EXPECT_FALSE(out.open.has_value()) << "a frame without its last piece";
    return out;
}

TEST(FrameDecoderStreamed, SameFramesForASplitAtEveryPosition) {
    const Stream s = makeStream(100);
    const Reassembled whole = receive(s.bytes, {});
    expectSameFrames(whole.frames, s.frames);
    EXPECT_EQ(whole.pieces, s.frames.size()) << "read at once, every frame is one piece";
    for (std::size_t cut = 0; cut <= s.bytes.size(); ++cut) {
        const Reassembled split = receive(s.bytes, {cut});
        expectSameFrames(split.frames, s.frames);
        if (::testing::Test::HasFailure()) {
            FAIL() << "cut at " << cut;
        }
    }
}

TEST(FrameDecoderStreamed, SameFramesForEverySplitIntoEqualReads) {
    const Stream s = makeStream(100);
    for (std::size_t read = 1; read <= s.bytes.size(); ++read) {
        std::vector<std::size_t> cuts;
        for (std::size_t at = read; at < s.bytes.size(); at += read) {
            cuts.push_back(at);
        }
        expectSameFrames(receive(s.bytes, cuts).frames, s.frames);
        if (::testing::Test::HasFailure()) {
            FAIL() << "reads of " << read;
        }
    }
}

TEST(FrameDecoderStreamed, LargeFramesInRandomReads) {
    const Stream s = makeStream(kMaxDataChunk / 3);
    std::mt19937 rng(42);  // NOLINT(cert-msc51-cpp): a fixed seed keeps failures reproducible
    for (int round = 0; round < 20; ++round) {
        std::vector<std::size_t> cuts;
        std::uniform_int_distribution<std::size_t> step(1, 150000);
        for (std::size_t at = step(rng); at < s.bytes.size(); at += step(rng)) {
            cuts.push_back(at);
        }
        expectSameFrames(receive(s.bytes, cuts).frames, s.frames);
    }
}

TEST(FrameDecoderStreamed, TheFirstPieceCarriesTheDeclaredLengthBeforeAnyPayload) {
    const std::string stream = [] {
        std::string out;
        appendFrame(out, FrameType::Body, 5, pattern(200000, 0));
        return out;
    }();
    FrameDecoder d;
    d.streamPayloadsOf(FrameType::Body);
    std::span<char> room = d.prepare(kFrameHeaderSize);
    std::copy_n(stream.data(), kFrameHeaderSize, room.data());
    d.commit(kFrameHeaderSize);
    auto first = d.nextView();
    ASSERT_TRUE(first.isOk());
    ASSERT_TRUE(first.value().has_value());
    EXPECT_TRUE(first.value()->first);
    EXPECT_EQ(first.value()->length, 200000U);
    EXPECT_EQ(first.value()->flags, 5);
    EXPECT_TRUE(first.value()->payload.empty());
    EXPECT_FALSE(first.value()->lastPiece());
    auto none = d.nextView();
    ASSERT_TRUE(none.isOk());
    EXPECT_FALSE(none.value().has_value()) << "no empty piece while no bytes arrive";
}

TEST(FrameDecoderStreamed, TheBufferNeverGrowsToHoldAStreamedFrame) {
    // Reads of at most 1 KiB through a stream of large Body frames: the room prepare() gives
    // stays that of the reads, where without streaming it would grow to the whole frame.
    const Stream s = makeStream(kMaxDataChunk / 3);
    constexpr std::size_t kRead = 1024;
    FrameDecoder d;
    d.streamPayloadsOf(FrameType::Body);
    Reassembled out;
    std::size_t largestRoom = 0;
    for (std::size_t pos = 0; pos < s.bytes.size();) {
        const std::span<char> room = d.prepare(kRead - std::min(d.buffered(), kRead - 1));
        largestRoom = std::max(largestRoom, room.size());
        const std::size_t n = std::min({kRead, room.size(), s.bytes.size() - pos});
        std::copy_n(s.bytes.data() + pos, n, room.data());
        d.commit(n);
        pos += n;
        for (;;) {
            auto r = d.nextView();
            ASSERT_TRUE(r.isOk());
            if (!r.value()) {
                break;
            }
            take(*r.value(), out);
        }
    }
    expectSameFrames(out.frames, s.frames);
    EXPECT_LE(largestRoom, kRead);
}

TEST(FrameDecoderStreamed, HeadersAreCheckedAndErrorsStaySticky) {
    FrameDecoder d;
    d.streamPayloadsOf(FrameType::Body);
    std::string bad;
    appendFrame(bad, FrameType::Body, 0, "ok");
    bad += std::string(kFrameHeaderSize, '\0');  // version 0
    std::span<char> room = d.prepare(bad.size());
    std::copy_n(bad.data(), bad.size(), room.data());
    d.commit(bad.size());
    auto body = d.nextView();
    ASSERT_TRUE(body.isOk());
    ASSERT_TRUE(body.value().has_value());
    EXPECT_EQ(body.value()->payload, "ok");
    EXPECT_FALSE(d.nextView().isOk());
    EXPECT_FALSE(d.nextView().isOk());
}

}  // namespace
}  // namespace wsgid::protocol
