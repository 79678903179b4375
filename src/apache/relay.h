// SPDX-License-Identifier: Apache-2.0
// The full-duplex relay of one request over one daemon connection. No httpd calls: the client
// side is reached through BodySource/ResponseSink, so this is unit-tested over sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "apache/daemon_connection.h"
#include "apache/response_buffering.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace wsgid::apache {

/// Largest request-body read from the client per BodyChunk frame: big enough to amortise frame
/// and syscall costs on uploads, small enough to bound memory per request (well under the
/// protocol's kMaxDataChunk).
inline constexpr std::size_t kBodyReadSize = std::size_t{64} * 1024;

/// Most bytes of each recv() from the daemon, and the size of the buffer it reads into (the
/// frame decoder's): below glibc's default mmap threshold (128 KiB), so the buffer comes from the
/// heap and its free() never raises the dynamic threshold. Above it, each freed block raised the
/// threshold to its size and every malloc arena of an httpd child then kept megabytes of freed
/// relay buffers resident. Body frames (up to 256 KiB) pass through it in pieces
/// (FrameDecoder::streamPayloadsOf); still a 64 KiB block's Start, Body and End in one read, and
/// a hello-world response in one read of a buffer whose pages it barely touches.
inline constexpr std::size_t kDaemonReadSize = std::size_t{120} * 1024;

/// The client's request body, as the relay pulls it. Request thread only.
class BodySource {
public:
    virtual ~BodySource() = default;
    /// Reads up to buf.size() bytes; 0 at the end of the body. May block (bounded by httpd's
    /// Timeout). An error means the body cannot be read (client gone, LimitRequestBody, ...).
    virtual common::Result<std::size_t> read(std::span<char> buf) = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    BodySource() = default;
    BodySource(const BodySource&) = default;
    BodySource& operator=(const BodySource&) = default;
    BodySource(BodySource&&) = default;
    BodySource& operator=(BodySource&&) = default;
};

/// The client's response, as the relay pushes it. Request thread only. Any error means the
/// client cannot be written to any more (it went away) and ends the relay.
class ResponseSink {
public:
    virtual ~ResponseSink() = default;
    /// The Start frame, already validated by decodeResponseStart.
    virtual common::Status start(protocol::ResponseStart&& start) = 0;
    /// Response bytes; may be held back until flush() or end(). `data` views the relay's read
    /// buffer and stays valid until the next settle(), flush(), release() or end(): a sink may
    /// hold the view instead of a copy until then.
    virtual common::Status body(std::string_view data) = 0;
    /// The next `range.length` response bytes are those of the file `fd` from `range.offset`
    /// (a File frame; the relay checked the descriptor with checkPassedFile and the length
    /// against the announced body). The sink owns `fd` from now on and closes it by the time the
    /// request is over, whatever happens. It may hold the file until end(): only End or Error
    /// follow a File frame.
    virtual common::Status file(common::UniqueFd fd, const protocol::ResponseFile& range) = 0;
    /// The daemon has nothing more for now: send what is held (coalescing everything that was
    /// readable at once into one write).
    virtual common::Status flush() = 0;
    /// Hands what is held on without forcing it out (no FLUSH): bounds what the sink holds while
    /// the daemon keeps the socket readable and response-buffer-size= is not reached yet. By
    /// default the sink keeps holding it until flush() or end().
    virtual common::Status release() { return common::Status::ok(); }
    /// The response is complete (End frame).
    virtual common::Status end() = 0;
    /// The memory body() viewed is about to change or go (the relay reads on, or returns): keep
    /// a copy of whatever of it is still held. By default body() copies and this does nothing.
    virtual common::Status settle() { return common::Status::ok(); }
    /// The relay is about to read into the memory body() viewed, more of this response may
    /// follow: stop viewing it, by handing what is held on (no FLUSH) or by copying it. By
    /// default settle().
    virtual common::Status beforeRead() { return settle(); }

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    ResponseSink() = default;
    ResponseSink(const ResponseSink&) = default;
    ResponseSink& operator=(const ResponseSink&) = default;
    ResponseSink(ResponseSink&&) = default;
    ResponseSink& operator=(ResponseSink&&) = default;
};

/// How a relay ended.
enum class RelayOutcome {
    Completed,         ///< Start, Body*, End: the sink got end()
    ErrorBeforeStart,  ///< an Error frame before Start: RelayResult::error says why
    FailedAfterStart,  ///< Error frame, broken connection or timeout after Start
    Broken,            ///< the connection closed or failed before Start
    Timeout,           ///< the daemon did not answer within the I/O timeout before Start
    /// A frame from the daemon violated the protocol: bad, oversized or out of order, before
    /// or after Start (RelayResult::started says which).
    Malformed,
    ClientBodyFailed,  ///< BodySource failed (the daemon got BodyEnd{abandoned})
    ClientGone,        ///< ResponseSink failed
    HeadTooLarge,      ///< the RequestHead exceeds the protocol limits; nothing was sent
    /// A response header line (name + value) longer than header-buffer-size= (RelayOptions::
    /// buffering.maxHeaderLine); nothing reached the sink. RelayResult::detail names it.
    HeaderTooLong,
    /// After Start: the daemon sent more body bytes than the response announced (its
    /// Content-Length; none for 204/304), or an End before all of them (except for HEAD). The
    /// excess never reached the sink; RelayResult has both counts.
    BodyLengthMismatch,
};

/// The result of relayRequest().
struct RelayResult {
    RelayOutcome outcome = RelayOutcome::Broken;
    /// The Error frame, when the daemon sent one.
    std::optional<protocol::ResponseError> error;
    /// What went wrong, for the log (errno text, decoder message, ...).
    std::string detail;
    /// The BodySource or ResponseSink status for ClientBodyFailed/ClientGone.
    common::Status clientStatus;
    /// The sink got start() (so the status can no longer change).
    bool started = false;
    /// The body length the client was told (Content-Length, 0 for 204/304), -1 when none.
    std::int64_t announcedBodyBytes = -1;
    /// Response body bytes the daemon sent, counting a frame that overran the announced length.
    std::int64_t daemonBodyBytes = 0;
    /// Bytes the daemon sent after End (or after an Error before Start) that arrived with the
    /// response, other than its ShuttingDown goodbye. A connection with any bytes after the
    /// response (goodbye or not) is never reusable.
    std::size_t trailingBytes = 0;
    /// The connection ended in a clean state (End or an Error before Start, BodyEnd sent,
    /// nothing unexpected read) and may go back to the pool.
    bool reusable = false;
    /// The daemon cannot have started the request: a pooled connection that broke before it
    /// took the whole RequestHead, or Error{ShuttingDown} or Error{Busy} before the daemon asked
    /// for the body (so none of it was read). The caller may run the request again elsewhere.
    bool retryable = false;
};

/// How relayRequest() runs one request.
struct RelayOptions {
    /// Bound on each wait on the daemon socket.
    std::chrono::milliseconds ioTimeout{60000};
    /// Set kHeadMayQueue: no other process is left to try, so the daemon queues the request
    /// instead of answering Error{Busy}.
    bool mayQueue = false;
    /// kHeadMayReturn: another attempt is left, so a daemon that queued the request may answer
    /// it Busy when a sibling frees a worker first.
    bool mayReturn = false;
    /// header-buffer-size=, response-buffer-size= and response-flush-delay= of the group.
    ResponseBuffering buffering{};
};

/// Runs one request over `conn`: sends `head`, streams the body from `source` as BodyChunk frames
/// once the daemon asks for it with SendBody (a request the app never reads from reads nothing
/// from the client), and relays response frames to `sink` at the same time. Trusts none of the
/// daemon's framing (tenant code can write to its own connection): every frame is checked against
/// the frame limits and the order Start, Body*, End (or an Error); the Start again with
/// decodeResponseStart (and an interim 1xx status is refused); body bytes are counted against the
/// announced length; anything after End leaves the connection unreusable. A File frame is
/// accepted only for a request that passes files (protocol::passesFiles), at most once, after
/// Start, and only with the one descriptor that came with its first byte; the descriptor is
/// checked (checkPassedFile) and its length counted like Body bytes. Any other descriptor the
/// daemon sends makes the response malformed, and every descriptor received is closed on every
/// path (docs/protocol.md "File frames"). It polls the daemon socket for both directions so that an
/// app answering before reading its input cannot deadlock (DESIGN.md pitfall 10). After a SendBody,
/// sends exactly one BodyEnd (abandoned when the response ended first or the client body failed).
/// Every wait on the daemon socket is bounded by `options.ioTimeout`. Request thread only.
RelayResult relayRequest(DaemonConnection& conn, const protocol::RequestHead& head,
                         BodySource& source, ResponseSink& sink, RelayOptions options);

}  // namespace wsgid::apache
