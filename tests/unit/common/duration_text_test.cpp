// SPDX-License-Identifier: Apache-2.0
// Unit tests for the one text of a logged duration (common/duration_text.h).
#include "common/duration_text.h"

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

using std::chrono::milliseconds;

TEST(DurationText, WholeSecondsHaveNoFraction) {
    EXPECT_EQ(durationText(milliseconds(0)), "0s");
    EXPECT_EQ(durationText(milliseconds(1000)), "1s");
    EXPECT_EQ(durationText(milliseconds(15000)), "15s");
    EXPECT_EQ(durationText(std::chrono::seconds(86400)), "86400s");
}

TEST(DurationText, UnderASecondIsMilliseconds) {
    EXPECT_EQ(durationText(milliseconds(1)), "1ms");
    EXPECT_EQ(durationText(milliseconds(250)), "250ms");
    EXPECT_EQ(durationText(milliseconds(999)), "999ms");
}

TEST(DurationText, OverASecondIsExactToTheMillisecond) {
    EXPECT_EQ(durationText(milliseconds(1500)), "1.5s");
    EXPECT_EQ(durationText(milliseconds(1250)), "1.25s");
    EXPECT_EQ(durationText(milliseconds(2001)), "2.001s");
    EXPECT_EQ(durationText(milliseconds(2010)), "2.01s");
    EXPECT_EQ(durationText(milliseconds(1999)), "1.999s");
    EXPECT_EQ(durationText(milliseconds(61100)), "61.1s");
}

TEST(DurationText, NegativeDurationsKeepTheirSign) {
    EXPECT_EQ(durationText(milliseconds(-250)), "-250ms");
    EXPECT_EQ(durationText(milliseconds(-2000)), "-2s");
    EXPECT_EQ(durationText(milliseconds(-1500)), "-1.5s");
    EXPECT_EQ(durationText(milliseconds(-2001)), "-2.001s");
}

}  // namespace
}  // namespace wsgid::common
