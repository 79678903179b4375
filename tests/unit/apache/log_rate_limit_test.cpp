// SPDX-License-Identifier: Apache-2.0
// The log relay's token bucket and line assembly, with an injected clock.
#include "apache/log_rate_limit.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/utf8_cut.h"

namespace wsgid::apache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const RelayClock::time_point kT0{seconds(1000)};

TEST(TokenBucket, StartsFullAndAllowsTheBurst) {
    TokenBucket b(100, 1000, kT0);
    EXPECT_TRUE(b.take(600, kT0));
    EXPECT_TRUE(b.take(400, kT0));
    EXPECT_FALSE(b.take(1, kT0));
}

TEST(TokenBucket, RefusesALineLargerThanWhatIsLeftAndTakesNothing) {
    TokenBucket b(100, 1000, kT0);
    EXPECT_TRUE(b.take(900, kT0));
    EXPECT_FALSE(b.take(200, kT0));
    EXPECT_EQ(b.tokens(), 100U);
    EXPECT_TRUE(b.take(100, kT0));
}

TEST(TokenBucket, RefillsAtTheSustainedRate) {
    TokenBucket b(100, 1000, kT0);
    ASSERT_TRUE(b.take(1000, kT0));
    EXPECT_FALSE(b.take(11, kT0 + milliseconds(100)));
    EXPECT_TRUE(b.take(10, kT0 + milliseconds(100)));
    EXPECT_TRUE(b.take(100, kT0 + milliseconds(1100)));
    EXPECT_FALSE(b.take(1, kT0 + milliseconds(1100)));
}

TEST(TokenBucket, CarriesFractionsOfATokenAcrossManySmallSteps) {
    TokenBucket b(3, 100, kT0);
    ASSERT_TRUE(b.take(100, kT0));
    auto t = kT0;
    for (int i = 0; i < 1000; ++i) {  // 1000 x 1 ms = 1 s = 3 tokens
        t += milliseconds(1);
        (void)b.take(0, t);
    }
    EXPECT_EQ(b.tokens(), 3U);
}

TEST(TokenBucket, NeverHoldsMoreThanTheBurstAfterALongIdle) {
    TokenBucket b(kLogRateBytesPerSecond, kLogBurstBytes, kT0);
    ASSERT_TRUE(b.take(kLogBurstBytes, kT0));
    EXPECT_TRUE(b.take(0, kT0 + std::chrono::hours(24 * 365)));
    EXPECT_EQ(b.tokens(), kLogBurstBytes);
    EXPECT_FALSE(b.take(kLogBurstBytes + 1, kT0 + std::chrono::hours(24 * 366)));
}

TEST(TokenBucket, IgnoresATimeBeforeTheLastOne) {
    TokenBucket b(100, 1000, kT0);
    ASSERT_TRUE(b.take(1000, kT0));
    EXPECT_FALSE(b.take(1, kT0 - seconds(5)));
    EXPECT_TRUE(b.take(100, kT0 + seconds(1)));
}

TEST(TokenBucket, FloodOverTenSecondsPassesBurstPlusRate) {
    TokenBucket b(kLogRateBytesPerSecond, kLogBurstBytes, kT0);
    std::uint64_t passed = 0;
    auto t = kT0;
    for (int i = 0; i < 100000; ++i) {  // 10 lines of 200 bytes per ms (2 MB/s) for 10 s
        if (i % 10 == 0) {
            t += milliseconds(1);
        }
        if (b.take(200, t)) {
            passed += 200;
        }
    }
    EXPECT_LE(passed, kLogBurstBytes + 10 * kLogRateBytesPerSecond);
    EXPECT_GE(passed, kLogBurstBytes + 9 * kLogRateBytesPerSecond);
}

std::vector<std::string> feedAll(LineAssembler& a, std::initializer_list<std::string_view> parts) {
    std::vector<std::string> out;
    for (const auto p : parts) {
        a.feed(p, out);
    }
    return out;
}

TEST(LineAssembler, JoinsLinesAcrossReads) {
    LineAssembler a(100);
    const auto out = feedAll(a, {"one\ntw", "o\nthr", "ee"});
    EXPECT_EQ(out, (std::vector<std::string>{"one\n", "two\n"}));
    EXPECT_EQ(a.pending(), 5U);
    std::vector<std::string> rest;
    a.finish(rest);
    EXPECT_EQ(rest, std::vector<std::string>{"three\n"});
    EXPECT_EQ(a.pending(), 0U);
}

TEST(LineAssembler, KeepsEmptyLines) {
    LineAssembler a(100);
    EXPECT_EQ(feedAll(a, {"\n\nx\n"}), (std::vector<std::string>{"\n", "\n", "x\n"}));
}

TEST(LineAssembler, SplitsOverLongLinesAtTheBound) {
    LineAssembler a(10);  // 9 bytes and the newline
    const auto out = feedAll(a, {std::string(25, 'a') + "\nb\n"});
    EXPECT_EQ(out, (std::vector<std::string>{std::string(9, 'a') + "\n", std::string(9, 'a') + "\n",
                                             std::string(7, 'a') + "\n", "b\n"}));
}

TEST(LineAssembler, SplitsALongLineThatArrivesInManyReads) {
    LineAssembler a(10);
    std::vector<std::string> out;
    for (int i = 0; i < 30; ++i) {
        a.feed("x", out);
    }
    EXPECT_EQ(out.size(), 3U);
    for (const auto& line : out) {
        EXPECT_EQ(line, std::string(9, 'x') + "\n");
    }
    EXPECT_EQ(a.pending(), 3U);
}

TEST(LineAssembler, ALineOfExactlyTheBoundIsOneLine) {
    LineAssembler a(10);
    EXPECT_EQ(feedAll(a, {"123456789\n"}), std::vector<std::string>{"123456789\n"});
}

TEST(LineAssembler, NeverCutsInsideAUtf8Sequence) {
    LineAssembler a(10);
    // "aaaaaaa" then U+00E9 (2 bytes) would end at byte 9; a 3-byte euro sign does not fit.
    const std::string text =
        "aaaaaaa\xe2\x82\xac"
        "b\n";
    const auto out = feedAll(a, {text});
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0], "aaaaaaa\n");
    EXPECT_EQ(out[1],
              "\xe2\x82\xac"
              "b\n");
}

TEST(Utf8CutPoint, CutsAtTheLimitInMalformedText) {
    const std::string cont(20, '\x80');
    EXPECT_EQ(common::utf8CutPoint(cont, 9), 9U);
    EXPECT_EQ(common::utf8CutPoint("abc", 9), 3U);
    EXPECT_EQ(common::utf8CutPoint("abc", 0), 1U);
    EXPECT_EQ(common::utf8CutPoint("ab\xc3\xa9", 3), 2U);
}

}  // namespace
}  // namespace wsgid::apache
