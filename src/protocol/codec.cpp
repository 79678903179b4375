// SPDX-License-Identifier: Apache-2.0
// Little-endian payload primitives. Pure: no syscalls, no httpd, no Python.
#include "protocol/codec.h"

namespace wsgid::protocol {

namespace {

template <typename T>
void putLe(std::string& out, T v) {
    char buf[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
    out.append(buf, sizeof(T));
}

template <typename T>
T getLe(const char* p) noexcept {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
        v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return v;
}

}  // namespace

void ByteWriter::u8(std::uint8_t v) {
    out_.push_back(static_cast<char>(v));
}
void ByteWriter::u16(std::uint16_t v) {
    putLe(out_, v);
}
void ByteWriter::u32(std::uint32_t v) {
    putLe(out_, v);
}
void ByteWriter::u64(std::uint64_t v) {
    putLe(out_, v);
}
void ByteWriter::str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
}

bool ByteReader::take(std::size_t n, const char*& p) noexcept {
    if (!ok_ || remaining() < n) {
        ok_ = false;
        return false;
    }
    p = in_.data() + pos_;
    pos_ += n;
    return true;
}

bool ByteReader::u8(std::uint8_t& v) noexcept {
    const char* p = nullptr;
    if (!take(1, p)) {
        return false;
    }
    v = static_cast<std::uint8_t>(*p);
    return true;
}

bool ByteReader::u16(std::uint16_t& v) noexcept {
    const char* p = nullptr;
    if (!take(2, p)) {
        return false;
    }
    v = getLe<std::uint16_t>(p);
    return true;
}

bool ByteReader::u32(std::uint32_t& v) noexcept {
    const char* p = nullptr;
    if (!take(4, p)) {
        return false;
    }
    v = getLe<std::uint32_t>(p);
    return true;
}

bool ByteReader::u64(std::uint64_t& v) noexcept {
    const char* p = nullptr;
    if (!take(8, p)) {
        return false;
    }
    v = getLe<std::uint64_t>(p);
    return true;
}

bool ByteReader::str(std::string_view& v, std::uint32_t maxLen) noexcept {
    std::uint32_t len = 0;
    if (!u32(len)) {
        return false;
    }
    if (len > maxLen) {
        ok_ = false;
        return false;
    }
    const char* p = nullptr;
    if (!take(len, p)) {
        return false;
    }
    v = std::string_view(p, len);
    return true;
}

}  // namespace wsgid::protocol
