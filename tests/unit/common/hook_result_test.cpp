// SPDX-License-Identifier: Apache-2.0
// Unit tests for the hook call answers (common/hook_result.h).
#include "common/hook_result.h"

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

using Kind = HookResult::Kind;

TEST(HookResult, EveryKindRoundTrips) {
    const HookResult cases[] = {
        {Kind::Allow, "", {}, {}},
        {Kind::Deny, "", {}, {}},
        {Kind::None, "", {}, {}},
        {Kind::User, "renamed-user", {}, {}},
        {Kind::Hash, "0123456789abcdef0123456789abcdef", {}, {}},
        {Kind::Groups, "", {"staff", "ops team", ""}, {}},
        {Kind::Groups, "", {}, {}},
    };
    for (const HookResult& r : cases) {
        auto got = decodeHookResult(encodeHookResult(r));
        ASSERT_TRUE(got.isOk()) << encodeHookResult(r) << ": " << got.status().message();
        EXPECT_EQ(got.value(), r) << encodeHookResult(r);
    }
}

TEST(HookResult, DispatchAnswersRoundTrip) {
    HookResult none{Kind::Dispatch, "", {}, {}};
    HookResult all{Kind::Dispatch, "", {}, {"tenant-a", "", "app=main"}};
    HookResult some{Kind::Dispatch, "", {}, {std::nullopt, "%{GLOBAL}", std::nullopt}};
    for (const HookResult& r : {none, all, some}) {
        auto got = decodeHookResult(encodeHookResult(r));
        ASSERT_TRUE(got.isOk()) << encodeHookResult(r) << ": " << got.status().message();
        EXPECT_EQ(got.value(), r) << encodeHookResult(r);
    }
    // An empty answer stays an answer: "" is %{GLOBAL}, not "no override".
    EXPECT_EQ(encodeHookResult(all),
              "dispatch\nprocess_group=tenant-a\napplication_group=\n"
              "callable_object=app=main");
}

TEST(HookResult, MalformedDispatchAnswersAreRefused) {
    for (const char* bad : {"dispatch\nprocess_group", "dispatch\nhandler=x",
                            "dispatch\nprocess_group=a\nprocess_group=b", "dispatch\n"}) {
        EXPECT_FALSE(decodeHookResult(bad).isOk()) << bad;
    }
}

TEST(HookResult, MalformedAnswersAreRefused) {
    for (const char* bad :
         {"", "maybe", "allow\nextra", "user", "user\n", "hash\na\nb", "groups\na\rb"}) {
        EXPECT_FALSE(decodeHookResult(bad).isOk()) << bad;
    }
    EXPECT_FALSE(decodeHookResult(std::string_view("allow\0", 6)).isOk());
}

TEST(HookResult, TextThatCannotTravel) {
    EXPECT_TRUE(isHookText("a b\tc"));
    EXPECT_FALSE(isHookText("a\nb"));
    EXPECT_FALSE(isHookText("a\rb"));
    EXPECT_FALSE(isHookText(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace wsgid::common
