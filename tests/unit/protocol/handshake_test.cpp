// SPDX-License-Identifier: Apache-2.0
// Tests for the handshake payloads (Challenge, Hello, HelloAck) and the proof: round trips, every
// malformed size, and a proof that binds each of its inputs.
#include "protocol/handshake.h"

#include <string>

#include <gtest/gtest.h>

#include "protocol/frame.h"

namespace wsgid::protocol {
namespace {

using common::ErrorCode;

Secret secretOf(std::uint8_t fill) {
    Secret s{};
    s.fill(fill);
    return s;
}

Nonce nonceOf(std::uint8_t fill) {
    Nonce n{};
    n.fill(fill);
    return n;
}

TEST(Challenge, RoundTrips) {
    Challenge c{.daemonPid = 77, .nonce = nonceOf(0x3c)};
    c.nonce[5] = 0;
    auto r = decodeChallenge(encodeChallenge(c));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().daemonPid, 77U);
    EXPECT_EQ(r.value().nonce, c.nonce);
}

TEST(Challenge, RejectsWrongSize) {
    const std::string good = encodeChallenge(Challenge{});
    EXPECT_EQ(good.size(), 4 + kNonceSize);
    EXPECT_FALSE(decodeChallenge("").isOk());
    EXPECT_FALSE(decodeChallenge(good.substr(0, good.size() - 1)).isOk());
    EXPECT_EQ(decodeChallenge(good + "x").status().code(), ErrorCode::ProtocolError);
}

TEST(Hello, RoundTrips) {
    Hello h{.managerPid = 4242, .generation = 0xffffffffU, .proof = {}};
    h.proof[0] = 1;
    h.proof[31] = 2;
    auto r = decodeHello(encodeHello(h));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().managerPid, 4242U);
    EXPECT_EQ(r.value().generation, 0xffffffffU);
    EXPECT_EQ(r.value().proof, h.proof);
}

TEST(Hello, RejectsWrongSizeIncludingTheOldVersionOnePayload) {
    const std::string good = encodeHello(Hello{.managerPid = 1, .generation = 2, .proof = {}});
    EXPECT_FALSE(decodeHello("").isOk());
    // Version 1's Hello was pid and generation only: without a proof it is never accepted.
    EXPECT_EQ(decodeHello(good.substr(0, 8)).status().code(), ErrorCode::ProtocolError);
    EXPECT_FALSE(decodeHello(good.substr(0, good.size() - 1)).isOk());
    EXPECT_FALSE(decodeHello(good + std::string(1, '\0')).isOk());
}

TEST(Handshake, EncodingsFitFrameLimits) {
    EXPECT_LE(encodeChallenge(Challenge{}).size(), maxPayloadFor(FrameType::Challenge));
    EXPECT_LE(encodeHello(Hello{}).size(), maxPayloadFor(FrameType::Hello));
    EXPECT_LE(encodeHelloAck(HelloAck{}).size(), maxPayloadFor(FrameType::HelloAck));
}

TEST(HelloAck, RoundTrips) {
    auto r = decodeHelloAck(encodeHelloAck(HelloAck{.daemonPid = 31337}));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().daemonPid, 31337U);
}

TEST(HelloAck, RejectsWrongSize) {
    const std::string good = encodeHelloAck(HelloAck{.daemonPid = 7});
    EXPECT_FALSE(decodeHelloAck("").isOk());
    EXPECT_FALSE(decodeHelloAck(good.substr(0, 3)).isOk());
    EXPECT_EQ(decodeHelloAck(good + "x").status().code(), ErrorCode::ProtocolError);
}

TEST(HelloProof, EveryInputChangesTheProof) {
    const Secret key = secretOf(7);
    const Nonce nonce = nonceOf(9);
    const Proof base = helloProof(key, "a", nonce, 100, 1);
    EXPECT_TRUE(proofsEqual(base, helloProof(key, "a", nonce, 100, 1)));
    // Another group's secret (a tenant that knows its own) cannot sign for this group.
    EXPECT_FALSE(proofsEqual(base, helloProof(secretOf(8), "a", nonce, 100, 1)));
    // The same secret for another group name, a replay against a new nonce, another httpd
    // instance or another generation: all differ.
    EXPECT_FALSE(proofsEqual(base, helloProof(key, "b", nonce, 100, 1)));
    EXPECT_FALSE(proofsEqual(base, helloProof(key, "a", nonceOf(10), 100, 1)));
    EXPECT_FALSE(proofsEqual(base, helloProof(key, "a", nonce, 101, 1)));
    EXPECT_FALSE(proofsEqual(base, helloProof(key, "a", nonce, 100, 2)));
}

TEST(HelloProof, GroupNameIsLengthPrefixed) {
    // "ab" + nonce vs "a" + "b..." must not collide: the name carries its length.
    const Secret key = secretOf(1);
    Nonce n1 = nonceOf(0x62);
    EXPECT_FALSE(
        proofsEqual(helloProof(key, "ab", nonceOf(0), 1, 1), helloProof(key, "a", n1, 1, 1)));
}

TEST(ProofsEqual, ComparesEveryByte) {
    Proof a{};
    Proof b{};
    EXPECT_TRUE(proofsEqual(a, b));
    b[31] = 1;
    EXPECT_FALSE(proofsEqual(a, b));
    b[31] = 0;
    b[0] = 0x80;
    EXPECT_FALSE(proofsEqual(a, b));
}

}  // namespace
}  // namespace wsgid::protocol
