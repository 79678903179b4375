// SPDX-License-Identifier: Apache-2.0
// The full-duplex request relay (see relay.h). No httpd calls; every wait is bounded.
#include "apache/relay.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include <poll.h>
#include <sys/socket.h>

#include "apache/passed_file.h"
#include "common/byte_buffer.h"
#include "common/descriptor_passing.h"
#include "common/duration_text.h"
#include "common/http_syntax.h"
#include "common/socket_io.h"
#include "protocol/frame.h"
#include "protocol/request_flags.h"

namespace wsgid::apache {

namespace {

using common::Deadline;
using common::durationText;
using common::Status;
using protocol::FrameType;

/// Response bytes read in one go while the daemon keeps the socket readable: beyond this the
/// relay hands what it has to the client's filters (with a FLUSH only once
/// response-buffer-size= is reached), so memory per request stays bounded and client
/// back-pressure reaches the daemon.
constexpr std::size_t kMaxCoalesceBytes = std::size_t{256} * 1024;

/// After the response is complete, how long to wait for the socket to take the rest of the
/// request stream (the tail of a BodyChunk and the BodyEnd). The daemon discards those frames
/// as fast as it reads them; if it does not, the connection is simply not reused rather than
/// holding an httpd worker.
constexpr std::chrono::milliseconds kFinishWriteTimeout{1000};

/// How many response body bytes a response may carry, as the client was told.
struct BodyAllowance {
    std::optional<std::int64_t> limit;  ///< most bytes; nullopt: any number (no Content-Length)
    bool exact = false;                 ///< an End with fewer than `limit` bytes is wrong too
};

/// The body a daemon may send after `start`. 204 and 304 never have one (RFC 9110 §15.3.5,
/// §15.4.5), whatever their Content-Length says (a 304 carries the representation's). For HEAD
/// the Content-Length is that of the GET body, which the app may or may not send (httpd strips
/// it): more is still wrong, less is not.
BodyAllowance bodyAllowanceFor(const protocol::ResponseStart& start, bool headRequest) {
    const int code = start.statusCode();
    if (code == 204 || code == 304) {
        return {.limit = 0, .exact = true};
    }
    const std::optional<std::int64_t> length = start.contentLength();
    return {.limit = length, .exact = length.has_value() && !headRequest};
}

bool isHeadRequest(const protocol::RequestHead& head) noexcept {
    for (const auto& [key, value] : head.environ) {
        if (key == "REQUEST_METHOD") {
            return value == "HEAD";
        }
    }
    return false;
}

/// A descriptor the daemon passed, waiting for the File frame it came with. Linux ends a read
/// right after the bytes a descriptor was sent with, and the daemon sends each File frame with
/// one sendmsg() that carries its descriptor, so the frame's first byte is in [from, to).
struct PendingDescriptor {
    common::UniqueFd fd;
    std::size_t from = 0;  ///< stream offset of the first byte of the read that brought it
    std::size_t to = 0;    ///< stream offset just past that read
};

/// `a + b` for counts of body bytes, stopping at the largest value instead of overflowing (a
/// daemon chooses both).
std::int64_t addBodyBytes(std::int64_t a, std::uint64_t b) noexcept {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const auto sum = static_cast<std::uint64_t>(a) + std::min(b, kMax);
    return static_cast<std::int64_t>(std::min(sum, kMax));
}

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
        decoder_.streamPayloadsOf(FrameType::Body);
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

    void queueFrame(FrameType type, std::uint16_t flags, std::string_view payload);
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
    void clientFailed(RelayOutcome outcome, Status status);
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

void Relay::queueFrame(FrameType type, std::uint16_t flags, std::string_view payload) {
    char header[protocol::kFrameHeaderSize];
    protocol::encodeHeader(type, flags, static_cast<std::uint32_t>(payload.size()), header);
    out_.append(std::string_view(header, sizeof(header)));
    out_.append(payload);
}

void Relay::queueBodyEnd(bool abandoned) {
    queueFrame(FrameType::BodyEnd, abandoned ? protocol::kBodyAbandoned : 0, {});
    request_ = abandoned ? RequestState::Abandoned : RequestState::BodyEnded;
}

void Relay::refill() {
    if (responseDone()) {
        queueBodyEnd(true);
        return;
    }
    const std::span<char> room = out_.prepare(protocol::kFrameHeaderSize + kBodyReadSize);
    auto n = source_.read(room.subspan(protocol::kFrameHeaderSize));
    if (!n) {
        // Tell the daemon (best effort, without waiting) and stop: the client is gone or
        // httpd already answered it (e.g. 413), so the response has nowhere to go.
        queueBodyEnd(true);
        writeSome();
        clientFailed(RelayOutcome::ClientBodyFailed, n.status());
        return;
    }
    if (n.value() == 0) {
        queueBodyEnd(false);
        return;
    }
    bodyBytesRead_ += n.value();
    protocol::encodeHeader(FrameType::BodyChunk, 0, static_cast<std::uint32_t>(n.value()),
                           room.first<protocol::kFrameHeaderSize>());
    out_.commit(protocol::kFrameHeaderSize + n.value());
}

void Relay::writeSome() {
    while (!outDrained() && !writeFailed()) {
        const ssize_t n = ::send(conn_.fd(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            out_.consume(static_cast<std::size_t>(n));
            sentBytes_ += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        }
        // The daemon closed or reset the connection; whatever it sent before (perhaps an Error
        // frame that explains why) is still readable, so keep reading until EOF.
        request_ = RequestState::WriteFailed;
        writeError_ = common::errnoText(errno);
    }
    releaseSent();
}

void Relay::releaseSent() noexcept {
    if (outDrained() && requestFinished()) {
        out_.release();
    }
}

std::span<char> Relay::readRoom() {
    // Asking for the read size less what an incomplete frame holds lets the buffer move those
    // bytes to its front instead of doubling.
    const std::size_t held = decoder_.buffered();
    const std::span<char> room =
        decoder_.prepare(held < kDaemonReadSize ? kDaemonReadSize - held : 1);
    return room.first(std::min(room.size(), kDaemonReadSize));
}

void Relay::fail(RelayOutcome outcome, std::string detail) {
    if (stopped()) {
        return;
    }
    RelayResult r;
    // A daemon that broke the framing is named as such even after Start: the handler answers
    // 502 if nothing reached the client yet.
    const bool brokeFraming =
        outcome == RelayOutcome::Malformed || outcome == RelayOutcome::BodyLengthMismatch;
    r.outcome = started() && !brokeFraming ? RelayOutcome::FailedAfterStart : outcome;
    r.detail = std::move(detail);
    r.error = error_;
    r.started = started();
    r.announcedBodyBytes = allowance_.limit.value_or(-1);
    r.daemonBodyBytes = bodyBytes_;
    // Only a request the daemon cannot have started may run again: the pooled connection
    // broke before it took the whole RequestHead (the daemon had closed it while idle). Once the
    // head is delivered, a broken connection may mean the app ran (or crashed), so no retry.
    r.retryable = !started() && receivedBytes_ == 0 && bodyUntouched() && conn_.reused() &&
                  outcome == RelayOutcome::Broken && sentBytes_ < headFrameSize_;
    result_ = std::move(r);
}

void Relay::clientFailed(RelayOutcome outcome, Status status) {
    if (stopped()) {
        return;
    }
    RelayResult r;
    r.outcome = outcome;
    r.clientStatus = std::move(status);
    r.detail = r.clientStatus.message();
    r.started = started();
    result_ = std::move(r);
}

void Relay::handleFrame(const protocol::FrameView& frame, std::size_t at) {
    if (descriptor_ && (frame.type == FrameType::End || frame.type == FrameType::Error)) {
        // A File frame after this one would never be read: the descriptor came with no File.
        fail(RelayOutcome::Malformed, "a descriptor that came with no File frame");
        return;
    }
    switch (frame.type) {
        case FrameType::Start: {
            if (started()) {
                fail(RelayOutcome::Malformed, "a second Start frame");
                return;
            }
            auto start = protocol::decodeResponseStart(frame.payload);
            if (!start) {
                fail(RelayOutcome::Malformed, "bad Start frame: " + start.status().message());
                return;
            }
            if (!common::isFinalStatusLine(start->status)) {
                // An interim response is no final answer: the client would wait for another.
                fail(RelayOutcome::Malformed,
                     "an interim status '" + start->status + "' as the final response");
                return;
            }
            if (const auto overlong =
                    firstOverlongHeader(start.value(), options_.buffering.maxHeaderLine)) {
                const auto& [name, value] = start->headers[*overlong];
                fail(RelayOutcome::HeaderTooLong, "'" + name + "' (" +
                                                      std::to_string(name.size() + value.size()) +
                                                      " bytes of name and value)");
                return;
            }
            allowance_ = bodyAllowanceFor(start.value(), headRequest_);
            response_ = ResponseState::Streaming;
            if (Status s = sink_.start(std::move(start.value())); !s) {
                clientFailed(RelayOutcome::ClientGone, std::move(s));
            }
            return;
        }
        case FrameType::Body:
            handleBody(frame);
            return;
        case FrameType::End:
            if (!started()) {
                fail(RelayOutcome::Malformed, "an End frame before Start");
                return;
            }
            if (!frame.payload.empty()) {
                fail(RelayOutcome::Malformed, "an End frame with a payload");
                return;
            }
            if (allowance_.exact && bodyBytes_ < *allowance_.limit) {
                fail(RelayOutcome::BodyLengthMismatch,
                     "an End frame before the response body the response announced");
                return;
            }
            response_ = ResponseState::Ended;
            unflushedPieces_ = 0;
            unflushedBytes_ = 0;
            if (Status s = sink_.end(); !s) {
                clientFailed(RelayOutcome::ClientGone, std::move(s));
            }
            return;
        case FrameType::File:
            handleFile(frame, at);
            return;
        case FrameType::SendBody:
            if (request_ != RequestState::BodyNotAsked || !frame.payload.empty()) {
                fail(RelayOutcome::Malformed, "a SendBody frame for no pending request body");
                return;
            }
            request_ = RequestState::SendingBody;
            bodyAsked_ = true;
            return;
        case FrameType::Error: {
            auto err = protocol::decodeResponseError(frame.payload);
            if (!err) {
                fail(RelayOutcome::Malformed, "bad Error frame: " + err.status().message());
                return;
            }
            error_ = std::move(err.value());
            if (started()) {
                fail(RelayOutcome::FailedAfterStart,
                     std::string(protocol::toString(error_->code)) + ": " + error_->message);
                return;
            }
            response_ = ResponseState::Refused;
            return;
        }
        default:
            fail(RelayOutcome::Malformed,
                 "unexpected frame type " + std::to_string(static_cast<unsigned>(frame.type)));
            return;
    }
}

void Relay::handleBody(const protocol::FrameView& piece) {
    if (piece.first) {
        if (!started()) {
            fail(RelayOutcome::Malformed, "a Body frame before Start");
            return;
        }
        if (fileSeen_) {
            fail(RelayOutcome::Malformed, "a Body frame after the File frame");
            return;
        }
        // The frame's whole declared length counts at its first piece: nothing of a frame that
        // overruns the length the client was told reaches the sink.
        bodyBytes_ += static_cast<std::int64_t>(piece.length);
        if (allowance_.limit && bodyBytes_ > *allowance_.limit) {
            fail(RelayOutcome::BodyLengthMismatch,
                 "more response body bytes than the response announced");
            return;
        }
        if (piece.payload.empty() && !piece.lastPiece()) {
            return;  // its header alone so far
        }
    }
    ++unflushedPieces_;
    unflushedBytes_ += piece.payload.size();
    if (Status s = sink_.body(piece.payload); !s) {
        clientFailed(RelayOutcome::ClientGone, std::move(s));
        return;
    }
    if (unflushedBytes_ >= options_.buffering.flushAfterBytes) {
        flushResponse();  // response-buffer-size=
    }
}

void Relay::handleFile(const protocol::FrameView& frame, std::size_t at) {
    if (!acceptFiles_) {
        fail(RelayOutcome::Malformed,
             "a File frame for a request that does not pass files (WSGIEnableSendfile Off)");
        return;
    }
    if (!started()) {
        fail(RelayOutcome::Malformed, "a File frame before Start");
        return;
    }
    if (fileSeen_) {
        fail(RelayOutcome::Malformed, "a second File frame");
        return;
    }
    if (!descriptor_ || at < descriptor_->from) {
        fail(RelayOutcome::Malformed, "a File frame without its descriptor");
        return;
    }
    common::UniqueFd fd = std::move(descriptor_->fd);
    descriptor_.reset();
    fileSeen_ = true;
    auto range = protocol::decodeResponseFile(frame.payload);
    if (!range) {
        fail(RelayOutcome::Malformed, "bad File frame: " + range.status().message());
        return;
    }
    bodyBytes_ = addBodyBytes(bodyBytes_, range->length);
    if (allowance_.limit && bodyBytes_ > *allowance_.limit) {
        fail(RelayOutcome::BodyLengthMismatch,
             "a File frame with more response body bytes than the response announced");
        return;
    }
    if (Status s = checkPassedFile(fd.get(), range.value()); !s) {
        fail(RelayOutcome::Malformed, "a File frame refused: " + s.message());
        return;
    }
    if (Status s = sink_.file(std::move(fd), range.value()); !s) {
        clientFailed(RelayOutcome::ClientGone, std::move(s));
    }
}

void Relay::processFrames(std::size_t before) {
    // Nothing after End (or an Error before Start) is decoded: it stays in the decoder, and a
    // connection with bytes left there is never reused.
    while (!stopped() && !responseDone()) {
        const std::size_t at = receivedBytes_ - decoder_.buffered();
        if (at >= before) {
            return;
        }
        auto next = decoder_.nextView();
        if (!next) {
            fail(RelayOutcome::Malformed, next.status().message());
            return;
        }
        if (!next.value()) {
            return;
        }
        if (descriptor_ && at >= descriptor_->to) {
            // Every frame that began in the read that brought it is past: none was a File.
            fail(RelayOutcome::Malformed, "a descriptor that came with no File frame");
            return;
        }
        handleFrame(*next.value(), at);
    }
}

bool Relay::takeDescriptor(common::ReceivedDescriptor& received, std::size_t from) {
    if (received.tooMany()) {
        fail(RelayOutcome::Malformed, "more than one descriptor in one read");
        return false;
    }
    if (!received.fd) {
        return true;
    }
    if (descriptor_) {
        // Its File frame began before this read and is not complete yet: two at once.
        fail(RelayOutcome::Malformed, "a second descriptor before the File frame of the first");
        return false;
    }
    descriptor_ =
        PendingDescriptor{.fd = std::move(received.fd), .from = from, .to = receivedBytes_};
    return true;
}

void Relay::pumpResponse() {
    std::size_t coalesced = 0;
    while (!stopped() && !responseDone()) {
        // The next read reuses (or moves) the buffer earlier Body pieces viewed.
        if (Status s = sink_.beforeRead(); !s) {
            clientFailed(RelayOutcome::ClientGone, std::move(s));
            return;
        }
        // Whatever descriptor a read brings is owned by `received` (closed unless taken) before
        // anything else is looked at, so none leaks on any path.
        common::ReceivedDescriptor received;
        const ssize_t n = common::receiveWithDescriptor(conn_.fd(), readRoom(), received);
        if (n <= 0 && (received.fd || received.tooMany())) {
            fail(RelayOutcome::Malformed, "a descriptor without bytes");
            return;
        }
        if (n > 0) {
            const std::size_t from = receivedBytes_;
            receivedBytes_ += static_cast<std::size_t>(n);
            decoder_.commit(static_cast<std::size_t>(n));
            // Frames that began before this read go with what came before it: so how the
            // kernel cut the reads does not decide which descriptor a frame sees.
            processFrames(from);
            if (stopped() || responseDone()) {
                return;  // a descriptor of this read, if any, is closed with `received`
            }
            if (!takeDescriptor(received, from)) {
                return;
            }
            processFrames();
            coalesced += static_cast<std::size_t>(n);
            if (coalesced >= kMaxCoalesceBytes) {
                // More is readable: pass what is held on, flushing only at the buffer size.
                if (unflushedPieces_ != 0) {
                    if (Status s = sink_.release(); !s) {
                        clientFailed(RelayOutcome::ClientGone, std::move(s));
                    }
                }
                return;
            }
            continue;
        }
        if (n == 0) {
            fail(RelayOutcome::Broken, writeFailed()
                                           ? "connection closed by the daemon (" + writeError_ + ")"
                                           : std::string("connection closed by the daemon"));
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            fail(RelayOutcome::Broken, "reading from the daemon: " + common::errnoText(errno));
            return;
        }
        if (moreResponseSoon()) {
            continue;
        }
        break;
    }
    if (!stopped() && !responseDone() && unflushedPieces_ != 0) {
        flushResponse();
    }
}

void Relay::flushResponse() {
    unflushedPieces_ = 0;
    unflushedBytes_ = 0;
    if (Status s = sink_.flush(); !s) {
        clientFailed(RelayOutcome::ClientGone, std::move(s));
    }
}

bool Relay::moreResponseSoon() {
    // Only once nothing more goes to the daemon: while the request body streams, the daemon may
    // be waiting for it, and the client's bytes must not wait on the delay.
    if (options_.buffering.flushDelay.count() <= 0 || unflushedPieces_ == 0 || !requestFinished() ||
        !(outDrained() || writeFailed())) {
        return false;
    }
    return common::waitReadable(conn_.fd(), Deadline::after(options_.buffering.flushDelay)).isOk();
}

void Relay::waitAndTransfer() {
    short events = 0;
    if (!responseDone()) {
        events |= POLLIN;
    }
    if (!outDrained() && !writeFailed()) {
        events |= POLLOUT;
    }
    pollfd p{.fd = conn_.fd(), .events = events, .revents = 0};
    const Deadline deadline = Deadline::after(options_.ioTimeout);
    int rc = 0;
    do {
        rc = ::poll(&p, 1, deadline.pollTimeoutMs());
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        fail(RelayOutcome::Broken, "poll: " + common::errnoText(errno));
        return;
    }
    if (rc == 0) {
        fail(RelayOutcome::Timeout, "no progress on the daemon connection for " +
                                        durationText(options_.ioTimeout) +
                                        (started() ? "" : " before the response started"));
        return;
    }
    if ((p.revents & POLLOUT) != 0 || ((p.revents & (POLLERR | POLLHUP)) != 0 && !outDrained())) {
        writeSome();
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !responseDone()) {
        pumpResponse();
    }
}

bool Relay::finishWrite() {
    const Deadline deadline = Deadline::after(kFinishWriteTimeout);
    writeSome();
    while (!outDrained() && !writeFailed()) {
        if (!common::waitWritable(conn_.fd(), deadline)) {
            return false;
        }
        writeSome();
    }
    return outDrained() && !writeFailed();
}

std::size_t Relay::unexpectedTrailingBytes() {
    const std::size_t left = decoder_.buffered();
    if (left == 0) {
        return 0;
    }
    auto next = decoder_.nextView();
    if (!next) {
        return left;
    }
    if (!next.value()) {
        return 0;
    }
    const protocol::FrameView& f = *next.value();
    if (f.type == FrameType::Error && decoder_.buffered() == 0) {
        auto err = protocol::decodeResponseError(f.payload);
        if (err && err->code == protocol::ResponseErrorCode::ShuttingDown) {
            return 0;
        }
    }
    return left;
}

RelayResult Relay::complete() {
    RelayResult r;
    r.started = started();
    r.error = error_;
    if (started()) {
        r.outcome = RelayOutcome::Completed;
    } else {
        r.outcome = RelayOutcome::ErrorBeforeStart;
        r.detail = error_ ? std::string(protocol::toString(error_->code)) + ": " + error_->message
                          : std::string();
        r.retryable = error_ && bodyUntouched() &&
                      (error_->code == protocol::ResponseErrorCode::ShuttingDown ||
                       error_->code == protocol::ResponseErrorCode::Busy);
    }
    if (!requestFinished()) {
        queueBodyEnd(true);
    }
    const bool tailSent = finishWrite();
    // After RequestTimeout the daemon shuts the connection down (the app's thread may still
    // run): pooled, it could reach the next request before the shutdown does.
    const bool daemonCloses = error_ && error_->code == protocol::ResponseErrorCode::RequestTimeout;
    r.reusable = tailSent && decoder_.buffered() == 0 && !daemonCloses;
    r.trailingBytes = unexpectedTrailingBytes();
    return r;
}

RelayResult Relay::run(const protocol::RequestHead& head) {
    const std::string encoded = protocol::encodeRequestHead(head);
    if (encoded.size() > protocol::kMaxRequestHeadBytes ||
        head.environ.size() > protocol::kMaxEnvironEntries) {
        RelayResult r;
        r.outcome = RelayOutcome::HeadTooLarge;
        r.detail = "request head of " + std::to_string(encoded.size()) + " bytes and " +
                   std::to_string(head.environ.size()) + " environ entries exceeds the limits";
        r.reusable = true;
        return r;
    }
    headRequest_ = isHeadRequest(head);
    acceptFiles_ = protocol::passesFiles(head);
    queueFrame(FrameType::RequestHead, options_.mayQueue ? protocol::kHeadMayQueue : 0, encoded);
    headFrameSize_ = out_.size();
    request_ = head.contentLength == 0 ? RequestState::HeadOnly : RequestState::BodyNotAsked;
    writeSome();
    while (!stopped()) {
        if (responseDone() && (outDrained() || writeFailed())) {
            break;
        }
        if (outDrained() && request_ == RequestState::SendingBody) {
            // Relay what the daemon has already answered before blocking on the client again.
            if (bodyBytesRead_ != 0) {
                pumpResponse();
                if (stopped()) {
                    break;
                }
            }
            if (!responseDone()) {
                refill();
                writeSome();
                continue;
            }
        }
        if (responseDone()) {
            break;
        }
        waitAndTransfer();
    }
    if (stopped()) {
        return std::move(*result_);
    }
    return complete();
}

}  // namespace

RelayResult relayRequest(DaemonConnection& conn, const protocol::RequestHead& head,
                         BodySource& source, ResponseSink& sink, RelayOptions options) {
    Relay relay(conn, source, sink, options);
    RelayResult result = relay.run(head);
    // What the sink still holds must not view the relay's buffer, which goes with `relay`. Only
    // a relay that stopped early leaves anything held (End passes it all on), and the handler
    // then aborts the response: a sink that cannot copy drops what it held instead.
    (void)sink.settle();
    return result;
}

}  // namespace wsgid::apache
