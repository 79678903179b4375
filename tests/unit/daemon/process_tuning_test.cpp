// SPDX-License-Identifier: Apache-2.0
// Process tuning (cpu-priority=, stack-size=, python-eggs=), applied in a forked child so the
// test process keeps its priority, thread defaults and environment.
#include "daemon/process_tuning.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/capturing_log.h"
#include "support/in_child.h"

namespace wsgid::daemon {
namespace {

using test::inChild;

std::size_t defaultStackSize() {
    pthread_attr_t attr;
    std::size_t size = 0;
    if (::pthread_getattr_default_np(&attr) == 0) {
        (void)::pthread_attr_getstacksize(&attr, &size);
        (void)::pthread_attr_destroy(&attr);
    }
    return size;
}

const char* eggCache() {
    return std::getenv("PYTHON_EGG_CACHE");  // NOLINT(concurrency-mt-unsafe): one thread
}

TEST(ProcessTuning, DefaultsChangeNothing) {
    EXPECT_EQ(inChild([] {
                  const int priority = ::getpriority(PRIO_PROCESS, 0);
                  const std::size_t stack = defaultStackSize();
                  ::unsetenv("PYTHON_EGG_CACHE");  // NOLINT(concurrency-mt-unsafe)
                  testing::CapturingLog log;
                  protocol::DaemonArgs args;
                  applyProcessTuning(args, log);
                  if (::getpriority(PRIO_PROCESS, 0) != priority || defaultStackSize() != stack ||
                      eggCache() != nullptr || !log.records().empty()) {
                      return 1;
                  }
                  return 0;
              }),
              0);
}

TEST(ProcessTuning, AppliesPriorityStackSizeAndEggCache) {
    EXPECT_EQ(inChild([] {
                  testing::CapturingLog log;
                  protocol::DaemonArgs args;
                  args.cpuPriority = 7;  // lowering the priority needs no privilege
                  args.stackSize = 393216;
                  args.pythonEggs = "/var/cache/eggs";
                  applyProcessTuning(args, log);
                  errno = 0;
                  if (::getpriority(PRIO_PROCESS, 0) != 7 || errno != 0) {
                      return 1;
                  }
                  if (defaultStackSize() != 393216) {
                      return 2;
                  }
                  const char* eggs = eggCache();
                  if (eggs == nullptr || std::strcmp(eggs, "/var/cache/eggs") != 0) {
                      return 3;
                  }
                  return log.records().empty() ? 0 : 4;
              }),
              0);
}

TEST(ProcessTuning, RefusedStackSizeIsAWarningAndKeepsTheDefault) {
    EXPECT_EQ(inChild([] {
                  const std::size_t stack = defaultStackSize();
                  testing::CapturingLog log;
                  protocol::DaemonArgs args;
                  args.stackSize = 1024;  // below PTHREAD_STACK_MIN
                  applyProcessTuning(args, log);
                  if (defaultStackSize() != stack) {
                      return 1;
                  }
                  return log.contains("WG0244", "stack-size=1024") ? 0 : 2;
              }),
              0);
}

}  // namespace
}  // namespace wsgid::daemon
