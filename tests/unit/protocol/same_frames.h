// SPDX-License-Identifier: Apache-2.0
// Test helper: compares two decoded frame sequences field by field, naming the first frame that
// differs. Test-only; header-only so every frame decoder test can include it.
#pragma once

#include <cstddef>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/frame.h"

namespace wsgid::test {

inline void expectSameFrames(const std::vector<protocol::Frame>& got,
                             const std::vector<protocol::Frame>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].type, want[i].type) << "frame " << i;
        EXPECT_EQ(got[i].flags, want[i].flags) << "frame " << i;
        EXPECT_EQ(got[i].payload, want[i].payload) << "frame " << i;
    }
}

}  // namespace wsgid::test
