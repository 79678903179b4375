// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes, cut into arbitrary splits, through FrameDecoder and every
// payload decoder. Built only by the optional `make fuzz` target (clang++ -fsanitize=fuzzer).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_syntax.h"
#include "protocol/frame.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace {

using wsgid::protocol::Frame;
using wsgid::protocol::FrameDecoder;
using wsgid::protocol::FrameType;

// Most bytes fed to the decoder in one piece: keeps splits varied without one input
// degenerating into tens of thousands of one-byte feeds (slow, and no new coverage).
constexpr std::size_t kMaxSplit = 4096;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

// What a decoder produced for a whole stream: the frames, then either an error or a partial tail.
struct Outcome {
    std::vector<Frame> frames;
    std::optional<wsgid::common::Status> error;
    std::size_t buffered = 0;
};

// Pulls every available frame; records a (sticky) error.
void drain(FrameDecoder& d, Outcome& out) {
    while (!out.error) {
        auto r = d.next();
        if (!r.isOk()) {
            out.error = r.status();
            auto again = d.next();
            check(!again.isOk() && again.status().code() == r.status().code() &&
                      again.status().message() == r.status().message(),
                  "decoder errors are sticky");
            return;
        }
        if (!r.value().has_value()) {
            return;
        }
        out.frames.push_back(std::move(*r.value()));
    }
}

// Runs every payload decoder on `payload`: none may crash, and whatever one accepts must
// re-encode to the same bytes (the wire format has exactly one spelling of each value).
void decodeEverything(std::string_view payload) {
    namespace p = wsgid::protocol;
    if (auto h = p::decodeHello(payload); h.isOk()) {
        check(p::encodeHello(h.value()) == payload, "Hello re-encodes identically");
    }
    if (auto a = p::decodeHelloAck(payload); a.isOk()) {
        check(p::encodeHelloAck(a.value()) == payload, "HelloAck re-encodes identically");
    }
    if (auto r = p::decodeRequestHead(payload); r.isOk()) {
        check(r.value().contentLength >= -1, "content length is -1 or more");
        for (const auto& [key, value] : r.value().environ) {
            check(!key.empty(), "environ keys are non-empty");
        }
        check(p::encodeRequestHead(r.value()) == payload, "RequestHead re-encodes identically");
    }
    if (auto s = p::decodeResponseStart(payload); s.isOk()) {
        check(wsgid::common::isValidStatusLine(s.value().status), "status line is valid");
        const int code = s.value().statusCode();
        check(code >= 100 && code <= 599, "status code in range");
        for (const auto& [name, value] : s.value().headers) {
            check(wsgid::common::isHttpToken(name), "header names are tokens");
            check(wsgid::common::isSafeHeaderValue(value), "header values are safe");
        }
        check(p::encodeResponseStart(s.value()) == payload, "Start re-encodes identically");
    }
    if (auto e = p::decodeResponseError(payload); e.isOk()) {
        check(e.value().message.size() <= p::kMaxErrorMessage, "error message within limit");
        check(p::httpStatusFor(e.value().code) >= 400, "error maps to an HTTP error");
        check(p::encodeResponseError(e.value()) == payload, "Error re-encodes identically");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) {
        return 0;
    }
    // The first four bytes seed the split sizes; the rest is the byte stream, kept contiguous so
    // the fuzzer's mutations of frame structure stay meaningful.
    std::uint32_t seed =
        static_cast<std::uint32_t>(data[0]) | (static_cast<std::uint32_t>(data[1]) << 8) |
        (static_cast<std::uint32_t>(data[2]) << 16) | (static_cast<std::uint32_t>(data[3]) << 24);
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
        const std::size_t maxPiece = 1 + (seed & 0xff) % kMaxSplit;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            seed = seed * 1103515245U + 12345U;  // any cheap generator will do
            const std::size_t n = std::min(1 + (seed >> 8) % maxPiece, stream.size() - pos);
            d.feed(stream.substr(pos, n));
            pos += n;
            drain(d, split);
        }
        drain(d, split);
        split.buffered = d.buffered();
    }

    // How the stream was cut must not change what comes out.
    check(whole.frames.size() == split.frames.size(), "same frame count for any split");
    for (std::size_t i = 0; i < whole.frames.size(); ++i) {
        check(whole.frames[i].type == split.frames[i].type, "same frame types for any split");
        check(whole.frames[i].flags == split.frames[i].flags, "same flags for any split");
        check(whole.frames[i].payload == split.frames[i].payload, "same payloads for any split");
    }
    check(whole.error.has_value() == split.error.has_value(), "same error for any split");
    if (whole.error) {
        check(whole.error->code() == split.error->code(), "same error code for any split");
    } else {
        check(whole.buffered == split.buffered, "same partial tail for any split");
        check(
            whole.buffered < wsgid::protocol::kFrameHeaderSize + wsgid::protocol::kMaxFramePayload,
            "a partial tail is shorter than the largest frame");
    }

    std::size_t consumed = 0;
    for (const auto& f : whole.frames) {
        check(wsgid::protocol::isKnownFrameType(static_cast<std::uint8_t>(f.type)),
              "only known frame types come out");
        check(f.payload.size() <= wsgid::protocol::maxPayloadFor(f.type),
              "payloads are within their type's limit");
        consumed += wsgid::protocol::kFrameHeaderSize + f.payload.size();
        decodeEverything(f.payload);
    }
    check(consumed <= stream.size(), "frames come only from fed bytes");
    // Also treat the raw stream as a payload, so decoders see inputs no frame header limits.
    decodeEverything(stream);
    return 0;
}
