// SPDX-License-Identifier: Apache-2.0
// StderrLogSink: httpd-style error-log lines on a file descriptor. No httpd headers.
#include "daemon/log_sink_stderr.h"

#include <algorithm>
#include <cerrno>
#include <ctime>

#include <unistd.h>

#include "common/utf8_cut.h"
#include "protocol/log_levels.h"

namespace wsgid::daemon {

namespace {

// Module tag shown in "[wsgid:error]", like httpd's "[mod:level]".
constexpr std::string_view kModuleTag = "wsgid";

std::string timestamp(std::chrono::system_clock::time_point when) {
    const auto sinceEpoch = when.time_since_epoch();
    const auto secs = std::chrono::floor<std::chrono::seconds>(sinceEpoch);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(sinceEpoch - secs);
    const auto t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char head[32];
    char year[8];
    const std::size_t headLen = std::strftime(head, sizeof(head), "%a %b %d %H:%M:%S", &tm);
    const std::size_t yearLen = std::strftime(year, sizeof(year), "%Y", &tm);
    std::string frac = std::to_string(micros.count());
    frac.insert(0, 6 - std::min<std::size_t>(6, frac.size()), '0');
    std::string out(head, headLen);
    out += '.';
    out += frac;
    out += ' ';
    out.append(year, yearLen);
    return out;
}

}  // namespace

LogRank rankOf(common::LogLevel level) noexcept {
    switch (level) {
        case common::LogLevel::Critical:
            return 2;
        case common::LogLevel::Error:
            return 3;
        case common::LogLevel::Warning:
            return 4;
        case common::LogLevel::Notice:
            return 5;
        case common::LogLevel::Info:
            return 6;
        case common::LogLevel::Debug:
            return 7;
    }
    return 7;
}

std::string formatLogLines(std::chrono::system_clock::time_point when, pid_t pid, pid_t tid,
                           common::LogLevel level, std::string_view id, std::string_view message) {
    std::string prefix = "[" + timestamp(when) + "] [";
    prefix += kModuleTag;
    prefix += ':';
    prefix += protocol::httpdLogLevelName(rankOf(level));
    prefix += "] [pid " + std::to_string(pid) + ":tid " + std::to_string(tid) + "] ";
    if (!id.empty()) {
        prefix += id;
        prefix += ": ";
    }
    // A trailing newline ends the last line; it does not start an empty one.
    if (!message.empty() && message.back() == '\n') {
        message.remove_suffix(1);
    }
    // Room for the text of one line; a prefix too long to leave any still gets one byte a line.
    const std::size_t room =
        prefix.size() + 1 < kMaxLogLineBytes ? kMaxLogLineBytes - prefix.size() - 1 : 1;
    std::string out;
    out.reserve(prefix.size() + message.size() + 1);
    for (;;) {
        const auto nl = message.find('\n');
        std::string_view line = message.substr(0, nl);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        // Each piece of an over-long line is a line of its own, with the prefix and id.
        do {
            const std::size_t cut = common::utf8CutPoint(line, room);
            out += prefix;
            out += line.substr(0, cut);
            out += '\n';
            line.remove_prefix(cut);
        } while (!line.empty());
        if (nl == std::string_view::npos) {
            break;
        }
        message.remove_prefix(nl + 1);
    }
    return out;
}

void StderrLogSink::log(common::LogLevel level, std::string_view id,
                        std::string_view message) noexcept {
    if (!enabled(level)) {
        return;
    }
    try {
        const std::string text = formatLogLines(std::chrono::system_clock::now(), ::getpid(),
                                                ::gettid(), level, id, message);
        const std::lock_guard lock(writeMutex_);
        std::string_view left = text;
        while (!left.empty()) {
            // Whole lines, at most PIPE_BUF bytes a write: atomic on the group's log pipe, which
            // the group's other processes write too (docs/architecture.md, the log relay).
            std::string_view chunk = left.substr(0, kMaxLogLineBytes);
            if (chunk.size() < left.size()) {
                chunk = chunk.substr(0, chunk.rfind('\n') + 1);  // every line fits (formatLogLines)
            }
            const ssize_t n = ::write(fd_, chunk.data(), chunk.size());
            if (n > 0) {
                left.remove_prefix(static_cast<std::size_t>(n));
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                // A full non-blocking pipe or a closed log: drop the rest rather than wait.
                break;
            }
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch)
        // Out of memory or a mutex failure: a log line is not worth terminating for.
    }
}

}  // namespace wsgid::daemon
