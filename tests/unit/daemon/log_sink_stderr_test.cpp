// SPDX-License-Identifier: Apache-2.0
// StderrLogSink: httpd error-log layout, one line per message line, level filtering.
#include "daemon/log_sink_stderr.h"

#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "protocol/log_levels.h"

namespace wsgid::daemon {
namespace {

using common::LogLevel;

// A fixed instant: 2026-11-28 07:10:04.000123 UTC.
std::chrono::system_clock::time_point fixedTime() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1795849804) +
                                                 std::chrono::microseconds(123));
}

std::string readAll(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n <= 0) {
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        out.push_back(text.substr(start, nl - start));
        start = nl == std::string::npos ? text.size() : nl + 1;
    }
    return out;
}

TEST(StderrLogSink, FormatsLikeHttpdErrorLog) {
    const std::string text =
        formatLogLines(fixedTime(), 1234, 5678, LogLevel::Error, "WG0201", "something broke");
    const std::regex layout(R"(\[[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.000123 2026\] )"
                            R"(\[wsgid:error\] \[pid 1234:tid 5678\] WG0201: something broke\n)");
    EXPECT_TRUE(std::regex_match(text, layout)) << text;
}

TEST(StderrLogSink, EachEmbeddedLineGetsThePrefixAndId) {
    const std::string text =
        formatLogLines(fixedTime(), 1, 2, LogLevel::Warning, "WG0202",
                       "Traceback (most recent call last):\n  File \"x\"\r\nValueError: bad\n");
    const auto got = lines(text);
    ASSERT_EQ(got.size(), 3U) << text;
    for (const auto& line : got) {
        EXPECT_NE(line.find("[wsgid:warn] [pid 1:tid 2] WG0202: "), std::string::npos) << line;
        EXPECT_EQ(line.find('\r'), std::string::npos);
    }
    EXPECT_NE(got[2].find("ValueError: bad"), std::string::npos);
}

TEST(StderrLogSink, MessageWithoutIdHasNoIdPrefix) {
    const std::string text = formatLogLines(fixedTime(), 1, 2, LogLevel::Info, "", "plain");
    EXPECT_NE(text.find("[wsgid:info] [pid 1:tid 2] plain\n"), std::string::npos) << text;
}

TEST(StderrLogSink, FiltersByLevelAndWritesWholeLines) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    {
        StderrLogSink sink(*protocol::parseHttpdLogLevel("warn"), fds[1]);
        EXPECT_TRUE(sink.enabled(LogLevel::Error));
        EXPECT_FALSE(sink.enabled(LogLevel::Info));
        sink.log(LogLevel::Info, "WG0203", "dropped");
        sink.log(LogLevel::Warning, "WG0204", "kept");
        sink.log(LogLevel::Critical, "WG0205", "also kept");
    }
    ::close(fds[1]);
    const std::string text = readAll(fds[0]);
    ::close(fds[0]);
    const auto got = lines(text);
    ASSERT_EQ(got.size(), 2U) << text;
    EXPECT_NE(got[0].find("[wsgid:warn]"), std::string::npos);
    EXPECT_NE(got[0].find("WG0204: kept"), std::string::npos);
    EXPECT_NE(got[1].find("[wsgid:crit]"), std::string::npos);
    EXPECT_EQ(text.find("dropped"), std::string::npos);
}

TEST(StderrLogSink, SplitsLinesLongerThanPipeBufIntoWholeLines) {
    // 3000 two-byte characters: 6000 bytes, more than PIPE_BUF with the prefix.
    std::string text;
    for (int i = 0; i < 3000; ++i) {
        text += "\xc3\xa9";
    }
    const std::string out =
        formatLogLines(fixedTime(), 12, 34, LogLevel::Error, "WG0207", text + "\nshort");
    const auto got = lines(out);
    ASSERT_EQ(got.size(), 3U) << out;
    std::string joined;
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_LE(got[i].size() + 1, kMaxLogLineBytes);
        const auto at = got[i].find("WG0207: ");
        ASSERT_NE(at, std::string::npos);
        const std::string piece = got[i].substr(at + 8);
        EXPECT_EQ(piece.size() % 2, 0U) << "cut inside a UTF-8 sequence";
        joined += piece;
    }
    EXPECT_EQ(joined, text);
    EXPECT_NE(got[2].find("WG0207: short"), std::string::npos);
}

TEST(StderrLogSink, ConcurrentMessagesNeverInterleave) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    std::string text;
    std::thread reader([&] { text = readAll(fds[0]); });
    {
        StderrLogSink sink(*protocol::parseHttpdLogLevel("debug"), fds[1]);
        // Longer than PIPE_BUF: two lines and several writes, kept together by the sink's lock.
        const std::string big(6000, 'x');
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t) {
            writers.emplace_back([&sink, &big, t] {
                for (int i = 0; i < 50; ++i) {
                    sink.log(LogLevel::Error, "WG0206",
                             "t" + std::to_string(t) + " " + big + "\nsecond line");
                }
            });
        }
        for (auto& w : writers) {
            w.join();
        }
    }
    ::close(fds[1]);
    reader.join();
    ::close(fds[0]);
    const auto got = lines(text);
    ASSERT_EQ(got.size(), 600U);
    for (std::size_t i = 0; i < got.size(); i += 3) {
        EXPECT_NE(got[i].find("WG0206: t"), std::string::npos);
        EXPECT_NE(got[i + 1].find("WG0206: xxxx"), std::string::npos);
        EXPECT_NE(got[i + 2].find("WG0206: second line"), std::string::npos);
        for (std::size_t k = i; k < i + 3; ++k) {
            EXPECT_LE(got[k].size() + 1, kMaxLogLineBytes);
        }
    }
}

}  // namespace
}  // namespace wsgid::daemon
