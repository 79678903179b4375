// SPDX-License-Identifier: Apache-2.0
// The connection handshake: the daemon's Challenge, the module's Hello with its proof, HelloAck.
// A connection serves requests only after the module proved it holds the group's secret for the
// generation it names (docs/protocol.md "Handshake", docs/security.md). Pure: no syscalls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace wsgid::protocol {

/// Bytes of a group secret: an HMAC-SHA256 key as long as the hash output (RFC 2104 sec. 3: keys
/// shorter than that weaken it, longer ones add nothing).
inline constexpr std::size_t kSecretSize = 32;
/// Bytes of the daemon's nonce: 256 random bits never repeat in practice, so no proof can be
/// replayed against another connection.
inline constexpr std::size_t kNonceSize = 32;
/// Bytes of a proof: the HMAC-SHA256 output.
inline constexpr std::size_t kProofSize = 32;

using Secret = std::array<std::uint8_t, kSecretSize>;
using Nonce = std::array<std::uint8_t, kNonceSize>;
using Proof = std::array<std::uint8_t, kProofSize>;

/// First frame on every connection, daemon -> module: who answers and what to sign.
struct Challenge {
    std::uint32_t daemonPid = 0;
    Nonce nonce{};
};

std::string encodeChallenge(const Challenge& challenge);
common::Result<Challenge> decodeChallenge(std::string_view payload);

/// The module's answer to a Challenge.
struct Hello {
    std::uint32_t managerPid = 0;  ///< pid of the httpd parent that started the daemons
    std::uint32_t generation = 0;  ///< httpd's restart generation whose secret signed the proof
    Proof proof{};                 ///< helloProof() over the Challenge's nonce
};

std::string encodeHello(const Hello& hello);
common::Result<Hello> decodeHello(std::string_view payload);

/// Reply to a Hello whose proof holds.
struct HelloAck {
    std::uint32_t daemonPid = 0;
};

std::string encodeHelloAck(const HelloAck& ack);
common::Result<HelloAck> decodeHelloAck(std::string_view payload);

/// HMAC-SHA256 keyed with the group's secret over a fixed label, the group name, the nonce,
/// the manager pid and the generation: a proof binds one connection (nonce) of one group
/// (name and key) of one httpd instance and generation.
Proof helloProof(const Secret& secret, std::string_view group, const Nonce& nonce,
                 std::uint32_t managerPid, std::uint32_t generation);

/// Compares two proofs in constant time (no early exit a peer could time).
[[nodiscard]] bool proofsEqual(const Proof& a, const Proof& b) noexcept;

}  // namespace wsgid::protocol
