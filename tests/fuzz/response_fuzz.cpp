// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: what the module does with the bytes a daemon sends. The real openSession()
// (the connection handshake) and relayRequest() (src/apache/daemon_connection.cpp, relay.cpp) run
// over a socketpair whose daemon end replays the input; a recording ResponseSink checks what
// would reach the client. Every Start and Error payload in the stream is also checked against the
// reference decoders. Pure code (no httpd headers), like the relay itself.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apache/daemon_connection.h"
#include "apache/relay.h"
#include "common/http_syntax.h"
#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fuzz_support.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/limits.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace {

namespace p = wsgid::protocol;
namespace a = wsgid::apache;
using wsgid::common::Deadline;
using wsgid::common::Status;
using wsgid::common::UniqueFd;
using wsgid::fuzz::check;
using wsgid::fuzz::RefReader;

/// Set in the seed: the input starts with the daemon's side of the connection handshake
/// (Challenge, then the reply to Hello); clear: a pooled connection, the stream is one response.
constexpr std::uint32_t kSeedHandshake = 0x80000000U;
/// Set in the seed with kSeedHandshake: the daemon does not wait for the RequestHead after its
/// HelloAck, so the module's last handshake read may carry more than the HelloAck.
constexpr std::uint32_t kSeedEagerDaemon = 0x40000000U;
/// Set in the seed: the request is a HEAD (the body rules differ, see bodyAllowanceFor).
constexpr std::uint32_t kSeedHeadRequest = 0x20000000U;
/// Set in the seed: the request has a body (kFuzzBody), sent if the daemon asks with SendBody.
constexpr std::uint32_t kSeedWithBody = 0x10000000U;
/// The body of a kSeedWithBody request: a few bytes, so the module's frames always fit the
/// daemon end's socket buffer, which nobody reads.
constexpr std::string_view kFuzzBody = "body";

/// Bound on every wait of the code under test. The daemon end is shut down for writing once the
/// input is replayed, so the relay always meets EOF; this only turns a real hang into a failure.
constexpr std::chrono::seconds kIoTimeout{5};
/// How long the piecewise writer waits for the relay to read a piece before it sends the next
/// (it stops waiting as soon as the relay is done, which is the usual way out).
constexpr std::chrono::milliseconds kPieceWait{500};

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
           code >= 1 && code <= 9;  // docs/protocol.md "Error codes"
}

void checkStartPayload(std::string_view payload) {
    auto s = p::decodeResponseStart(payload);
    check(s.isOk() == referenceStartValid(payload),
          "decodeResponseStart accepts exactly the valid Start payloads");
    if (s.isOk()) {
        check(p::encodeResponseStart(s.value()) == payload,
              "a decoded Start re-encodes identically");
    }
}

void checkErrorPayload(std::string_view payload) {
    auto e = p::decodeResponseError(payload);
    check(e.isOk() == referenceErrorValid(payload),
          "decodeResponseError accepts exactly the valid Error payloads");
    if (!e.isOk()) {
        return;
    }
    const p::ResponseError& err = e.value();
    check(err.message.size() <= p::kMaxErrorMessage, "error message within its limit");
    const int http = p::httpStatusFor(err.code);
    check(http == 400 || http == 500 || http == 503, "an Error maps to 400, 500 or 503");
    check(p::toString(err.code) != "unknown", "every accepted code has a name");
    check(p::encodeResponseError(err) == payload, "a decoded Error re-encodes identically");
}

/// Decodes the whole stream as frames and checks every Start and Error payload in it, whether or
/// not the relay gets that far.
void checkPayloads(std::string_view stream) {
    p::FrameDecoder d;
    d.feed(stream);
    for (;;) {
        auto next = d.next();
        if (!next.isOk() || !next.value()) {
            return;
        }
        const p::Frame& f = *next.value();
        check(
            f.payload.size() <= p::maxPayloadFor(f.type) && f.payload.size() <= p::kMaxFramePayload,
            "the decoder never returns a frame above the protocol limits");
        if (f.type == p::FrameType::Start) {
            checkStartPayload(f.payload);
        } else if (f.type == p::FrameType::Error) {
            checkErrorPayload(f.payload);
        }
    }
}

// ---- the client side: what the relay hands the sink ---------------------------------------------

// The status line and headers httpd would write for `start` (HTTP/1.1 framing) after the
// handler's sink drops hop-by-hop headers: one line each, nothing that could split the response.
void checkClientHead(const p::ResponseStart& start) {
    check(wsgid::common::isFinalStatusLine(start.status), "the status line is a final status");
    check(wsgid::fuzz::refIsStatusLine(start.status), "status line is valid (reference)");
    check(start.statusCode() >= 200 && start.statusCode() <= 599, "status code in 200-599");
    check(start.headers.size() <= p::kMaxResponseHeaders, "headers within their limit");
    for (const auto& [name, value] : start.headers) {
        check(wsgid::common::isHttpToken(name) && wsgid::fuzz::refIsToken(name),
              "header names are tokens");
        check(wsgid::common::isSafeHeaderValue(value) && wsgid::fuzz::refIsSafeValue(value),
              "header values are safe");
        check(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
              "header values carry no CR, LF or NUL");
        check(wsgid::common::isHopByHopHeader(name) == wsgid::fuzz::refIsHopByHop(name),
              "hop-by-hop headers are recognised");
    }
}

/// The client's request body: `bytes`, then its end.
class FixedBody final : public a::BodySource {
public:
    explicit FixedBody(std::string_view bytes) : left_(bytes) {}
    wsgid::common::Result<std::size_t> read(std::span<char> buf) override {
        const std::size_t n = std::min(buf.size(), left_.size());
        std::copy_n(left_.begin(), n, buf.begin());
        left_.remove_prefix(n);
        return n;
    }

private:
    std::string_view left_;
};

/// Records what would reach the client, checking the order as it goes.
class RecordingSink final : public a::ResponseSink {
public:
    Status start(p::ResponseStart&& start) override {
        check(events_.empty(), "Start is the first thing the client gets, and only once");
        checkClientHead(start);
        contentLength_ = start.contentLength();
        events_ += "S";
        return Status::ok();
    }
    Status body(std::string_view data) override {
        check(!events_.empty() && events_.back() != 'E', "body bytes only between Start and End");
        bodyBytes_ += static_cast<std::int64_t>(data.size());
        check(!contentLength_ || bodyBytes_ <= *contentLength_,
              "the client never gets more body bytes than its Content-Length");
        events_ += "B" + std::to_string(data.size());
        return Status::ok();
    }
    Status flush() override { return Status::ok(); }
    Status end() override {
        check(!events_.empty() && events_.back() != 'E', "End follows Start, once");
        events_ += "E";
        return Status::ok();
    }

    [[nodiscard]] const std::string& events() const noexcept { return events_; }
    [[nodiscard]] bool ended() const noexcept { return !events_.empty() && events_.back() == 'E'; }

private:
    std::string events_;  // "S" start, "B<n>" body of n bytes, "E" end
    std::optional<std::int64_t> contentLength_;
    std::int64_t bodyBytes_ = 0;
};

struct SocketPair {
    UniqueFd module;
    UniqueFd daemon;
};

SocketPair makeSocketPair() {
    int fds[2] = {-1, -1};
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair works");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Writes all of `bytes` to `fd`. The inputs are a few KiB and the module end never stops
/// reading for long, so this blocks only briefly.
void writeAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // the module end is closed: the relay is done with the stream
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// Unread bytes waiting at `fd`.
int unreadBytes(int fd) {
    int n = 0;
    return ::ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

struct RelayRun {
    a::RelayResult result;
    std::string events;
};

/// Runs the real relay on `conn` while `stream` is replayed from the daemon end: all at once,
/// or piece by piece with `splitter`, each piece sent once the relay has read the previous one.
RelayRun relay(a::DaemonConnection& conn, UniqueFd daemonEnd, std::string_view stream,
               bool headRequest, std::string_view body, wsgid::fuzz::Splitter* splitter) {
    p::RequestHead head;
    head.scriptFilename = "/srv/app.wsgi";
    head.contentLength = static_cast<std::int64_t>(body.size());
    head.requestId = "fuzz";
    head.environ = {{"REQUEST_METHOD", headRequest ? "HEAD" : "GET"}};

    std::atomic<bool> relayDone{false};
    std::thread writer;
    if (splitter == nullptr) {
        writeAll(daemonEnd.get(), stream);
        ::shutdown(daemonEnd.get(), SHUT_WR);
    } else {
        const int moduleFd = conn.fd();
        writer = std::thread([&, moduleFd] {
            std::size_t pos = 0;
            while (pos < stream.size()) {
                const std::size_t n = splitter->next(stream.size() - pos);
                writeAll(daemonEnd.get(), stream.substr(pos, n));
                pos += n;
                const Deadline read = Deadline::after(kPieceWait);
                while (!relayDone.load() && unreadBytes(moduleFd) != 0 && !read.expired()) {
                    std::this_thread::yield();
                }
            }
            ::shutdown(daemonEnd.get(), SHUT_WR);
        });
    }
    FixedBody source(body);
    RecordingSink sink;
    RelayRun run{.result = a::relayRequest(conn, head, source, sink, {.ioTimeout = kIoTimeout}),
                 .events = {}};
    relayDone = true;
    if (writer.joinable()) {
        writer.join();
    }
    run.events = sink.events();

    const a::RelayResult& r = run.result;
    check(r.started == !run.events.empty(), "started exactly when the client got a Start");
    check((r.outcome == a::RelayOutcome::Completed) == sink.ended(),
          "Completed exactly when the client got the whole response");
    check(r.outcome != a::RelayOutcome::Timeout, "a replayed stream never times out");
    if (r.reusable) {
        check(r.started ? sink.ended() : r.error.has_value(),
              "a reusable connection ended with End, or with an Error before Start");
    }
    return run;
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

/// A connection as the module holds it: past the handshake (when the seed says so, replaying the
/// daemon's side of it) or taken from the pool. Returns the connection and what is left of the
/// stream, or std::nullopt when the module would drop the connection.
struct Session {
    std::unique_ptr<a::DaemonConnection> conn;
    UniqueFd daemonEnd;
    std::string_view rest;
};

std::optional<Session> sessionFor(std::string_view stream, std::uint32_t seed) {
    SocketPair pair = makeSocketPair();
    if ((seed & kSeedHandshake) == 0) {
        auto conn = std::make_unique<a::DaemonConnection>(std::move(pair.module), "fuzz.sock", 1);
        conn->markReused();
        return Session{
            .conn = std::move(conn), .daemonEnd = std::move(pair.daemon), .rest = stream};
    }
    // The daemon sends Challenge, waits for the Hello, sends HelloAck and waits for the
    // RequestHead; an eager daemon sends everything at once. Without two whole frames the
    // daemon end is shut at once, so the handshake meets EOF instead of its deadline.
    const bool eager = (seed & kSeedEagerDaemon) != 0;
    const std::size_t handshakeEnd = eager ? stream.size() : frameEnd(stream, frameEnd(stream, 0));
    writeAll(pair.daemon.get(), stream.substr(0, handshakeEnd));
    if (eager || handshakeEnd == stream.size()) {
        ::shutdown(pair.daemon.get(), SHUT_WR);
    }
    const a::ConnectParams params{
        .socketPath = "fuzz.sock", .group = "fuzz", .managerPid = 1, .generation = 1, .secret = {}};
    auto conn = a::openSession(std::move(pair.module), params, Deadline::after(kIoTimeout));
    if (!conn.isOk()) {
        check(conn.status().code() != wsgid::common::ErrorCode::Timeout,
              "a replayed handshake never times out");
        return std::nullopt;
    }
    return Session{.conn = std::move(conn.value()),
                   .daemonEnd = std::move(pair.daemon),
                   .rest = stream.substr(handshakeEnd)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) {
        return 0;
    }
    const std::uint32_t seed = wsgid::fuzz::seedFrom(data);
    const std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);
    checkPayloads(stream);

    const bool headRequest = (seed & kSeedHeadRequest) != 0;
    const std::string_view body = (seed & kSeedWithBody) != 0 ? kFuzzBody : std::string_view();
    auto whole = sessionFor(stream, seed);
    if (!whole) {
        return 0;
    }
    const RelayRun all =
        relay(*whole->conn, std::move(whole->daemonEnd), whole->rest, headRequest, body, nullptr);

    auto pieces = sessionFor(stream, seed);
    check(pieces.has_value(), "the handshake does not depend on timing");
    wsgid::fuzz::Splitter splitter(seed);
    const RelayRun split = relay(*pieces->conn, std::move(pieces->daemonEnd), pieces->rest,
                                 headRequest, body, &splitter);

    // How recv() cut the stream must not change what the client sees or how the relay ends.
    check(all.events == split.events, "the client sees the same response for any split");
    check(all.result.outcome == split.result.outcome, "the same outcome for any split");
    return 0;
}
