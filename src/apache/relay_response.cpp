// SPDX-License-Identifier: Apache-2.0
// Reading the daemon's side of the relay (relay_impl.h): reads into the decoder, the descriptor
// a read brings, coalescing what is readable at once, and flushing it to the sink. No httpd calls.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "apache/relay_impl.h"
#include "common/descriptor_passing.h"
#include "common/socket_io.h"

namespace wsgid::apache {

namespace {

using common::Deadline;
using common::Status;

/// Response bytes read in one go while the daemon keeps the socket readable: beyond this the
/// relay hands what it has to the client's filters (with a FLUSH only once
/// response-buffer-size= is reached), so memory per request stays bounded and client
/// back-pressure reaches the daemon.
constexpr std::size_t kMaxCoalesceBytes = std::size_t{256} * 1024;

}  // namespace

std::span<char> Relay::readRoom() {
    // Asking for the read size less what an incomplete frame holds lets the buffer move those
    // bytes to its front instead of doubling.
    const std::size_t held = decoder_.buffered();
    const std::span<char> room =
        decoder_.prepare(held < kDaemonReadSize ? kDaemonReadSize - held : 1);
    return room.first(std::min(room.size(), kDaemonReadSize));
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

}  // namespace wsgid::apache
