// SPDX-License-Identifier: Apache-2.0
// StderrLogSink: the daemon's log lines, written to its stderr (httpd's error log) in httpd's own
// error-log layout so operators and the test harness read both the same way. No httpd headers.
#pragma once

#include <chrono>
#include <climits>
#include <mutex>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "common/log_sink.h"

namespace wsgid::daemon {

/// httpd LogLevel ranks: emerg=0, alert, crit, error, warn, notice, info, debug=7, trace1..8=8..15
/// (their names: protocol/log_levels.h). A line is written when the rank of its level is at most
/// the configured rank.
using LogRank = int;

/// The httpd rank a common::LogLevel is filtered and labelled as (Warning -> 4 "warn").
LogRank rankOf(common::LogLevel level) noexcept;

/// Longest error-log line the daemon writes, '\n' included: PIPE_BUF, the most one write() to
/// the group's log pipe keeps whole while the group's other processes write to it too.
inline constexpr std::size_t kMaxLogLineBytes = PIPE_BUF;

/// Formats one message as error-log lines, each ending in '\n':
/// `[Sat Nov 28 07:10:04.123456 2026] [wsgid:error] [pid 1234:tid 5678] WG0201: message`.
/// A message with embedded newlines becomes several lines, each with the full prefix and id, so
/// a filter on the id sees all of them. A line longer than kMaxLogLineBytes is split into
/// several, each with the prefix, never inside a UTF-8 sequence. Pure apart from the local time
/// zone.
std::string formatLogLines(std::chrono::system_clock::time_point when, pid_t pid, pid_t tid,
                           common::LogLevel level, std::string_view id, std::string_view message);

/// Writes each message's lines to a file descriptor, stderr by default, in writes of whole lines
/// of at most kMaxLogLineBytes (PIPE_BUF), so no other process's line lands inside one.
/// Thread-safe; the descriptor is borrowed and must outlive the sink.
class StderrLogSink final : public common::LogSink {
public:
    /// Lines whose level ranks above `threshold` are dropped.
    explicit StderrLogSink(LogRank threshold, int fd = 2) noexcept
        : threshold_(threshold), fd_(fd) {}

    /// Formats with formatLogLines and writes the lines under a lock (so a message's lines stay
    /// together among this process's threads); drops
    /// the message if the descriptor cannot take it.
    void log(common::LogLevel level, std::string_view id,
             std::string_view message) noexcept override;

    /// Whether a message of `level` would be written (to skip building expensive messages).
    [[nodiscard]] bool enabled(common::LogLevel level) const noexcept {
        return rankOf(level) <= threshold_;
    }

private:
    const LogRank threshold_;
    const int fd_;
    std::mutex writeMutex_;  // keeps a message's lines together when it takes several writes
};

}  // namespace wsgid::daemon
