// SPDX-License-Identifier: Apache-2.0
// CapturingLog: a LogSink for tests that keeps every line, so a test can check that something
// was logged under its id. No httpd, APR or Python.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/log_sink.h"

namespace wsgid::testing {

/// One recorded log line.
struct LogRecord {
    common::LogLevel level;
    std::string id;
    std::string message;
};

/// Thread-safe LogSink that keeps every line (and echoes it to stderr when the environment
/// variable WSGID_TEST_VERBOSE is set).
class CapturingLog : public common::LogSink {
public:
    void log(common::LogLevel level, std::string_view id,
             std::string_view message) noexcept override;
    /// A copy of everything logged so far.
    [[nodiscard]] std::vector<LogRecord> records() const;
    /// Whether a line with `id` whose message contains `text` was logged.
    [[nodiscard]] bool contains(std::string_view id, std::string_view text = {}) const;
    /// Forgets all lines.
    void clear();

private:
    mutable std::mutex mutex_;
    std::vector<LogRecord> records_;
};

}  // namespace wsgid::testing
