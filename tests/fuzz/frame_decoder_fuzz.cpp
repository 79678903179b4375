// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes, cut into arbitrary splits, through FrameDecoder. Checks the
// frame layer only; payloads have their own targets (request_head_fuzz, response_fuzz).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fuzz_support.h"
#include "protocol/frame.h"
#include "protocol/limits.h"

namespace {

using wsgid::common::ErrorCode;
using wsgid::fuzz::check;
using wsgid::protocol::Frame;
using wsgid::protocol::FrameDecoder;
using wsgid::protocol::FrameType;
using wsgid::protocol::kFrameHeaderSize;
using wsgid::protocol::kMaxFramePayload;

// What a decoder produced for a whole stream: the frames, then either an error or a partial tail.
struct Outcome {
    std::vector<Frame> frames;
    std::optional<wsgid::common::Status> error;
    std::size_t buffered = 0;
};

// Pulls every available frame; records a (sticky) error. True when an error appeared now.
bool drain(FrameDecoder& d, Outcome& out) {
    while (!out.error) {
        auto r = d.next();
        if (!r.isOk()) {
            out.error = r.status();
            auto again = d.next();
            check(!again.isOk() && again.status().code() == r.status().code() &&
                      again.status().message() == r.status().message(),
                  "decoder errors are sticky");
            return true;
        }
        if (!r.value().has_value()) {
            return false;
        }
        out.frames.push_back(std::move(*r.value()));
    }
    return false;
}

// The in-place way (prepare, commit, nextView), with each view copied out at once.
bool drainViews(FrameDecoder& d, Outcome& out) {
    while (!out.error) {
        auto r = d.nextView();
        if (!r.isOk()) {
            out.error = r.status();
            auto again = d.nextView();
            check(!again.isOk() && again.status().code() == r.status().code(),
                  "decoder errors are sticky in place too");
            return true;
        }
        if (!r.value().has_value()) {
            return false;
        }
        out.frames.push_back(
            Frame{r.value()->type, r.value()->flags, std::string(r.value()->payload)});
    }
    return false;
}

// The in-place way with Body payloads streamed: pieces are checked as they come and joined into
// frames. `open` is the Body frame whose last piece has not come yet (its bytes so far are in
// out.frames.back()).
bool drainPieces(FrameDecoder& d, Outcome& out, bool& open) {
    while (!out.error) {
        auto r = d.nextView();
        if (!r.isOk()) {
            check(!open, "an error only at a header, never inside a streamed payload");
            out.error = r.status();
            check(!d.nextView().isOk(), "decoder errors are sticky when streaming");
            return true;
        }
        if (!r.value().has_value()) {
            return false;
        }
        const wsgid::protocol::FrameView& v = *r.value();
        check(v.first != open, "a header exactly when no streamed frame is open");
        if (v.first) {
            check(v.offset == 0, "a first piece begins the payload");
            check(v.type == FrameType::Body || v.payload.size() == v.length,
                  "only the streamed type comes in pieces");
            out.frames.push_back(Frame{v.type, v.flags, std::string()});
        } else {
            check(!v.payload.empty(), "only a first piece may be empty");
            check(v.type == out.frames.back().type && v.flags == out.frames.back().flags,
                  "the pieces of a frame share its header");
        }
        check(v.offset == out.frames.back().payload.size(), "pieces follow one another");
        out.frames.back().payload.append(v.payload);
        check(out.frames.back().payload.size() <= v.length,
              "the pieces of a frame add up to its declared length, never more");
        open = !v.lastPiece();
    }
    return false;
}

// The same frames and the same error or none, whichever way the stream was read.
void sameFrames(const Outcome& whole, const Outcome& other) {
    check(whole.frames.size() == other.frames.size(), "same frame count for any split");
    for (std::size_t i = 0; i < whole.frames.size(); ++i) {
        check(whole.frames[i].type == other.frames[i].type, "same frame types for any split");
        check(whole.frames[i].flags == other.frames[i].flags, "same flags for any split");
        check(whole.frames[i].payload == other.frames[i].payload, "same payloads for any split");
    }
    check(whole.error.has_value() == other.error.has_value(), "same error for any split");
}

std::size_t consumedBy(const std::vector<Frame>& frames) {
    std::size_t n = 0;
    for (const auto& f : frames) {
        n += kFrameHeaderSize + f.payload.size();
    }
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) {
        return 0;
    }
    // The first four bytes seed the split sizes; the rest is the byte stream, kept contiguous so
    // the fuzzer's mutations of frame structure stay meaningful.
    wsgid::fuzz::Splitter splitter(wsgid::fuzz::seedFrom(data));
    const std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);

    Outcome whole;
    {
        FrameDecoder d;
        d.feed(stream);
        drain(d, whole);
        whole.buffered = d.buffered();
    }

    Outcome split;
    {
        FrameDecoder d;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            const std::size_t n = splitter.next(stream.size() - pos);
            const std::size_t before = pos;
            d.feed(stream.substr(pos, n));
            pos += n;
            if (drain(d, split)) {
                // A header is judged as soon as it is complete, before its payload is buffered:
                // had the bad header been complete before this piece, the error would have come
                // out of the previous drain.
                check(before < consumedBy(split.frames) + kFrameHeaderSize,
                      "a bad header is rejected as soon as its 8 bytes are in");
            }
        }
        drain(d, split);
        split.buffered = d.buffered();
    }

    Outcome inPlace;
    {
        FrameDecoder d;
        std::size_t pos = 0;
        while (pos < stream.size() && !inPlace.error) {
            const std::size_t want = splitter.next(stream.size() - pos);
            const std::span<char> room = d.prepare(want);
            check(room.size() >= want, "prepare gives at least the room asked for");
            const std::size_t n = std::min(want, room.size());
            std::memcpy(room.data(), stream.data() + pos, n);
            d.commit(n);
            pos += n;
            drainViews(d, inPlace);
        }
        drainViews(d, inPlace);
        inPlace.buffered = d.buffered();
    }
    Outcome streamed;
    bool open = false;
    {
        FrameDecoder d;
        d.streamPayloadsOf(FrameType::Body);
        std::size_t pos = 0;
        while (pos < stream.size() && !streamed.error) {
            const std::size_t want = splitter.next(stream.size() - pos);
            const std::span<char> room = d.prepare(want);
            check(room.size() >= want, "prepare gives at least the room asked for when streaming");
            std::memcpy(room.data(), stream.data() + pos, want);
            d.commit(want);
            pos += want;
            drainPieces(d, streamed, open);
        }
        drainPieces(d, streamed, open);
        streamed.buffered = d.buffered();
    }
    if (open) {
        // A Body frame cut short by the end of the stream: what came of it is buffered whole.
        check(!whole.error, "no error after an open streamed frame");
        check(whole.buffered ==
                  streamed.buffered + kFrameHeaderSize + streamed.frames.back().payload.size(),
              "an open streamed frame holds the bytes the whole decoder buffers");
        streamed.frames.pop_back();
    } else {
        check(whole.error.has_value() || whole.buffered == streamed.buffered,
              "same partial tail when streaming");
    }

    // How the stream was cut, and whether it was read in place, must not change what comes out.
    sameFrames(whole, split);
    sameFrames(whole, inPlace);
    sameFrames(whole, streamed);
    check(whole.error.has_value() || whole.buffered == inPlace.buffered,
          "same partial tail in place");

    // Frames are exactly the fed bytes, in order: re-encoding them gives back the stream prefix.
    std::string reencoded;
    for (const auto& f : whole.frames) {
        check(wsgid::protocol::isKnownFrameType(static_cast<std::uint8_t>(f.type)),
              "only known frame types come out");
        check(f.payload.size() <= wsgid::protocol::maxPayloadFor(f.type),
              "payloads are within their type's limit");
        check(f.payload.size() <= kMaxFramePayload, "payloads are within the protocol limit");
        wsgid::protocol::appendFrame(reencoded, f.type, f.flags, f.payload);
    }
    check(reencoded.size() <= stream.size() && stream.substr(0, reencoded.size()) == reencoded,
          "frames re-encode to the bytes they were cut from");

    if (whole.error) {
        check(whole.error->code() == split.error->code(), "same error code for any split");
        check(whole.error->code() == ErrorCode::ProtocolError ||
                  whole.error->code() == ErrorCode::LimitExceeded,
              "decoder errors are ProtocolError or LimitExceeded");
        check(stream.size() - reencoded.size() >= kFrameHeaderSize,
              "an error needs a whole header");
    } else {
        check(whole.buffered == split.buffered, "same partial tail for any split");
        check(whole.buffered == stream.size() - reencoded.size(),
              "every byte is either in a frame or buffered");
        check(whole.buffered < kFrameHeaderSize + kMaxFramePayload,
              "a partial tail is shorter than the largest frame");
    }
    return 0;
}
