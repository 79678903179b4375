// SPDX-License-Identifier: Apache-2.0
// Each frame the daemon sends in a relay (relay_impl.h), checked against the protocol's order
// and the announced body length before anything reaches the sink. No httpd calls.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "apache/passed_file.h"
#include "apache/relay_impl.h"
#include "apache/response_buffering.h"
#include "common/http_syntax.h"
#include "protocol/frame.h"
#include "protocol/response.h"

namespace wsgid::apache {

namespace {

using common::Status;
using protocol::FrameType;

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

/// `a + b` for counts of body bytes, stopping at the largest value instead of overflowing (a
/// daemon chooses both).
std::int64_t addBodyBytes(std::int64_t a, std::uint64_t b) noexcept {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const auto sum = static_cast<std::uint64_t>(a) + std::min(b, kMax);
    return static_cast<std::int64_t>(std::min(sum, kMax));
}

}  // namespace

void Relay::handleStart(const protocol::FrameView& frame) {
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
}

void Relay::handleError(const protocol::FrameView& frame) {
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
}

void Relay::handleFrame(const protocol::FrameView& frame, std::size_t at) {
    if (descriptor_ && (frame.type == FrameType::End || frame.type == FrameType::Error)) {
        // A File frame after this one would never be read: the descriptor came with no File.
        fail(RelayOutcome::Malformed, "a descriptor that came with no File frame");
        return;
    }
    switch (frame.type) {
        case FrameType::Start:
            handleStart(frame);
            return;
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
        case FrameType::Error:
            handleError(frame);
            return;
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
    // response-buffer-size= bounds the bytes between two flushes: a piece that would pass the
    // bound goes to the sink in parts, with a flush at the bound (a piece's size is whatever
    // one read of the daemon brought, so it may straddle the bound).
    // (A bound of 0 is resolved to the default before it gets here; 1 keeps the loop finite.)
    const std::size_t bound = std::max<std::size_t>(options_.buffering.flushAfterBytes, 1);
    std::string_view rest = piece.payload;
    do {
        const std::size_t room = bound - unflushedBytes_;
        const std::string_view part = rest.substr(0, room);
        rest.remove_prefix(part.size());
        ++unflushedPieces_;
        unflushedBytes_ += part.size();
        if (Status s = sink_.body(part); !s) {
            clientFailed(RelayOutcome::ClientGone, std::move(s));
            return;
        }
        if (unflushedBytes_ >= bound) {
            flushResponse();
            if (stopped()) {
                return;
            }
        }
    } while (!rest.empty());
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

}  // namespace wsgid::apache
