// SPDX-License-Identifier: Apache-2.0
// Tests for ByteWriter/ByteReader: little-endian layout, bounds checks and sticky failure.
#include "protocol/codec.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "protocol/hex_bytes.h"

namespace wsgid::protocol {
namespace {

using test::hexBytes;

TEST(ByteWriter, WritesIntegersLittleEndian) {
    std::string out;
    ByteWriter w(out);
    w.u8(0xab);
    w.u16(0x0102);
    w.u32(0x01020304);
    w.u64(0x0102030405060708ULL);
    EXPECT_EQ(out, hexBytes("ab 02 01 04 03 02 01 08 07 06 05 04 03 02 01"));
}

TEST(ByteWriter, WritesLengthPrefixedStringsWithAnyBytes) {
    std::string out;
    ByteWriter w(out);
    w.str(std::string_view("a\0\xff", 3));
    w.str("");
    EXPECT_EQ(out, hexBytes("03 00 00 00 61 00 ff 00 00 00 00"));
}

TEST(ByteReader, ReadsBackWhatWriterWrote) {
    std::string buf;
    ByteWriter w(buf);
    w.u8(0xfe);
    w.u16(0xbeef);
    w.u32(0xdeadbeef);
    w.u64(0xfedcba9876543210ULL);
    w.str("hello");
    ByteReader r(buf);
    std::uint8_t a = 0;
    std::uint16_t b = 0;
    std::uint32_t c = 0;
    std::uint64_t d = 0;
    std::string_view s;
    ASSERT_TRUE(r.u8(a));
    ASSERT_TRUE(r.u16(b));
    ASSERT_TRUE(r.u32(c));
    ASSERT_TRUE(r.u64(d));
    ASSERT_TRUE(r.str(s));
    EXPECT_EQ(a, 0xfe);
    EXPECT_EQ(b, 0xbeef);
    EXPECT_EQ(c, 0xdeadbeefU);
    EXPECT_EQ(d, 0xfedcba9876543210ULL);
    EXPECT_EQ(s, "hello");
    EXPECT_TRUE(r.done());
}

TEST(ByteReader, ShortReadFailsAndStaysFailed) {
    const std::string buf = hexBytes("01 02 03");
    ByteReader r(buf);
    std::uint32_t v = 0;
    EXPECT_FALSE(r.u32(v));
    EXPECT_FALSE(r.ok());
    // The three bytes are still there, but a failed reader refuses everything after.
    std::uint8_t b = 0;
    EXPECT_FALSE(r.u8(b));
    EXPECT_FALSE(r.done());
}

TEST(ByteReader, StringLongerThanInputFails) {
    const std::string buf = hexBytes("ff ff ff ff 61 62");
    ByteReader r(buf);
    std::string_view s;
    EXPECT_FALSE(r.str(s));
    EXPECT_FALSE(r.ok());
}

TEST(ByteReader, StringAboveMaxLenFailsEvenIfPresent) {
    const std::string buf = hexBytes("03 00 00 00") + "abc";
    ByteReader tight(buf);
    std::string_view s;
    EXPECT_FALSE(tight.str(s, 2));
    EXPECT_FALSE(tight.ok());
    ByteReader exact(buf);
    EXPECT_TRUE(exact.str(s, 3));
    EXPECT_EQ(s, "abc");
}

TEST(ByteReader, DoneOnlyWhenEverythingConsumed) {
    const std::string buf = hexBytes("01 02");
    ByteReader r(buf);
    std::uint8_t b = 0;
    ASSERT_TRUE(r.u8(b));
    EXPECT_FALSE(r.done());
    EXPECT_EQ(r.remaining(), 1U);
    ASSERT_TRUE(r.u8(b));
    EXPECT_TRUE(r.done());
    EXPECT_EQ(r.remaining(), 0U);
}

TEST(ByteReader, EmptyInputIsDone) {
    ByteReader r("");
    EXPECT_TRUE(r.done());
    std::uint16_t v = 0;
    EXPECT_FALSE(r.u16(v));
    EXPECT_FALSE(r.done());
}

}  // namespace
}  // namespace wsgid::protocol
