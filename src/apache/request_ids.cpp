// SPDX-License-Identifier: Apache-2.0
// Request ids of an httpd child (see request_ids.h).
#include "apache/request_ids.h"

#include <atomic>
#include <cstdint>

#include <sys/types.h>
#include <unistd.h>

namespace wsgid::apache {

namespace {

/// This process's pid, 0 until startRequestIds (or the first id) sets it.
std::atomic<pid_t> gPid{0};

/// Ids handed out by this process.
std::atomic<std::uint64_t> gCount{0};

}  // namespace

void startRequestIds() noexcept {
    gCount.store(0, std::memory_order_relaxed);
    gPid.store(::getpid(), std::memory_order_relaxed);
}

std::string nextRequestId() {
    pid_t pid = gPid.load(std::memory_order_relaxed);
    if (pid == 0) {
        // Threads racing here all store the same value.
        pid = ::getpid();
        gPid.store(pid, std::memory_order_relaxed);
    }
    return std::to_string(pid) + "-" +
           std::to_string(gCount.fetch_add(1, std::memory_order_relaxed) + 1);
}

}  // namespace wsgid::apache
