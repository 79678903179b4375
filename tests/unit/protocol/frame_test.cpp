// SPDX-License-Identifier: Apache-2.0
// Tests for the frame header and the incremental FrameDecoder: splits, limits, sticky errors.
// Pure: no sockets here.
#include "protocol/frame.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/hex_bytes.h"
#include "protocol/limits.h"
#include "protocol/same_frames.h"

namespace wsgid::protocol {
namespace {

using common::ErrorCode;
using test::expectSameFrames;
using test::hexBytes;

std::string frameBytes(FrameType type, std::uint16_t flags, std::string_view payload) {
    std::string out;
    appendFrame(out, type, flags, payload);
    return out;
}

std::string headerBytes(std::uint8_t version, std::uint8_t type, std::uint32_t length) {
    std::string out(kFrameHeaderSize, '\0');
    out[0] = static_cast<char>(version);
    out[1] = static_cast<char>(type);
    for (int i = 0; i < 4; ++i) {
        out[4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
    }
    return out;
}

// Drains every complete frame; fails the test on a decoder error.
std::vector<Frame> drain(FrameDecoder& d) {
    std::vector<Frame> frames;
    for (;;) {
        auto r = d.next();
        EXPECT_TRUE(r.isOk()) << r.status().message();
        if (!r.isOk() || !r.value().has_value()) {
            return frames;
        }
        frames.push_back(std::move(*r.value()));
    }
}

// A stream of frames of every type, with payloads of assorted sizes and flags.
struct Stream {
    std::string bytes;
    std::vector<Frame> frames;
};

Stream sampleStream() {
    Stream s;
    auto add = [&s](FrameType t, std::uint16_t flags, std::string payload) {
        appendFrame(s.bytes, t, flags, payload);
        s.frames.push_back(Frame{t, flags, std::move(payload)});
    };
    add(FrameType::Hello, 0, std::string(8, '\x01'));
    add(FrameType::RequestHead, 0, std::string(3000, 'h'));
    add(FrameType::BodyChunk, 0, "x");
    add(FrameType::BodyChunk, 0, std::string(70000, '\xff'));
    add(FrameType::BodyEnd, kBodyAbandoned, "");
    add(FrameType::HelloAck, 0, "abcd");
    add(FrameType::Start, 0, std::string(100, '\0'));
    add(FrameType::Body, 0x8001, "body");
    add(FrameType::End, 0, "");
    add(FrameType::Error, 0, std::string(4112, 'e'));
    return s;
}

TEST(FrameHeader, EncodesVersionTypeFlagsAndLengthLittleEndian) {
    char out[kFrameHeaderSize];
    encodeHeader(FrameType::Body, 0x0201, 0x04030201, out);
    EXPECT_EQ(std::string(out, kFrameHeaderSize), hexBytes("04 12 01 02 01 02 03 04"));
}

TEST(FrameHeader, AppendFrameAddsHeaderThenPayload) {
    std::string out = "prefix";
    appendFrame(out, FrameType::Body, 0, "abc");
    EXPECT_EQ(out, "prefix" + hexBytes("04 12 00 00 03 00 00 00") + "abc");
}

TEST(FrameType, KnownTypesAreExactlyTheDocumentedOnes) {
    const std::vector<int> documented = {1, 2, 3, 4, 16, 17, 18, 19, 20, 21, 22, 23};
    for (int t = 0; t < 256; ++t) {
        const bool want = std::find(documented.begin(), documented.end(), t) != documented.end();
        EXPECT_EQ(isKnownFrameType(static_cast<std::uint8_t>(t)), want) << "type " << t;
    }
}

TEST(FrameType, MaxPayloadMatchesProtocolDoc) {
    EXPECT_EQ(maxPayloadFor(FrameType::Hello), 64U);
    EXPECT_EQ(maxPayloadFor(FrameType::RequestHead), 4U * 1024 * 1024);
    EXPECT_EQ(maxPayloadFor(FrameType::BodyChunk), 256U * 1024);
    EXPECT_EQ(maxPayloadFor(FrameType::BodyEnd), 0U);
    EXPECT_EQ(maxPayloadFor(FrameType::HelloAck), 64U);
    EXPECT_EQ(maxPayloadFor(FrameType::Start), 1024U * 1024);
    EXPECT_EQ(maxPayloadFor(FrameType::Body), 256U * 1024);
    EXPECT_EQ(maxPayloadFor(FrameType::End), 0U);
    EXPECT_EQ(maxPayloadFor(FrameType::Error), 4112U);
    EXPECT_EQ(maxPayloadFor(FrameType::Challenge), 64U);
    EXPECT_EQ(maxPayloadFor(FrameType::SendBody), 0U);
    EXPECT_EQ(maxPayloadFor(FrameType::File), 16U);
}

TEST(FrameDecoder, EmptyDecoderNeedsMore) {
    FrameDecoder d;
    auto r = d.next();
    ASSERT_TRUE(r.isOk());
    EXPECT_FALSE(r.value().has_value());
    EXPECT_EQ(d.buffered(), 0U);
}

TEST(FrameDecoder, DecodesOneFrame) {
    FrameDecoder d;
    d.feed(frameBytes(FrameType::Body, 0x0102, "hello"));
    auto r = d.next();
    ASSERT_TRUE(r.isOk());
    ASSERT_TRUE(r.value().has_value());
    EXPECT_EQ(r.value()->type, FrameType::Body);
    EXPECT_EQ(r.value()->flags, 0x0102);
    EXPECT_EQ(r.value()->payload, "hello");
    EXPECT_EQ(d.buffered(), 0U);
    auto again = d.next();
    ASSERT_TRUE(again.isOk());
    EXPECT_FALSE(again.value().has_value());
}

TEST(FrameDecoder, WaitsForWholeHeader) {
    FrameDecoder d;
    const std::string f = frameBytes(FrameType::End, 0, "");
    d.feed(std::string_view(f).substr(0, kFrameHeaderSize - 1));
    auto r = d.next();
    ASSERT_TRUE(r.isOk());
    EXPECT_FALSE(r.value().has_value());
    EXPECT_EQ(d.buffered(), kFrameHeaderSize - 1);
    d.feed(std::string_view(f).substr(kFrameHeaderSize - 1));
    auto done = d.next();
    ASSERT_TRUE(done.isOk());
    ASSERT_TRUE(done.value().has_value());
    EXPECT_EQ(done.value()->type, FrameType::End);
}

TEST(FrameDecoder, WaitsForTruncatedPayload) {
    FrameDecoder d;
    const std::string f = frameBytes(FrameType::Body, 0, "0123456789");
    d.feed(std::string_view(f).substr(0, f.size() - 1));
    auto r = d.next();
    ASSERT_TRUE(r.isOk());
    EXPECT_FALSE(r.value().has_value());
    EXPECT_EQ(d.buffered(), f.size() - 1);
    d.feed(std::string_view(f).substr(f.size() - 1));
    auto done = d.next();
    ASSERT_TRUE(done.isOk());
    ASSERT_TRUE(done.value().has_value());
    EXPECT_EQ(done.value()->payload, "0123456789");
}

TEST(FrameDecoder, DecodesStreamFedByteByByte) {
    const Stream s = sampleStream();
    FrameDecoder d;
    std::vector<Frame> got;
    for (const char c : s.bytes) {
        d.feed(std::string_view(&c, 1));
        auto more = drain(d);
        for (auto& f : more) {
            got.push_back(std::move(f));
        }
    }
    expectSameFrames(got, s.frames);
    EXPECT_EQ(d.buffered(), 0U);
}

TEST(FrameDecoder, DecodesStreamInRandomSplits) {
    const Stream s = sampleStream();
    std::mt19937 rng(20240601);  // fixed seed: failures must reproduce
    for (int round = 0; round < 200; ++round) {
        std::uniform_int_distribution<std::size_t> size(1, 1 + (round % 4 == 0 ? 70000 : 300));
        FrameDecoder d;
        std::vector<Frame> got;
        std::size_t pos = 0;
        while (pos < s.bytes.size()) {
            const std::size_t n = std::min(size(rng), s.bytes.size() - pos);
            d.feed(std::string_view(s.bytes).substr(pos, n));
            pos += n;
            for (auto& f : drain(d)) {
                got.push_back(std::move(f));
            }
        }
        expectSameFrames(got, s.frames);
        EXPECT_EQ(d.buffered(), 0U);
        if (::testing::Test::HasFailure()) {
            FAIL() << "round " << round;
        }
    }
}

TEST(FrameDecoder, DecodesManyFramesFromOneFeed) {
    std::string bytes;
    for (int i = 0; i < 1000; ++i) {
        appendFrame(bytes, FrameType::Body, static_cast<std::uint16_t>(i), std::to_string(i));
    }
    FrameDecoder d;
    d.feed(bytes);
    const auto frames = drain(d);
    ASSERT_EQ(frames.size(), 1000U);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(frames[i].flags, i);
        EXPECT_EQ(frames[i].payload, std::to_string(i));
    }
}

TEST(FrameDecoder, KeepsPartialTailAcrossFrames) {
    const std::string a = frameBytes(FrameType::Body, 0, "first");
    const std::string b = frameBytes(FrameType::Body, 0, "second");
    FrameDecoder d;
    d.feed(a + b.substr(0, 3));
    auto frames = drain(d);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].payload, "first");
    EXPECT_EQ(d.buffered(), 3U);
    d.feed(b.substr(3));
    frames = drain(d);
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].payload, "second");
}

TEST(FrameDecoder, AcceptsPayloadAtExactLimit) {
    FrameDecoder d;
    d.feed(frameBytes(FrameType::Body, 0, std::string(kMaxDataChunk, 'b')));
    auto r = d.next();
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_TRUE(r.value().has_value());
    EXPECT_EQ(r.value()->payload.size(), kMaxDataChunk);
}

TEST(FrameDecoder, AcceptsEmptyPayloadForEmptyFrames) {
    FrameDecoder d;
    d.feed(frameBytes(FrameType::BodyEnd, kBodyAbandoned, "") + frameBytes(FrameType::End, 0, ""));
    const auto frames = drain(d);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[0].type, FrameType::BodyEnd);
    EXPECT_EQ(frames[0].flags, kBodyAbandoned);
    EXPECT_EQ(frames[1].type, FrameType::End);
}

TEST(FrameDecoder, RejectsWrongVersion) {
    for (const int version : {0, 1, 2, 3, 5, 255}) {
        FrameDecoder d;
        d.feed(headerBytes(static_cast<std::uint8_t>(version), 18, 0));
        auto r = d.next();
        ASSERT_FALSE(r.isOk()) << "version " << version;
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
        EXPECT_NE(r.status().message().find("version"), std::string::npos);
    }
}

TEST(FrameDecoder, RejectsUnknownType) {
    for (const int type : {0, 5, 15, 24, 128, 255}) {
        FrameDecoder d;
        d.feed(headerBytes(kProtocolVersion, static_cast<std::uint8_t>(type), 0));
        auto r = d.next();
        ASSERT_FALSE(r.isOk()) << "type " << type;
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(FrameDecoder, RejectsLengthAboveLimitFromHeaderAlone) {
    struct Case {
        FrameType type;
        std::uint32_t length;
    };
    const Case cases[] = {
        {FrameType::Hello, 65},
        {FrameType::RequestHead, kMaxRequestHeadBytes + 1},
        {FrameType::BodyChunk, kMaxDataChunk + 1},
        {FrameType::BodyEnd, 1},
        {FrameType::HelloAck, 65},
        {FrameType::Challenge, 65},
        {FrameType::Start, kMaxResponseHeadBytes + 1},
        {FrameType::Body, kMaxDataChunk + 1},
        {FrameType::End, 1},
        {FrameType::Error, kMaxErrorMessage + 17},
        {FrameType::File, kFilePayloadBytes + 1},
        {FrameType::Body, 0xffffffffU},
    };
    for (const auto& c : cases) {
        FrameDecoder d;
        // Only the header: the payload never arrives, yet the frame is refused.
        d.feed(headerBytes(kProtocolVersion, static_cast<std::uint8_t>(c.type), c.length));
        auto r = d.next();
        ASSERT_FALSE(r.isOk()) << "type " << static_cast<int>(c.type);
        EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
    }
}

TEST(FrameDecoder, ChecksHeaderBeforeBufferingEarlierFramesPayload) {
    // A good frame followed by the header of an oversized one: the good frame comes out, then
    // the error, without waiting for the oversized payload.
    FrameDecoder d;
    d.feed(frameBytes(FrameType::Body, 0, "ok") +
           headerBytes(kProtocolVersion, static_cast<std::uint8_t>(FrameType::Body),
                       kMaxDataChunk + 1));
    auto first = d.next();
    ASSERT_TRUE(first.isOk());
    ASSERT_TRUE(first.value().has_value());
    EXPECT_EQ(first.value()->payload, "ok");
    auto second = d.next();
    ASSERT_FALSE(second.isOk());
    EXPECT_EQ(second.status().code(), ErrorCode::LimitExceeded);
}

TEST(FrameDecoder, RejectsTrailingGarbageAfterFrames) {
    FrameDecoder d;
    d.feed(frameBytes(FrameType::End, 0, "") + "GET / HTTP/1.1\r\n");
    auto first = d.next();
    ASSERT_TRUE(first.isOk());
    ASSERT_TRUE(first.value().has_value());
    auto second = d.next();
    ASSERT_FALSE(second.isOk());
    EXPECT_EQ(second.status().code(), ErrorCode::ProtocolError);
}

TEST(FrameDecoder, ErrorsAreSticky) {
    FrameDecoder d;
    d.feed(headerBytes(9, 18, 0));
    auto first = d.next();
    ASSERT_FALSE(first.isOk());
    // Valid frames fed afterwards never come out: the stream is out of sync for good.
    d.feed(frameBytes(FrameType::End, 0, ""));
    for (int i = 0; i < 3; ++i) {
        auto r = d.next();
        ASSERT_FALSE(r.isOk());
        EXPECT_EQ(r.status().code(), first.status().code());
        EXPECT_EQ(r.status().message(), first.status().message());
    }
}

TEST(FrameDecoder, LimitErrorIsSticky) {
    FrameDecoder d;
    d.feed(headerBytes(kProtocolVersion, static_cast<std::uint8_t>(FrameType::End), 5));
    ASSERT_FALSE(d.next().isOk());
    d.feed("12345");
    auto r = d.next();
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
}

TEST(FrameDecoder, BufferedCountsBytesNotYetReturned) {
    FrameDecoder d;
    const std::string a = frameBytes(FrameType::Body, 0, "abc");
    d.feed(a + a);
    EXPECT_EQ(d.buffered(), 2 * a.size());
    ASSERT_TRUE(d.next().isOk());
    EXPECT_EQ(d.buffered(), a.size());
    ASSERT_TRUE(d.next().isOk());
    EXPECT_EQ(d.buffered(), 0U);
}

TEST(FrameDecoder, LargeFrameArrivingInPiecesIsAssembledWithTheFramesAroundIt) {
    // A body frame larger than what arrived so far is assembled straight into its payload: the
    // frames before and after it, the byte counts and the flags must not notice.
    const std::string before = frameBytes(FrameType::Start, 0, "head");
    std::string big(200000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + i % 23);
    }
    const std::string large = frameBytes(FrameType::Body, 7, big);
    const std::string after = frameBytes(FrameType::End, 0, "");
    const std::string stream = before + large + after;
    for (const std::size_t piece : {1000U, 65536U, 199999U}) {
        FrameDecoder d;
        std::vector<Frame> got;
        std::size_t fed = 0;
        while (fed < stream.size()) {
            const std::size_t n = std::min(piece, stream.size() - fed);
            d.feed(std::string_view(stream).substr(fed, n));
            fed += n;
            for (auto& f : drain(d)) {
                got.push_back(std::move(f));
            }
            std::size_t returned = 0;
            for (const Frame& f : got) {
                returned += kFrameHeaderSize + f.payload.size();
            }
            ASSERT_EQ(d.buffered(), fed - returned) << "piece " << piece << " at " << fed;
        }
        ASSERT_EQ(got.size(), 3U) << "piece " << piece;
        EXPECT_EQ(got[0].payload, "head");
        EXPECT_EQ(got[1].type, FrameType::Body);
        EXPECT_EQ(got[1].flags, 7);
        EXPECT_EQ(got[1].payload, big);
        EXPECT_EQ(got[2].type, FrameType::End);
        EXPECT_EQ(d.buffered(), 0U);
    }
}

TEST(FrameDecoder, LongStreamOfLargeFramesDecodesIntact) {
    // Exercises buffer compaction: many frames, each fed in two pieces straddling frames.
    FrameDecoder d;
    std::string pending;
    std::size_t seen = 0;
    for (int i = 0; i < 64; ++i) {
        pending +=
            frameBytes(FrameType::Body, 0, std::string(40000, static_cast<char>('a' + i % 26)));
        const std::size_t cut = pending.size() - 123;
        d.feed(std::string_view(pending).substr(0, cut));
        pending.erase(0, cut);
        for (const auto& f : drain(d)) {
            ASSERT_EQ(f.payload, std::string(40000, static_cast<char>('a' + seen % 26)));
            ++seen;
        }
    }
    d.feed(pending);
    seen += drain(d).size();
    EXPECT_EQ(seen, 64U);
    EXPECT_EQ(d.buffered(), 0U);
}

TEST(FrameDecoder, NextHeaderLeavesThePayloadToTheCaller) {
    // The caller takes the payload itself: what is buffered with takeBuffered(), the rest from
    // its own reads, which it never feeds; then frames decode as usual again.
    const std::string payload = "0123456789";
    const std::string after = frameBytes(FrameType::BodyEnd, kBodyAbandoned, "");
    FrameDecoder d;
    d.feed(frameBytes(FrameType::BodyChunk, 3, payload).substr(0, kFrameHeaderSize + 4));
    auto header = d.nextHeader();
    ASSERT_TRUE(header.isOk()) << header.status().message();
    ASSERT_TRUE(header.value().has_value());
    EXPECT_EQ(header.value()->type, FrameType::BodyChunk);
    EXPECT_EQ(header.value()->flags, 3);
    EXPECT_EQ(header.value()->length, 10U);
    EXPECT_EQ(d.buffered(), 4U);
    char out[16];
    EXPECT_EQ(d.takeBuffered(std::span<char>(out, 3)), 3U);
    EXPECT_EQ(d.takeBuffered(std::span<char>(out + 3, 13)), 1U);
    EXPECT_EQ(std::string(out, 4), "0123");
    EXPECT_EQ(d.buffered(), 0U);
    // Bytes 4..9 of the payload were read by the caller; the stream goes on after them.
    d.feed(after.substr(0, 3));
    auto none = d.nextHeader();
    ASSERT_TRUE(none.isOk());
    EXPECT_FALSE(none.value().has_value());
    d.feed(after.substr(3));
    auto end = d.next();
    ASSERT_TRUE(end.isOk());
    ASSERT_TRUE(end.value().has_value());
    EXPECT_EQ(end.value()->type, FrameType::BodyEnd);
    EXPECT_EQ(end.value()->flags, kBodyAbandoned);
}

TEST(FrameDecoder, NextHeaderTakesOverALargeFrameNextBeganToAssemble) {
    std::string big(200000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + i % 19);
    }
    const std::string stream =
        frameBytes(FrameType::BodyChunk, 0, big) + frameBytes(FrameType::BodyEnd, 0, "");
    FrameDecoder d;
    d.feed(std::string_view(stream).substr(0, 70000));
    auto pending = d.next();
    ASSERT_TRUE(pending.isOk());
    ASSERT_FALSE(pending.value().has_value());  // assembling in place now
    d.feed(std::string_view(stream).substr(70000, 30000));
    auto header = d.nextHeader();
    ASSERT_TRUE(header.isOk());
    ASSERT_TRUE(header.value().has_value());
    EXPECT_EQ(header.value()->type, FrameType::BodyChunk);
    EXPECT_EQ(header.value()->length, big.size());
    std::string got(100000 - kFrameHeaderSize, '\0');
    EXPECT_EQ(d.takeBuffered(got), got.size());
    EXPECT_EQ(got, big.substr(0, got.size()));
    d.feed(std::string_view(stream).substr(100000 + big.size() - got.size()));
    auto end = d.next();
    ASSERT_TRUE(end.isOk());
    ASSERT_TRUE(end.value().has_value());
    EXPECT_EQ(end.value()->type, FrameType::BodyEnd);
}

TEST(FrameDecoder, NextHeaderValidatesLikeNextAndItsErrorsAreSticky) {
    FrameDecoder d;
    d.feed(headerBytes(kProtocolVersion, static_cast<std::uint8_t>(FrameType::BodyChunk),
                       kMaxDataChunk + 1));
    auto r = d.nextHeader();
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
    EXPECT_FALSE(d.next().isOk());
    FrameDecoder bad;
    bad.feed(headerBytes(kProtocolVersion + 1, 3, 0));
    auto v = bad.nextHeader();
    ASSERT_FALSE(v.isOk());
    EXPECT_EQ(v.status().code(), ErrorCode::ProtocolError);
    EXPECT_FALSE(bad.nextHeader().isOk());
}

// In-place use: receives `stream` through prepare()/commit() in reads of at most `piece` bytes
// (as recv() would cut them), draining with nextView() after each; the views are copied out at
// once (they live only until the next prepare()).
std::vector<Frame> receiveInPlace(FrameDecoder& d, std::string_view stream, std::size_t piece,
                                  std::size_t atLeast) {
    std::vector<Frame> got;
    while (!stream.empty()) {
        const std::span<char> room = d.prepare(atLeast);
        EXPECT_GE(room.size(), atLeast);
        const std::size_t n = std::min({piece, room.size(), stream.size()});
        std::copy_n(stream.data(), n, room.data());
        d.commit(n);
        stream.remove_prefix(n);
        for (;;) {
            auto r = d.nextView();
            EXPECT_TRUE(r.isOk()) << r.status().message();
            if (!r.isOk() || !r.value()) {
                break;
            }
            got.push_back(
                Frame{r.value()->type, r.value()->flags, std::string(r.value()->payload)});
        }
    }
    return got;
}

TEST(FrameDecoderInPlace, DecodesStreamInEverySplit) {
    const Stream s = sampleStream();
    for (const std::size_t piece : {1U, 7U, 300U, 4096U, 65536U, 1000000U}) {
        for (const std::size_t atLeast : {1U, 4096U, 73728U}) {
            FrameDecoder d;
            expectSameFrames(receiveInPlace(d, s.bytes, piece, atLeast), s.frames);
            EXPECT_EQ(d.buffered(), 0U);
            if (::testing::Test::HasFailure()) {
                FAIL() << "piece " << piece << ", at least " << atLeast;
            }
        }
    }
}

TEST(FrameDecoderInPlace, RoomHoldsTheRestOfTheFrameAtTheHead) {
    // Once a frame's header is here, prepare() makes room for all of it: a large body frame is
    // then received in place, in one read if the socket has it all.
    std::string big(200000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + i % 23);
    }
    const std::string stream =
        frameBytes(FrameType::Body, 3, big) + frameBytes(FrameType::End, 0, "");
    FrameDecoder d;
    std::span<char> room = d.prepare(1000);
    ASSERT_GE(room.size(), 1000U);
    std::copy_n(stream.data(), 1000, room.data());
    d.commit(1000);
    auto none = d.nextView();
    ASSERT_TRUE(none.isOk());
    EXPECT_FALSE(none.value().has_value());
    room = d.prepare(1);
    const std::size_t rest = kFrameHeaderSize + big.size() - 1000;
    ASSERT_GE(room.size(), rest);
    std::copy_n(stream.data() + 1000, rest, room.data());
    d.commit(rest);
    auto body = d.nextView();
    ASSERT_TRUE(body.isOk());
    ASSERT_TRUE(body.value().has_value());
    EXPECT_EQ(body.value()->type, FrameType::Body);
    EXPECT_EQ(body.value()->flags, 3);
    EXPECT_EQ(body.value()->payload, big);
    room = d.prepare(kFrameHeaderSize);
    ASSERT_GE(room.size(), kFrameHeaderSize);
    std::copy_n(stream.data() + 1000 + rest, kFrameHeaderSize, room.data());
    d.commit(kFrameHeaderSize);
    auto end = d.nextView();
    ASSERT_TRUE(end.isOk());
    ASSERT_TRUE(end.value().has_value());
    EXPECT_EQ(end.value()->type, FrameType::End);
    EXPECT_EQ(d.buffered(), 0U);
}

TEST(FrameDecoderInPlace, ChecksHeadersAndKeepsErrorsSticky) {
    FrameDecoder d;
    const std::string bad =
        headerBytes(kProtocolVersion, static_cast<std::uint8_t>(FrameType::End), 1);
    std::span<char> room = d.prepare(bad.size());
    std::copy_n(bad.data(), bad.size(), room.data());
    d.commit(bad.size());
    auto r = d.nextView();
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
    (void)d.prepare(1);  // an error does not make prepare() size anything after the bad header
    auto again = d.nextView();
    ASSERT_FALSE(again.isOk());
    EXPECT_EQ(again.status().code(), ErrorCode::LimitExceeded);
}

TEST(FrameDecoderInPlace, CommitNeverCountsMoreThanTheRoom) {
    FrameDecoder d;
    const std::span<char> room = d.prepare(16);
    d.commit(room.size() + 100);
    EXPECT_EQ(d.buffered(), room.size());
}

}  // namespace
}  // namespace wsgid::protocol
