// SPDX-License-Identifier: Apache-2.0
// Unit tests for httpd's LogLevel names (protocol/log_levels.h).
#include "protocol/log_levels.h"

#include <gtest/gtest.h>

namespace wsgid::protocol {
namespace {

TEST(LogLevels, NamesFollowHttpdRanks) {
    EXPECT_EQ(httpdLogLevelName(0), "emerg");
    EXPECT_EQ(httpdLogLevelName(3), "error");
    EXPECT_EQ(httpdLogLevelName(4), "warn");
    EXPECT_EQ(httpdLogLevelName(5), "notice");
    EXPECT_EQ(httpdLogLevelName(7), "debug");
    EXPECT_EQ(httpdLogLevelName(8), "trace1");
    EXPECT_EQ(httpdLogLevelName(15), "trace8");
}

TEST(LogLevels, OutOfRangeRanksAreClamped) {
    EXPECT_EQ(httpdLogLevelName(-1), "emerg");
    EXPECT_EQ(httpdLogLevelName(16), "trace8");
    EXPECT_EQ(httpdLogLevelName(1000), "trace8");
}

TEST(LogLevels, ParsesNames) {
    EXPECT_EQ(parseHttpdLogLevel("emerg"), 0);
    EXPECT_EQ(parseHttpdLogLevel("warn"), 4);
    EXPECT_EQ(parseHttpdLogLevel("debug"), 7);
    EXPECT_EQ(parseHttpdLogLevel("trace3"), 10);
    EXPECT_EQ(parseHttpdLogLevel("trace8"), 15);
    EXPECT_FALSE(parseHttpdLogLevel("warning").has_value());
    EXPECT_FALSE(parseHttpdLogLevel("WARN").has_value());
    EXPECT_FALSE(parseHttpdLogLevel("trace9").has_value());
    EXPECT_FALSE(parseHttpdLogLevel("").has_value());
}

TEST(LogLevels, EveryNameParsesBackToItsRank) {
    for (int rank = 0; rank <= kMaxHttpdLogRank; ++rank) {
        EXPECT_EQ(parseHttpdLogLevel(httpdLogLevelName(rank)), rank);
    }
}

static_assert(httpdLogLevelName(4) == "warn");
static_assert(parseHttpdLogLevel("info") == 6);

}  // namespace
}  // namespace wsgid::protocol
