// SPDX-License-Identifier: Apache-2.0
// aprErrorText(): an APR status as text, for log lines and Status messages. Include after
// httpd_includes.h (this header needs the APR error API).
#pragma once

#include <string>

namespace wsgid::apache {

/// The text apr_strerror gives for `rv` (errno values included).
inline std::string aprErrorText(apr_status_t rv) {
    char buf[256];
    return apr_strerror(rv, buf, sizeof(buf));
}

}  // namespace wsgid::apache
