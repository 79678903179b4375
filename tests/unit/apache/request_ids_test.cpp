// SPDX-License-Identifier: Apache-2.0
// Unit tests for the request ids of an httpd child (apache/request_ids.h): unique, carrying the
// pid of the process that makes them, also in a child forked after the parent made some.
#include "apache/request_ids.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/in_child.h"

namespace wsgid::apache {
namespace {

std::string pidPrefix() {
    return std::to_string(::getpid()) + "-";
}

TEST(RequestIds, CarryThePidAndCountFromOneAfterStart) {
    startRequestIds();
    EXPECT_EQ(nextRequestId(), pidPrefix() + "1");
    EXPECT_EQ(nextRequestId(), pidPrefix() + "2");
    startRequestIds();
    EXPECT_EQ(nextRequestId(), pidPrefix() + "1");
}

TEST(RequestIds, AreUniqueAcrossThreads) {
    startRequestIds();
    constexpr int kThreads = 4;
    constexpr int kEach = 1000;
    std::vector<std::vector<std::string>> made(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&made, t] {
            for (int i = 0; i < kEach; ++i) {
                made[static_cast<std::size_t>(t)].push_back(nextRequestId());
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    std::set<std::string> all;
    for (const auto& ids : made) {
        for (const auto& id : ids) {
            EXPECT_EQ(id.rfind(pidPrefix(), 0), 0U) << id;
            all.insert(id);
        }
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kEach));
}

// A prefork child is forked from a parent that may have cached its own pid: child_init
// (startRequestIds) makes the child's ids carry the child's pid.
TEST(RequestIds, AForkedChildCarriesItsOwnPidAfterStart) {
    startRequestIds();
    const std::string parentId = nextRequestId();
    const int rc = test::inChild([&parentId] {
        startRequestIds();
        const std::string id = nextRequestId();
        if (id != pidPrefix() + "1") {
            return 1;
        }
        return id.rfind(parentId.substr(0, parentId.find('-') + 1), 0) == 0 ? 2 : 0;
    });
    EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace wsgid::apache
