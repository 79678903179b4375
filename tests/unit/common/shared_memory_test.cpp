// SPDX-License-Identifier: Apache-2.0
// Tests of sealed shared memory and its mapping (src/common/shared_memory.h).
#include "common/shared_memory.h"

#include <cstring>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

namespace wsgid::common {
namespace {

TEST(SharedMemory, ANewAreaIsZeroedAndNoHolderCanChangeItsSize) {
    auto fd = makeSealedSharedMemory("wsgid-test", 4096);
    ASSERT_TRUE(fd.isOk()) << fd.status().message();
    struct stat st {};
    ASSERT_EQ(::fstat(fd->get(), &st), 0);
    EXPECT_EQ(st.st_size, 4096);
    EXPECT_NE(::ftruncate(fd->get(), 0), 0) << "a peer must not be able to shrink it";
    EXPECT_NE(::ftruncate(fd->get(), 8192), 0);
    EXPECT_NE(::fcntl(fd->get(), F_ADD_SEALS, F_SEAL_WRITE), 0) << "nor change its seals";
    auto m = SharedMapping::map(fd->get(), 4096, false);
    ASSERT_TRUE(m.isOk()) << m.status().message();
    for (const std::byte b : m->bytes()) {
        ASSERT_EQ(b, std::byte{0});
    }
}

TEST(SharedMemory, AWriterAndAReadOnlyMappingShareTheBytes) {
    auto fd = makeSealedSharedMemory("wsgid-test", 64);
    ASSERT_TRUE(fd.isOk());
    auto writer = SharedMapping::map(fd->get(), 64, true);
    auto reader = SharedMapping::map(fd->get(), 64, false);
    ASSERT_TRUE(writer.isOk() && reader.isOk());
    std::memcpy(writer->bytes().data(), "load", 4);
    EXPECT_EQ(std::memcmp(reader->bytes().data(), "load", 4), 0);
}

TEST(SharedMemory, AnUnsealedOrShortDescriptorIsRefused) {
    const UniqueFd loose(::memfd_create("wsgid-test", MFD_CLOEXEC));
    ASSERT_TRUE(loose.valid());
    ASSERT_EQ(::ftruncate(loose.get(), 4096), 0);
    auto unsealed = SharedMapping::map(loose.get(), 4096, false);
    ASSERT_FALSE(unsealed.isOk());
    EXPECT_NE(unsealed.status().message().find("sealed"), std::string::npos);
    auto fd = makeSealedSharedMemory("wsgid-test", 64);
    ASSERT_TRUE(fd.isOk());
    auto tooShort = SharedMapping::map(fd->get(), 128, false);
    ASSERT_FALSE(tooShort.isOk());
    EXPECT_EQ(tooShort.status().code(), ErrorCode::InvalidArgument);
}

TEST(SharedMemory, AMappingMovesAndUnmapsOnce) {
    auto fd = makeSealedSharedMemory("wsgid-test", 64);
    ASSERT_TRUE(fd.isOk());
    auto m = SharedMapping::map(fd->get(), 64, true);
    ASSERT_TRUE(m.isOk());
    SharedMapping moved = std::move(m.value());
    EXPECT_TRUE(moved.valid());
    EXPECT_FALSE(m->valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    SharedMapping other;
    other = std::move(moved);
    EXPECT_TRUE(other.valid());
    EXPECT_EQ(other.bytes().size(), 64U);
}

}  // namespace
}  // namespace wsgid::common
