// SPDX-License-Identifier: Apache-2.0
// StderrLogSink: the daemon's log lines, written to its stderr (httpd's error log) in httpd's own
// error-log layout so operators and the test harness read both the same way. No httpd headers.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "common/log_sink.h"

namespace wsgid::daemon {

/// httpd LogLevel ranks: emerg=0, alert, crit, error, warn, notice, info, debug=7, trace1..8=8..15.
/// A line is written when the rank of its level is at most the configured rank.
using LogRank = int;

/// The rank of an httpd LogLevel name ("warn", "trace3"); std::nullopt for an unknown name.
std::optional<LogRank> parseHttpdLogLevel(std::string_view name) noexcept;

/// The httpd rank a common::LogLevel is filtered and labelled as (Warning -> 4 "warn").
LogRank rankOf(common::LogLevel level) noexcept;

/// Formats one message as error-log lines, each ending in '\n':
/// `[Sat Nov 28 07:10:04.123456 2026] [wsgid:error] [pid 1234:tid 5678] WG0201: message`.
/// A message with embedded newlines becomes several lines, each with the full prefix and id, so
/// a filter on the id sees all of them. Pure apart from the local time zone.
std::string formatLogLines(std::chrono::system_clock::time_point when, pid_t pid, pid_t tid,
                           common::LogLevel level, std::string_view id, std::string_view message);

/// Writes each message with one write() (one line set) to a file descriptor, stderr by default.
/// Thread-safe; the descriptor is borrowed and must outlive the sink.
class StderrLogSink final : public common::LogSink {
public:
    /// Lines whose level ranks above `threshold` are dropped.
    explicit StderrLogSink(LogRank threshold, int fd = 2) noexcept
        : threshold_(threshold), fd_(fd) {}

    /// Formats with formatLogLines and writes the lines with one write() under a lock; drops
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
    std::mutex writeMutex_;  // keeps line sets whole when a write() is split
};

}  // namespace wsgid::daemon
