// SPDX-License-Identifier: Apache-2.0
// Tests of the parent's end of a status pipe (src/apache/status_channel.h): records split across
// reads, what is kept, and a daemon that writes garbage or too much.
#include "apache/status_channel.h"

#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace wsgid::apache {
namespace {

using protocol::StatusRecord;
using protocol::StatusType;
using protocol::StopReason;

std::string bytesOf(StatusType type, StopReason reason = StopReason::None, int value = 0) {
    const auto b = protocol::encodeStatus(
        StatusRecord{.type = type, .reason = reason, .flags = 0, .value = value});
    return {b.data(), b.size()};
}

TEST(StatusChannel, KeepsReadinessRecycleAndLastWords) {
    StatusChannel ch;
    EXPECT_FALSE(ch.ready());
    ch.feed(bytesOf(StatusType::Ready));
    EXPECT_TRUE(ch.ready());
    ch.feed(bytesOf(StatusType::Recycle, StopReason::MaximumRequests));
    ch.feed(bytesOf(StatusType::Recycle, StopReason::MaximumMemory));
    EXPECT_EQ(ch.recycleRequest(), StopReason::MaximumRequests);  // the first one counts
    EXPECT_FALSE(ch.lastWords().has_value());
    ch.feed(bytesOf(StatusType::Exiting, StopReason::MaximumRequests, 0));
    ch.feed(bytesOf(StatusType::FatalSignal, StopReason::None, 11));
    ASSERT_TRUE(ch.lastWords().has_value());
    EXPECT_EQ(ch.lastWords()->type, StatusType::FatalSignal);  // the last one counts
    EXPECT_TRUE(ch.broken().empty());
}

TEST(StatusChannel, RecordsSplitAcrossReadsAreReassembled) {
    StatusChannel ch;
    const std::string both = bytesOf(StatusType::Ready) + bytesOf(StatusType::AppExit, {}, 3);
    for (const char c : both) {
        ch.feed(std::string(1, c));
    }
    EXPECT_TRUE(ch.ready());
    ASSERT_TRUE(ch.lastWords().has_value());
    EXPECT_EQ(ch.lastWords()->value, 3);
}

TEST(StatusChannel, GarbageBreaksTheChannelForGood) {
    StatusChannel ch;
    ch.feed("hello, parent!!!");
    EXPECT_EQ(ch.broken(), "an invalid record");
    ch.feed(bytesOf(StatusType::Ready));
    EXPECT_FALSE(ch.ready());
}

TEST(StatusChannel, TooManyRecordsBreakTheChannel) {
    StatusChannel ch;
    for (std::size_t i = 0; i < kMaxStatusRecords; ++i) {
        ch.feed(bytesOf(StatusType::Recycle, StopReason::Evicted));
    }
    EXPECT_TRUE(ch.broken().empty());
    ch.feed(bytesOf(StatusType::Ready));
    EXPECT_FALSE(ch.broken().empty());
    EXPECT_FALSE(ch.ready());
}

TEST(StatusChannel, PumpsAPipeWithoutBlockingUntilEof) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    StatusChannel ch{common::UniqueFd(fds[0])};
    common::UniqueFd writer(fds[1]);
    EXPECT_TRUE(ch.open());
    EXPECT_FALSE(ch.pump());  // nothing yet, and it does not wait
    const std::string ready = bytesOf(StatusType::Ready);
    ASSERT_EQ(::write(writer.get(), ready.data(), ready.size()),
              static_cast<ssize_t>(ready.size()));
    EXPECT_TRUE(ch.pump());
    EXPECT_TRUE(ch.ready());
    writer.reset();
    EXPECT_TRUE(ch.pump());  // EOF
    EXPECT_FALSE(ch.open());
    EXPECT_TRUE(ch.ready());  // what was said stays
}

TEST(StatusChannel, ABrokenChannelClosesItsDescriptor) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    StatusChannel ch{common::UniqueFd(fds[0])};
    common::UniqueFd writer(fds[1]);
    ASSERT_EQ(::write(writer.get(), "xxxxxxxx", 8), 8);
    EXPECT_TRUE(ch.pump());
    EXPECT_FALSE(ch.broken().empty());
    EXPECT_FALSE(ch.open());
}

}  // namespace
}  // namespace wsgid::apache
