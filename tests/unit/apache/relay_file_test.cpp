// SPDX-License-Identifier: Apache-2.0
// Unit tests for File frames in the relay (apache/relay.h): a scripted fake daemon passes real
// descriptors over a real socket, honestly and in every way a hostile daemon could; every test
// also checks that no descriptor stays open in this process.
#include <array>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apache/relay.h"
#include "fake_daemon.h"
#include "protocol/frame.h"
#include "support/descriptors.h"

namespace wsgid::apache {
namespace {

using common::UniqueFd;
using protocol::FrameType;
using test::FakeDaemon;
using test::getHead;
using test::kRelay;
using test::RecordingSink;
using test::socketPair;
using test::StringSource;
using testing::memFile;
using testing::openDescriptorCount;

const std::string kData = "0123456789abcdefghijklmnopqrstuvwxyz";

std::string frameBytes(FrameType type, std::string_view payload = {}) {
    std::string out;
    protocol::appendFrame(out, type, 0, payload);
    return out;
}

std::string fileFrame(std::uint64_t offset, std::uint64_t length) {
    return frameBytes(FrameType::File,
                      protocol::encodeResponseFile({.offset = offset, .length = length}));
}

std::string startFrame(std::string status, std::vector<protocol::Header> headers) {
    return frameBytes(FrameType::Start,
                      protocol::encodeResponseStart(protocol::ResponseStart{
                          .status = std::move(status), .headers = std::move(headers)}));
}

/// Waits (bounded) until the relay has read everything sent to `moduleEnd` so far.
void waitUntilRead(int moduleEnd) {
    const common::Deadline deadline = common::Deadline::after(test::kTestDeadline);
    int unread = 1;
    while (!deadline.expired() && ::ioctl(moduleEnd, FIONREAD, &unread) == 0 && unread > 0) {
        std::this_thread::yield();
    }
}

/// One relay against a daemon script; counts the descriptors open before and after.
struct FileRelay {
    FileRelay() {
        auto [a, b] = socketPair();
        conn = std::make_unique<DaemonConnection>(std::move(a), "/test.sock", 4242);
        daemon = std::make_unique<FakeDaemon>(std::move(b));
    }

    template <typename Script>
    RelayResult run(Script script, protocol::RequestHead head = getHead()) {
        const int before = openDescriptorCount();
        std::thread t([&] {
            daemon->readRequest();
            script(*daemon);
        });
        StringSource source("");
        RelayResult r = relayRequest(*conn, head, source, sink, kRelay);
        t.join();
        leaked = openDescriptorCount() - before;
        return r;
    }

    std::unique_ptr<DaemonConnection> conn;
    std::unique_ptr<FakeDaemon> daemon;
    RecordingSink sink;
    int leaked = 0;  ///< descriptors open after the relay that were not before
};

std::vector<protocol::Header> length(std::size_t n) {
    return {{"Content-Length", std::to_string(n)}};
}

/// The daemon's whole answer: Start, a File frame with `descriptor` attached, End.
auto startFileEnd(int descriptor, std::uint64_t offset, std::uint64_t length,
                  std::vector<protocol::Header> headers = {{"Content-Type", "text/plain"}},
                  std::string status = "200 OK") {
    return [=](FakeDaemon& d) {
        d.sendStart(status, headers);
        d.sendFile(descriptor, offset, length);
        d.send(FrameType::End);
    };
}

TEST(RelayFile, AFileFrameWithItsDescriptorReachesTheSink) {
    UniqueFd file = memFile(kData);
    FileRelay fx;
    RelayResult r = fx.run(startFileEnd(file.get(), 5, 10, length(10)));
    EXPECT_EQ(r.outcome, RelayOutcome::Completed) << r.detail;
    EXPECT_TRUE(r.reusable);
    EXPECT_EQ(fx.sink.files_, 1);
    EXPECT_EQ(fx.sink.body_, kData.substr(5, 10));
    EXPECT_EQ(fx.leaked, 0);
}

TEST(RelayFile, TheDescriptorMayComeWithEarlierFramesInOneWrite) {
    // One sendmsg with Start, File and End: the descriptor comes with the read holding them all.
    UniqueFd file = memFile(kData);
    FileRelay fx;
    RelayResult r = fx.run([&](FakeDaemon& d) {
        d.sendWithDescriptor(
            startFrame("200 OK", length(36)) + fileFrame(0, 36) + frameBytes(FrameType::End),
            file.get());
    });
    EXPECT_EQ(r.outcome, RelayOutcome::Completed) << r.detail;
    EXPECT_EQ(fx.sink.body_, kData);
    EXPECT_EQ(fx.leaked, 0);
}

TEST(RelayFile, BodyBytesThenAFileCountTogetherAgainstContentLength) {
    UniqueFd file = memFile(kData);
    FileRelay fx;
    RelayResult r = fx.run([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(13));
        d.send(FrameType::Body, "abc");
        d.sendFile(file.get(), 0, 10);
        d.send(FrameType::End);
    });
    EXPECT_EQ(r.outcome, RelayOutcome::Completed) << r.detail;
    EXPECT_EQ(fx.sink.body_, "abc" + kData.substr(0, 10));
}

TEST(RelayFile, AFileWithoutContentLengthIsAccepted) {
    UniqueFd file = memFile(kData);
    FileRelay fx;
    RelayResult r = fx.run(startFileEnd(file.get(), 0, kData.size()));
    EXPECT_EQ(r.outcome, RelayOutcome::Completed) << r.detail;
    EXPECT_EQ(fx.sink.body_, kData);
}

// ---- what a hostile daemon could send --------------------------------------------------------

/// A relay whose daemon misbehaves: the outcome, with no descriptor left open.
template <typename Script>
RelayResult refused(Script script, RelayOutcome want = RelayOutcome::Malformed,
                    protocol::RequestHead head = getHead()) {
    FileRelay fx;
    RelayResult r = fx.run(script, std::move(head));
    EXPECT_EQ(r.outcome, want) << r.detail;
    EXPECT_FALSE(r.reusable);
    EXPECT_EQ(fx.leaked, 0) << "descriptors left open";
    EXPECT_FALSE(fx.sink.ended_);
    return r;
}

TEST(RelayFile, RefusedWhenTheRequestDoesNotPassFiles) {
    UniqueFd file = memFile(kData);
    protocol::RequestHead head = getHead();
    head.environ.emplace_back("mod_wsgi.enable_sendfile", "0");
    RelayResult r =
        refused(startFileEnd(file.get(), 0, 10, length(10)), RelayOutcome::Malformed, head);
    EXPECT_NE(r.detail.find("WSGIEnableSendfile Off"), std::string::npos) << r.detail;
}

TEST(RelayFile, AFileFrameWithoutADescriptorIsMalformed) {
    RelayResult r = refused([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(10));
        d.sendRaw(fileFrame(0, 10));
        d.send(FrameType::End);
    });
    EXPECT_NE(r.detail.find("without its descriptor"), std::string::npos) << r.detail;
}

TEST(RelayFile, ADescriptorSentAfterTheFramesFirstByteIsMalformed) {
    UniqueFd file = memFile(kData);
    FileRelay fx;
    const int moduleEnd = fx.conn->fd();
    RelayResult r = fx.run([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(10));
        const std::string f = fileFrame(0, 10);
        d.sendRaw(f.substr(0, 3));
        waitUntilRead(moduleEnd);  // the relay has read the first three bytes on their own
        d.sendWithDescriptor(f.substr(3), file.get());
        d.send(FrameType::End);
    });
    EXPECT_EQ(r.outcome, RelayOutcome::Malformed) << r.detail;
    EXPECT_NE(r.detail.find("without its descriptor"), std::string::npos) << r.detail;
    EXPECT_EQ(fx.leaked, 0);
}

TEST(RelayFile, ADescriptorWithAnyOtherFrameIsMalformed) {
    UniqueFd file = memFile(kData);
    // With a Body frame (then End), with the End, with the Start, with an Error: a read ends
    // with the bytes a descriptor came with, so no File frame is ever in the read that brought it.
    refused([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(2));
        d.sendWithDescriptor(frameBytes(FrameType::Body, "ab"), file.get());
        d.send(FrameType::End);
    });
    refused([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(0));
        d.sendWithDescriptor(frameBytes(FrameType::End), file.get());
    });
    refused([&](FakeDaemon& d) {
        d.sendWithDescriptor(startFrame("200 OK", length(2)), file.get());
        d.send(FrameType::Body, "ab");
        d.send(FrameType::End);
    });
    refused(
        [&](FakeDaemon& d) {
            d.sendWithDescriptor(
                frameBytes(FrameType::Error,
                           protocol::encodeResponseError(
                               {.code = protocol::ResponseErrorCode::AppError, .message = "x"})),
                file.get());
        },
        RelayOutcome::Malformed);
}

TEST(RelayFile, MoreThanOneDescriptorIsMalformed) {
    UniqueFd file = memFile(kData);
    // Two in one message.
    refused([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(10));
        std::string f = fileFrame(0, 10);
        const std::array<int, 2> two = {file.get(), file.get()};
        testing::sendDescriptors(d.fd(), f, two);
        d.send(FrameType::End);
    });
    // A second File frame with a descriptor of its own.
    refused([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(20));
        d.sendFile(file.get(), 0, 10);
        d.sendFile(file.get(), 10, 10);
        d.send(FrameType::End);
    });
}

TEST(RelayFile, OrderIsStartFileEnd) {
    UniqueFd file = memFile(kData);
    refused([&](FakeDaemon& d) { d.sendFile(file.get(), 0, 10); });  // before Start
    refused([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(12));
        d.sendFile(file.get(), 0, 10);
        d.send(FrameType::Body, "ab");  // Body after File
        d.send(FrameType::End);
    });
}

TEST(RelayFile, DescriptorsOfAnythingButARegularFileAreRefused) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd readEnd(p[0]);
    UniqueFd writeEnd(p[1]);
    int s[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
    UniqueFd sockA(s[0]);
    UniqueFd sockB(s[1]);
    UniqueFd device(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
    UniqueFd dir(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    for (const auto& [fd, what] :
         {std::pair{readEnd.get(), "a FIFO"}, std::pair{sockA.get(), "a socket"},
          std::pair{device.get(), "a character device"}, std::pair{dir.get(), "a directory"}}) {
        RelayResult r = refused([&, fd = fd](FakeDaemon& d) {
            d.sendStart("200 OK", length(10));
            d.sendFile(fd, 0, 10);
            d.send(FrameType::End);
        });
        EXPECT_NE(r.detail.find(what), std::string::npos) << r.detail;
    }
}

TEST(RelayFile, ARangeBeyondTheFileIsRefused) {
    UniqueFd file = memFile(kData);
    // No Content-Length: only the file's size bounds the range.
    RelayResult r = refused(startFileEnd(file.get(), 0, protocol::kMaxFileRangeEnd));
    EXPECT_NE(r.detail.find("shorter than the range"), std::string::npos) << r.detail;
    refused(startFileEnd(file.get(), 30, 7));
}

TEST(RelayFile, AnOutOfRangeFramePayloadIsMalformed) {
    UniqueFd file = memFile(kData);
    // offset + length overflows off_t
    refused(startFileEnd(file.get(), protocol::kMaxFileRangeEnd, 1));
}

TEST(RelayFile, FileBytesAreCountedAgainstTheAnnouncedLength) {
    UniqueFd file = memFile(kData);
    RelayResult more =
        refused(startFileEnd(file.get(), 0, 10, length(9)), RelayOutcome::BodyLengthMismatch);
    EXPECT_EQ(more.announcedBodyBytes, 9);
    EXPECT_EQ(more.daemonBodyBytes, 10);
    // Fewer than announced: the file reached the sink, the End is refused.
    FileRelay fewer;
    RelayResult r = fewer.run(startFileEnd(file.get(), 0, 10, length(11)));
    EXPECT_EQ(r.outcome, RelayOutcome::BodyLengthMismatch) << r.detail;
    EXPECT_EQ(fewer.leaked, 0);
    // 204 and 304 carry no body at all.
    for (const char* status : {"204 No Content", "304 Not Modified"}) {
        refused(startFileEnd(file.get(), 0, 10, length(10), status),
                RelayOutcome::BodyLengthMismatch);
    }
}

TEST(RelayFile, ADaemonThatDiesAfterPassingADescriptorLeaksNothing) {
    UniqueFd file = memFile(kData);
    FileRelay fx;
    RelayResult r = fx.run([&](FakeDaemon& d) {
        d.sendStart("200 OK", length(10));
        // The File frame's header only, with the descriptor, then the connection closes.
        d.sendWithDescriptor(fileFrame(0, 10).substr(0, 8), file.get());
        ::shutdown(d.fd(), SHUT_RDWR);  // EOF for the relay; the descriptor count stays put
    });
    EXPECT_EQ(r.outcome, RelayOutcome::FailedAfterStart) << r.detail;
    EXPECT_EQ(fx.leaked, 0);
    EXPECT_EQ(fx.sink.files_, 0);
}

TEST(RelayFile, AFailingSinkStillOwnsAndClosesTheDescriptor) {
    UniqueFd file = memFile(kData);
    FileRelay fx;
    fx.sink.failFile_ = true;
    RelayResult r = fx.run(startFileEnd(file.get(), 0, 10, length(10)));
    EXPECT_EQ(r.outcome, RelayOutcome::ClientGone) << r.detail;
    EXPECT_EQ(fx.leaked, 0);
}

}  // namespace
}  // namespace wsgid::apache
