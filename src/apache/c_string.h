// SPDX-License-Identifier: Apache-2.0
// Small helpers for the C strings httpd hands over (request_rec fields that may be null).
#pragma once

namespace wsgid::apache {

/// `s`, or "" when it is null: for log lines and views of optional request_rec strings.
inline const char* orEmpty(const char* s) noexcept {
    return s != nullptr ? s : "";
}

}  // namespace wsgid::apache
