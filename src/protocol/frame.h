// SPDX-License-Identifier: Apache-2.0
// Frames: the unit of the wire protocol between mod_wsgid and wsgid-daemon, and the incremental
// decoder that cuts a byte stream into frames. Pure: no syscalls, no httpd, no Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/byte_buffer.h"
#include "common/status.h"
#include "protocol/limits.h"

namespace wsgid::protocol {

/// What a frame carries. Values are part of the wire format (docs/protocol.md).
enum class FrameType : std::uint8_t {
    // module -> daemon
    Hello = 1,        ///< answer to Challenge: manager pid, generation and proof
    RequestHead = 2,  ///< one request: environ, script, groups
    BodyChunk = 3,    ///< request body bytes
    BodyEnd = 4,      ///< end of request body; flag kBodyAbandoned if the module stops early
    // daemon -> module
    HelloAck = 16,   ///< reply to a Hello whose proof holds: the daemon's pid
    Start = 17,      ///< status line and headers
    Body = 18,       ///< response body bytes
    End = 19,        ///< the response is complete; the connection may carry another request
    Error = 20,      ///< the request failed; see ResponseError
    Challenge = 21,  ///< first frame on a connection: the daemon's pid and nonce
    SendBody = 22,   ///< the app reads its input: the module may now send the request body
    /// Response body bytes from a file: offset and length, with the open file's descriptor
    /// attached to the frame's first byte (SCM_RIGHTS). See protocol::ResponseFile.
    File = 23,
};

/// BodyEnd flag: the module stopped sending before the whole body was read (the response had
/// already ended, or the client went away). The app sees a short read / an IOError.
inline constexpr std::uint16_t kBodyAbandoned = 0x0001;

/// RequestHead flag: the module has no other process to try, so a daemon without a free worker
/// queues the request (within queue-timeout) instead of answering Error{Busy}.
inline constexpr std::uint16_t kHeadMayQueue = 0x0001;

/// RequestHead flag: the module has another attempt left, so a daemon that queued the request
/// may still answer it Error{Busy} while it has not started, when a sibling process shows a free
/// worker in the group's load table (protocol/load_table.h): the request then runs there instead
/// of waiting behind this process's requests.
inline constexpr std::uint16_t kHeadMayReturn = 0x0002;

/// True for the values listed in FrameType.
bool isKnownFrameType(std::uint8_t t) noexcept;

/// Largest payload allowed for a frame of type `t`.
std::uint32_t maxPayloadFor(FrameType t) noexcept;

/// A frame's header alone, for a reader that takes the payload itself (FrameDecoder::nextHeader).
struct FrameHeader {
    FrameType type{};
    std::uint16_t flags = 0;
    std::uint32_t length = 0;  ///< payload bytes that follow the header in the stream
};

/// A decoded frame. The payload is owned.
struct Frame {
    FrameType type{};
    std::uint16_t flags = 0;
    std::string payload;
};

/// Writes the 8-byte header for a frame into `out`.
void encodeHeader(FrameType type, std::uint16_t flags, std::uint32_t length,
                  std::span<char, kFrameHeaderSize> out) noexcept;

/// Appends a whole frame (header and payload) to `out`. The payload must fit maxPayloadFor().
void appendFrame(std::string& out, FrameType type, std::uint16_t flags, std::string_view payload);

/// A decoded frame whose payload views the decoder's buffer (FrameDecoder::nextView): valid until
/// the decoder's next feed(), prepare() or commit(), or its end. For a type the decoder streams
/// (FrameDecoder::streamPayloadsOf), one piece of the frame: its header comes with the first
/// piece (offset 0, perhaps with no bytes yet), and the pieces of a frame add up to `length`.
struct FrameView {
    FrameType type{};
    std::uint16_t flags = 0;
    std::string_view payload;  ///< the whole payload, or this piece of it
    std::uint32_t length = 0;  ///< the frame's declared payload length
    std::uint32_t offset = 0;  ///< where `payload` begins in the frame's payload
    /// The piece that carries the frame's header (every frame has exactly one; its offset is 0,
    /// and so is the next one's when the first had no bytes yet).
    bool first = true;

    /// The piece that ends the frame (every frame has exactly one).
    [[nodiscard]] bool lastPiece() const noexcept { return offset + payload.size() == length; }
};

/// Cuts a byte stream into frames. Validates version, type and length from the header alone, so
/// an oversized frame is rejected before its payload is buffered. Errors are sticky. Not
/// thread-safe. Two ways to use it, never mixed on one decoder:
/// - copying: feed() bytes as they arrive, then call next() until it returns no frame; each
///   frame owns its payload. A reader that puts a payload where it wants it takes the frame's
///   header alone with nextHeader() instead, then its payload with takeBuffered() and its own
///   reads.
/// - in place: prepare() room, receive into it, commit() what arrived, then call nextView()
///   until it returns no frame; payloads view the decoder's buffer, so a frame's bytes are
///   copied by no one between the socket and the frame's user. The buffer grows to hold the
///   whole frame at its head (up to maxPayloadFor its type), except for the one type whose
///   payloads are streamed (streamPayloadsOf): those come out in pieces as their bytes arrive.
class FrameDecoder {
public:
    /// In-place use: frames of type `t` come out of nextView() in pieces, as their bytes arrive,
    /// instead of whole: the buffer never grows to hold one (a reader whose reads are bounded
    /// keeps its memory bounded, docs/architecture.md "Life of a request"). One type at most; a
    /// later call replaces the earlier one. Call before the first byte is committed.
    void streamPayloadsOf(FrameType t) noexcept { streamed_ = t; }

    /// Appends received bytes (copying use).
    void feed(std::string_view bytes);

    /// The next complete frame; std::nullopt when more bytes are needed; an error status
    /// (ProtocolError or LimitExceeded) when the stream is malformed.
    common::Result<std::optional<Frame>> next();

    /// For a reader that puts a frame's payload where it wants it (the daemon reads a request
    /// body straight into the app's buffer, docs/architecture.md "The request body"): consumes and
    /// returns the next frame's header alone, validated as next() validates it, when the whole
    /// header is buffered; std::nullopt when more bytes are needed. The frame's `length` payload
    /// bytes come next in the stream: takeBuffered() has those already fed, the rest the caller
    /// reads itself and never feeds. After the payload, next() and nextHeader() go on as usual.
    common::Result<std::optional<FrameHeader>> nextHeader();

    /// Moves up to `out.size()` bytes fed and not yet returned into `out`; returns the count.
    /// Only between nextHeader() and the end of that frame's payload: they are payload bytes.
    std::size_t takeBuffered(std::span<char> out) noexcept;

    /// Room for at least `atLeast` more bytes, and for the rest of the frame at the head of
    /// the buffer once its header is here: receive into it, then commit() how many arrived.
    /// The span is all the room there is (often more than `atLeast`); valid until the next
    /// call of any member. Invalidates the FrameViews returned so far.
    std::span<char> prepare(std::size_t atLeast);

    /// Counts `count` bytes (at most prepare()'s span) written into the room prepare() gave.
    void commit(std::size_t count) noexcept;

    /// next() without copying the payload (in-place use; see FrameView for how long it lives).
    /// For the streamed type: the next piece, once its header is here (the first piece, with the
    /// payload bytes already here, perhaps none) or once more of its payload arrived.
    common::Result<std::optional<FrameView>> nextView();

    /// Bytes fed but not yet returned as frames (or as pieces of a streamed one).
    [[nodiscard]] std::size_t buffered() const noexcept {
        return buf_.size() + (partial_ ? kFrameHeaderSize + partial_->payload.size() : 0);
    }

private:
    /// The header at the head of the buffer, checked; std::nullopt while fewer than
    /// kFrameHeaderSize bytes are buffered. Sets error_ on a bad header.
    common::Result<std::optional<FrameHeader>> peekHeader();
    /// The next piece of the streamed frame: what buf_ holds of it (perhaps nothing, for its first
    /// piece), consumed. Ends streaming_ with its last piece.
    FrameView nextPiece() noexcept;

    common::ByteBuffer buf_;  ///< bytes received and not yet returned as frames
    common::Status error_;
    /// Copying use: a large frame whose header is decoded and whose payload is still arriving:
    /// feed() appends straight to its payload (allocated once at its full length), so a body
    /// frame is copied once on its way through instead of through buf_'s growth and then out
    /// of it.
    std::optional<Frame> partial_;
    std::uint32_t partialLength_ = 0;    ///< the payload length partial_ is complete at
    std::optional<FrameType> streamed_;  ///< the type whose payloads come out in pieces
    /// The streamed frame whose first piece came out and whose last did not: buf_ starts with
    /// more of its payload (offset: how much of it came out already).
    std::optional<FrameView> streaming_;
};

}  // namespace wsgid::protocol
