// SPDX-License-Identifier: Apache-2.0
// Tests of the one-shot timeout (src/daemon/watchdog.h).
#include "daemon/watchdog.h"

#include <atomic>

#include <gtest/gtest.h>

namespace wsgid::daemon {
namespace {

using std::chrono::milliseconds;

TEST(Watchdog, FiresAfterItsTimeout) {
    std::atomic<bool> fired{false};
    {
        Watchdog w(milliseconds(10), [&] { fired = true; });
        for (int i = 0; i < 500 && !fired; ++i) {
            std::this_thread::sleep_for(milliseconds(10));
        }
    }
    EXPECT_TRUE(fired);
}

TEST(Watchdog, DisarmedInTimeNeverFires) {
    std::atomic<bool> fired{false};
    Watchdog w(std::chrono::hours(1), [&] { fired = true; });
    w.disarm();
    EXPECT_FALSE(fired);
}

TEST(Watchdog, ZeroTimeoutIsOff) {
    std::atomic<bool> fired{false};
    {
        Watchdog w(milliseconds(0), [&] { fired = true; });
    }
    EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace wsgid::daemon
