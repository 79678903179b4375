// SPDX-License-Identifier: Apache-2.0
// Tests of the groups' listening sockets (src/apache/daemon_sockets.h) on real sockets in a
// temporary directory.
#include "apache/daemon_sockets.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "support/capturing_log.h"
#include "support/contains.h"
#include "support/temp_dir.h"

namespace wsgid::apache {
namespace {

using test::contains;
using testing::CapturingLog;
using testing::TempDir;

bool isSocket(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

/// Whether a client can connect to `path` (something listens there).
bool accepts(const std::string& path) {
    const common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

class DaemonSocketsTest : public ::testing::Test {
protected:
    void TearDown() override { sockets.closeAll(); }
    [[nodiscard]] std::string path(const std::string& name) const {
        return dir.path() + "/" + name;
    }

    TempDir dir;
    DaemonSockets sockets;
    CapturingLog log;
    const SocketOwner noOwner{};
};

TEST_F(DaemonSocketsTest, CreatesOneListeningSocketPerGroupWithMode0600) {
    ASSERT_TRUE(
        sockets.reconcile({{"a", path("a.sock"), 10}, {"b", path("b.sock"), 10}}, noOwner, log)
            .isOk());
    ASSERT_EQ(sockets.listeners().size(), 2U);
    EXPECT_GE(sockets.fdFor("a"), 0);
    EXPECT_GE(sockets.fdFor("b"), 0);
    EXPECT_EQ(sockets.fdFor("c"), -1);
    struct stat st {};
    ASSERT_EQ(::lstat(path("a.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600U);
    EXPECT_TRUE(accepts(path("b.sock")));
}

TEST_F(DaemonSocketsTest, SocketUserOwnsItsGroupsSocketOthersGoToTheOwner) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "chown needs root";
    }
    constexpr uid_t kNobody = 65534;
    const SocketOwner owner{.uid = 0, .gid = 0, .userName = "root"};
    WantedListener own{.group = "a", .path = path("a.sock"), .backlog = 10};
    own.ownerUid = kNobody;
    own.ownerName = "nobody";
    const WantedListener plain{.group = "b", .path = path("b.sock"), .backlog = 10};
    ASSERT_TRUE(sockets.reconcile({own, plain}, owner, log).isOk());
    struct stat st {};
    ASSERT_EQ(::lstat(path("a.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kNobody);
    ASSERT_EQ(::lstat(path("b.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0U);
    // Kept across a restart: the owner is set again.
    ASSERT_TRUE(sockets.reconcile({own, plain}, owner, log).isOk());
    ASSERT_EQ(::lstat(path("a.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kNobody);
}

TEST_F(DaemonSocketsTest, SurvivingGroupKeepsItsDescriptor) {
    ASSERT_TRUE(sockets.reconcile({{"a", path("a.sock"), 10}}, noOwner, log).isOk());
    const int fd = sockets.fdFor("a");
    ASSERT_TRUE(sockets.reconcile({{"a", path("a.sock"), 20}}, noOwner, log).isOk());
    EXPECT_EQ(sockets.fdFor("a"), fd);
    EXPECT_TRUE(log.contains("WG0025", "group a keeps its socket"));
}

TEST_F(DaemonSocketsTest, VanishedGroupIsClosedAndUnlinked) {
    ASSERT_TRUE(
        sockets.reconcile({{"a", path("a.sock"), 10}, {"b", path("b.sock"), 10}}, noOwner, log)
            .isOk());
    ASSERT_TRUE(sockets.reconcile({{"a", path("a.sock"), 10}}, noOwner, log).isOk());
    EXPECT_EQ(sockets.fdFor("b"), -1);
    EXPECT_FALSE(exists(path("b.sock")));
    EXPECT_TRUE(log.contains("WG0022", "daemon group b is no longer configured"));
}

TEST_F(DaemonSocketsTest, MovedGroupGetsANewSocketAndTheOldFileGoes) {
    ASSERT_TRUE(sockets.reconcile({{"a", path("a.sock"), 10}}, noOwner, log).isOk());
    ASSERT_TRUE(sockets.reconcile({{"a", path("a2.sock"), 10}}, noOwner, log).isOk());
    EXPECT_FALSE(exists(path("a.sock")));
    EXPECT_TRUE(isSocket(path("a2.sock")));
    EXPECT_TRUE(accepts(path("a2.sock")));
}

TEST_F(DaemonSocketsTest, StaleSocketFileIsReplaced) {
    {
        // A socket file nobody listens on any more, as a crashed httpd leaves it.
        DaemonSockets earlier;
        ASSERT_TRUE(earlier.reconcile({{"a", path("a.sock"), 10}}, noOwner, log).isOk());
        earlier.closeCopies();
    }
    ASSERT_TRUE(sockets.reconcile({{"a", path("a.sock"), 10}}, noOwner, log).isOk());
    EXPECT_TRUE(log.contains("WG0023", path("a.sock")));
    EXPECT_TRUE(accepts(path("a.sock")));
}

TEST_F(DaemonSocketsTest, SomethingElseAtThePathIsAnErrorNamingGroupAndPath) {
    std::ofstream(path("a.sock")) << "not a socket";
    const auto st = sockets.reconcile({{"a", path("a.sock"), 10}}, noOwner, log);
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "cannot create the socket " + path("a.sock") +
                                           " of daemon group a: the path exists and is not a "
                                           "socket"));
    EXPECT_TRUE(exists(path("a.sock")));  // not ours to remove
}

TEST_F(DaemonSocketsTest, SocketsMadeBeforeAFailureAreKeptForCloseAll) {
    ASSERT_TRUE(::mkdir(path("sub").c_str(), 0700) == 0);
    std::ofstream(path("sub/b.sock")) << "x";
    const auto st =
        sockets.reconcile({{"a", path("a.sock"), 10}, {"b", path("sub/b.sock"), 10}}, noOwner, log);
    ASSERT_FALSE(st.isOk());
    EXPECT_GE(sockets.fdFor("a"), 0);
    sockets.closeAll();
    EXPECT_FALSE(exists(path("a.sock")));
    EXPECT_TRUE(sockets.listeners().empty());
}

TEST_F(DaemonSocketsTest, CloseCopiesLeavesTheFiles) {
    DaemonSockets inChild;  // an httpd child's copy of the parent's set
    ASSERT_TRUE(inChild.reconcile({{"a", path("a.sock"), 10}}, noOwner, log).isOk());
    const common::UniqueFd parentCopy(::dup(inChild.fdFor("a")));
    inChild.closeCopies();
    EXPECT_TRUE(isSocket(path("a.sock")));
    EXPECT_TRUE(accepts(path("a.sock")));  // the parent's copy still listens
}

TEST_F(DaemonSocketsTest, TooLongPathIsRefused) {
    const std::string longPath = dir.path() + "/" + std::string(120, 'x') + ".sock";
    const auto st = sockets.reconcile({{"a", longPath, 10}}, noOwner, log);
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "longer than a Unix socket path can be"));
}

}  // namespace
}  // namespace wsgid::apache
