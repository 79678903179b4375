// SPDX-License-Identifier: Apache-2.0
// Frame encoding and the incremental decoder. Pure: no syscalls, no httpd, no Python.
#include "protocol/frame.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace wsgid::protocol {

using common::ErrorCode;
using common::Result;
using common::Status;

bool isKnownFrameType(std::uint8_t t) noexcept {
    switch (static_cast<FrameType>(t)) {
        case FrameType::Hello:
        case FrameType::RequestHead:
        case FrameType::BodyChunk:
        case FrameType::BodyEnd:
        case FrameType::HelloAck:
        case FrameType::Start:
        case FrameType::Body:
        case FrameType::End:
        case FrameType::Error:
        case FrameType::Challenge:
        case FrameType::SendBody:
        case FrameType::File:
            return true;
    }
    return false;
}

std::uint32_t maxPayloadFor(FrameType t) noexcept {
    switch (t) {
        case FrameType::Hello:
        case FrameType::HelloAck:
        case FrameType::Challenge:
            return 64;  // a few integers; room for later fields
        case FrameType::RequestHead:
            return kMaxRequestHeadBytes;
        case FrameType::BodyChunk:
        case FrameType::Body:
            return kMaxDataChunk;
        case FrameType::BodyEnd:
        case FrameType::End:
        case FrameType::SendBody:
            return 0;
        case FrameType::Start:
            return kMaxResponseHeadBytes;
        case FrameType::Error:
            return kMaxErrorMessage + 16;
        case FrameType::File:
            return kFilePayloadBytes;
    }
    return 0;
}

void encodeHeader(FrameType type, std::uint16_t flags, std::uint32_t length,
                  std::span<char, kFrameHeaderSize> out) noexcept {
    out[0] = static_cast<char>(kProtocolVersion);
    out[1] = static_cast<char>(type);
    out[2] = static_cast<char>(flags & 0xff);
    out[3] = static_cast<char>(flags >> 8);
    for (int i = 0; i < 4; ++i) {
        out[4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
    }
}

void appendFrame(std::string& out, FrameType type, std::uint16_t flags, std::string_view payload) {
    char header[kFrameHeaderSize];
    encodeHeader(type, flags, static_cast<std::uint32_t>(payload.size()), header);
    out.append(header, kFrameHeaderSize);
    out.append(payload);
}

namespace {

/// Payload size from which a frame that is not complete yet is assembled in its own payload
/// rather than in the decoder's buffer: a large body frame (hundreds of KiB, read 64 KiB at a
/// time) then costs one copy instead of the buffer's doubling growth. Above the 64 KiB frames a
/// relay or a daemon writes per block: assembled in place, such a frame came to fresh pages on
/// every request and cost more in page faults than the copy it saved (docs/performance.md).
constexpr std::uint32_t kDirectAssemblyBytes = std::uint32_t{128} * 1024;

}  // namespace

void FrameDecoder::feed(std::string_view bytes) {
    if (partial_) {
        const std::size_t take =
            std::min<std::size_t>(bytes.size(), partialLength_ - partial_->payload.size());
        partial_->payload.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (bytes.empty()) {
            return;
        }
    }
    if (bytes.empty()) {
        return;
    }
    buf_.append(bytes);
}

std::span<char> FrameDecoder::prepare(std::size_t atLeast) {
    std::size_t want = std::max<std::size_t>(atLeast, 1);
    if (const std::size_t held = buf_.size();
        !streaming_ && held >= kFrameHeaderSize && error_.isOk()) {
        // The rest of the frame at the head goes straight after it: it is then read in place,
        // whatever its size, and never moved again.
        auto header = peekHeader();
        if (header.isOk() && header.value() && header.value()->type != streamed_) {
            const std::size_t frame = kFrameHeaderSize + header.value()->length;
            if (frame > held) {
                want = std::max(want, frame - held);
            }
        }
    }
    buf_.prepare(want);
    return buf_.room();
}

void FrameDecoder::commit(std::size_t count) noexcept {
    buf_.commit(std::min(count, buf_.room().size()));
}

Result<std::optional<FrameHeader>> FrameDecoder::peekHeader() {
    if (!error_.isOk()) {
        return error_;
    }
    if (buf_.size() < kFrameHeaderSize) {
        return std::optional<FrameHeader>{};
    }
    const auto* h = reinterpret_cast<const unsigned char*>(buf_.data());
    if (h[0] != kProtocolVersion) {
        error_ =
            Status(ErrorCode::ProtocolError, "protocol version " + std::to_string(h[0]) +
                                                 ", expected " + std::to_string(kProtocolVersion));
        return error_;
    }
    if (!isKnownFrameType(h[1])) {
        error_ = Status(ErrorCode::ProtocolError, "unknown frame type " + std::to_string(h[1]));
        return error_;
    }
    FrameHeader header;
    header.type = static_cast<FrameType>(h[1]);
    header.flags = static_cast<std::uint16_t>(h[2] | (h[3] << 8));
    header.length = static_cast<std::uint32_t>(h[4]) | (static_cast<std::uint32_t>(h[5]) << 8) |
                    (static_cast<std::uint32_t>(h[6]) << 16) |
                    (static_cast<std::uint32_t>(h[7]) << 24);
    if (header.length > maxPayloadFor(header.type)) {
        error_ =
            Status(ErrorCode::LimitExceeded, "frame type " + std::to_string(h[1]) + " length " +
                                                 std::to_string(header.length) + " exceeds limit " +
                                                 std::to_string(maxPayloadFor(header.type)));
        return error_;
    }
    return std::optional<FrameHeader>(header);
}

Result<std::optional<Frame>> FrameDecoder::next() {
    if (!error_.isOk()) {
        return error_;
    }
    if (partial_) {
        if (partial_->payload.size() < partialLength_) {
            return std::optional<Frame>{};
        }
        std::optional<Frame> done = std::move(partial_);
        partial_.reset();
        return done;
    }
    auto header = peekHeader();
    if (!header) {
        return header.status();
    }
    if (!header.value()) {
        return std::optional<Frame>{};
    }
    const FrameHeader h = *header.value();
    const char* payload = buf_.data() + kFrameHeaderSize;
    if (buf_.size() < kFrameHeaderSize + h.length) {
        if (h.length >= kDirectAssemblyBytes) {
            // Everything buffered after the header belongs to this frame.
            partial_.emplace();
            partial_->type = h.type;
            partial_->flags = h.flags;
            partial_->payload.reserve(h.length);
            partial_->payload.assign(payload, buf_.size() - kFrameHeaderSize);
            partialLength_ = h.length;
            buf_.consume(buf_.size());
        }
        return std::optional<Frame>{};
    }
    Frame f;
    f.type = h.type;
    f.flags = h.flags;
    f.payload.assign(payload, h.length);
    buf_.consume(kFrameHeaderSize + h.length);
    return std::optional<Frame>(std::move(f));
}

Result<std::optional<FrameHeader>> FrameDecoder::nextHeader() {
    if (!error_.isOk()) {
        return error_;
    }
    if (partial_) {
        // A frame next() began to assemble: its header is consumed already, and what arrived of
        // its payload comes back to the buffer, ahead of the bytes fed after it.
        const FrameHeader header{
            .type = partial_->type, .flags = partial_->flags, .length = partialLength_};
        const std::string payload = std::move(partial_->payload);
        partial_.reset();
        common::ByteBuffer joined;
        joined.prepare(payload.size() + buf_.size());
        joined.append(payload);
        joined.append(std::string_view(buf_.data(), buf_.size()));
        buf_ = std::move(joined);
        return std::optional<FrameHeader>(header);
    }
    auto header = peekHeader();
    if (!header) {
        return header.status();
    }
    if (header.value()) {
        buf_.consume(kFrameHeaderSize);
    }
    return header;
}

std::size_t FrameDecoder::takeBuffered(std::span<char> out) noexcept {
    const std::size_t n = std::min(out.size(), buf_.size());
    if (n != 0) {
        std::memcpy(out.data(), buf_.data(), n);
        buf_.consume(n);
    }
    return n;
}

Result<std::optional<FrameView>> FrameDecoder::nextView() {
    if (streaming_) {
        if (buf_.empty()) {
            return std::optional<FrameView>{};
        }
        return std::optional<FrameView>(nextPiece());
    }
    auto header = peekHeader();
    if (!header) {
        return header.status();
    }
    if (!header.value()) {
        return std::optional<FrameView>{};
    }
    const FrameHeader h = *header.value();
    if (h.type == streamed_) {
        buf_.consume(kFrameHeaderSize);
        streaming_ = FrameView{.type = h.type,
                               .flags = h.flags,
                               .payload = {},
                               .length = h.length,
                               .offset = 0,
                               .first = true};
        return std::optional<FrameView>(nextPiece());
    }
    if (buf_.size() < kFrameHeaderSize + h.length) {
        return std::optional<FrameView>{};
    }
    FrameView f{.type = h.type,
                .flags = h.flags,
                .payload = std::string_view(buf_.data() + kFrameHeaderSize, h.length),
                .length = h.length,
                .offset = 0,
                .first = true};
    buf_.consume(kFrameHeaderSize + h.length);
    return std::optional<FrameView>(f);
}

FrameView FrameDecoder::nextPiece() noexcept {
    FrameView piece = *streaming_;
    const std::size_t n = std::min<std::size_t>(buf_.size(), piece.length - piece.offset);
    piece.payload = std::string_view(buf_.data(), n);
    // The view stays valid after consume(): a ByteBuffer moves or frees nothing until it is
    // written to again.
    buf_.consume(n);
    if (piece.lastPiece()) {
        streaming_.reset();
    } else {
        streaming_->offset += static_cast<std::uint32_t>(n);
        streaming_->first = false;
    }
    return piece;
}

}  // namespace wsgid::protocol
