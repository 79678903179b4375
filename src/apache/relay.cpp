// SPDX-License-Identifier: Apache-2.0
// The full-duplex request relay (see relay.h): the run loop, the wait on both directions, how a
// relay ends and whether its connection is reused (relay_impl.h lists the other parts). No httpd
// calls; every wait is bounded.
#include "apache/relay.h"

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include <poll.h>

#include "apache/relay_impl.h"
#include "common/duration_text.h"
#include "common/socket_io.h"
#include "protocol/frame.h"
#include "protocol/request_flags.h"

namespace wsgid::apache {

namespace {

using common::Deadline;
using common::durationText;
using common::Status;
using protocol::FrameType;

bool isHeadRequest(const protocol::RequestHead& head) noexcept {
    for (const auto& [key, value] : head.environ) {
        if (key == "REQUEST_METHOD") {
            return value == "HEAD";
        }
    }
    return false;
}

}  // namespace

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
    // The only thing a daemon may send after End is its goodbye, alone.
    return protocol::isGoodbye(*next.value()) && decoder_.buffered() == 0 ? 0 : left;
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

namespace {

/// The result for a request head over the protocol's limits. Out of line: its strings would
/// otherwise widen run()'s frame, below which the whole response is relayed.
[[gnu::noinline]] RelayResult headTooLarge(std::size_t bytes, std::size_t entries) {
    RelayResult r;
    r.outcome = RelayOutcome::HeadTooLarge;
    r.detail = "request head of " + std::to_string(bytes) + " bytes and " +
               std::to_string(entries) + " environ entries exceeds the limits";
    r.reusable = true;
    return r;
}

}  // namespace

RelayResult Relay::run(const protocol::RequestHead& head) {
    const std::string encoded = protocol::encodeRequestHead(head);
    if (encoded.size() > protocol::kMaxRequestHeadBytes ||
        head.environ.size() > protocol::kMaxEnvironEntries) {
        return headTooLarge(encoded.size(), head.environ.size());
    }
    headRequest_ = isHeadRequest(head);
    acceptFiles_ = protocol::passesFiles(head);
    const auto flags =
        static_cast<std::uint16_t>((options_.mayQueue ? protocol::kHeadMayQueue : 0) |
                                   (options_.mayReturn ? protocol::kHeadMayReturn : 0));
    queueFrame(FrameType::RequestHead, flags, encoded);
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

RelayResult relayRequest(DaemonConnection& conn, const protocol::RequestHead& head,
                         BodySource& source, ResponseSink& sink, RelayOptions options) {
    // On the heap, not on the httpd worker's stack: the response's filters run below the relay,
    // and every page the deepest request reaches stays resident in each worker thread
    // (docs/performance.md "Memory").
    const auto relay = std::make_unique<Relay>(conn, source, sink, options);
    RelayResult result = relay->run(head);
    // What the sink still holds must not view the relay's buffer, which goes with `relay`. Only
    // a relay that stopped early leaves anything held (End passes it all on), and the handler
    // then aborts the response: a sink that cannot copy drops what it held instead.
    (void)sink.settle();
    return result;
}

}  // namespace wsgid::apache
