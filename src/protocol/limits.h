// SPDX-License-Identifier: Apache-2.0
// Hard limits of the wire protocol, enforced by the decoders before they allocate.
// Pure: no syscalls, no httpd, no Python. docs/protocol.md is the contract.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wsgid::protocol {

/// Wire format version carried in every frame header. Bump on any incompatible change; both
/// ends reject frames of another version (module and daemon are always installed together, so a
/// mismatch means a stale daemon binary).
inline constexpr std::uint8_t kProtocolVersion = 3;

/// Fixed frame header: version u8, type u8, flags u16 LE, payload length u32 LE.
inline constexpr std::size_t kFrameHeaderSize = 8;

/// Largest payload of any frame. Sized for a RequestHead: httpd's own defaults cap a request
/// head near 800 KiB (100 fields of 8 KiB), and mod_ssl can add client-certificate variables.
inline constexpr std::uint32_t kMaxFramePayload = 4U * 1024 * 1024;

/// Largest RequestHead payload (see kMaxFramePayload for the reasoning).
inline constexpr std::uint32_t kMaxRequestHeadBytes = kMaxFramePayload;

/// Most environ entries in one RequestHead: httpd's LimitRequestFields default is 100; the CGI
/// variables and SetEnv entries add well under a few hundred more.
inline constexpr std::uint32_t kMaxEnvironEntries = 4096;

/// Largest Start payload (status line plus headers). mod_wsgi caps a single header line at
/// 32 KiB; 1 MiB for the whole set leaves room for many cookies while bounding memory.
inline constexpr std::uint32_t kMaxResponseHeadBytes = 1024U * 1024;

/// Most headers in one Start frame; far beyond any real response.
inline constexpr std::uint32_t kMaxResponseHeaders = 1024;

/// Largest data payload the senders put in one BodyChunk/Body frame. Larger blocks are split, so
/// a reader's buffer stays bounded and one frame never monopolises the connection.
inline constexpr std::uint32_t kMaxDataChunk = 256U * 1024;

/// Longest Error message; longer messages are truncated by the encoder.
inline constexpr std::uint32_t kMaxErrorMessage = 4096;

}  // namespace wsgid::protocol
