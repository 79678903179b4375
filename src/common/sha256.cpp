// SPDX-License-Identifier: Apache-2.0
// SHA-256 and HMAC-SHA256 (see sha256.h), written from FIPS 180-4 and RFC 2104.
#include "common/sha256.h"

#include <algorithm>
#include <bit>

namespace wsgid::common {

namespace {

// FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
// 64 primes.
constexpr std::array<std::uint32_t, 64> kRoundConstants = {
    0x428a2f98U, 0x71374491U, 0xb5c0fbcfU, 0xe9b5dba5U, 0x3956c25bU, 0x59f111f1U, 0x923f82a4U,
    0xab1c5ed5U, 0xd807aa98U, 0x12835b01U, 0x243185beU, 0x550c7dc3U, 0x72be5d74U, 0x80deb1feU,
    0x9bdc06a7U, 0xc19bf174U, 0xe49b69c1U, 0xefbe4786U, 0x0fc19dc6U, 0x240ca1ccU, 0x2de92c6fU,
    0x4a7484aaU, 0x5cb0a9dcU, 0x76f988daU, 0x983e5152U, 0xa831c66dU, 0xb00327c8U, 0xbf597fc7U,
    0xc6e00bf3U, 0xd5a79147U, 0x06ca6351U, 0x14292967U, 0x27b70a85U, 0x2e1b2138U, 0x4d2c6dfcU,
    0x53380d13U, 0x650a7354U, 0x766a0abbU, 0x81c2c92eU, 0x92722c85U, 0xa2bfe8a1U, 0xa81a664bU,
    0xc24b8b70U, 0xc76c51a3U, 0xd192e819U, 0xd6990624U, 0xf40e3585U, 0x106aa070U, 0x19a4c116U,
    0x1e376c08U, 0x2748774cU, 0x34b0bcb5U, 0x391c0cb3U, 0x4ed8aa4aU, 0x5b9cca4fU, 0x682e6ff3U,
    0x748f82eeU, 0x78a5636fU, 0x84c87814U, 0x8cc70208U, 0x90befffaU, 0xa4506cebU, 0xbef9a3f7U,
    0xc67178f2U,
};

// FIPS 180-4, 5.3.3: the first 32 bits of the fractional parts of the square roots of the first
// 8 primes.
constexpr std::array<std::uint32_t, 8> kInitialState = {
    0x6a09e667U, 0xbb67ae85U, 0x3c6ef372U, 0xa54ff53aU,
    0x510e527fU, 0x9b05688cU, 0x1f83d9abU, 0x5be0cd19U,
};

// RFC 2104: the inner and outer pad bytes.
constexpr std::uint8_t kInnerPad = 0x36;
constexpr std::uint8_t kOuterPad = 0x5c;

std::uint32_t loadBigEndian(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

std::string_view asText(const Sha256Digest& d) noexcept {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

Sha256::Sha256() noexcept : state_(kInitialState) {}

void Sha256::compress(const std::uint8_t* block) noexcept {
    std::array<std::uint32_t, 64> w{};
    for (std::size_t t = 0; t < 16; ++t) {
        w[t] = loadBigEndian(block + 4 * t);
    }
    for (std::size_t t = 16; t < 64; ++t) {
        const std::uint32_t s0 =
            std::rotr(w[t - 15], 7) ^ std::rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        const std::uint32_t s1 =
            std::rotr(w[t - 2], 17) ^ std::rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, h] = state_;
    for (std::size_t t = 0; t < 64; ++t) {
        const std::uint32_t sum1 = std::rotr(e, 6) ^ std::rotr(e, 11) ^ std::rotr(e, 25);
        const std::uint32_t choose = (e & f) ^ (~e & g);
        const std::uint32_t t1 = h + sum1 + choose + kRoundConstants[t] + w[t];
        const std::uint32_t sum0 = std::rotr(a, 2) ^ std::rotr(a, 13) ^ std::rotr(a, 22);
        const std::uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        const std::uint32_t t2 = sum0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    const std::array<std::uint32_t, 8> add = {a, b, c, d, e, f, g, h};
    for (std::size_t i = 0; i < state_.size(); ++i) {
        state_[i] += add[i];
    }
}

void Sha256::update(std::string_view data) noexcept {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t left = data.size();
    totalBytes_ += left;
    if (used_ > 0) {
        const std::size_t take = std::min(left, kBlockBytes - used_);
        std::copy_n(p, take, block_.begin() + static_cast<std::ptrdiff_t>(used_));
        used_ += take;
        p += take;
        left -= take;
        if (used_ < kBlockBytes) {
            return;
        }
        compress(block_.data());
        used_ = 0;
    }
    for (; left >= kBlockBytes; p += kBlockBytes, left -= kBlockBytes) {
        compress(p);
    }
    std::copy_n(p, left, block_.begin());
    used_ = left;
}

Sha256Digest Sha256::finish() noexcept {
    // FIPS 180-4, 5.1.1: a 1 bit, zeros up to 8 bytes short of a block boundary, then the
    // message length in bits, big-endian.
    const std::uint64_t bits = totalBytes_ * 8;
    block_[used_++] = 0x80;
    if (used_ > kBlockBytes - 8) {
        std::fill(block_.begin() + static_cast<std::ptrdiff_t>(used_), block_.end(), 0);
        compress(block_.data());
        used_ = 0;
    }
    std::fill(block_.begin() + static_cast<std::ptrdiff_t>(used_), block_.end() - 8, 0);
    for (std::size_t i = 0; i < 8; ++i) {
        block_[kBlockBytes - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
    }
    compress(block_.data());
    Sha256Digest out{};
    for (std::size_t i = 0; i < state_.size(); ++i) {
        for (std::size_t j = 0; j < 4; ++j) {
            out[4 * i + j] = static_cast<std::uint8_t>(state_[i] >> (24 - 8 * j));
        }
    }
    return out;
}

Sha256Digest sha256(std::string_view data) noexcept {
    Sha256 h;
    h.update(data);
    return h.finish();
}

Sha256Digest hmacSha256(std::string_view key, std::string_view message) noexcept {
    // RFC 2104, section 2: a key longer than a block is replaced by its hash, then zero-padded.
    std::array<std::uint8_t, Sha256::kBlockBytes> padded{};
    if (key.size() > padded.size()) {
        const Sha256Digest hashed = sha256(key);
        std::copy(hashed.begin(), hashed.end(), padded.begin());
    } else {
        std::copy(key.begin(), key.end(), reinterpret_cast<char*>(padded.data()));
    }
    std::array<std::uint8_t, Sha256::kBlockBytes> pad{};
    const auto padText = [&pad] {
        return std::string_view(reinterpret_cast<const char*>(pad.data()), pad.size());
    };
    std::transform(padded.begin(), padded.end(), pad.begin(),
                   [](std::uint8_t b) { return static_cast<std::uint8_t>(b ^ kInnerPad); });
    Sha256 inner;
    inner.update(padText());
    inner.update(message);
    const Sha256Digest innerDigest = inner.finish();
    std::transform(padded.begin(), padded.end(), pad.begin(),
                   [](std::uint8_t b) { return static_cast<std::uint8_t>(b ^ kOuterPad); });
    Sha256 outer;
    outer.update(padText());
    outer.update(asText(innerDigest));
    return outer.finish();
}

bool digestsEqual(const Sha256Digest& a, const Sha256Digest& b) noexcept {
    // Every byte is looked at whatever the earlier ones were: no early exit a peer could time.
    // volatile keeps the compiler from turning the loop into one (a memcmp) itself.
    volatile std::uint8_t diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
    }
    return diff == 0;
}

}  // namespace wsgid::common
