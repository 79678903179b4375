// SPDX-License-Identifier: Apache-2.0
// The loggers of the C-boundary guards (c_boundary.h).
#include "apache/c_boundary.h"

#include "apache/httpd_includes.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

void logEscapedException(const char* where, const char* what) noexcept {
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ap_server_conf,
                 "WG0001: unexpected exception in %s: %s", where, what);
}

void logRequestException(request_rec* r, std::string_view what, const char* message) noexcept {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "WG0100: %.*s failed: %s",
                  static_cast<int>(what.size()), what.data(), message);
}

}  // namespace wsgid::apache
