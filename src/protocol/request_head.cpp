// SPDX-License-Identifier: Apache-2.0
// RequestHead encoding. Pure: no syscalls, no httpd, no Python.
#include "protocol/request_head.h"

#include "protocol/codec.h"
#include "protocol/limits.h"

namespace wsgid::protocol {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

Status malformed(const char* what) {
    return {ErrorCode::ProtocolError, std::string("malformed ") + what + " frame"};
}

}  // namespace

std::string encodeRequestHead(const RequestHead& head) {
    std::string out;
    std::size_t size = 64 + head.scriptFilename.size() + head.callableObject.size() +
                       head.applicationGroup.size() + head.processGroup.size() +
                       head.requestId.size();
    for (const auto& [k, v] : head.environ) {
        size += 8 + k.size() + v.size();
    }
    out.reserve(size);
    ByteWriter w(out);
    w.str(head.scriptFilename);
    w.str(head.callableObject);
    w.str(head.applicationGroup);
    w.str(head.processGroup);
    w.u64(static_cast<std::uint64_t>(head.contentLength));
    w.u64(static_cast<std::uint64_t>(head.receivedAtUs));
    w.str(head.requestId);
    w.u32(static_cast<std::uint32_t>(head.environ.size()));
    for (const auto& [k, v] : head.environ) {
        w.str(k);
        w.str(v);
    }
    return out;
}

Result<RequestHead> decodeRequestHead(std::string_view payload) {
    if (payload.size() > kMaxRequestHeadBytes) {
        return Status(ErrorCode::LimitExceeded, "request head too large");
    }
    ByteReader r(payload);
    RequestHead head;
    std::string_view s;
    std::uint64_t length = 0;
    std::uint32_t count = 0;
    if (!r.str(s)) {
        return malformed("RequestHead");
    }
    head.scriptFilename.assign(s);
    if (!r.str(s)) {
        return malformed("RequestHead");
    }
    head.callableObject.assign(s);
    if (!r.str(s)) {
        return malformed("RequestHead");
    }
    head.applicationGroup.assign(s);
    if (!r.str(s)) {
        return malformed("RequestHead");
    }
    head.processGroup.assign(s);
    if (!r.u64(length)) {
        return malformed("RequestHead");
    }
    head.contentLength = static_cast<std::int64_t>(length);
    if (head.contentLength < -1) {
        return malformed("RequestHead");
    }
    std::uint64_t receivedAt = 0;
    if (!r.u64(receivedAt) || receivedAt > static_cast<std::uint64_t>(INT64_MAX)) {
        return malformed("RequestHead");
    }
    head.receivedAtUs = static_cast<std::int64_t>(receivedAt);
    if (!r.str(s)) {
        return malformed("RequestHead");
    }
    head.requestId.assign(s);
    if (!r.u32(count)) {
        return malformed("RequestHead");
    }
    if (count > kMaxEnvironEntries) {
        return Status(ErrorCode::LimitExceeded, "too many environ entries");
    }
    // Each entry takes at least 8 bytes, so a lying count cannot make us reserve much.
    if (static_cast<std::size_t>(count) * 8 > r.remaining()) {
        return malformed("RequestHead");
    }
    head.environ.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view k;
        std::string_view v;
        if (!r.str(k) || !r.str(v)) {
            return malformed("RequestHead");
        }
        if (k.empty()) {
            return malformed("RequestHead");
        }
        head.environ.emplace_back(std::string(k), std::string(v));
    }
    if (!r.done()) {
        return malformed("RequestHead");
    }
    return head;
}

}  // namespace wsgid::protocol
