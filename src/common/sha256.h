// SPDX-License-Identifier: Apache-2.0
// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the connection handshake's proof
// (docs/protocol.md). Our own rather than OpenSSL's: every httpd child computes proofs, and
// libcrypto cost each of them about 2.5 MiB of RSS (its relocated data, plus the code its
// provider start-up touches on the first HMAC) for 32 bytes per connection; docs/performance.md
// ("Memory"). No secret-dependent branch or table index: the rounds only add, rotate and mix.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsgid::common {

/// Bytes of a SHA-256 digest.
inline constexpr std::size_t kSha256Bytes = 32;

using Sha256Digest = std::array<std::uint8_t, kSha256Bytes>;

/// Incremental SHA-256: update() any number of times, then finish() once.
class Sha256 {
public:
    Sha256() noexcept;

    void update(std::string_view data) noexcept;
    /// The digest of everything given to update(); the object is spent afterwards.
    [[nodiscard]] Sha256Digest finish() noexcept;

    /// Bytes of one input block.
    static constexpr std::size_t kBlockBytes = 64;

private:
    void compress(const std::uint8_t* block) noexcept;

    std::array<std::uint32_t, 8> state_{};
    std::array<std::uint8_t, kBlockBytes> block_{};
    std::size_t used_ = 0;          ///< bytes waiting in block_
    std::uint64_t totalBytes_ = 0;  ///< message length so far
};

/// SHA-256 of `data` in one call.
[[nodiscard]] Sha256Digest sha256(std::string_view data) noexcept;

/// HMAC-SHA256 of `message` keyed with `key` (any length; longer than a block is hashed first).
[[nodiscard]] Sha256Digest hmacSha256(std::string_view key, std::string_view message) noexcept;

/// Whether two digests are equal, in time independent of where they differ.
[[nodiscard]] bool digestsEqual(const Sha256Digest& a, const Sha256Digest& b) noexcept;

}  // namespace wsgid::common
