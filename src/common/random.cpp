// SPDX-License-Identifier: Apache-2.0
#include "common/random.h"

#include <cerrno>
#include <string>

#include <sys/random.h>

#include "common/socket_io.h"

namespace wsgid::common {

Status fillRandom(std::span<std::uint8_t> out) noexcept {
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            try {
                return {ErrorCode::IoError, "getrandom(): " + errnoText(errno)};
            } catch (...) {
                return {ErrorCode::IoError, std::string()};
            }
        }
        done += static_cast<std::size_t>(n);
    }
    return Status::ok();
}

}  // namespace wsgid::common
