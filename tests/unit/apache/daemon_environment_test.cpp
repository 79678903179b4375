// SPDX-License-Identifier: Apache-2.0
// Tests for the daemon's environment allow-list: nothing of httpd's environment reaches a tenant
// daemon unless it is on the list.
#include "apache/daemon_environment.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

std::vector<std::string> envOf(std::vector<const char*> entries, bool sanitizerBuild = false) {
    entries.push_back(nullptr);
    return daemonEnvironment(entries.data(), sanitizerBuild);
}

TEST(DaemonEnvironment, KeepsOnlyTheAllowList) {
    const auto env =
        envOf({"PATH=/usr/bin:/bin", "DB_PASSWORD=hunter2", "TZ=Europe/Paris",
               "NOTIFY_SOCKET=/run/systemd/notify", "LANG=C.UTF-8", "LC_CTYPE=en_US.UTF-8",
               "APACHE_RUN_USER=www-data", "LD_PRELOAD=/tmp/evil.so", "PYTHONPATH=/tmp",
               "LANGUAGE=en", "ASAN_OPTIONS=x"});
    EXPECT_EQ(env,
              (std::vector<std::string>{"PATH=/usr/bin:/bin", "TZ=Europe/Paris", "LANG=C.UTF-8",
                                        "LC_CTYPE=en_US.UTF-8", "LANGUAGE=en"}));
}

TEST(DaemonEnvironment, SanitizerBuildsPassTheRuntimeSettings) {
    const auto env = envOf({"ASAN_OPTIONS=detect_leaks=0", "LD_PRELOAD=/usr/lib/libasan.so",
                            "PYTHONMALLOC=malloc", "SECRET=1"},
                           true);
    EXPECT_EQ(env, (std::vector<std::string>{
                       "ASAN_OPTIONS=detect_leaks=0", "LD_PRELOAD=/usr/lib/libasan.so",
                       "PYTHONMALLOC=malloc", "PATH=/usr/local/bin:/usr/bin:/bin"}));
}

TEST(DaemonEnvironment, PathIsAlwaysSet) {
    EXPECT_EQ(envOf({}), (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin"}));
    EXPECT_EQ(daemonEnvironment(nullptr, false),
              (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin"}));
}

TEST(DaemonEnvironment, FirstDuplicateWinsAndOddEntriesAreDropped) {
    const auto env =
        envOf({"TZ=UTC", "TZ=Asia/Tokyo", "=value", "NOEQUALS", "PATHX=/x", "LC_=odd", "PATH="});
    EXPECT_EQ(env, (std::vector<std::string>{"TZ=UTC", "LC_=odd", "PATH="}));
}

}  // namespace
}  // namespace wsgid::apache
