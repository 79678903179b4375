// SPDX-License-Identifier: Apache-2.0
// Little-endian primitives for frame payloads: a writer that appends and a bounds-checked reader.
// Pure: no syscalls, no httpd, no Python.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wsgid::protocol {

/// Appends little-endian integers and length-prefixed strings to a std::string.
class ByteWriter {
public:
    explicit ByteWriter(std::string& out) noexcept : out_(out) {}
    void u8(std::uint8_t v);
    void u16(std::uint16_t v);
    void u32(std::uint32_t v);
    void u64(std::uint64_t v);
    /// u32 byte length followed by the bytes.
    void str(std::string_view s);

private:
    std::string& out_;
};

/// Reads what ByteWriter wrote. Every read checks bounds; after a failed read ok() is false and
/// all later reads fail too, so callers can check once at the end.
class ByteReader {
public:
    explicit ByteReader(std::string_view in) noexcept : in_(in) {}
    bool u8(std::uint8_t& v) noexcept;
    bool u16(std::uint16_t& v) noexcept;
    bool u32(std::uint32_t& v) noexcept;
    bool u64(std::uint64_t& v) noexcept;
    /// A length-prefixed string; fails if the length exceeds what is left or `maxLen`.
    bool str(std::string_view& v, std::uint32_t maxLen = UINT32_MAX) noexcept;

    [[nodiscard]] bool ok() const noexcept { return ok_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }
    /// True when every byte was consumed and no read failed.
    [[nodiscard]] bool done() const noexcept { return ok_ && remaining() == 0; }

private:
    bool take(std::size_t n, const char*& p) noexcept;
    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace wsgid::protocol
