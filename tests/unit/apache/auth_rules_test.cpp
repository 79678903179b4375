// SPDX-License-Identifier: Apache-2.0
// Unit tests for the authentication hook rules (apache/auth_rules.h).
#include "apache/auth_rules.h"

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

TEST(GroupsSatisfy, AnyListedGroup) {
    const std::vector<std::string> groups = {"staff", "ops team"};
    EXPECT_TRUE(groupsSatisfy("admins staff", groups));
    EXPECT_TRUE(groupsSatisfy(R"(admins "ops team")", groups));
    EXPECT_FALSE(groupsSatisfy("admins Staff", groups));
    EXPECT_FALSE(groupsSatisfy("", groups));
    EXPECT_FALSE(groupsSatisfy("staff", {}));
    EXPECT_FALSE(groupsSatisfy(R"("unterminated)", groups));
}

}  // namespace
}  // namespace wsgid::apache
