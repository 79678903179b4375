// SPDX-License-Identifier: Apache-2.0
// Relay, the state machine behind relayRequest (relay.h), shared by its source files: relay.cpp
// (the run loop, outcomes and whether the connection is reused), relay_send.cpp (the request
// stream to the daemon), relay_response.cpp (reading the daemon's bytes) and relay_frames.cpp
// (each response frame). Include it nowhere else. No httpd calls. Request thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "apache/relay.h"
#include "common/byte_buffer.h"
#include "common/descriptor_passing.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/frame.h"

namespace wsgid::apache {

/// How many response body bytes a response may carry, as the client was told.
struct BodyAllowance {
    std::optional<std::int64_t> limit;  ///< most bytes; nullopt: any number (no Content-Length)
    bool exact = false;                 ///< an End with fewer than `limit` bytes is wrong too
};

/// A descriptor the daemon passed, waiting for the File frame it came with. Linux ends a read
/// right after the bytes a descriptor was sent with, and the daemon sends each File frame with
/// one sendmsg() that carries its descriptor, so the frame's first byte is in [from, to).
struct PendingDescriptor {
    common::UniqueFd fd;
    std::size_t from = 0;  ///< stream offset of the first byte of the read that brought it
    std::size_t to = 0;    ///< stream offset just past that read
};

/// The request side of a relay: what the module still has to send. The body goes out only after
/// the daemon's SendBody (docs/protocol.md "Sessions").
enum class RequestState {
    HeadOnly,      ///< the request has no body: the RequestHead is all there is
    BodyNotAsked,  ///< the request has a body; the daemon has not asked for it, none was read
    SendingBody,   ///< SendBody came: the body is read from the client and sent; no BodyEnd yet
    BodyEnded,     ///< BodyEnd queued after the whole body
    Abandoned,     ///< BodyEnd{abandoned} queued: the response ended first or the client failed
    WriteFailed,   ///< writing to the daemon failed; nothing more can be sent, its answer is read
};

/// The response side of a relay: what the daemon has sent so far.
enum class ResponseState {
    AwaitingStart,  ///< nothing decoded yet
    Streaming,      ///< Start relayed to the sink; Body frames follow
    Ended,          ///< End relayed to the sink
    Refused,        ///< an Error frame came before Start
};

/// The state machine of one request on one connection (see relayRequest in the header). Frames
/// that break the relay stop it through fail()/clientFailed(), which set result_.
class Relay {
public:
    Relay(DaemonConnection& conn, BodySource& source, ResponseSink& sink,
          const RelayOptions& options)
        : conn_(conn), source_(source), sink_(sink), options_(options) {
        decoder_.streamPayloadsOf(protocol::FrameType::Body);
    }

    RelayResult run(const protocol::RequestHead& head);

private:
    [[nodiscard]] bool outDrained() const noexcept { return out_.empty(); }
    [[nodiscard]] bool stopped() const noexcept { return result_.has_value(); }
    /// The sink got start(): the status can no longer change.
    [[nodiscard]] bool started() const noexcept {
        return response_ == ResponseState::Streaming || response_ == ResponseState::Ended;
    }
    /// End, or an Error before Start: the daemon has nothing more to say about this request.
    [[nodiscard]] bool responseDone() const noexcept {
        return response_ == ResponseState::Ended || response_ == ResponseState::Refused;
    }
    [[nodiscard]] bool writeFailed() const noexcept {
        return request_ == RequestState::WriteFailed;
    }
    /// Nothing more will be queued for the daemon: no body, BodyEnd queued, writing failed, or
    /// the response ended before the daemon asked for the body.
    [[nodiscard]] bool requestFinished() const noexcept {
        return request_ == RequestState::HeadOnly || request_ == RequestState::BodyEnded ||
               request_ == RequestState::Abandoned || request_ == RequestState::WriteFailed ||
               (request_ == RequestState::BodyNotAsked && responseDone());
    }
    /// The daemon never asked for the body, so none of it was read from the client: running the
    /// request elsewhere loses nothing.
    [[nodiscard]] bool bodyUntouched() const noexcept { return !bodyAsked_; }

    void queueFrame(protocol::FrameType type, std::uint16_t flags, std::string_view payload);
    void queueBodyEnd(bool abandoned);
    /// Pulls the next piece of the client body (or queues BodyEnd).
    void refill();
    /// Writes queued bytes without blocking.
    void writeSome();
    /// Frees the send buffer once all of the request went out: a body chunk's block is not
    /// held while the response streams (or while the app runs).
    void releaseSent() noexcept;
    /// Room for the next read from the daemon: at most kDaemonReadSize, in a buffer that stays
    /// that size unless a frame that comes whole (a large Start) needs more.
    std::span<char> readRoom();
    /// Reads and handles what the daemon has sent, without blocking.
    void pumpResponse();
    /// Handles the decoded frames until the response is done or the relay stops, or up to the
    /// first frame that begins at stream offset `before` or later.
    void processFrames(std::size_t before = std::numeric_limits<std::size_t>::max());
    /// `at`: the stream offset of the frame's first byte (for the descriptor rule).
    /// `frame` is a piece of a Body frame or a whole frame of another type.
    void handleFrame(const protocol::FrameView& frame, std::size_t at);
    // Out of line: their locals (a decoded Start's headers, error texts) would otherwise widen
    // the frame below which every End and Body piece reaches httpd's output filters.
    [[gnu::noinline]] void handleStart(const protocol::FrameView& frame);
    [[gnu::noinline]] void handleError(const protocol::FrameView& frame);
    void handleBody(const protocol::FrameView& piece);
    void handleFile(const protocol::FrameView& frame, std::size_t at);
    /// Takes what the read of the bytes from stream offset `from` to receivedBytes_ brought
    /// besides bytes: false when the relay stopped.
    bool takeDescriptor(common::ReceivedDescriptor& received, std::size_t from);
    void waitAndTransfer();
    /// Sends the body bytes held so far to the client with a FLUSH.
    void flushResponse();
    /// The daemon socket is empty and body bytes are held: true when more arrived within
    /// response-flush-delay= (so the flush waits); false at once when there is no delay.
    bool moreResponseSoon();
    /// Writes the tail of the request stream after the response ended, bounded by
    /// kFinishWriteTimeout; true when all of it went out.
    bool finishWrite();

    /// What arrived after the response, unless it is the daemon's goodbye (docs/protocol.md:
    /// a draining daemon writes Error{ShuttingDown} on a connection as soon as it is idle) or an
    /// incomplete frame (which may be the start of one). Decoded only to tell, never relayed.
    std::size_t unexpectedTrailingBytes();
    void fail(RelayOutcome outcome, std::string detail);
    void clientFailed(RelayOutcome outcome, common::Status status);
    RelayResult complete();

    DaemonConnection& conn_;
    BodySource& source_;
    ResponseSink& sink_;
    const RelayOptions options_;

    protocol::FrameDecoder decoder_;
    /// Request bytes not yet written. A body piece is read from the client straight into it,
    /// behind room for its frame header: no copy between the client's buckets and the socket.
    common::ByteBuffer out_;

    bool headRequest_ = false;  ///< REQUEST_METHOD is HEAD (see bodyAllowanceFor)
    bool acceptFiles_ = false;  ///< the request passes files (protocol::passesFiles)
    bool fileSeen_ = false;     ///< a File frame came (only End or Error may follow)
    std::optional<PendingDescriptor> descriptor_;  ///< passed, its File frame not yet decoded
    BodyAllowance allowance_;                      ///< set from the Start frame
    std::int64_t bodyBytes_ = 0;                   ///< response body bytes the daemon sent
    RequestState request_ = RequestState::HeadOnly;
    bool bodyAsked_ = false;  ///< SendBody arrived (request_ may have moved on since)
    ResponseState response_ = ResponseState::AwaitingStart;
    std::size_t headFrameSize_ = 0;    ///< bytes of the RequestHead frame (first in the stream)
    std::size_t sentBytes_ = 0;        ///< request bytes the socket accepted so far
    std::size_t receivedBytes_ = 0;    ///< bytes read from the daemon so far
    std::size_t unflushedPieces_ = 0;  ///< Body pieces handed to the sink since its last flush
    std::size_t unflushedBytes_ = 0;   ///< their bytes (against response-buffer-size=)
    std::size_t bodyBytesRead_ = 0;    ///< client body bytes read so far
    std::optional<protocol::ResponseError> error_;
    std::string writeError_;
    std::optional<RelayResult> result_;  ///< set when the relay stops early
};

}  // namespace wsgid::apache
