// SPDX-License-Identifier: Apache-2.0
// Shared by the libFuzzer targets: invariant checks, a reference reader and reference HTTP syntax
// rules written independently of src/, and the split schedule. Test-only; no httpd headers.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace wsgid::fuzz {

/// Aborts (a libFuzzer crash, with the input saved) when an invariant does not hold.
inline void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

/// A second, deliberately naive reader of the wire primitives (docs/protocol.md: little-endian
/// integers, u32-length-prefixed strings), so the decoders are compared with an independent
/// spelling of the format instead of with themselves.
class RefReader {
public:
    explicit RefReader(std::string_view in) noexcept : in_(in) {}

    bool u16(std::uint16_t& v) noexcept {
        std::uint64_t x = 0;
        if (!le(2, x)) {
            return false;
        }
        v = static_cast<std::uint16_t>(x);
        return true;
    }
    bool u32(std::uint32_t& v) noexcept {
        std::uint64_t x = 0;
        if (!le(4, x)) {
            return false;
        }
        v = static_cast<std::uint32_t>(x);
        return true;
    }
    bool u64(std::uint64_t& v) noexcept { return le(8, v); }
    bool str(std::string_view& v) noexcept {
        std::uint32_t n = 0;
        if (!u32(n) || n > in_.size() - pos_) {
            return false;
        }
        v = in_.substr(pos_, n);
        pos_ += n;
        return true;
    }
    [[nodiscard]] bool atEnd() const noexcept { return pos_ == in_.size(); }

private:
    bool le(std::size_t n, std::uint64_t& v) noexcept {
        if (in_.size() - pos_ < n) {
            return false;
        }
        v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
        }
        pos_ += n;
        return true;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
};

/// RFC 9110 tchar, spelled out as the RFC lists it (common/http_syntax.cpp spells it as
/// "visible ASCII minus separators"; the two must agree).
inline bool refIsToken(std::string_view s) noexcept {
    constexpr std::string_view kPunct = "!#$%&'*+-.^_`|~";
    if (s.empty()) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [&](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               kPunct.find(ch) != std::string_view::npos;
    });
}

/// What may go into a header value or reason phrase on the client connection: no control bytes
/// except TAB (so never CR, LF or NUL), no DEL; latin-1 bytes 0x80-0xFF are fine (PEP 3333).
inline bool refIsSafeValue(std::string_view s) noexcept {
    return std::none_of(s.begin(), s.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

/// PEP 3333 status line as the module accepts it: "NNN reason", NNN in 100-599.
inline bool refIsStatusLine(std::string_view s) noexcept {
    if (s.size() < 4 || s[3] != ' ') {
        return false;
    }
    if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') {
        return false;
    }
    return refIsSafeValue(s.substr(4));
}

/// RFC 9110 §7.6.1 connection-specific fields plus the hop-by-hop fields of RFC 2616 §13.5.1,
/// compared case-insensitively: what the module must never take from the app.
inline bool refIsHopByHop(std::string_view name) noexcept {
    constexpr std::array<std::string_view, 8> kNames = {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te",         "trailers",   "transfer-encoding",  "upgrade"};
    return std::any_of(kNames.begin(), kNames.end(), [&](std::string_view h) {
        return h.size() == name.size() &&
               std::equal(h.begin(), h.end(), name.begin(), [](char a, char b) {
                   const auto lower = [](char c) {
                       return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
                   };
                   return lower(a) == lower(b);
               });
    });
}

/// Cuts a stream into pieces of pseudo-random sizes, as recv() would: the schedule comes from
/// the first four input bytes, so the fuzzer can mutate it.
class Splitter {
public:
    /// Most bytes in one piece: keeps splits varied without one input degenerating into tens of
    /// thousands of one-byte feeds (slow, and no new coverage).
    static constexpr std::size_t kMaxSplit = 4096;

    explicit Splitter(std::uint32_t seed) noexcept
        : seed_(seed), maxPiece_(1 + (seed & 0xff) % kMaxSplit) {}

    /// Size of the next piece, at least 1 and at most `left`.
    std::size_t next(std::size_t left) noexcept {
        seed_ = seed_ * 1103515245U + 12345U;  // any cheap generator will do
        return std::min<std::size_t>(1 + (seed_ >> 8) % maxPiece_, left);
    }

private:
    std::uint32_t seed_;
    std::size_t maxPiece_;
};

/// The first four bytes of an input as a little-endian seed.
inline std::uint32_t seedFrom(const std::uint8_t* data) noexcept {
    return static_cast<std::uint32_t>(data[0]) | (static_cast<std::uint32_t>(data[1]) << 8) |
           (static_cast<std::uint32_t>(data[2]) << 16) |
           (static_cast<std::uint32_t>(data[3]) << 24);
}

}  // namespace wsgid::fuzz
