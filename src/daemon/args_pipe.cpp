// SPDX-License-Identifier: Apache-2.0
#include "daemon/args_pipe.h"

#include <algorithm>
#include <string>

#include <unistd.h>

#include "common/socket_io.h"
#include "common/unique_fd.h"

namespace wsgid::daemon {

using common::ErrorCode;
using common::Status;

common::Result<protocol::DaemonArgs> readDaemonArgs(int fd) noexcept {
    try {
        const common::UniqueFd owned(fd);
        const common::Deadline deadline = common::Deadline::after(kArgsReadTimeout);
        std::string bytes;
        char buf[4096];
        for (;;) {
            auto n = common::readSome(fd, buf, deadline);
            if (!n && n.status().code() == ErrorCode::Closed) {
                break;  // EOF: the parent closed its end after writing everything
            }
            if (!n) {
                return Status(n.status().code(),
                              "reading descriptor " + std::to_string(fd) + ": " +
                                  n.status().message() +
                                  " (wsgid-daemon is started by mod_wsgid, not by hand)");
            }
            if (bytes.size() + n.value() > protocol::kMaxDaemonArgsBytes) {
                return Status(ErrorCode::LimitExceeded,
                              "the settings on descriptor " + std::to_string(fd) +
                                  " are larger than " +
                                  std::to_string(protocol::kMaxDaemonArgsBytes / 1024) + " KiB");
            }
            bytes.append(buf, n.value());
        }
        std::fill(std::begin(buf), std::end(buf), '\0');
        auto args = protocol::decodeDaemonArgs(bytes);
        std::fill(bytes.begin(), bytes.end(), '\0');
        return args;
    } catch (...) {
        return Status(ErrorCode::Internal, "out of memory reading the daemon settings");
    }
}

}  // namespace wsgid::daemon
