// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: what the module does with the bytes a daemon sends. The real openSession()
// (the connection handshake) and relayRequest() (src/apache/daemon_connection.cpp, relay.cpp) run
// over a socketpair whose daemon end replays the input; a recording ResponseSink checks what
// would reach the client. Every Start and Error payload in the stream is also checked against the
// reference decoders. With descriptors (kSeedPassFiles) the daemon end passes real ones, as a
// daemon does with its File frames and as a hostile one could with any frame; no run may leave a
// descriptor open. Pure code (no httpd headers), like the relay itself.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/support/fd_tools.h"
#include "apache/daemon_connection.h"
#include "apache/relay.h"
#include "common/descriptor_passing.h"
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
/// Set in the seed: the daemon end passes a descriptor with the first byte of every File frame,
/// as a daemon does; which kind (a regular file covering the range or one byte short of it, a
/// pipe, /dev/null, a socket) comes from the seed and the frame's place.
constexpr std::uint32_t kSeedPassFiles = 0x08000000U;
/// Set in the seed with kSeedPassFiles: descriptors also come with other frames (the handshake's
/// too), and some writes carry two. How the kernel then cuts the reads decides where the relay
/// stops, so the outcome may differ between splits (it is still never a leak or a forgery).
constexpr std::uint32_t kSeedStrayDescriptors = 0x04000000U;
/// Set in the seed: the request says mod_wsgi.enable_sendfile=0, so no File frame is accepted.
constexpr std::uint32_t kSeedNoSendfile = 0x02000000U;
/// Most writes with descriptors per run: enough for every rule (a File frame, a stray one, two
/// at once), few enough that a stream written before the relay reads it (one write per part)
/// always fits the socket's buffer, and the descriptors in flight stay far below the limit.
constexpr std::size_t kMaxAttachments = 16;
/// Largest file the fuzzer makes to cover a File frame's range: a memfd's size costs nothing
/// until written, but a range beyond this gets a small file (and is refused as too short).
constexpr std::uint64_t kMaxFuzzFileSize = std::uint64_t{1} << 30;
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

/// A Content-Length value as the module accepts it: digits only, at most 2^63-1; its value with
/// leading zeros dropped (so equal lengths compare equal), or std::nullopt.
std::optional<std::string_view> refContentLength(std::string_view v) {
    constexpr std::string_view kMax = "9223372036854775807";
    if (v.empty() ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    while (v.size() > 1 && v.front() == '0') {
        v.remove_prefix(1);
    }
    if (v.size() > kMax.size() || (v.size() == kMax.size() && v > kMax)) {
        return std::nullopt;
    }
    return v;
}

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
    std::optional<std::string_view> length;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view name;
        std::string_view value;
        if (!r.str(name) || !r.str(value) || !wsgid::fuzz::refIsToken(name) ||
            !wsgid::fuzz::refIsSafeValue(value)) {
            return false;
        }
        if (name.size() == 14 &&
            std::equal(name.begin(), name.end(), "content-length", [](char a, char b) {
                return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b;
            })) {
            // docs/protocol.md: every Content-Length a plain number, and all of them equal.
            const std::optional<std::string_view> parsed = refContentLength(value);
            if (!parsed || (length && *length != *parsed)) {
                return false;
            }
            length = parsed;
        }
    }
    return r.atEnd();
}

bool referenceErrorValid(std::string_view payload) {
    RefReader r(payload);
    std::uint16_t code = 0;
    std::string_view message;
    return r.u16(code) && r.str(message) && r.atEnd() && message.size() <= p::kMaxErrorMessage &&
           code >= 1 && code <= 10;  // docs/protocol.md "Error codes"
}

void checkFilePayload(std::string_view payload) {
    RefReader r(payload);
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    constexpr std::uint64_t kSignedMax = 0x7fffffffffffffffULL;  // docs/protocol.md "File"
    const bool valid = r.u64(offset) && r.u64(length) && r.atEnd() && offset <= kSignedMax &&
                       length <= kSignedMax - offset;
    auto f = p::decodeResponseFile(payload);
    check(f.isOk() == valid, "decodeResponseFile accepts exactly the valid File payloads");
    if (f.isOk()) {
        check(p::encodeResponseFile(f.value()) == payload, "a decoded File re-encodes identically");
    }
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
    check(http == 400 || http == 500 || http == 503 ||
              (http == 504 && err.code == p::ResponseErrorCode::RequestTimeout),
          "an Error maps to 400, 500 or 503, and only RequestTimeout to 504");
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
        } else if (f.type == p::FrameType::File) {
            checkFilePayload(f.payload);
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
        // Body frames reach the sink in pieces as reads cut them (FrameDecoder::streamPayloadsOf):
        // what the client sees is the run of bytes, so consecutive body() calls make one event.
        if (!inBodyRun_) {
            inBodyRun_ = true;
            bodyRunAt_ = events_.size();
            bodyRunBytes_ = 0;
        }
        bodyRunBytes_ += data.size();
        events_.resize(bodyRunAt_);
        events_ += "B" + std::to_string(bodyRunBytes_);
        return Status::ok();
    }
    Status file(UniqueFd fd, const p::ResponseFile& range) override {
        check(!events_.empty() && events_.back() != 'E', "a file only between Start and End");
        check(fd.valid(), "the sink gets an open descriptor");
        struct stat st {};
        check(::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode),
              "the sink only ever gets a regular file");
        check(range.offset + range.length <= static_cast<std::uint64_t>(st.st_size),
              "the sink only ever gets a file that covers its range");
        check(++files_ == 1, "at most one file per response");
        bodyBytes_ += static_cast<std::int64_t>(range.length);
        check(!contentLength_ || bodyBytes_ <= *contentLength_,
              "the client never gets more body bytes than its Content-Length");
        inBodyRun_ = false;
        events_ += "F" + std::to_string(range.length);
        return Status::ok();  // `fd` closes here, as the httpd sink's pool would close it
    }
    Status flush() override { return Status::ok(); }
    Status end() override {
        check(!events_.empty() && events_.back() != 'E', "End follows Start, once");
        inBodyRun_ = false;
        events_ += "E";
        return Status::ok();
    }

    [[nodiscard]] const std::string& events() const noexcept { return events_; }
    [[nodiscard]] bool ended() const noexcept { return !events_.empty() && events_.back() == 'E'; }

private:
    std::string events_;         // "S" start, "B<n>" a run of n body bytes, "F<n>" a file, "E" end
    bool inBodyRun_ = false;     ///< the last event is a body run that body() extends
    std::size_t bodyRunAt_ = 0;  ///< where that run's event starts in events_
    std::size_t bodyRunBytes_ = 0;  ///< its bytes so far
    std::optional<std::int64_t> contentLength_;
    std::int64_t bodyBytes_ = 0;
    int files_ = 0;
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

/// Where the daemon end attaches descriptors: before byte `at` of the stream, `count` of them.
struct Attachment {
    std::size_t at = 0;
    int count = 1;
    std::vector<UniqueFd> fds;  // made for one run, closed once sent
};

/// A descriptor of kind `kind` for a File frame whose payload is `payload` (any bytes).
UniqueFd descriptorFor(std::uint32_t kind, std::string_view payload) {
    switch (kind % 6) {
        case 0:
        case 1:
        case 2:
        case 3: {
            // A memfd covering the frame's range (or one byte short of it, for kind 3).
            std::uint64_t end = 16;
            if (auto range = p::decodeResponseFile(payload);
                range && range->offset + range->length <= kMaxFuzzFileSize) {
                end = range->offset + range->length;
                if (kind % 6 == 3 && end > 0) {
                    --end;
                }
            }
            UniqueFd f(::memfd_create("fuzz", MFD_CLOEXEC));
            check(f.valid() && ::ftruncate(f.get(), static_cast<off_t>(end)) == 0,
                  "a memfd for the File frame");
            return f;
        }
        case 4: {
            int fds[2] = {-1, -1};
            check(::pipe2(fds, O_CLOEXEC) == 0, "pipe works");
            ::close(fds[1]);
            return UniqueFd(fds[0]);
        }
        default:
            return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    }
}

/// The descriptors a daemon end attaches to `stream` (a sequence of frames, walked by their
/// headers): one with the first byte of each File frame; with kSeedStrayDescriptors also with
/// some other frames, and two at a time now and then.
std::vector<Attachment> attachmentsFor(std::string_view stream, std::uint32_t seed) {
    std::vector<Attachment> out;
    if ((seed & kSeedPassFiles) == 0) {
        return out;
    }
    const bool stray = (seed & kSeedStrayDescriptors) != 0;
    std::uint32_t index = 0;
    for (std::size_t at = 0;
         at + p::kFrameHeaderSize <= stream.size() && out.size() < kMaxAttachments; ++index) {
        RefReader r(stream.substr(at + 4, 4));
        std::uint32_t length = 0;
        r.u32(length);
        const std::size_t end =
            std::min<std::size_t>(stream.size(), at + p::kFrameHeaderSize + length);
        const bool isFile = static_cast<std::uint8_t>(stream[at + 1]) ==
                            static_cast<std::uint8_t>(p::FrameType::File);
        const std::uint32_t roll = (seed >> 8) + index * 7;
        if (isFile || (stray && roll % 3 == 0)) {
            Attachment a{.at = at, .count = stray && roll % 5 == 0 ? 2 : 1, .fds = {}};
            const std::string_view payload =
                stream.substr(at + p::kFrameHeaderSize, end - at - p::kFrameHeaderSize);
            for (int i = 0; i < a.count; ++i) {
                a.fds.push_back(descriptorFor(roll + static_cast<std::uint32_t>(i), payload));
            }
            out.push_back(std::move(a));
        }
        at = end;
    }
    return out;
}

/// Sends `bytes` with the descriptors of `a` attached to the first byte (several in one message
/// when there are several), then closes them: the kernel holds them for the reader.
void sendAttached(int fd, std::string_view bytes, Attachment& a) {
    std::vector<int> raw;
    for (const UniqueFd& f : a.fds) {
        raw.push_back(f.get());
    }
    const ssize_t n = wsgid::testing::sendDescriptors(fd, bytes, raw);
    a.fds.clear();
    if (n > 0) {
        writeAll(fd, bytes.substr(static_cast<std::size_t>(n)));
    }
}

/// Writes `stream` from `pos` to `end`, each part that begins at an attachment with its
/// descriptors; `next` is the first attachment not yet sent (advanced).
void writeRange(int fd, std::string_view stream, std::size_t pos, std::size_t end,
                std::vector<Attachment>& attachments, std::size_t& next) {
    while (pos < end) {
        while (next < attachments.size() && attachments[next].at < pos) {
            ++next;  // inside an earlier piece: a split never lands there (see cut())
        }
        const bool attach = next < attachments.size() && attachments[next].at == pos;
        const std::size_t stop =
            attach && next + 1 < attachments.size() ? std::min(end, attachments[next + 1].at)
            : !attach && next < attachments.size()  ? std::min(end, attachments[next].at)
                                                    : end;
        if (attach) {
            sendAttached(fd, stream.substr(pos, stop - pos), attachments[next++]);
        } else {
            writeAll(fd, stream.substr(pos, stop - pos));
        }
        pos = stop;
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
               std::uint32_t seed, std::string_view body, wsgid::fuzz::Splitter* splitter) {
    p::RequestHead head;
    head.scriptFilename = "/srv/app.wsgi";
    head.contentLength = static_cast<std::int64_t>(body.size());
    head.requestId = "fuzz";
    head.environ = {{"REQUEST_METHOD", (seed & kSeedHeadRequest) != 0 ? "HEAD" : "GET"},
                    {"mod_wsgi.enable_sendfile", (seed & kSeedNoSendfile) != 0 ? "0" : "1"}};
    std::vector<Attachment> attachments = attachmentsFor(stream, seed);
    std::size_t nextAttachment = 0;

    std::atomic<bool> relayDone{false};
    std::thread writer;
    if (splitter == nullptr) {
        writeRange(daemonEnd.get(), stream, 0, stream.size(), attachments, nextAttachment);
        ::shutdown(daemonEnd.get(), SHUT_WR);
    } else {
        const int moduleFd = conn.fd();
        // Non-blocking: once the relay stops reading (done, or its response ended), what is
        // left cannot matter, and a full socket must not keep this thread from ending.
        check(wsgid::common::setNonBlocking(daemonEnd.get(), true).isOk(), "O_NONBLOCK");
        writer = std::thread([&, moduleFd] {
            std::size_t pos = 0;
            while (pos < stream.size() && !relayDone.load()) {
                const std::size_t n = splitter->next(stream.size() - pos);
                writeRange(daemonEnd.get(), stream, pos, pos + n, attachments, nextAttachment);
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
    const bool strayDescriptors =
        (seed & kSeedPassFiles) != 0 && (seed & kSeedStrayDescriptors) != 0;
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
    if (strayDescriptors && handshakeEnd > 0) {
        // A descriptor with the Challenge: the handshake reads without a control buffer, so the
        // kernel drops it; it never exists in this process.
        Attachment a{.at = 0, .count = 1, .fds = {}};
        a.fds.push_back(descriptorFor(seed, {}));
        sendAttached(pair.daemon.get(), stream.substr(0, handshakeEnd), a);
    } else {
        writeAll(pair.daemon.get(), stream.substr(0, handshakeEnd));
    }
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

    const std::string_view body = (seed & kSeedWithBody) != 0 ? kFuzzBody : std::string_view();
    const int descriptorsBefore = wsgid::testing::openDescriptorCount();
    {
        auto whole = sessionFor(stream, seed);
        if (!whole) {
            check(wsgid::testing::openDescriptorCount() == descriptorsBefore,
                  "a refused handshake leaves no descriptor open");
            return 0;
        }
        const RelayRun all =
            relay(*whole->conn, std::move(whole->daemonEnd), whole->rest, seed, body, nullptr);
        whole.reset();

        auto pieces = sessionFor(stream, seed);
        check(pieces.has_value(), "the handshake does not depend on timing");
        wsgid::fuzz::Splitter splitter(seed);
        const RelayRun split =
            relay(*pieces->conn, std::move(pieces->daemonEnd), pieces->rest, seed, body, &splitter);

        // How recv() cut the stream must not change what the client sees or how the relay ends
        // (unless descriptors came with other frames: then the kernel's cuts decide, see
        // kSeedStrayDescriptors).
        const bool stray = (seed & kSeedPassFiles) != 0 && (seed & kSeedStrayDescriptors) != 0;
        if (!stray) {
            check(all.events == split.events, "the client sees the same response for any split");
            check(all.result.outcome == split.result.outcome, "the same outcome for any split");
        }
    }
    check(wsgid::testing::openDescriptorCount() == descriptorsBefore,
          "no descriptor is left open, whatever the daemon sent");
    return 0;
}
