// SPDX-License-Identifier: Apache-2.0
// Tests for ByteBuffer: appends and in-place writes, consumption from the front, and the room
// made by moving the unread bytes or by a larger block, which must never lose or reorder bytes.
#include "common/byte_buffer.h"

#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

std::string contents(const ByteBuffer& b) {
    return {b.data(), b.size()};
}

TEST(ByteBuffer, StartsEmpty) {
    const ByteBuffer b;
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.size(), 0U);
}

TEST(ByteBuffer, AppendsAndConsumesInOrder) {
    ByteBuffer b;
    b.append("hello ");
    b.append("world");
    EXPECT_EQ(contents(b), "hello world");
    b.consume(6);
    EXPECT_EQ(contents(b), "world");
    b.append("!");
    EXPECT_EQ(contents(b), "world!");
    b.consume(6);
    EXPECT_TRUE(b.empty());
}

TEST(ByteBuffer, PreparedRoomIsWrittenInPlaceAndOnlyTheCommittedPartCounts) {
    ByteBuffer b;
    b.append("head:");
    std::span<char> room = b.prepare(100);
    ASSERT_EQ(room.size(), 100U);
    std::memcpy(room.data(), "payload", 7);
    b.commit(7);
    EXPECT_EQ(contents(b), "head:payload");
}

TEST(ByteBuffer, RoomMadeByMovingOrGrowingKeepsTheUnreadBytes) {
    ByteBuffer b;
    std::string expected;
    for (int round = 0; round < 200; ++round) {
        const std::string piece(static_cast<std::size_t>(round * 37 % 1000 + 1),
                                static_cast<char>('a' + round % 26));
        b.append(piece);
        expected += piece;
        const std::size_t drop = expected.size() / 3;
        b.consume(drop);
        expected.erase(0, drop);
        ASSERT_EQ(contents(b), expected) << "round " << round;
    }
    // A large room after the unread bytes, then everything read.
    std::span<char> room = b.prepare(1 << 20);
    room[0] = 'X';
    room[(1 << 20) - 1] = 'Y';
    b.commit(1 << 20);
    EXPECT_EQ(std::string_view(b.data(), expected.size()), expected);
    EXPECT_EQ(b.data()[expected.size()], 'X');
    EXPECT_EQ(b.data()[b.size() - 1], 'Y');
    b.consume(b.size());
    EXPECT_TRUE(b.empty());
}

TEST(ByteBuffer, RoomIsAllTheFreeTailAndAtLeastWhatWasPrepared) {
    ByteBuffer b;
    EXPECT_TRUE(b.room().empty());
    b.append("abc");
    const std::span<char> asked = b.prepare(10);
    const std::span<char> room = b.room();
    EXPECT_EQ(room.data(), asked.data());
    EXPECT_GE(room.size(), 10U);
    std::memcpy(room.data(), "defghijklm", 10);
    b.commit(10);
    EXPECT_EQ(std::string_view(b.data(), b.size()), "abcdefghijklm");
    b.consume(13);
    EXPECT_GE(b.room().size(), 13U);  // emptied: the whole block is room again
}

TEST(ByteBuffer, ReleaseFreesTheBlockAndLeavesAnEmptyBuffer) {
    ByteBuffer b;
    b.append("abcdef");
    b.release();
    EXPECT_TRUE(b.empty());
    EXPECT_TRUE(b.room().empty());  // no block left
    b.append("xyz");
    EXPECT_EQ(std::string_view(b.data(), b.size()), "xyz");
}

}  // namespace
}  // namespace wsgid::common
