// SPDX-License-Identifier: Apache-2.0
// Golden encodings: the exact wire bytes of whole frames, as docs/protocol.md lays them out.
// A failure here means the wire format changed: update docs/protocol.md and kProtocolVersion.
#include <string>

#include <gtest/gtest.h>

#include "protocol/frame.h"
#include "protocol/handshake.h"
#include "protocol/hex_bytes.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

namespace wsgid::protocol {
namespace {

using test::hexBytes;
using test::toHex;

std::string frame(FrameType type, std::uint16_t flags, std::string_view payload) {
    std::string out;
    appendFrame(out, type, flags, payload);
    return out;
}

TEST(GoldenEncoding, Challenge) {
    Challenge c{.daemonPid = 0x0a0b0c0d, .nonce = {}};
    c.nonce[0] = 0x11;
    c.nonce[31] = 0xff;
    const std::string bytes = frame(FrameType::Challenge, 0, encodeChallenge(c));
    const std::string want = hexBytes(
        "03 15 00 00 24 00 00 00"  // version 3, type 21 (Challenge), flags 0, length 36
        "0d 0c 0b 0a"              // daemon pid, u32 LE
        "11 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"  // nonce, 32 bytes
        "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff");
    EXPECT_EQ(toHex(bytes), toHex(want));
}

TEST(GoldenEncoding, Hello) {
    Hello h{.managerPid = 0x01020304, .generation = 5, .proof = {}};
    h.proof.fill(0x5a);
    const std::string bytes = frame(FrameType::Hello, 0, encodeHello(h));
    const std::string want = hexBytes(
        "03 01 00 00 28 00 00 00"  // version 3, type 1 (Hello), flags 0, length 40
        "04 03 02 01"              // manager pid, u32 LE
        "05 00 00 00"              // generation, u32 LE
        "5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a"  // proof, 32 bytes
        "5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a");
    EXPECT_EQ(toHex(bytes), toHex(want));
}

TEST(GoldenEncoding, HelloProof) {
    // Pins the proof's input layout (label, group, nonce, pid, generation): a daemon and a module
    // of one build must agree, and any change is a protocol change.
    Secret secret{};
    for (std::size_t i = 0; i < secret.size(); ++i) {
        secret[i] = static_cast<std::uint8_t>(i);
    }
    Nonce nonce{};
    nonce.fill(0x01);
    const Proof p = helloProof(secret, "site-a", nonce, 4242, 3);
    // Computed independently with Python's hmac module over the layout in docs/protocol.md.
    EXPECT_EQ(toHex(std::string(p.begin(), p.end())),
              "35 94 23 8f be ce b8 8f 1b 41 5a 76 51 d2 50 62 83 fd 45 e9 7d e2 81 88 5b 20 0c 44 "
              "bf 03 87 d8");
}

TEST(GoldenEncoding, HelloAck) {
    const std::string bytes =
        frame(FrameType::HelloAck, 0, encodeHelloAck(HelloAck{.daemonPid = 0x1234}));
    EXPECT_EQ(toHex(bytes), toHex(hexBytes("03 10 00 00 04 00 00 00 34 12 00 00")));
}

TEST(GoldenEncoding, SmallRequestHead) {
    RequestHead head;
    head.scriptFilename = "/s.wsgi";
    head.callableObject = "app";
    head.applicationGroup = "";
    head.processGroup = "g";
    head.contentLength = 5;
    head.receivedAtUs = 0x0102030405060708;
    head.requestId = "id";
    head.environ = {{"K", "v"}};
    const std::string bytes = frame(FrameType::RequestHead, kHeadMayQueue, encodeRequestHead(head));
    const std::string want = hexBytes("03 02 01 00 3f 00 00 00") +  // RequestHead, may queue, 63
                             hexBytes("07 00 00 00") + "/s.wsgi" +  // script filename
                             hexBytes("03 00 00 00") + "app" +      // callable object
                             hexBytes("00 00 00 00") +  // application group "" (main interpreter)
                             hexBytes("01 00 00 00") + "g" +        // process group
                             hexBytes("05 00 00 00 00 00 00 00") +  // content length, u64 LE
                             hexBytes("08 07 06 05 04 03 02 01") +  // received at, µs, u64 LE
                             hexBytes("02 00 00 00") + "id" +       // request id
                             hexBytes("01 00 00 00") +              // one environ entry
                             hexBytes("01 00 00 00") + "K" + hexBytes("01 00 00 00") + "v";
    EXPECT_EQ(toHex(bytes), toHex(want));
}

TEST(GoldenEncoding, UnknownContentLengthIsAllOnes) {
    RequestHead head;
    head.callableObject = "";
    head.contentLength = -1;
    const std::string want = hexBytes(
        "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"  // four empty strings
        "ff ff ff ff ff ff ff ff"                          // -1, two's complement
        "00 00 00 00 00 00 00 00"                          // received at: unknown
        "00 00 00 00"                                      // request id ""
        "00 00 00 00");                                    // no environ entries
    EXPECT_EQ(toHex(encodeRequestHead(head)), toHex(want));
}

TEST(GoldenEncoding, Start) {
    const ResponseStart start{"200 OK", {{"Content-Type", "text/plain"}}};
    const std::string bytes = frame(FrameType::Start, 0, encodeResponseStart(start));
    const std::string want = hexBytes("03 11 00 00 2c 00 00 00") +  // Start, length 44
                             hexBytes("06 00 00 00") + "200 OK" +   // status line
                             hexBytes("01 00 00 00") +              // one header
                             hexBytes("0c 00 00 00") + "Content-Type" + hexBytes("0a 00 00 00") +
                             "text/plain";
    EXPECT_EQ(toHex(bytes), toHex(want));
}

TEST(GoldenEncoding, Error) {
    const ResponseError error{ResponseErrorCode::BadRequest, "bad"};
    const std::string bytes = frame(FrameType::Error, 0, encodeResponseError(error));
    const std::string want = hexBytes("03 14 00 00 09 00 00 00") +  // Error, length 9
                             hexBytes("04 00") +                    // code 4 (BadRequest), u16 LE
                             hexBytes("03 00 00 00") + "bad";       // message
    EXPECT_EQ(toHex(bytes), toHex(want));
}

TEST(GoldenEncoding, BodyEndAbandoned) {
    const std::string bytes = frame(FrameType::BodyEnd, kBodyAbandoned, "");
    EXPECT_EQ(toHex(bytes), toHex(hexBytes("03 04 01 00 00 00 00 00")));
}

TEST(GoldenEncoding, BodyChunkAndBodyCarryRawBytes) {
    EXPECT_EQ(toHex(frame(FrameType::BodyChunk, 0, "ab")),
              toHex(hexBytes("03 03 00 00 02 00 00 00 61 62")));
    EXPECT_EQ(toHex(frame(FrameType::Body, 0, "ab")),
              toHex(hexBytes("03 12 00 00 02 00 00 00 61 62")));
    EXPECT_EQ(toHex(frame(FrameType::End, 0, "")), toHex(hexBytes("03 13 00 00 00 00 00 00")));
}

TEST(GoldenEncoding, SendBody) {
    EXPECT_EQ(toHex(frame(FrameType::SendBody, 0, "")), toHex(hexBytes("03 16 00 00 00 00 00 00")));
}

TEST(GoldenEncoding, ErrorCodesMatchProtocolDoc) {
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::AppError), 1);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::ScriptLoadFailed), 2);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::InvalidResponse), 3);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::BadRequest), 4);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::ShuttingDown), 5);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::ContentLengthMismatch), 6);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::Internal), 7);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::Busy), 8);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::QueueTimeout), 9);
    EXPECT_EQ(static_cast<int>(ResponseErrorCode::RequestTimeout), 10);
}

}  // namespace
}  // namespace wsgid::protocol
