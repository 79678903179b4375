// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: what the module does with the bytes a daemon sends. A model of the Challenge
// and HelloAck checks of handshake() and of Relay::processFrames/handleFrame in
// src/apache/daemon_connection.cpp and relay.cpp (keep it in step with them) feeds a FrameDecoder
// and applies decodeChallenge, decodeHelloAck, decodeResponseStart and decodeResponseError; a model
// of ApacheResponseSink::start applies the http_syntax rules to what would reach the client. Pure
// protocol/common code; no httpd headers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_syntax.h"
#include "common/status.h"
#include "fuzz_support.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/limits.h"
#include "protocol/response.h"

namespace {

namespace p = wsgid::protocol;
using wsgid::fuzz::check;
using wsgid::fuzz::RefReader;

/// Set in the seed: the input starts with the daemon's side of the connection handshake
/// (Challenge, then the reply to Hello); clear: a pooled connection, the stream is one response.
constexpr std::uint32_t kSeedHandshake = 0x80000000U;
/// Set in the seed with kSeedHandshake: the daemon does not wait for the RequestHead after its
/// HelloAck, so the module's last handshake read may carry more than the HelloAck.
constexpr std::uint32_t kSeedEagerDaemon = 0x40000000U;

// ---- payload decoders against the reference reader ---------------------------------------------

bool referenceStartValid(std::string_view payload) {
    if (payload.size() > p::kMaxResponseHeadBytes) {
        return false;
    }
    RefReader r(payload);
    std::string_view status;
    std::uint32_t count = 0;
    if (!r.str(status) || !r.u32(count) || !wsgid::fuzz::refIsStatusLine(status) ||
        count > p::kMaxResponseHeaders) {
        return false;
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view name;
        std::string_view value;
        if (!r.str(name) || !r.str(value) || !wsgid::fuzz::refIsToken(name) ||
            !wsgid::fuzz::refIsSafeValue(value)) {
            return false;
        }
    }
    return r.atEnd();
}

bool referenceErrorValid(std::string_view payload) {
    RefReader r(payload);
    std::uint16_t code = 0;
    std::string_view message;
    return r.u16(code) && r.str(message) && r.atEnd() && message.size() <= p::kMaxErrorMessage &&
           code >= 1 && code <= 7;  // docs/protocol.md "Error codes"
}

std::optional<p::ResponseStart> decodeStart(std::string_view payload) {
    auto s = p::decodeResponseStart(payload);
    check(s.isOk() == referenceStartValid(payload),
          "decodeResponseStart accepts exactly the valid Start payloads");
    if (!s.isOk()) {
        return std::nullopt;
    }
    check(p::encodeResponseStart(s.value()) == payload, "a decoded Start re-encodes identically");
    return std::move(s.value());
}

std::optional<p::ResponseError> decodeError(std::string_view payload) {
    auto e = p::decodeResponseError(payload);
    check(e.isOk() == referenceErrorValid(payload),
          "decodeResponseError accepts exactly the valid Error payloads");
    if (!e.isOk()) {
        return std::nullopt;
    }
    const p::ResponseError& err = e.value();
    check(err.message.size() <= p::kMaxErrorMessage, "error message within its limit");
    const int http = p::httpStatusFor(err.code);
    check(http == 400 || http == 500 || http == 503, "an Error maps to 400, 500 or 503");
    check(p::toString(err.code) != "unknown", "every accepted code has a name");
    check(p::encodeResponseError(err) == payload, "a decoded Error re-encodes identically");
    return std::move(e.value());
}

// ---- the client side: what ApacheResponseSink::start puts on the wire ---------------------------

// The status line and headers httpd would write for `start` (HTTP/1.1 framing), after the sink's
// filtering: hop-by-hop headers are dropped, the rest are emitted as "name: value".
void checkClientHead(const p::ResponseStart& start) {
    check(wsgid::common::isValidStatusLine(start.status), "status line is valid");
    check(wsgid::fuzz::refIsStatusLine(start.status), "status line is valid (reference)");
    const int code = start.statusCode();
    check(code >= 100 && code <= 599, "status code in 100-599");
    check(code == std::stoi(start.status.substr(0, 3)), "statusCode() is the leading digits");
    check(start.headers.size() <= p::kMaxResponseHeaders, "headers within their limit");

    std::string head = "HTTP/1.1 " + start.status + "\r\n";
    std::size_t kept = 0;
    for (const auto& [name, value] : start.headers) {
        check(wsgid::common::isHttpToken(name) && wsgid::fuzz::refIsToken(name),
              "header names are tokens");
        check(wsgid::common::isSafeHeaderValue(value) && wsgid::fuzz::refIsSafeValue(value),
              "header values are safe");
        check(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
              "header values carry no CR, LF or NUL");
        const bool hop = wsgid::common::isHopByHopHeader(name);
        check(hop == wsgid::fuzz::refIsHopByHop(name), "hop-by-hop headers are recognised");
        if (hop) {
            continue;
        }
        head += name + ": " + value + "\r\n";
        ++kept;
    }
    head += "\r\n";

    // No response splitting: the head parses back into exactly the lines that were written.
    std::vector<std::string_view> lines;
    std::string_view rest = head;
    for (std::size_t eol = rest.find("\r\n"); eol != std::string_view::npos;
         eol = rest.find("\r\n")) {
        lines.push_back(rest.substr(0, eol));
        rest.remove_prefix(eol + 2);
    }
    check(rest.empty() && lines.size() == kept + 2 && lines.back().empty(),
          "the client head has one line per header");
    check(lines[0] == "HTTP/1.1 " + start.status, "the status line is one line");
    std::size_t i = 1;
    for (const auto& [name, value] : start.headers) {
        if (wsgid::common::isHopByHopHeader(name)) {
            continue;
        }
        const std::string_view line = lines[i++];
        check(
            line.find('\n') == std::string_view::npos && line.find('\r') == std::string_view::npos,
            "a header line holds no bare CR or LF");
        check(line.substr(0, line.find(':')) == name && line.substr(name.size() + 2) == value,
              "a header line splits back into its name and value");
    }
}

// ---- the relay ---------------------------------------------------------------------------------

enum class Outcome { Reading, Completed, ErrorBeforeStart, FailedAfterStart, Malformed };

// What the sink saw, for comparing runs.
struct SinkLog {
    std::string events;  // "S" start, "B<n>" body of n bytes, "E" end
    bool operator==(const SinkLog&) const = default;
};

// Relay::processFrames + handleFrame, with the sink replaced by checks.
class RelayModel {
public:
    // pumpResponse: the relay stops reading once it stopped or the response is done.
    void feed(std::string_view piece) {
        if (outcome_ != Outcome::Reading || responseDone_) {
            return;
        }
        decoder_.feed(piece);
        processFrames();
        if (responseDone_ && decoder_.buffered() != 0) {
            doubtful_ = true;
        }
    }

    [[nodiscard]] Outcome outcome() const noexcept { return outcome_; }
    [[nodiscard]] const SinkLog& sink() const noexcept { return sink_; }
    [[nodiscard]] bool responseDone() const noexcept { return responseDone_; }
    [[nodiscard]] bool doubtful() const noexcept { return doubtful_; }
    [[nodiscard]] bool started() const noexcept { return started_; }
    [[nodiscard]] bool hasError() const noexcept { return error_.has_value(); }
    [[nodiscard]] bool reusable() const noexcept {
        return outcome_ == Outcome::Reading && responseDone_ && !doubtful_ &&
               decoder_.buffered() == 0;
    }

private:
    void fail() {
        if (outcome_ == Outcome::Reading) {
            outcome_ = started_ ? Outcome::FailedAfterStart : Outcome::Malformed;
        }
    }

    void processFrames() {
        while (outcome_ == Outcome::Reading) {
            auto next = decoder_.next();
            if (!next.isOk()) {
                fail();
                return;
            }
            if (!next.value()) {
                return;
            }
            const p::Frame& f = *next.value();
            check(f.payload.size() <= p::maxPayloadFor(f.type) &&
                      f.payload.size() <= p::kMaxFramePayload,
                  "the decoder never returns a frame above the protocol limits");
            handleFrame(f);
        }
    }

    void handleFrame(const p::Frame& f) {
        if (responseDone_) {
            doubtful_ = true;
            return;
        }
        switch (f.type) {
            case p::FrameType::Start: {
                if (started_) {
                    fail();
                    return;
                }
                auto start = decodeStart(f.payload);
                if (!start) {
                    fail();
                    return;
                }
                started_ = true;
                checkClientHead(*start);
                sink_.events += "S";
                return;
            }
            case p::FrameType::Body:
                if (!started_) {
                    fail();
                    return;
                }
                check(f.payload.size() <= p::kMaxDataChunk, "a Body frame is at most one chunk");
                sink_.events += "B" + std::to_string(f.payload.size());
                return;
            case p::FrameType::End:
                if (!started_ || !f.payload.empty()) {
                    fail();
                    return;
                }
                responseDone_ = true;
                sink_.events += "E";
                return;
            case p::FrameType::Error: {
                auto err = decodeError(f.payload);
                if (!err) {
                    fail();
                    return;
                }
                error_ = std::move(err);
                if (started_) {
                    fail();
                    return;
                }
                responseDone_ = true;
                return;
            }
            default:
                fail();
                return;
        }
    }

    p::FrameDecoder decoder_;
    Outcome outcome_ = Outcome::Reading;
    bool started_ = false;
    bool responseDone_ = false;
    bool doubtful_ = false;
    std::optional<p::ResponseError> error_;
    SinkLog sink_;
};

// Feeds `stream` to a fresh relay in pieces from `splitter` (or whole), then checks the
// outcome's own invariants.
RelayModel relay(std::string_view stream, wsgid::fuzz::Splitter* splitter) {
    RelayModel m;
    std::size_t pos = 0;
    while (pos < stream.size()) {
        const std::size_t n =
            splitter != nullptr ? splitter->next(stream.size() - pos) : stream.size();
        m.feed(stream.substr(pos, n));
        pos += n;
    }
    const std::string& ev = m.sink().events;
    check(ev.empty() || ev[0] == 'S', "nothing reaches the client before Start");
    check(ev.find('S', 1) == std::string::npos, "at most one Start reaches the client");
    const std::size_t end = ev.find('E');
    check(end == std::string::npos || end == ev.size() - 1, "nothing reaches the client after End");
    check(m.started() == !ev.empty(), "started exactly when the client got a Start");
    if (m.reusable()) {
        // A connection goes back to the pool only after a complete, clean response.
        check(m.started() ? end != std::string::npos : m.hasError(),
              "a reusable connection ended with End, or with an Error before Start");
    }
    return m;
}

// End of the frame that starts at `at`, by its header; the end of `stream` when the header or
// the payload is incomplete.
std::size_t frameEnd(std::string_view stream, std::size_t at) {
    if (stream.size() - at < p::kFrameHeaderSize) {
        return stream.size();
    }
    RefReader r(stream.substr(at + 4, 4));
    std::uint32_t length = 0;
    r.u32(length);
    return std::min<std::size_t>(stream.size(), at + p::kFrameHeaderSize + std::size_t{length});
}

// readHandshakeFrame(): the next frame, read from `bytes` in pieces from `splitter`; std::nullopt
// when the module would drop the connection (a malformed stream, an Error frame refusing the
// connection, or a daemon gone quiet, which the real code times out).
std::optional<p::Frame> readHandshakeFrame(p::FrameDecoder& d, std::string_view bytes,
                                           std::size_t& pos, wsgid::fuzz::Splitter& splitter) {
    for (;;) {
        auto f = d.next();
        if (!f.isOk()) {
            return std::nullopt;
        }
        if (!f.value()) {
            if (pos == bytes.size()) {
                return std::nullopt;
            }
            const std::size_t n = splitter.next(bytes.size() - pos);
            d.feed(bytes.substr(pos, n));
            pos += n;
            continue;
        }
        if (f.value()->type == p::FrameType::Error) {
            decodeError(f.value()->payload);
            return std::nullopt;
        }
        return std::move(*f.value());
    }
}

// handshake(): the first frame must be a Challenge; after the module's Hello, the next must be a
// HelloAck naming the Challenge's pid, with nothing read after it. `bytes` is what the daemon
// sends before it waits for the RequestHead. Returns how many bytes the module read, or
// std::nullopt when it would drop the connection.
std::optional<std::size_t> handshake(std::string_view bytes, wsgid::fuzz::Splitter& splitter) {
    p::FrameDecoder d;
    std::size_t pos = 0;
    const auto first = readHandshakeFrame(d, bytes, pos, splitter);
    if (!first || first->type != p::FrameType::Challenge) {
        return std::nullopt;
    }
    const std::string& cp = first->payload;
    auto challenge = p::decodeChallenge(cp);
    check(challenge.isOk() == (cp.size() == 4 + p::kNonceSize),
          "decodeChallenge accepts exactly 36 bytes");
    if (!challenge.isOk()) {
        return std::nullopt;
    }
    std::uint32_t refPid = 0;
    RefReader(cp).u32(refPid);
    check(challenge.value().daemonPid == refPid &&
              std::equal(challenge.value().nonce.begin(), challenge.value().nonce.end(),
                         cp.begin() + 4,
                         [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }),
          "the Challenge's pid and nonce are its bytes");
    check(p::encodeChallenge(challenge.value()) == cp,
          "a decoded Challenge re-encodes identically");

    const auto second = readHandshakeFrame(d, bytes, pos, splitter);
    if (!second || second->type != p::FrameType::HelloAck) {
        return std::nullopt;
    }
    const std::string& ap = second->payload;
    auto ack = p::decodeHelloAck(ap);
    check(ack.isOk() == (ap.size() == 4), "decodeHelloAck accepts exactly 4 bytes");
    if (!ack.isOk()) {
        return std::nullopt;
    }
    check(p::encodeHelloAck(ack.value()) == ap, "a decoded HelloAck re-encodes identically");
    if (ack.value().daemonPid != challenge.value().daemonPid || d.buffered() != 0) {
        return std::nullopt;
    }
    return pos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) {
        return 0;
    }
    const std::uint32_t seed = wsgid::fuzz::seedFrom(data);
    std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);
    wsgid::fuzz::Splitter splitter(seed);

    if ((seed & kSeedHandshake) != 0) {
        // The daemon sends Challenge, waits for the Hello, sends HelloAck and waits for the
        // RequestHead, so the module's handshake reads end where the second frame ends; an eager
        // daemon sends on without waiting, and the last read may take response bytes too.
        const std::size_t end =
            (seed & kSeedEagerDaemon) != 0 ? stream.size() : frameEnd(stream, frameEnd(stream, 0));
        const auto read = handshake(stream.substr(0, end), splitter);
        if (!read) {
            return 0;
        }
        stream.remove_prefix(*read);
    }

    const RelayModel whole = relay(stream, nullptr);
    const RelayModel split = relay(stream, &splitter);
    // How recv() cut the stream must not change what the client sees. (Bytes after the end of
    // the response may or may not have been read, so only the client's view is compared.)
    check(whole.sink() == split.sink(), "the client sees the same response for any split");
    check(whole.responseDone() == split.responseDone(), "the response ends for any split");
    if (!whole.doubtful() && whole.outcome() != Outcome::Reading) {
        check(whole.outcome() == split.outcome(), "the same failure for any split");
    }
    return 0;
}
