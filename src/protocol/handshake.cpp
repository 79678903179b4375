// SPDX-License-Identifier: Apache-2.0
// Handshake payloads and the proof (HMAC-SHA256 from common/sha256.h). Pure: no syscalls, no
// httpd, no Python.
#include "protocol/handshake.h"

#include "common/sha256.h"
#include "protocol/codec.h"

namespace wsgid::protocol {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

/// Domain separation: a proof is never valid as any other HMAC this project might compute.
constexpr std::string_view kProofLabel = "mod_wsgid hello v2";

Status malformed(const char* what) {
    return {ErrorCode::ProtocolError, std::string("malformed ") + what + " payload"};
}

template <std::size_t N>
void putBytes(ByteWriter& w, const std::array<std::uint8_t, N>& bytes) {
    for (const std::uint8_t b : bytes) {
        w.u8(b);
    }
}

template <std::size_t N>
bool getBytes(ByteReader& r, std::array<std::uint8_t, N>& bytes) noexcept {
    for (std::uint8_t& b : bytes) {
        if (!r.u8(b)) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string encodeChallenge(const Challenge& challenge) {
    std::string out;
    ByteWriter w(out);
    w.u32(challenge.daemonPid);
    putBytes(w, challenge.nonce);
    return out;
}

Result<Challenge> decodeChallenge(std::string_view payload) {
    ByteReader r(payload);
    Challenge c;
    if (!r.u32(c.daemonPid) || !getBytes(r, c.nonce) || !r.done()) {
        return malformed("Challenge");
    }
    return c;
}

std::string encodeHello(const Hello& hello) {
    std::string out;
    ByteWriter w(out);
    w.u32(hello.managerPid);
    w.u32(hello.generation);
    putBytes(w, hello.proof);
    return out;
}

Result<Hello> decodeHello(std::string_view payload) {
    ByteReader r(payload);
    Hello h;
    if (!r.u32(h.managerPid) || !r.u32(h.generation) || !getBytes(r, h.proof) || !r.done()) {
        return malformed("Hello");
    }
    return h;
}

std::string encodeHelloAck(const HelloAck& ack) {
    std::string out;
    ByteWriter w(out);
    w.u32(ack.daemonPid);
    return out;
}

Result<HelloAck> decodeHelloAck(std::string_view payload) {
    ByteReader r(payload);
    HelloAck a;
    if (!r.u32(a.daemonPid) || !r.done()) {
        return malformed("HelloAck");
    }
    return a;
}

Proof helloProof(const Secret& secret, std::string_view group, const Nonce& nonce,
                 std::uint32_t managerPid, std::uint32_t generation) {
    std::string message;
    ByteWriter w(message);
    w.str(kProofLabel);
    w.str(group);
    putBytes(w, nonce);
    w.u32(managerPid);
    w.u32(generation);
    return common::hmacSha256(
        std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()), message);
}

bool proofsEqual(const Proof& a, const Proof& b) noexcept {
    static_assert(kProofSize == common::kSha256Bytes);
    return common::digestsEqual(a, b);
}

}  // namespace wsgid::protocol
