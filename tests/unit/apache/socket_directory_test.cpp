// SPDX-License-Identifier: Apache-2.0
// Tests of the socket directory rules (src/apache/socket_directory.h) with injected lstat
// results, and of the adapters on real files in a temporary directory.
#include "apache/socket_directory.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "support/contains.h"

namespace wsgid::apache {
namespace {

using test::contains;

constexpr uid_t kAlice = 1001;
constexpr std::string_view kAdvice = "ADVICE";
const TrustedOwners kRootOnly{};

PathInfo dir(std::string path, mode_t perms, uid_t uid = 0, std::string owner = "root") {
    return {std::move(path), uid, static_cast<mode_t>(S_IFDIR | perms), std::move(owner)};
}

common::Status check(const std::vector<PathInfo>& chain, const TrustedOwners& t = kRootOnly) {
    return checkSocketDirectoryChain("WSGISocketPrefix /x/wsgi", chain, t, kAdvice);
}

TEST(SocketDirectoryRule, AcceptsRootOwnedChainWithoutForeignWriters) {
    EXPECT_TRUE(check({dir("/run/apache2", 0755), dir("/run", 0755), dir("/", 0755)}).isOk());
}

TEST(SocketDirectoryRule, RefusesWorldWritableStickyDirectory) {
    const auto st = check({dir("/tmp", 01777), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(),
                         "WSGISocketPrefix /x/wsgi: directory /tmp is writable by "
                         "others (mode 1777, owner root (uid 0)); ADVICE"));
}

TEST(SocketDirectoryRule, RefusesGroupWritableDirectory) {
    const auto st = check({dir("/srv/s", 0775), dir("/srv", 0755), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "/srv/s is writable by its group (mode 0775"));
}

TEST(SocketDirectoryRule, RefusesDirectoryOwnedByAnotherUser) {
    const auto st =
        check({dir("/srv/s", 0700, kAlice, "alice"), dir("/srv", 0755), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(),
                         "directory /srv/s is owned by alice (uid 1001) "
                         "(mode 0700), not by root; ADVICE"));
}

TEST(SocketDirectoryRule, OwnerWithoutPasswdEntryIsNamedByUid) {
    const auto st = check({dir("/srv/s", 0700, 4242, ""), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "owned by uid 4242 (mode 0700)"));
}

TEST(SocketDirectoryRule, RefusesSomethingThatIsNotADirectory) {
    const auto st = check({{"/srv/s", 0, S_IFLNK | 0777, "root"}, dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "/srv/s is not a directory"));
}

TEST(SocketDirectoryRule, RefusesParentOwnedByAnotherUser) {
    const auto st = check({dir("/home/alice/run", 0755), dir("/home/alice", 0755, kAlice, "alice"),
                           dir("/home", 0755), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(),
                         "directory /home/alice, which holds /home/alice/run, is "
                         "owned by alice (uid 1001)"));
}

TEST(SocketDirectoryRule, RefusesWritableNonStickyParent) {
    const auto st =
        check({dir("/srv/x/run", 0755), dir("/srv/x", 0777), dir("/srv", 0755), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(),
                         "directory /srv/x, which holds /srv/x/run, is writable "
                         "by others (mode 0777)"));
}

TEST(SocketDirectoryRule, AcceptsRootOwnedEntryOfStickyParent) {
    // The integration harness's /tmp/wg-<pid>-<n>/run: only root may rename /tmp/wg-... .
    EXPECT_TRUE(check({dir("/tmp/wg-1-0/run", 0755), dir("/tmp/wg-1-0", 0755), dir("/tmp", 01777),
                       dir("/", 0755)})
                    .isOk());
}

TEST(SocketDirectoryRule, RefusesForeignEntryOfStickyParent) {
    const auto st = check({dir("/tmp/a/run", 0755), dir("/tmp/a", 0755, kAlice, "alice"),
                           dir("/tmp", 01777), dir("/", 0755)});
    ASSERT_FALSE(st.isOk());
    // /tmp/a itself is refused first: alice owns the directory that holds the socket directory.
    EXPECT_TRUE(contains(st.message(),
                         "directory /tmp/a, which holds /tmp/a/run, is owned by "
                         "alice"));
}

TEST(SocketDirectoryRule, ParentChainJudgesASymlinkByItsOwnerInAStickyDirectory) {
    const std::vector<PathInfo> chain = {
        {"/tmp/link", kAlice, S_IFLNK | 0777, "alice"}, dir("/tmp", 01777), dir("/", 0755)};
    const auto st = checkParentChain("WSGISocketPrefix /tmp/link/wsgi", chain, kRootOnly, kAdvice);
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(),
                         "/tmp/link is owned by alice (uid 1001) in the sticky "
                         "directory /tmp (mode 1777), so that user can swap it"));
    const std::vector<PathInfo> rootLink = {
        {"/var/run", 0, S_IFLNK | 0777, "root"}, dir("/var", 0755), dir("/", 0755)};
    EXPECT_TRUE(checkParentChain("x", rootLink, kRootOnly, kAdvice).isOk());
}

TEST(SocketDirectoryRule, NonRootHttpdMayUseItsOwnDirectory) {
    const TrustedOwners dev{kAlice, "alice"};
    EXPECT_TRUE(
        check({dir("/tmp/a", 0700, kAlice, "alice"), dir("/tmp", 01777), dir("/", 0755)}, dev)
            .isOk());
    const auto st =
        check({dir("/tmp/b", 0700, 1002, "bob"), dir("/tmp", 01777), dir("/", 0755)}, dev);
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "not by root or alice"));
}

TEST(SocketDirectoryAdvice, NamesTheDirectiveToChange) {
    EXPECT_EQ(socketDirectoryAdvice(true, kRootOnly),
              "point WSGISocketPrefix at a directory only root can write, such as "
              "/var/run/apache2/wsgi");
    EXPECT_TRUE(contains(socketDirectoryAdvice(false, kRootOnly),
                         "make DefaultRuntimeDir a directory only root can write"));
    EXPECT_TRUE(contains(socketDirectoryAdvice(true, {kAlice, "alice"}), "only root or alice"));
}

TEST(SocketNamePid, MatchesOurNamesOnly) {
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.1234.grp.sock"), 1234);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.7.my.app_x-1.sock"), 7);
    EXPECT_EQ(socketNamePid("wg", "wg.4194304.a.sock"), 4194304);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.1234.grp.sock.bak"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.1234..sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.1234.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.x.grp.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.0123.grp.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.12345678.grp.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgidx.12.grp.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "other.12.grp.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.12.g/p.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("wsgid", "wsgid.12.g p.sock"), std::nullopt);
    EXPECT_EQ(socketNamePid("", ".12.g.sock"), std::nullopt);
}

TEST(SocketDirectoryOf, TakesTheDirectoryPart) {
    EXPECT_EQ(socketDirectoryOf("/run/apache2/wsgid"), "/run/apache2");
    EXPECT_EQ(socketDirectoryOf("/wsgid"), "/");
}

// ---- adapters on real files --------------------------------------------------------------------

class SocketDirTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wgsd-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
    }
    void TearDown() override {
        const std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0);  // NOLINT(concurrency-mt-unsafe,cert-env33-c)
    }

    /// A bound Unix socket at dir_/name; listening unless `listen` is false (then closed too).
    common::UniqueFd bindAt(const std::string& name, bool listen) {
        common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        const std::string path = dir_ + "/" + name;
        path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
        if (listen) {
            EXPECT_EQ(::listen(fd.get(), 4), 0);
            return fd;
        }
        return {};
    }
    [[nodiscard]] bool exists(const std::string& name) const {
        struct stat st {};
        return ::lstat((dir_ + "/" + name).c_str(), &st) == 0;
    }
    TrustedOwners me() const {
        return ::geteuid() == 0 ? TrustedOwners{} : TrustedOwners{::geteuid(), "me"};
    }

    std::string dir_;
};

TEST_F(SocketDirTest, CheckSocketDirectoryOnRealDirectories) {
    EXPECT_TRUE(checkSocketDirectory("w", dir_, me(), kAdvice).isOk());
    ASSERT_EQ(::chmod(dir_.c_str(), 0770), 0);
    const auto st = checkSocketDirectory("w", dir_, me(), kAdvice);
    EXPECT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "writable by its group (mode 0770"));
    EXPECT_EQ(checkSocketDirectory("w", dir_ + "/missing", me(), kAdvice).code(),
              common::ErrorCode::NotFound);
}

TEST_F(SocketDirTest, ChecksTheDirectoryThatHoldsASymlinkOnTheWay) {
    const std::string open = dir_ + "/open";
    const std::string target = dir_ + "/target";
    ASSERT_EQ(::mkdir(open.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
    ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
    ASSERT_EQ(::symlink(target.c_str(), (open + "/link").c_str()), 0);
    // The resolved directory is fine, but anyone may replace the link in `open`.
    const auto st = checkSocketDirectory("w", open + "/link", me(), kAdvice);
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "which holds " + open + "/link, is writable by others"));
}

TEST_F(SocketDirTest, RemovesOnlyDeadSocketsNamedLikeOursWithAnotherPid) {
    const long self = static_cast<long>(::getpid());
    const long other = self + 1;  // never passed to kill(): only the names matter here
    const std::string dead = "wsgid." + std::to_string(other) + ".g.sock";
    const std::string live = "wsgid." + std::to_string(other) + ".live.sock";
    const std::string own = "wsgid." + std::to_string(self) + ".g.sock";
    const std::string foreign = "other.123.g.sock";
    (void)bindAt(dead, false);
    const auto liveFd = bindAt(live, true);
    (void)bindAt(own, false);
    (void)bindAt(foreign, false);
    const std::string plain = "wsgid." + std::to_string(other) + ".file.sock";
    ASSERT_EQ(::close(::open((dir_ + "/" + plain).c_str(), O_CREAT | O_WRONLY, 0600)), 0);
    const std::string link = "wsgid." + std::to_string(other) + ".link.sock";
    ASSERT_EQ(::symlink((dir_ + "/" + dead).c_str(), (dir_ + "/" + link).c_str()), 0);

    const auto removed = removeStaleSockets(dir_ + "/wsgid", self);
    ASSERT_EQ(removed.size(), 1U);
    EXPECT_EQ(removed[0].path, dir_ + "/" + dead);
    EXPECT_EQ(removed[0].pid, other);
    EXPECT_EQ(removed[0].error, 0);
    EXPECT_FALSE(exists(dead));
    for (const auto& kept : {live, own, foreign, plain, link}) {
        EXPECT_TRUE(exists(kept)) << kept;
    }
}

TEST_F(SocketDirTest, ChownSocketRefusesWhatIsNotASocket) {
    const std::string file = dir_ + "/f";
    ASSERT_EQ(::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
    const std::string link = dir_ + "/l";
    ASSERT_EQ(::symlink(file.c_str(), link.c_str()), 0);
    EXPECT_FALSE(chownSocket(file, ::geteuid(), ::getegid()).isOk());
    EXPECT_FALSE(chownSocket(link, ::geteuid(), ::getegid()).isOk());
    const auto fd = bindAt("s", true);
    EXPECT_TRUE(chownSocket(dir_ + "/s", ::geteuid(), ::getegid()).isOk());
}

}  // namespace
}  // namespace wsgid::apache
