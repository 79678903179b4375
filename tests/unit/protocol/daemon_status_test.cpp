// SPDX-License-Identifier: Apache-2.0
// Tests of the status pipe records (src/protocol/daemon_status.h): golden bytes, round trips, and
// the decoder's refusals (a daemon's tenant code can write anything to the descriptor).
#include "protocol/daemon_status.h"

#include <string>

#include <gtest/gtest.h>

#include "protocol/hex_bytes.h"

namespace wsgid::protocol {
namespace {

using test::hexBytes;
using test::toHex;

std::string bytesOf(const StatusRecord& r) {
    const auto b = encodeStatus(r);
    return {b.data(), b.size()};
}

TEST(DaemonStatus, GoldenEncoding) {
    const StatusRecord r{.type = StatusType::Exiting,
                         .reason = StopReason::MaximumRequests,
                         .flags = 0,
                         .value = 0x01020304};
    EXPECT_EQ(toHex(bytesOf(r)), toHex(hexBytes("d1 03 02 00 04 03 02 01")));
    const StatusRecord crash{.type = StatusType::FatalSignal,
                             .reason = StopReason::None,
                             .flags = kStatusCoreDumpPossible,
                             .value = 11};
    EXPECT_EQ(toHex(bytesOf(crash)), toHex(hexBytes("d1 05 00 01 0b 00 00 00")));
}

TEST(DaemonStatus, EveryTypeAndReasonRoundTrips) {
    for (int type = 1; type <= 5; ++type) {
        for (int reason = 0; reason <= kMaxStopReason; ++reason) {
            const StatusRecord r{.type = static_cast<StatusType>(type),
                                 .reason = static_cast<StopReason>(reason),
                                 .flags = 0,
                                 .value = -type * 1000 - reason};
            const auto back = decodeStatus(bytesOf(r));
            ASSERT_TRUE(back.has_value()) << type << " " << reason;
            EXPECT_EQ(*back, r);
        }
    }
}

TEST(DaemonStatus, DecoderRefusesWhatNoDaemonWrites) {
    EXPECT_FALSE(decodeStatus(hexBytes("d1 01 00 00 00 00 00")).has_value());        // short
    EXPECT_FALSE(decodeStatus(hexBytes("d1 01 00 00 00 00 00 00 00")).has_value());  // long
    EXPECT_FALSE(decodeStatus(hexBytes("d2 01 00 00 00 00 00 00")).has_value());     // marker
    EXPECT_FALSE(decodeStatus(hexBytes("d1 00 00 00 00 00 00 00")).has_value());     // type 0
    EXPECT_FALSE(decodeStatus(hexBytes("d1 06 00 00 00 00 00 00")).has_value());     // type 6
    EXPECT_FALSE(decodeStatus(hexBytes("d1 02 0d 00 00 00 00 00")).has_value());     // reason 13
    EXPECT_FALSE(decodeStatus(hexBytes("d1 05 00 02 00 00 00 00")).has_value());     // flag 2
}

TEST(DaemonStatus, ExitStatusesThatStopHttpdAreReplaced) {
    EXPECT_EQ(httpdSafeExitStatus(15), 1);        // APEXIT_CHILDFATAL: httpd would shut down
    EXPECT_EQ(httpdSafeExitStatus(7), 1);         // APEXIT_CHILDSICK
    EXPECT_EQ(httpdSafeExitStatus(256 + 15), 1);  // only the low byte reaches the parent
    EXPECT_EQ(httpdSafeExitStatus(0), 0);
    EXPECT_EQ(httpdSafeExitStatus(3), 3);
    EXPECT_EQ(httpdSafeExitStatus(78), 78);
}

TEST(DaemonStatus, ReasonsNameTheirOption) {
    EXPECT_EQ(toString(StopReason::MaximumRequests), "maximum-requests");
    EXPECT_EQ(toString(StopReason::InactivityTimeout), "inactivity-timeout");
    EXPECT_EQ(toString(StopReason::MaximumMemory), "maximum-memory");
}

}  // namespace
}  // namespace wsgid::protocol
