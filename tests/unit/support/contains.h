// SPDX-License-Identifier: Apache-2.0
// contains(): the assertion for "this message says that", with both texts in the failure.
#pragma once

#include <string_view>

#include <gtest/gtest.h>

namespace wsgid::test {

inline ::testing::AssertionResult contains(std::string_view text, std::string_view part) {
    if (text.find(part) != std::string_view::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "\"" << text << "\" does not contain \"" << part << "\"";
}

}  // namespace wsgid::test
