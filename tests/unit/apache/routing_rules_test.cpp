// SPDX-License-Identifier: Apache-2.0
// Unit tests for the pure rules of the routing directives (apache/routing_rules.h).
#include "apache/routing_rules.h"

#include <array>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

TEST(ProcessGroupAllowed, OnlyListedNames) {
    const std::array<const char*, 2> allowed = {"site", ""};
    EXPECT_TRUE(processGroupAllowed(allowed, "site"));
    EXPECT_TRUE(processGroupAllowed(allowed, ""));  // %{GLOBAL}
    EXPECT_FALSE(processGroupAllowed(allowed, "other"));
    EXPECT_FALSE(processGroupAllowed(allowed, "Site"));
    EXPECT_FALSE(processGroupAllowed({}, "site"));
}

TEST(IsCallableName, PythonIdentifiersOnly) {
    for (const char* good : {"application", "_app", "app2", "App_V2", "\xe9t\xe9"}) {
        EXPECT_TRUE(isCallableName(good)) << good;
    }
    for (const char* bad : {"", "2app", "my-app", "app.main", "app main", "%{ENV:APP}", "a\tb"}) {
        EXPECT_FALSE(isCallableName(bad)) << bad;
    }
}

TEST(HeadShownAsGet, FollowsTheMode) {
    EXPECT_TRUE(headShownAsGet(HeadMapping::On, true, false));
    EXPECT_FALSE(headShownAsGet(HeadMapping::Off, true, true));
    EXPECT_FALSE(headShownAsGet(HeadMapping::Auto, true, false));
    EXPECT_TRUE(headShownAsGet(HeadMapping::Auto, true, true));
    // Unset is mod_wsgi 6's default, Auto.
    EXPECT_TRUE(headShownAsGet(HeadMapping::Unset, true, true));
    EXPECT_FALSE(headShownAsGet(HeadMapping::Unset, true, false));
}

TEST(HeadShownAsGet, NeverForOtherMethods) {
    for (const HeadMapping m : {HeadMapping::On, HeadMapping::Off, HeadMapping::Auto}) {
        EXPECT_FALSE(headShownAsGet(m, false, true));
    }
}

TEST(ScriptOwnerCheck, RequiredUserThenGroup) {
    EXPECT_EQ(scriptOwnerCheck(std::nullopt, std::nullopt, 5, 6), ScriptOwner::Ok);
    EXPECT_EQ(scriptOwnerCheck(5, 6, 5, 6), ScriptOwner::Ok);
    EXPECT_EQ(scriptOwnerCheck(5, std::nullopt, 5, 99), ScriptOwner::Ok);
    EXPECT_EQ(scriptOwnerCheck(5, std::nullopt, 0, 6), ScriptOwner::WrongUser);
    EXPECT_EQ(scriptOwnerCheck(std::nullopt, 6, 5, 0), ScriptOwner::WrongGroup);
    EXPECT_EQ(scriptOwnerCheck(5, 6, 1, 1), ScriptOwner::WrongUser);
}

TEST(ResponseDisposition, LocalLocationWith200IsAnInternalRedirect) {
    EXPECT_EQ(responseDisposition(200, "/other", false), ResponseDisposition::InternalRedirect);
    EXPECT_EQ(responseDisposition(200, "/other", true), ResponseDisposition::InternalRedirect);
    EXPECT_EQ(responseDisposition(302, "/other", false), ResponseDisposition::Pass);
    EXPECT_EQ(responseDisposition(201, "/other", false), ResponseDisposition::Pass);
    EXPECT_EQ(responseDisposition(200, "http://h/x", false), ResponseDisposition::Pass);
    EXPECT_EQ(responseDisposition(200, "", false), ResponseDisposition::Pass);
    EXPECT_EQ(responseDisposition(200, std::nullopt, false), ResponseDisposition::Pass);
}

TEST(ResponseDisposition, ErrorOverrideTakesErrorStatusesOnly) {
    EXPECT_EQ(responseDisposition(404, std::nullopt, true), ResponseDisposition::ErrorOverride);
    EXPECT_EQ(responseDisposition(500, std::nullopt, true), ResponseDisposition::ErrorOverride);
    EXPECT_EQ(responseDisposition(399, std::nullopt, true), ResponseDisposition::Pass);
    EXPECT_EQ(responseDisposition(404, std::nullopt, false), ResponseDisposition::Pass);
}

}  // namespace
}  // namespace wsgid::apache
