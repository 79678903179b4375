// SPDX-License-Identifier: Apache-2.0
// Tests for the HTTP syntax checks both ends rely on: tokens, safe values, status lines and
// hop-by-hop header names.
#include "common/http_syntax.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

TEST(HttpToken, AcceptsHeaderNames) {
    for (const std::string_view ok :
         {"Content-Type", "X-Request-Id", "a", "Set-Cookie", "x!#$%&'*+-.^_`|~09AZaz"}) {
        EXPECT_TRUE(isHttpToken(ok)) << ok;
    }
}

TEST(HttpToken, RejectsEmptyAndSeparators) {
    EXPECT_FALSE(isHttpToken(""));
    for (const char c : std::string_view("()<>@,;:\\\"/[]?={} \t")) {
        const std::string name = std::string("X") + c + "Y";
        EXPECT_FALSE(isHttpToken(name)) << "separator '" << c << "'";
    }
}

TEST(HttpToken, RejectsControlAndNonAsciiBytes) {
    for (int c = 0; c < 0x20; ++c) {
        EXPECT_FALSE(isHttpToken(std::string(1, static_cast<char>(c)))) << c;
    }
    EXPECT_FALSE(isHttpToken("\x7f"));
    EXPECT_FALSE(isHttpToken("caf\xe9"));
    EXPECT_FALSE(isHttpToken("\x80"));
    EXPECT_FALSE(isHttpToken("\xff"));
}

TEST(SafeHeaderValue, AcceptsPrintableTabAndEmpty) {
    EXPECT_TRUE(isSafeHeaderValue(""));
    EXPECT_TRUE(isSafeHeaderValue("text/html; charset=utf-8"));
    EXPECT_TRUE(isSafeHeaderValue("a\tb"));
    EXPECT_TRUE(isSafeHeaderValue(" leading and trailing spaces "));
}

TEST(SafeHeaderValue, AcceptsLatin1HighBytes) {
    for (int c = 0x80; c <= 0xff; ++c) {
        EXPECT_TRUE(isSafeHeaderValue(std::string(1, static_cast<char>(c)))) << c;
    }
}

TEST(SafeHeaderValue, RejectsCrLfNulDelAndOtherControls) {
    EXPECT_FALSE(isSafeHeaderValue("a\rb"));
    EXPECT_FALSE(isSafeHeaderValue("a\nb"));
    EXPECT_FALSE(isSafeHeaderValue(std::string_view("a\0b", 3)));
    EXPECT_FALSE(isSafeHeaderValue("a\x7f"));
    for (int c = 0; c < 0x20; ++c) {
        if (c != '\t') {
            EXPECT_FALSE(isSafeHeaderValue(std::string(1, static_cast<char>(c)))) << c;
        }
    }
}

TEST(StatusLine, AcceptsPep3333StatusLines) {
    for (const std::string_view ok : {"200 OK", "404 Not Found", "100 Continue", "599 Whatever",
                                      "200 ", "302 Found\there", "200 caf\xe9"}) {
        EXPECT_TRUE(isValidStatusLine(ok)) << ok;
    }
}

TEST(StatusLine, RejectsMalformedStatusLines) {
    for (const std::string_view bad :
         {"", "200", "20 OK", "2000 OK", "099 X", "000 X", "600 X", "999 X", "200 OK\r\n",
          "200 OK\n", "200\tOK", "2x0 OK", " 200 OK", "200-OK", "OK 200"}) {
        EXPECT_FALSE(isValidStatusLine(bad)) << "'" << bad << "'";
    }
    EXPECT_FALSE(isValidStatusLine(std::string_view("200 O\0K", 7)));
}

TEST(StatusLine, FinalExcludesInterimStatuses) {
    for (const std::string_view final : {"200 OK", "204 ", "304 Not Modified", "599 X"}) {
        EXPECT_TRUE(isFinalStatusLine(final)) << final;
    }
    for (const std::string_view notFinal :
         {"100 Continue", "101 Switching Protocols", "103 Early Hints", "199 X", "200", "600 X"}) {
        EXPECT_FALSE(isFinalStatusLine(notFinal)) << notFinal;
    }
}

TEST(ContentLength, ParsesDigitsOnly) {
    EXPECT_EQ(parseContentLength("0"), 0);
    EXPECT_EQ(parseContentLength("5"), 5);
    EXPECT_EQ(parseContentLength("007"), 7);
    EXPECT_EQ(parseContentLength("9223372036854775807"), INT64_MAX);
    for (const std::string_view bad :
         {"", "-1", "+1", " 5", "5 ", "5,5", "0x10", "1e3", "9223372036854775808", "abc"}) {
        EXPECT_EQ(parseContentLength(bad), std::nullopt) << "'" << bad << "'";
    }
}

TEST(HopByHop, RecognisesEveryHopByHopHeaderCaseInsensitively) {
    for (const std::string_view name :
         {"Connection", "keep-alive", "Proxy-Authenticate", "PROXY-AUTHORIZATION", "TE", "Trailers",
          "Transfer-Encoding", "Upgrade"}) {
        EXPECT_TRUE(isHopByHopHeader(name)) << name;
    }
}

TEST(HopByHop, EndToEndHeadersAreNotHopByHop) {
    for (const std::string_view name : {"Content-Type", "Content-Length", "Set-Cookie", "Trailer",
                                        "Connectionx", "", "T", "Keep-Alive-X"}) {
        EXPECT_FALSE(isHopByHopHeader(name)) << name;
    }
}

}  // namespace
}  // namespace wsgid::common
