// SPDX-License-Identifier: Apache-2.0
// The test log sink (see capturing_log.h).
#include "support/capturing_log.h"

#include <cstdio>
#include <cstdlib>

namespace wsgid::testing {

void CapturingLog::log(common::LogLevel level, std::string_view id,
                       std::string_view message) noexcept {
    try {
        if (::getenv("WSGID_TEST_VERBOSE") != nullptr) {
            std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(id.size()), id.data(),
                         static_cast<int>(message.size()), message.data());
        }
        std::lock_guard<std::mutex> lock(mutex_);
        records_.push_back({level, std::string(id), std::string(message)});
    } catch (...) {
        // A test log that cannot grow loses the line; the test asserting on it will fail.
    }
}

std::vector<LogRecord> CapturingLog::records() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
}

bool CapturingLog::contains(std::string_view id, std::string_view text) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const LogRecord& r : records_) {
        if (r.id == id && r.message.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

void CapturingLog::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    records_.clear();
}

}  // namespace wsgid::testing
