// SPDX-License-Identifier: Apache-2.0
// Names the calling thread, so `top -H`, `ps -L`, perf and gdb tell a daemon's threads apart.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <pthread.h>

namespace wsgid::common {

/// Longest thread name Linux keeps (the 16-byte comm field, with its terminating NUL).
inline constexpr std::size_t kMaxThreadNameLength = 15;

/// Names the calling thread `name`, cut to kMaxThreadNameLength bytes. Best effort: a name is a
/// diagnostic aid, so a failure is ignored.
inline void nameThisThread(std::string_view name) noexcept {
    char buffer[kMaxThreadNameLength + 1] = {};
    name.copy(buffer, kMaxThreadNameLength);
    (void)::pthread_setname_np(::pthread_self(), buffer);
}

}  // namespace wsgid::common
