// SPDX-License-Identifier: Apache-2.0
// What the Connection's source files share (connection.cpp, connection_handshake.cpp,
// connection_body.cpp): the read buffer size and frame type names for log lines. Internal: included
// by those files only, never by connection.h. No httpd headers here.
#pragma once

#include <cstddef>
#include <string>

#include "protocol/frame.h"

namespace wsgid::daemon::detail {

/// Size of one read() from the socket into a buffer of our own (frames between requests, and a
/// body the app left unread, which is discarded); lives on the stack of the I/O thread or worker.
/// The body the app reads goes straight from the socket into the app's buffer instead.
inline constexpr std::size_t kReadBufferSize = std::size_t{64} * 1024;

/// The name of a frame type, for log lines.
inline std::string frameTypeName(protocol::FrameType type) {
    switch (type) {
        case protocol::FrameType::Hello:
            return "Hello";
        case protocol::FrameType::RequestHead:
            return "RequestHead";
        case protocol::FrameType::BodyChunk:
            return "BodyChunk";
        case protocol::FrameType::BodyEnd:
            return "BodyEnd";
        case protocol::FrameType::HelloAck:
            return "HelloAck";
        case protocol::FrameType::Start:
            return "Start";
        case protocol::FrameType::Body:
            return "Body";
        case protocol::FrameType::End:
            return "End";
        case protocol::FrameType::Error:
            return "Error";
        case protocol::FrameType::Challenge:
            return "Challenge";
        case protocol::FrameType::SendBody:
            return "SendBody";
        case protocol::FrameType::File:
            return "File";
    }
    return "type " + std::to_string(static_cast<int>(type));
}

}  // namespace wsgid::daemon::detail
