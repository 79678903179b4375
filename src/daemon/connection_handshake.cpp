// SPDX-License-Identifier: Apache-2.0
// Connection: the handshake (docs/protocol.md "Sessions"): the peer's uid, the Challenge, the
// Hello check and the refusal of a peer that fails it. I/O thread only. No httpd headers here.
#include <algorithm>
#include <cerrno>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

#include "common/duration_text.h"
#include "common/random.h"
#include "common/socket_io.h"
#include "daemon/connection.h"
#include "daemon/connection_impl.h"

namespace wsgid::daemon {

using common::Deadline;
using common::LogLevel;
using common::Status;
using detail::frameTypeName;
using protocol::Frame;
using protocol::FrameType;
using protocol::ResponseErrorCode;

Connection::Event Connection::greet() noexcept {
    try {
        ucred cred{};
        socklen_t len = sizeof(cred);
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            log_.log(
                LogLevel::Info, "WG0211",
                "cannot read the credentials of a new connection: " + common::errnoText(errno));
            return Event::Close;
        }
        peerPid_ = cred.pid;
        peerUid_ = cred.uid;
        if (config_.peerUid && cred.uid != *config_.peerUid) {
            return refuse(
                "it does not run as httpd's User (uid " + std::to_string(*config_.peerUid) + ")",
                {});
        }
        if (Status s = common::fillRandom(nonce_); !s) {
            log_.log(LogLevel::Critical, "WG0273", "cannot make a nonce: " + s.message());
            return Event::Close;
        }
        const std::string challenge = protocol::encodeChallenge(
            {.daemonPid = static_cast<std::uint32_t>(::getpid()), .nonce = nonce_});
        // 44 bytes into a socket nothing was written to yet: never waits on the peer.
        return sendControl(FrameType::Challenge, challenge) ? Event::NeedMore : Event::Close;
    } catch (...) {
        return Event::Close;
    }
}

void Connection::handshakeTimedOut() noexcept {
    try {
        if (config_.rejectedPeers == nullptr || config_.rejectedPeers->firstRejection(peerPid_)) {
            log_.log(LogLevel::Warning, "WG0274",
                     "dropped a connection from " + peerText() + ": no valid Hello within " +
                         common::durationText(kHandshakeTimeout));
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch)
        // The connection is dropped either way; only the log line is lost.
    }
}

std::string Connection::peerText() const {
    return "pid " + std::to_string(peerPid_) + " uid " + std::to_string(peerUid_);
}

Connection::Event Connection::refuse(std::string_view why, std::string_view answer) {
    if (config_.rejectedPeers == nullptr || config_.rejectedPeers->firstRejection(peerPid_)) {
        log_.log(LogLevel::Error, "WG0219",
                 "refused a connection from " + peerText() + ": " + std::string(why) +
                     "; not an httpd child of this server (further attempts by this process are "
                     "not logged)");
    }
    if (!answer.empty()) {
        // Says why to a module with a stale secret; tells an impostor nothing it did not know.
        (void)sendError(ResponseErrorCode::BadRequest, answer,
                        Deadline::after(kControlWriteTimeout));
    }
    return Event::Close;
}

Connection::Event Connection::handleHello(const Frame& frame) {
    if (frame.type != FrameType::Hello) {
        return refuse("its first frame was " + frameTypeName(frame.type) + ", not Hello",
                      "expected Hello");
    }
    auto hello = protocol::decodeHello(frame.payload);
    if (!hello) {
        return refuse("invalid Hello (" + hello.status().message() + ")", "invalid Hello");
    }
    const protocol::Hello& h = hello.value();
    if (h.managerPid != config_.managerPid) {
        return refuse("its Hello names manager pid " + std::to_string(h.managerPid) +
                          ", this server's is " + std::to_string(config_.managerPid),
                      "authentication failed");
    }
    const auto key =
        std::find_if(config_.secrets.begin(), config_.secrets.end(),
                     [&](const protocol::GroupSecret& s) { return s.generation == h.generation; });
    if (key == config_.secrets.end()) {
        if (!config_.secrets.empty() && h.generation > config_.secrets.back().generation) {
            // An httpd child of a newer generation met this daemon while it retires (it was
            // accepted from the shared backlog just before the stop): the module retries.
            log_.log(LogLevel::Info, "WG0271",
                     "Hello for generation " + std::to_string(h.generation) +
                         ", newer than this daemon's; it is retiring");
            (void)sendError(ResponseErrorCode::ShuttingDown, "daemon is stopping",
                            Deadline::after(kControlWriteTimeout));
            return Event::Close;
        }
        return refuse("its Hello names generation " + std::to_string(h.generation) +
                          ", which has no secret here",
                      "authentication failed");
    }
    const protocol::Proof want =
        protocol::helloProof(key->secret, config_.group, nonce_, h.managerPid, h.generation);
    if (!protocol::proofsEqual(want, h.proof)) {
        return refuse("its Hello carries a wrong proof", "authentication failed");
    }
    const std::string ack =
        protocol::encodeHelloAck({.daemonPid = static_cast<std::uint32_t>(::getpid())});
    if (!sendControl(FrameType::HelloAck, ack)) {
        return Event::Close;
    }
    state_ = State::Idle;
    return Event::NeedMore;
}

}  // namespace wsgid::daemon
