// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the payload decoders the daemon applies to what the module sends, RequestHead
// (every request) and Hello (every connection), compared with a reference reader, plus
// encode/decode round trips of heads and Hellos built from the same bytes. Pure protocol code
// only; no httpd headers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include "common/status.h"
#include "fuzz_support.h"
#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/limits.h"
#include "protocol/request_head.h"

namespace {

namespace p = wsgid::protocol;
using wsgid::common::ErrorCode;
using wsgid::fuzz::check;
using wsgid::fuzz::RefReader;

// docs/protocol.md's RequestHead, read naively: what a valid payload must decode to.
std::optional<p::RequestHead> referenceDecode(std::string_view payload) {
    if (payload.size() > p::kMaxRequestHeadBytes) {
        return std::nullopt;
    }
    RefReader r(payload);
    p::RequestHead h;
    std::string_view script;
    std::string_view callable;
    std::string_view appGroup;
    std::string_view procGroup;
    std::string_view requestId;
    std::uint64_t length = 0;
    std::uint64_t receivedAt = 0;
    std::uint32_t count = 0;
    if (!r.str(script) || !r.str(callable) || !r.str(appGroup) || !r.str(procGroup) ||
        !r.u64(length) || !r.u64(receivedAt) || !r.str(requestId) || !r.u32(count)) {
        return std::nullopt;
    }
    // -1 (all ones) means "unknown"; anything else must be a real, non-negative length.
    if (length > static_cast<std::uint64_t>(INT64_MAX) && length != UINT64_MAX) {
        return std::nullopt;
    }
    // Microseconds since the epoch, 0 = unknown: never negative.
    if (receivedAt > static_cast<std::uint64_t>(INT64_MAX)) {
        return std::nullopt;
    }
    if (count > p::kMaxEnvironEntries) {
        return std::nullopt;
    }
    h.scriptFilename = script;
    h.callableObject = callable;
    h.applicationGroup = appGroup;
    h.processGroup = procGroup;
    h.contentLength = static_cast<std::int64_t>(length);
    h.receivedAtUs = static_cast<std::int64_t>(receivedAt);
    h.requestId = requestId;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view k;
        std::string_view v;
        if (!r.str(k) || !r.str(v) || k.empty()) {
            return std::nullopt;
        }
        h.environ.emplace_back(k, v);
    }
    if (!r.atEnd()) {
        return std::nullopt;
    }
    return h;
}

bool sameHead(const p::RequestHead& a, const p::RequestHead& b) {
    return a.scriptFilename == b.scriptFilename && a.callableObject == b.callableObject &&
           a.applicationGroup == b.applicationGroup && a.processGroup == b.processGroup &&
           a.contentLength == b.contentLength && a.receivedAtUs == b.receivedAtUs &&
           a.requestId == b.requestId && a.environ == b.environ;
}

// The payload as the daemon gets it: framed, then cut back out by a FrameDecoder.
void checkFramed(p::FrameType type, const std::string& payload) {
    check(payload.size() <= p::maxPayloadFor(type), "the payload fits its frame type");
    std::string wire;
    p::appendFrame(wire, type, 0, payload);
    p::FrameDecoder d;
    d.feed(wire);
    auto f = d.next();
    check(f.isOk() && f.value().has_value(), "a frame within limits decodes");
    check(f.value()->type == type && f.value()->payload == payload,
          "the framed payload comes back unchanged");
    check(d.buffered() == 0, "nothing is left after the frame");
}

bool sameHello(const p::Hello& a, const p::Hello& b) {
    return a.managerPid == b.managerPid && a.generation == b.generation && a.proof == b.proof;
}

// Direction 1: the bytes as a payload off the wire.
void decodeRaw(std::string_view payload) {
    auto got = p::decodeRequestHead(payload);
    auto want = referenceDecode(payload);
    check(got.isOk() == want.has_value(), "decodeRequestHead accepts exactly the valid payloads");
    if (!got.isOk()) {
        check(got.status().code() == ErrorCode::ProtocolError ||
                  got.status().code() == ErrorCode::LimitExceeded,
              "a bad RequestHead is a ProtocolError or LimitExceeded");
        return;
    }
    const p::RequestHead& h = got.value();
    check(sameHead(h, *want), "decoded fields match the reference reader");
    check(h.contentLength >= -1, "content length is -1 or more");
    check(h.environ.size() <= p::kMaxEnvironEntries, "environ within its limit");
    for (const auto& entry : h.environ) {
        check(!entry.first.empty(), "environ keys are non-empty");
    }
    // The format has one spelling of each value.
    check(p::encodeRequestHead(h) == payload, "a decoded RequestHead re-encodes identically");
}

// Direction 2: the bytes as the fields of a head the module would build.
void roundTrip(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    p::RequestHead h;
    h.scriptFilename = in.ConsumeRandomLengthString(256);
    h.callableObject = in.ConsumeRandomLengthString(64);
    h.applicationGroup = in.ConsumeRandomLengthString(64);
    h.processGroup = in.ConsumeRandomLengthString(64);
    h.contentLength = in.ConsumeIntegralInRange<std::int64_t>(-1, INT64_MAX);
    h.receivedAtUs = in.ConsumeIntegralInRange<std::int64_t>(0, INT64_MAX);
    h.requestId = in.ConsumeRandomLengthString(64);
    while (in.remaining_bytes() > 0 && h.environ.size() < p::kMaxEnvironEntries) {
        std::string k = in.ConsumeRandomLengthString(64);
        if (k.empty()) {
            k = "K";  // the module never sends an empty key (environ_rules.cpp)
        }
        h.environ.emplace_back(std::move(k), in.ConsumeRandomLengthString(512));
    }
    const std::string payload = p::encodeRequestHead(h);
    if (payload.size() > p::kMaxRequestHeadBytes) {
        return;  // the module refuses to send it (RelayOutcome::HeadTooLarge)
    }
    auto back = p::decodeRequestHead(payload);
    check(back.isOk(), "every head the module can build decodes");
    check(sameHead(back.value(), h), "encode then decode gives the same head");
    checkFramed(p::FrameType::RequestHead, payload);
}

// The bytes as a Hello payload off the wire (Connection::handleHello): manager pid, generation
// and proof, nothing else.
void decodeHelloRaw(std::string_view payload) {
    auto got = p::decodeHello(payload);
    check(got.isOk() == (payload.size() == 8 + p::kProofSize),
          "decodeHello accepts exactly 40 bytes");
    if (!got.isOk()) {
        check(got.status().code() == ErrorCode::ProtocolError, "a bad Hello is a ProtocolError");
        return;
    }
    const p::Hello& h = got.value();
    RefReader r(payload);
    std::uint32_t pid = 0;
    std::uint32_t generation = 0;
    check(r.u32(pid) && r.u32(generation) && h.managerPid == pid && h.generation == generation,
          "the Hello's pid and generation are its first 8 bytes");
    check(std::equal(h.proof.begin(), h.proof.end(), payload.begin() + 8,
                     [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }),
          "the Hello's proof is its last 32 bytes");
    check(p::encodeHello(h) == payload, "a decoded Hello re-encodes identically");
}

// The bytes as the fields of a Hello the module would send.
void roundTripHello(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    p::Hello h;
    h.managerPid = in.ConsumeIntegral<std::uint32_t>();
    h.generation = in.ConsumeIntegral<std::uint32_t>();
    for (std::uint8_t& b : h.proof) {
        b = in.ConsumeIntegral<std::uint8_t>();
    }
    const std::string payload = p::encodeHello(h);
    check(payload.size() == 8 + p::kProofSize, "a Hello is 40 bytes");
    auto back = p::decodeHello(payload);
    check(back.isOk() && sameHello(back.value(), h), "encode then decode gives the same Hello");
    checkFramed(p::FrameType::Hello, payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    decodeRaw(std::string_view(reinterpret_cast<const char*>(data), size));
    roundTrip(data, size);
    decodeHelloRaw(std::string_view(reinterpret_cast<const char*>(data), size));
    roundTripHello(data, size);
    return 0;
}
