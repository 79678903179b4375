// SPDX-License-Identifier: Apache-2.0
// The rules of the log relay (log_relay.h), kept pure so they are unit-tested with an injected
// clock (tests/unit/apache/log_rate_limit_test.cpp): a per-group token bucket over bytes, and the
// assembly of a pipe's byte stream into bounded lines. No httpd, no APR, no syscalls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgid::apache {

/// The relay's clock (monotonic: a wall-clock jump must neither open nor close the bucket).
using RelayClock = std::chrono::steady_clock;

/// Sustained error-log bytes per second a daemon group may write. 256 KiB/s is a line of about
/// 100 bytes for each of some 2500 requests every second, more than a busy application logs to
/// the error log, yet one tenant flooding its stderr can no longer fill the shared disk at the
/// speed of a pipe (hundreds of MB/s). log-rate= raises it per group.
inline constexpr std::uint64_t kLogRateBytesPerSecond = std::uint64_t{256} * 1024;
/// Bytes a group may write at once above the sustained rate: 4 MiB lets a burst of tracebacks
/// (a thousand or so after a database outage) through in full.
inline constexpr std::uint64_t kLogBurstBytes = std::uint64_t{4} * 1024 * 1024;
/// How often dropped output is summarised, in one line per group: often enough to tell an
/// operator soon, rarely enough that the summaries themselves cannot flood the log.
inline constexpr std::chrono::seconds kLogDropSummaryInterval{5};
/// Longest line the relay writes; longer ones are split. The daemon's own records are at most
/// PIPE_BUF (log_sink_stderr.h) and print() pieces 8 KiB plus a prefix; httpd itself truncates
/// its lines at about 8 KiB, so nothing an operator could read is lost below this bound.
inline constexpr std::size_t kMaxRelayLineBytes = 8192 + 512;

/// A token bucket over bytes: holds up to `burst` tokens, refills at `ratePerSecond`. A line is
/// written only when the bucket holds its whole size, so a line is never cut by the limiter.
/// Not thread-safe (the relay is single-threaded).
class TokenBucket {
public:
    TokenBucket(std::uint64_t ratePerSecond, std::uint64_t burst, RelayClock::time_point now)
        : rate_(ratePerSecond), burst_(burst), tokens_(burst), last_(now) {}

    /// Takes `bytes` tokens if the bucket holds them at `now`; false (and takes nothing) if not.
    bool take(std::size_t bytes, RelayClock::time_point now) noexcept;

    /// Tokens held at the last take() (for tests).
    [[nodiscard]] std::uint64_t tokens() const noexcept { return tokens_; }

private:
    void refill(RelayClock::time_point now) noexcept;

    std::uint64_t rate_;
    std::uint64_t burst_;
    std::uint64_t tokens_;
    RelayClock::time_point last_;
    std::uint64_t remainderNs_ = 0;  ///< refill carried between calls (rate x ns below a token)
};

/// Cuts a byte stream into lines of at most `maxLine` bytes, each ending in '\n'. A line longer
/// than that is split into pieces (each given a '\n'); a piece never ends inside a UTF-8 sequence
/// unless the sequence is malformed. Not thread-safe.
class LineAssembler {
public:
    explicit LineAssembler(std::size_t maxLine = kMaxRelayLineBytes) : maxLine_(maxLine) {}

    /// Appends `bytes` and moves every complete (or over-long) line to `out`.
    void feed(std::string_view bytes, std::vector<std::string>& out);
    /// End of stream: the unfinished line, if any, goes to `out` with a '\n'.
    void finish(std::vector<std::string>& out);

    /// Bytes held of an unfinished line.
    [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

private:
    std::size_t maxLine_;
    std::string pending_;
};

}  // namespace wsgid::apache
