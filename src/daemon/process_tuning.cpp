// SPDX-License-Identifier: Apache-2.0
// cpu-priority=, stack-size= and python-eggs= (see process_tuning.h).
#include "daemon/process_tuning.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>

#include <pthread.h>
#include <sys/resource.h>

#include "common/socket_io.h"

namespace wsgid::daemon {

using common::LogLevel;

namespace {

void applyCpuPriority(int priority, common::LogSink& log) {
    if (priority == 0) {
        return;
    }
    if (::setpriority(PRIO_PROCESS, 0, priority) != 0) {
        log.log(LogLevel::Warning, "WG0243",
                "cannot set cpu-priority=" + std::to_string(priority) + ": " +
                    common::errnoText(errno) + "; the daemon runs with the inherited priority");
    }
}

void applyStackSize(std::uint64_t bytes, common::LogSink& log) {
    if (bytes == 0) {
        return;
    }
    pthread_attr_t attr;
    int rc = ::pthread_attr_init(&attr);
    if (rc == 0) {
        rc = ::pthread_attr_setstacksize(&attr, static_cast<std::size_t>(bytes));
        if (rc == 0) {
            rc = ::pthread_setattr_default_np(&attr);
        }
        (void)::pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        log.log(LogLevel::Warning, "WG0244",
                "cannot set stack-size=" + std::to_string(bytes) + ": " + common::errnoText(rc) +
                    " (at least " + std::to_string(PTHREAD_STACK_MIN) +
                    " bytes); threads get the default stack size");
    }
}

}  // namespace

void applyProcessTuning(const protocol::DaemonArgs& args, common::LogSink& log) {
    applyCpuPriority(args.cpuPriority, log);
    applyStackSize(args.stackSize, log);
    if (!args.pythonEggs.empty()) {
        // NOLINTNEXTLINE(concurrency-mt-unsafe): before any thread starts
        (void)::setenv("PYTHON_EGG_CACHE", args.pythonEggs.c_str(), 1);
    }
}

}  // namespace wsgid::daemon
