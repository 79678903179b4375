// SPDX-License-Identifier: Apache-2.0
// Tests for UniqueFd: ownership moves, release and reset, and that owned fds are really closed.
#include "common/unique_fd.h"

#include <cerrno>
#include <type_traits>
#include <utility>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace wsgid::common {
namespace {

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);

// True while `fd` names an open descriptor in this process.
bool isOpen(int fd) {
    return ::fcntl(fd, F_GETFD) >= 0;
}

// A fresh descriptor (a pipe end); the other end is closed at once.
int openFd() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        ADD_FAILURE() << "pipe2 failed";
        return -1;
    }
    ::close(fds[1]);
    return fds[0];
}

TEST(UniqueFd, DefaultIsEmpty) {
    const UniqueFd fd;
    EXPECT_EQ(fd.get(), -1);
    EXPECT_FALSE(fd.valid());
    EXPECT_FALSE(static_cast<bool>(fd));
}

TEST(UniqueFd, ClosesOnDestruction) {
    const int raw = openFd();
    {
        const UniqueFd fd(raw);
        EXPECT_TRUE(fd.valid());
        EXPECT_EQ(fd.get(), raw);
        EXPECT_TRUE(isOpen(raw));
    }
    errno = 0;
    EXPECT_FALSE(isOpen(raw));
    EXPECT_EQ(errno, EBADF);
}

TEST(UniqueFd, MoveConstructionTransfersOwnership) {
    const int raw = openFd();
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(isOpen(raw));
}

TEST(UniqueFd, MoveAssignmentClosesPreviousFd) {
    const int first = openFd();
    const int second = openFd();
    UniqueFd a(first);
    UniqueFd b(second);
    a = std::move(b);
    EXPECT_FALSE(isOpen(first));
    EXPECT_TRUE(isOpen(second));
    EXPECT_EQ(a.get(), second);
    EXPECT_FALSE(b.valid());  // NOLINT(bugprone-use-after-move)
}

TEST(UniqueFd, SelfMoveAssignmentKeepsFdOpen) {
    const int raw = openFd();
    UniqueFd a(raw);
    UniqueFd& alias = a;
    a = std::move(alias);
    EXPECT_EQ(a.get(), raw);
    EXPECT_TRUE(isOpen(raw));
}

TEST(UniqueFd, ReleaseGivesUpOwnershipWithoutClosing) {
    const int raw = openFd();
    int released = -1;
    {
        UniqueFd fd(raw);
        released = fd.release();
        EXPECT_FALSE(fd.valid());
    }
    EXPECT_EQ(released, raw);
    EXPECT_TRUE(isOpen(raw));
    ::close(raw);
}

TEST(UniqueFd, ResetClosesOldAndAdoptsNew) {
    const int first = openFd();
    const int second = openFd();
    UniqueFd fd(first);
    fd.reset(second);
    EXPECT_FALSE(isOpen(first));
    EXPECT_EQ(fd.get(), second);
    fd.reset();
    EXPECT_FALSE(isOpen(second));
    EXPECT_FALSE(fd.valid());
}

TEST(UniqueFd, ResetOnEmptyIsHarmless) {
    UniqueFd fd;
    fd.reset();
    EXPECT_FALSE(fd.valid());
}

}  // namespace
}  // namespace wsgid::common
