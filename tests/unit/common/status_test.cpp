// SPDX-License-Identifier: Apache-2.0
// Tests for Status and Result<T>, the error values of the non-throwing data path.
#include "common/status.h"

#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

TEST(Status, DefaultIsOk) {
    const Status s;
    EXPECT_TRUE(s.isOk());
    EXPECT_TRUE(static_cast<bool>(s));
    EXPECT_EQ(s.code(), ErrorCode::Ok);
    EXPECT_TRUE(Status::ok().isOk());
}

TEST(Status, CarriesCodeAndMessage) {
    const Status s(ErrorCode::Timeout, "slow peer");
    EXPECT_FALSE(s.isOk());
    EXPECT_FALSE(static_cast<bool>(s));
    EXPECT_EQ(s.code(), ErrorCode::Timeout);
    EXPECT_EQ(s.message(), "slow peer");
}

TEST(Result, HoldsValue) {
    Result<std::string> r(std::string("v"));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value(), "v");
    EXPECT_EQ(r->size(), 1U);
    EXPECT_EQ(*r, "v");
}

TEST(Result, HoldsError) {
    const Result<int> r(ErrorCode::Closed, "gone");
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::Closed);
    EXPECT_EQ(r.status().message(), "gone");
}

TEST(Result, MovesOnlyValuesOut) {
    Result<std::unique_ptr<int>> r(std::make_unique<int>(42));
    ASSERT_TRUE(r.isOk());
    std::unique_ptr<int> p = std::move(r).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 42);
}

}  // namespace
}  // namespace wsgid::common
