// SPDX-License-Identifier: Apache-2.0
// LogSink: the logging interface that each side injects (httpd's ap_log_* in the module, stderr
// lines in the daemon). No httpd, APR or Python here.
#pragma once

#include <string_view>

namespace wsgid::common {

/// Severity, mapped by each sink onto its own levels (APLOG_* in httpd).
enum class LogLevel { Debug, Info, Notice, Warning, Error, Critical };

/// Receives log lines. `id` is the stable message id ("WG0001"); tests allowlist ids, never text.
/// Implementations must be thread-safe: workers log concurrently.
class LogSink {
public:
    virtual ~LogSink() = default;
    virtual void log(LogLevel level, std::string_view id, std::string_view message) noexcept = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    LogSink() = default;
    LogSink(const LogSink&) = default;
    LogSink& operator=(const LogSink&) = default;
    LogSink(LogSink&&) = default;
    LogSink& operator=(LogSink&&) = default;
};

}  // namespace wsgid::common
