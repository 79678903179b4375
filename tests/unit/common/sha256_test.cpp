// SPDX-License-Identifier: Apache-2.0
// Tests for SHA-256 (FIPS 180-2 appendix B examples, every padding boundary, incremental input
// split anywhere) and HMAC-SHA256 (every RFC 4231 case with a full-length output).
#include "common/sha256.h"

#include <string>

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

std::string hex(const Sha256Digest& d) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t b : d) {
        out += kDigits[b >> 4];
        out += kDigits[b & 0xf];
    }
    return out;
}

TEST(Sha256, MatchesFipsExamples) {
    EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex(sha256(std::string(1000000, 'a'))),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the block boundary: the length field fits after the 1 bit (55), just does not
// (56), and whole blocks (64, 120) - each pads differently.
TEST(Sha256, PadsEveryLengthAroundABlock) {
    const std::pair<std::size_t, std::string_view> cases[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
        {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
    };
    for (const auto& [length, digest] : cases) {
        EXPECT_EQ(hex(sha256(std::string(length, 'x'))), digest) << length << " bytes";
    }
}

TEST(Sha256, IncrementalInputGivesTheSameDigestWhereverItIsSplit) {
    std::string message;
    for (int i = 0; i < 300; ++i) {
        message += static_cast<char>(i * 7);
    }
    const Sha256Digest whole = sha256(message);
    for (std::size_t split = 0; split <= message.size(); split += 13) {
        Sha256 h;
        h.update(std::string_view(message).substr(0, split));
        h.update("");
        h.update(std::string_view(message).substr(split));
        EXPECT_EQ(h.finish(), whole) << "split at " << split;
    }
    Sha256 bytewise;
    for (const char c : message) {
        bytewise.update(std::string_view(&c, 1));
    }
    EXPECT_EQ(bytewise.finish(), whole);
}

// RFC 4231, test cases 1-4, 6 and 7 (case 5 truncates the output).
TEST(HmacSha256, MatchesRfc4231) {
    EXPECT_EQ(hex(hmacSha256(std::string(20, '\x0b'), "Hi There")),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(hex(hmacSha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex(hmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
              "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    std::string key4;
    for (char c = 1; c <= 25; ++c) {
        key4 += c;
    }
    EXPECT_EQ(hex(hmacSha256(key4, std::string(50, '\xcd'))),
              "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    // Keys longer than a block are hashed first.
    EXPECT_EQ(hex(hmacSha256(std::string(131, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First")),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    EXPECT_EQ(hex(hmacSha256(std::string(131, '\xaa'),
                             "This is a test using a larger than block-size key and a larger "
                             "than block-size data. The key needs to be hashed before being "
                             "used by the HMAC algorithm.")),
              "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(DigestsEqual, ComparesEveryByte) {
    Sha256Digest a{};
    Sha256Digest b{};
    EXPECT_TRUE(digestsEqual(a, b));
    for (const std::size_t at : {std::size_t{0}, std::size_t{17}, kSha256Bytes - 1}) {
        b = a;
        b[at] = 0x01;
        EXPECT_FALSE(digestsEqual(a, b)) << at;
    }
}

}  // namespace
}  // namespace wsgid::common
