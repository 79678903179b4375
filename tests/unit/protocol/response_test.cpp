// SPDX-License-Identifier: Apache-2.0
// Tests for Start, File and Error payloads: round trips, header/status validation, limits, and the
// Error code -> HTTP status mapping.
#include "protocol/response.h"

#include <cstdint>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "protocol/frame.h"
#include "protocol/limits.h"

namespace wsgid::protocol {
namespace {

using common::ErrorCode;

constexpr ResponseErrorCode kAllCodes[] = {
    ResponseErrorCode::AppError,        ResponseErrorCode::ScriptLoadFailed,
    ResponseErrorCode::InvalidResponse, ResponseErrorCode::BadRequest,
    ResponseErrorCode::ShuttingDown,    ResponseErrorCode::ContentLengthMismatch,
    ResponseErrorCode::Internal,        ResponseErrorCode::Busy,
    ResponseErrorCode::QueueTimeout,
};

// A Start payload with one header, bypassing the encoder's (absent) validation.
std::string startWith(std::string_view status, std::string_view name, std::string_view value) {
    return encodeResponseStart(
        ResponseStart{std::string(status), {{std::string(name), std::string(value)}}});
}

common::Result<ResponseStart> decodeHeader(std::string_view name, std::string_view value) {
    return decodeResponseStart(startWith("200 OK", name, value));
}

TEST(ResponseStart, RoundTripsStatusAndHeaders) {
    const ResponseStart s{"404 Not Found",
                          {{"Content-Type", "text/html; charset=utf-8"},
                           {"Set-Cookie", "a=1"},
                           {"Set-Cookie", "b=2"},
                           {"X-Empty", ""}}};
    auto r = decodeResponseStart(encodeResponseStart(s));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().status, s.status);
    EXPECT_EQ(r.value().headers, s.headers);
    EXPECT_EQ(r.value().statusCode(), 404);
}

TEST(ResponseStart, RoundTripsWithNoHeaders) {
    auto r = decodeResponseStart(encodeResponseStart(ResponseStart{"204 No Content", {}}));
    ASSERT_TRUE(r.isOk());
    EXPECT_TRUE(r.value().headers.empty());
    EXPECT_EQ(r.value().statusCode(), 204);
}

TEST(ResponseStart, StatusCodeReadsFirstThreeDigits) {
    EXPECT_EQ((ResponseStart{"200 OK", {}}).statusCode(), 200);
    EXPECT_EQ((ResponseStart{"599 ", {}}).statusCode(), 599);
    EXPECT_EQ((ResponseStart{"", {}}).statusCode(), 0);
}

TEST(ResponseStart, AcceptsTabAndLatin1InValues) {
    EXPECT_TRUE(decodeHeader("X-Tab", "a\tb").isOk());
    EXPECT_TRUE(decodeHeader("X-Latin1", "caf\xe9 \xff").isOk());
}

TEST(ResponseStart, RejectsControlBytesInValues) {
    for (const std::string_view bad :
         {std::string_view("a\rb"), std::string_view("a\nb"), std::string_view("a\0b", 3),
          std::string_view("x\r\nSet-Cookie: evil=1"), std::string_view("a\x7f"),
          std::string_view("a\x01")}) {
        auto r = decodeHeader("X-Bad", bad);
        ASSERT_FALSE(r.isOk()) << "value with byte sequence of length " << bad.size();
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(ResponseStart, RejectsBadHeaderNames) {
    for (const std::string_view bad :
         {std::string_view(""), std::string_view("X Y"), std::string_view("X:Y"),
          std::string_view("X-Y:"), std::string_view("X\r\nY"), std::string_view("X\0", 2),
          std::string_view("caf\xe9"), std::string_view("(x)"), std::string_view("a\tb")}) {
        auto r = decodeHeader(bad, "v");
        ASSERT_FALSE(r.isOk()) << "name '" << bad << "'";
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(ResponseStart, RejectsInvalidStatusLines) {
    for (const std::string_view bad : {"200", "2000 OK", "099 X", "200 OK\r\n", "20 OK", "",
                                       "200\tOK", "abc OK", "600 X", "200 O\nK", " 200 OK"}) {
        auto r = decodeResponseStart(encodeResponseStart(ResponseStart{std::string(bad), {}}));
        ASSERT_FALSE(r.isOk()) << "status '" << bad << "'";
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(ResponseStart, ReadsContentLength) {
    auto s = decodeHeader("content-length", "5");
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->contentLength(), 5);
    auto none = decodeHeader("X-Length", "5");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->contentLength(), std::nullopt);
}

TEST(ResponseStart, RejectsInvalidOrConflictingContentLength) {
    for (const std::string_view bad : {"", "-1", "5 ", "abc", "99999999999999999999"}) {
        auto s = decodeHeader("Content-Length", bad);
        ASSERT_FALSE(s) << "'" << bad << "'";
        EXPECT_EQ(s.status().code(), ErrorCode::ProtocolError);
    }
    const ResponseStart twice{"200 OK", {{"Content-Length", "5"}, {"content-length", "6"}}};
    EXPECT_FALSE(decodeResponseStart(encodeResponseStart(twice)));
    const ResponseStart same{"200 OK", {{"Content-Length", "5"}, {"Content-Length", "5"}}};
    auto s = decodeResponseStart(encodeResponseStart(same));
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->contentLength(), 5);
}

TEST(ResponseStart, AcceptsEmptyReasonPhrase) {
    EXPECT_TRUE(decodeResponseStart(encodeResponseStart(ResponseStart{"200 ", {}})).isOk());
}

TEST(ResponseStart, AcceptsMaxHeaders) {
    ResponseStart s{"200 OK", {}};
    for (std::uint32_t i = 0; i < kMaxResponseHeaders; ++i) {
        s.headers.emplace_back("X-H", std::to_string(i));
    }
    auto r = decodeResponseStart(encodeResponseStart(s));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().headers.size(), kMaxResponseHeaders);
}

TEST(ResponseStart, RejectsTooManyHeaders) {
    ResponseStart s{"200 OK", {}};
    for (std::uint32_t i = 0; i < kMaxResponseHeaders + 1; ++i) {
        s.headers.emplace_back("X-H", "v");
    }
    auto r = decodeResponseStart(encodeResponseStart(s));
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
}

TEST(ResponseStart, RejectsPayloadAboveLimit) {
    const ResponseStart s{"200 OK", {{"X-Big", std::string(kMaxResponseHeadBytes, 'a')}}};
    auto r = decodeResponseStart(encodeResponseStart(s));
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::LimitExceeded);
}

TEST(ResponseStart, RejectsLyingHeaderCount) {
    std::string payload;
    ByteWriter w(payload);
    w.str("200 OK");
    w.u32(kMaxResponseHeaders);  // claims 1024 headers, carries none
    auto r = decodeResponseStart(payload);
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(ResponseStart, RejectsEveryTruncation) {
    const std::string full = startWith("200 OK", "Content-Type", "text/plain");
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = decodeResponseStart(std::string_view(full).substr(0, n));
        ASSERT_FALSE(r.isOk()) << "prefix of " << n << " bytes";
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(ResponseStart, RejectsTrailingGarbage) {
    auto r = decodeResponseStart(startWith("200 OK", "A", "b") + "junk");
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(ResponseFile, RoundTrips) {
    for (const ResponseFile f :
         {ResponseFile{.offset = 0, .length = 0}, ResponseFile{.offset = 10, .length = 1U << 20},
          ResponseFile{.offset = 0, .length = kMaxFileRangeEnd},
          ResponseFile{.offset = kMaxFileRangeEnd, .length = 0}}) {
        const std::string payload = encodeResponseFile(f);
        EXPECT_EQ(payload.size(), kFilePayloadBytes);
        auto back = decodeResponseFile(payload);
        ASSERT_TRUE(back.isOk()) << back.status().message();
        EXPECT_EQ(back->offset, f.offset);
        EXPECT_EQ(back->length, f.length);
    }
}

TEST(ResponseFile, RejectsRangesBeyondSignedFileOffsets) {
    // Each part and the sum must fit off_t: a daemon's huge numbers never overflow a check.
    for (const ResponseFile f : {ResponseFile{.offset = kMaxFileRangeEnd + 1, .length = 0},
                                 ResponseFile{.offset = 0, .length = kMaxFileRangeEnd + 1},
                                 ResponseFile{.offset = 1, .length = kMaxFileRangeEnd},
                                 ResponseFile{.offset = UINT64_MAX, .length = UINT64_MAX}}) {
        auto r = decodeResponseFile(encodeResponseFile(f));
        ASSERT_FALSE(r.isOk()) << f.offset << "+" << f.length;
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(ResponseFile, RejectsEveryOtherSize) {
    const std::string payload = encodeResponseFile({.offset = 1, .length = 2});
    for (std::size_t n = 0; n < payload.size(); ++n) {
        EXPECT_FALSE(decodeResponseFile(payload.substr(0, n)).isOk()) << n;
    }
    EXPECT_FALSE(decodeResponseFile(payload + "x").isOk());
}

TEST(ResponseError, RoundTripsEveryCode) {
    for (const auto code : kAllCodes) {
        const ResponseError e{code, "message for " + std::string(toString(code))};
        auto r = decodeResponseError(encodeResponseError(e));
        ASSERT_TRUE(r.isOk()) << toString(code);
        EXPECT_EQ(r.value().code, code);
        EXPECT_EQ(r.value().message, e.message);
    }
}

TEST(ResponseError, RoundTripsEmptyMessage) {
    auto r = decodeResponseError(encodeResponseError({ResponseErrorCode::ShuttingDown, ""}));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().message, "");
}

TEST(ResponseError, TruncatesLongMessageToLimit) {
    std::string longMessage(kMaxErrorMessage, 'a');
    longMessage += "TAIL";
    const std::string payload = encodeResponseError({ResponseErrorCode::AppError, longMessage});
    EXPECT_LE(payload.size(), maxPayloadFor(FrameType::Error));
    auto r = decodeResponseError(payload);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().message, std::string(kMaxErrorMessage, 'a'));
}

TEST(ResponseError, KeepsMessageOfExactlyLimit) {
    const std::string msg(kMaxErrorMessage, 'z');
    auto r = decodeResponseError(encodeResponseError({ResponseErrorCode::Internal, msg}));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().message, msg);
}

TEST(ResponseError, RejectsUnknownCodes) {
    for (const std::uint16_t code : {0, 11, 100, 0xffff}) {
        std::string payload;
        ByteWriter w(payload);
        w.u16(code);
        w.str("x");
        auto r = decodeResponseError(payload);
        ASSERT_FALSE(r.isOk()) << code;
        EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
    }
}

TEST(ResponseError, RejectsOverlongMessageOnTheWire) {
    std::string payload;
    ByteWriter w(payload);
    w.u16(1);
    w.str(std::string(kMaxErrorMessage + 1, 'm'));
    auto r = decodeResponseError(payload);
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::ProtocolError);
}

TEST(ResponseError, RejectsTruncationAndTrailingGarbage) {
    const std::string full = encodeResponseError({ResponseErrorCode::BadRequest, "bad"});
    for (std::size_t n = 0; n < full.size(); ++n) {
        EXPECT_FALSE(decodeResponseError(std::string_view(full).substr(0, n)).isOk()) << n;
    }
    EXPECT_FALSE(decodeResponseError(full + "x").isOk());
}

TEST(ResponseError, HttpStatusMatchesProtocolDoc) {
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::AppError), 500);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::ScriptLoadFailed), 500);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::InvalidResponse), 500);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::BadRequest), 400);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::ShuttingDown), 503);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::ContentLengthMismatch), 500);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::Internal), 500);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::Busy), 503);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::QueueTimeout), 503);
    EXPECT_EQ(httpStatusFor(ResponseErrorCode::RequestTimeout), 504);
}

TEST(ResponseError, EveryCodeHasADistinctName) {
    std::set<std::string_view> names;
    for (const auto code : kAllCodes) {
        const auto name = toString(code);
        EXPECT_NE(name, "unknown");
        names.insert(name);
    }
    EXPECT_EQ(names.size(), std::size(kAllCodes));
    EXPECT_EQ(toString(static_cast<ResponseErrorCode>(99)), "unknown");
}

TEST(ResponseError, GoodbyeIsAWholeShuttingDownErrorFrame) {
    const std::string goodbye =
        encodeResponseError({ResponseErrorCode::ShuttingDown, "daemon is stopping"});
    const FrameView whole{.type = FrameType::Error,
                          .payload = goodbye,
                          .length = static_cast<std::uint32_t>(goodbye.size())};
    EXPECT_TRUE(isGoodbye(whole));

    for (const auto code : kAllCodes) {
        if (code == ResponseErrorCode::ShuttingDown) {
            continue;
        }
        const std::string other = encodeResponseError({code, "x"});
        EXPECT_FALSE(isGoodbye({.type = FrameType::Error,
                                .payload = other,
                                .length = static_cast<std::uint32_t>(other.size())}))
            << toString(code);
    }
    FrameView wrongType = whole;
    wrongType.type = FrameType::Body;
    EXPECT_FALSE(isGoodbye(wrongType));
    // A piece of a frame is not a goodbye, nor is a payload that does not decode.
    FrameView firstPiece = whole;
    firstPiece.payload = std::string_view(goodbye).substr(0, 2);
    EXPECT_FALSE(isGoodbye(firstPiece));
    FrameView garbage = whole;
    garbage.payload = "\xff\xff";
    garbage.length = 2;
    EXPECT_FALSE(isGoodbye(garbage));
}

}  // namespace
}  // namespace wsgid::protocol
