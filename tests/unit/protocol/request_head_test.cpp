// SPDX-License-Identifier: Apache-2.0
// Tests for RequestHead payloads: round trips and every malformed shape.
#include "protocol/request_head.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "protocol/frame.h"
#include "protocol/hex_bytes.h"
#include "protocol/limits.h"

namespace wsgid::protocol {
namespace {

using common::ErrorCode;
using test::hexBytes;

RequestHead fullHead() {
    RequestHead h;
    h.scriptFilename = "/srv/www/site/app.wsgi";
    h.callableObject = "make_app";
    h.applicationGroup = "site|/mount";
    h.processGroup = "site";
    h.contentLength = 1234567890123LL;
    h.receivedAtUs = 1796547600123456LL;
    h.requestId = "YkLx8n8AAQEAAAB0";
    h.environ = {{"REQUEST_METHOD", "POST"},
                 {"SCRIPT_NAME", "/mount"},
                 {"PATH_INFO", "/a b/\xe9t\xe9"},  // latin-1 bytes pass through untouched
                 {"QUERY_STRING", ""},             // empty values are legal
                 {"HTTP_X_BINARY", std::string("\0\x01\xff", 3)}};
    return h;
}

void expectSameHead(const RequestHead& a, const RequestHead& b) {
    EXPECT_EQ(a.scriptFilename, b.scriptFilename);
    EXPECT_EQ(a.callableObject, b.callableObject);
    EXPECT_EQ(a.applicationGroup, b.applicationGroup);
    EXPECT_EQ(a.processGroup, b.processGroup);
    EXPECT_EQ(a.contentLength, b.contentLength);
    EXPECT_EQ(a.receivedAtUs, b.receivedAtUs);
    EXPECT_EQ(a.requestId, b.requestId);
    EXPECT_EQ(a.environ, b.environ);
}

// Builds a RequestHead payload by hand, so tests can write what the encoder never would.
struct RawHead {
    std::uint64_t contentLength = 0;
    std::uint64_t receivedAt = 0;
    std::uint32_t count = 0;
    std::string entries;  // already-encoded entries
    std::string trailer;  // bytes after the entries

    [[nodiscard]] std::string bytes() const {
        std::string out;
        ByteWriter w(out);
        w.str("/x.wsgi");
        w.str("application");
        w.str("");
        w.str("g");
        w.u64(contentLength);
        w.u64(receivedAt);
        w.str("rid");
        w.u32(count);
        return out + entries + trailer;
    }
};

std::string entry(std::string_view k, std::string_view v) {
    std::string out;
    ByteWriter w(out);
    w.str(k);
    w.str(v);
    return out;
}

TEST(RequestHead, RoundTripsEveryField) {
    const RequestHead h = fullHead();
    auto r = decodeRequestHead(encodeRequestHead(h));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    expectSameHead(r.value(), h);
}

TEST(RequestHead, RoundTripsDefaults) {
    const RequestHead h;
    auto r = decodeRequestHead(encodeRequestHead(h));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    expectSameHead(r.value(), h);
    EXPECT_EQ(r.value().contentLength, -1);
    EXPECT_EQ(r.value().callableObject, "application");
}

TEST(RequestHead, RoundTripsContentLengthExtremes) {
    for (const std::int64_t len : {std::int64_t{-1}, std::int64_t{0}, std::int64_t{1} << 40,
                                   std::numeric_limits<std::int64_t>::max()}) {
        RequestHead h;
        h.contentLength = len;
        auto r = decodeRequestHead(encodeRequestHead(h));
        ASSERT_TRUE(r.isOk()) << len;
        EXPECT_EQ(r.value().contentLength, len);
    }
}

TEST(RequestHead, PreservesEnvironOrderAndDuplicates) {
    RequestHead h;
    h.environ = {{"B", "1"}, {"A", "2"}, {"B", "3"}};
    auto r = decodeRequestHead(encodeRequestHead(h));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().environ, h.environ);
}

TEST(RequestHead, AcceptsMaxEnvironEntries) {
    RequestHead h;
    for (std::uint32_t i = 0; i < kMaxEnvironEntries; ++i) {
        h.environ.emplace_back("HTTP_X_" + std::to_string(i), "v");
    }
    auto r = decodeRequestHead(encodeRequestHead(h));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().environ.size(), kMaxEnvironEntries);
}

TEST(RequestHead, RejectsTooManyEnvironEntries) {
    RequestHead h;
    for (std::uint32_t i = 0; i < kMaxEnvironEntries + 1; ++i) {
        h.environ.emplace_back("K" + std::to_string(i), "");
    }
    auto r = decodeRequestHead(encodeRequestHead(h));
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
}

TEST(RequestHead, RejectsEveryTruncation) {
    const std::string full = encodeRequestHead(fullHead());
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = decodeRequestHead(std::string_view(full).substr(0, n));
        ASSERT_FALSE(r.isOk()) << "prefix of " << n << " bytes";
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(RequestHead, RejectsTrailingGarbage) {
    auto r = decodeRequestHead(encodeRequestHead(fullHead()) + "x");
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsCountLargerThanEntries) {
    RawHead raw;
    raw.count = 3;
    raw.entries = entry("A", "1") + entry("B", "2");
    auto r = decodeRequestHead(raw.bytes());
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsCountSmallerThanEntries) {
    RawHead raw;
    raw.count = 1;
    raw.entries = entry("A", "1") + entry("B", "2");
    auto r = decodeRequestHead(raw.bytes());
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsLyingCountBeforeReserving) {
    // 4096 claimed entries with no bytes behind them: refused without allocating for them.
    RawHead raw;
    raw.count = kMaxEnvironEntries;
    auto r = decodeRequestHead(raw.bytes());
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsStringLengthBeyondPayload) {
    RawHead raw;
    raw.count = 1;
    raw.entries = hexBytes("ff ff ff 7f") + "K";
    auto r = decodeRequestHead(raw.bytes());
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsContentLengthBelowMinusOne) {
    for (const std::int64_t len : {std::int64_t{-2}, std::numeric_limits<std::int64_t>::min()}) {
        RawHead raw;
        raw.contentLength = static_cast<std::uint64_t>(len);
        auto r = decodeRequestHead(raw.bytes());
        ASSERT_FALSE(r.isOk()) << len;
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(RequestHead, RejectsReceivedAtAboveInt64) {
    RawHead raw;
    raw.receivedAt = std::uint64_t{1} << 63;
    auto r = decodeRequestHead(raw.bytes());
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsEmptyEnvironKey) {
    RawHead raw;
    raw.count = 2;
    raw.entries = entry("A", "1") + entry("", "x");
    auto r = decodeRequestHead(raw.bytes());
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(RequestHead, RejectsPayloadAboveLimit) {
    auto r = decodeRequestHead(std::string(kMaxRequestHeadBytes + 1, '\0'));
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
}

TEST(RequestHead, EmptyPayloadIsMalformed) {
    auto r = decodeRequestHead("");
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

}  // namespace
}  // namespace wsgid::protocol
