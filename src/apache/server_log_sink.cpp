// SPDX-License-Identifier: Apache-2.0
// common::LogSink onto ap_log_error (see server_log_sink.h).
#include "apache/server_log_sink.h"

#include "apache/httpd_includes.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

int aplogLevel(common::LogLevel level) noexcept {
    switch (level) {
        case common::LogLevel::Debug:
            return APLOG_DEBUG;
        case common::LogLevel::Info:
            return APLOG_INFO;
        case common::LogLevel::Notice:
            return APLOG_NOTICE;
        case common::LogLevel::Warning:
            return APLOG_WARNING;
        case common::LogLevel::Error:
            return APLOG_ERR;
        case common::LogLevel::Critical:
            return APLOG_CRIT;
    }
    return APLOG_ERR;
}

}  // namespace

void ServerLogSink::log(common::LogLevel level, std::string_view id,
                        std::string_view message) noexcept {
    ap_log_error(APLOG_MARK, aplogLevel(level), 0, s_, "%.*s: %.*s", static_cast<int>(id.size()),
                 id.data(), static_cast<int>(message.size()), message.data());
}

}  // namespace wsgid::apache
