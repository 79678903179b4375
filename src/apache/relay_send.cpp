// SPDX-License-Identifier: Apache-2.0
// The request side of the relay (relay_impl.h): queueing frames for the daemon, pulling the
// client body once the daemon asked for it, and non-blocking writes. No httpd calls.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include <sys/socket.h>

#include "apache/relay_impl.h"
#include "common/socket_io.h"
#include "protocol/frame.h"

namespace wsgid::apache {

namespace {

using common::Deadline;
using protocol::FrameType;

/// After the response is complete, how long to wait for the socket to take the rest of the
/// request stream (the tail of a BodyChunk and the BodyEnd). The daemon discards those frames
/// as fast as it reads them; if it does not, the connection is simply not reused rather than
/// holding an httpd worker.
constexpr std::chrono::milliseconds kFinishWriteTimeout{1000};

}  // namespace

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

}  // namespace wsgid::apache
