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

void FrameDecoder::reserve(std::size_t count) {
    if (begin_ == end_) {
        begin_ = 0;
        end_ = 0;
    }
    if (capacity_ - end_ >= count) {
        return;
    }
    const std::size_t held = end_ - begin_;
    if (capacity_ - held >= count) {
        // Compact instead of growing, so a long-lived connection's buffer does not creep.
        std::memmove(buf_.get(), buf_.get() + begin_, held);
    } else {
        const std::size_t capacity = std::max(held + count, 2 * capacity_);
        // Left uninitialised: only the bytes received into it are ever touched.
        auto grown = std::make_unique_for_overwrite<char[]>(capacity);
        if (held != 0) {
            std::memcpy(grown.get(), buf_.get() + begin_, held);
        }
        buf_ = std::move(grown);
        capacity_ = capacity;
    }
    begin_ = 0;
    end_ = held;
}

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
    reserve(bytes.size());
    std::memcpy(buf_.get() + end_, bytes.data(), bytes.size());
    end_ += bytes.size();
}

std::span<char> FrameDecoder::prepare(std::size_t atLeast) {
    std::size_t want = std::max<std::size_t>(atLeast, 1);
    if (const std::size_t held = end_ - begin_; held >= kFrameHeaderSize && error_.isOk()) {
        // The rest of the frame at the head goes straight after it: it is then read in place,
        // whatever its size, and never moved again.
        auto header = peekHeader();
        if (header.isOk() && header.value()) {
            const std::size_t frame = kFrameHeaderSize + header.value()->length;
            if (frame > held) {
                want = std::max(want, frame - held);
            }
        }
    }
    reserve(want);
    return {buf_.get() + end_, capacity_ - end_};
}

void FrameDecoder::commit(std::size_t count) noexcept {
    end_ += std::min(count, capacity_ - end_);
}

Result<std::optional<FrameHeader>> FrameDecoder::peekHeader() {
    if (!error_.isOk()) {
        return error_;
    }
    if (end_ - begin_ < kFrameHeaderSize) {
        return std::optional<FrameHeader>{};
    }
    const auto* h = reinterpret_cast<const unsigned char*>(buf_.get() + begin_);
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
    const char* payload = buf_.get() + begin_ + kFrameHeaderSize;
    if (end_ - begin_ < kFrameHeaderSize + h.length) {
        if (h.length >= kDirectAssemblyBytes) {
            // Everything buffered after the header belongs to this frame.
            partial_.emplace();
            partial_->type = h.type;
            partial_->flags = h.flags;
            partial_->payload.reserve(h.length);
            partial_->payload.assign(payload, end_ - begin_ - kFrameHeaderSize);
            partialLength_ = h.length;
            begin_ = 0;
            end_ = 0;
        }
        return std::optional<Frame>{};
    }
    Frame f;
    f.type = h.type;
    f.flags = h.flags;
    f.payload.assign(payload, h.length);
    begin_ += kFrameHeaderSize + h.length;
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
        const std::size_t held = end_ - begin_;
        auto joined = std::make_unique_for_overwrite<char[]>(payload.size() + held);
        std::memcpy(joined.get(), payload.data(), payload.size());
        if (held != 0) {
            std::memcpy(joined.get() + payload.size(), buf_.get() + begin_, held);
        }
        buf_ = std::move(joined);
        capacity_ = payload.size() + held;
        begin_ = 0;
        end_ = capacity_;
        return std::optional<FrameHeader>(header);
    }
    auto header = peekHeader();
    if (!header) {
        return header.status();
    }
    if (header.value()) {
        begin_ += kFrameHeaderSize;
    }
    return header;
}

std::size_t FrameDecoder::takeBuffered(std::span<char> out) noexcept {
    const std::size_t n = std::min(out.size(), end_ - begin_);
    if (n != 0) {
        std::memcpy(out.data(), buf_.get() + begin_, n);
        begin_ += n;
    }
    return n;
}

Result<std::optional<FrameView>> FrameDecoder::nextView() {
    auto header = peekHeader();
    if (!header) {
        return header.status();
    }
    if (!header.value() || end_ - begin_ < kFrameHeaderSize + header.value()->length) {
        return std::optional<FrameView>{};
    }
    const FrameHeader h = *header.value();
    FrameView f{.type = h.type,
                .flags = h.flags,
                .payload = std::string_view(buf_.get() + begin_ + kFrameHeaderSize, h.length)};
    begin_ += kFrameHeaderSize + h.length;
    return std::optional<FrameView>(f);
}

}  // namespace wsgid::protocol
