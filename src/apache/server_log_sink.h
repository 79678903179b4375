// SPDX-License-Identifier: Apache-2.0
// ServerLogSink: common::LogSink onto httpd's error log of one server (ap_log_error), for the
// parent-side code that logs through the interface (daemon_sockets, retired_daemons' callers).
// httpd glue; httpd types by forward declaration only.
#pragma once

#include "common/log_sink.h"

struct server_rec;

namespace wsgid::apache {

/// Writes "<id>: <message>" with ap_log_error at the mapped level. `s` may be nullptr (the main
/// server's log). Valid while `s` is.
class ServerLogSink final : public common::LogSink {
public:
    explicit ServerLogSink(server_rec* s) noexcept : s_(s) {}
    void log(common::LogLevel level, std::string_view id,
             std::string_view message) noexcept override;

private:
    server_rec* s_;
};

}  // namespace wsgid::apache
