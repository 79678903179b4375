// SPDX-License-Identifier: Apache-2.0
// Privileges: working-directory choice, and the real user switch and process settings, run in a
// forked child so the test process keeps its identity.
#include "daemon/privileges.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/in_child.h"

namespace wsgid::daemon {
namespace {

// nobody/nogroup on Debian: present on every system the tests run on.
constexpr uid_t kNobodyUid = 65534;
constexpr gid_t kNogroupGid = 65534;

class NullLog final : public common::LogSink {
public:
    void log(common::LogLevel, std::string_view, std::string_view) noexcept override {}
};

using test::inChild;

TEST(Privileges, HomeOptionWinsOverThePasswdHome) {
    const PasswdEntry user{.name = "site", .home = "/home/site", .gid = 100};
    const auto wd = chooseWorkingDirectory("/srv/site", true, user);
    EXPECT_EQ(wd.path, "/srv/site");
    EXPECT_TRUE(wd.fromHomeOption);
}

TEST(Privileges, PasswdHomeOnlyWhenTheUserWasSwitched) {
    const PasswdEntry user{.name = "site", .home = "/home/site", .gid = 100};
    const auto switched = chooseWorkingDirectory("", true, user);
    EXPECT_EQ(switched.path, "/home/site");
    EXPECT_FALSE(switched.fromHomeOption);
    EXPECT_TRUE(chooseWorkingDirectory("", false, user).path.empty());
    EXPECT_TRUE(chooseWorkingDirectory("", true, std::nullopt).path.empty());
}

TEST(Privileges, LooksUpRoot) {
    const auto root = lookupUser(0);
    ASSERT_TRUE(root.has_value());
    EXPECT_EQ(root->name, "root");
    EXPECT_EQ(root->gid, 0U);
}

TEST(Privileges, NothingToDoWithoutUidOrGid) {
    NullLog log;
    protocol::DaemonArgs args;
    auto switched = switchUser(args, log);
    ASSERT_TRUE(switched.isOk());
    EXPECT_FALSE(switched.value());
}

TEST(Privileges, RootSwitchesToTheRequestedUserForGood) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root";
    }
    const int rc = inChild([] {
        NullLog log;
        protocol::DaemonArgs args;
        args.group = "g";
        args.uid = kNobodyUid;
        args.gid = kNogroupGid;
        auto switched = switchUser(args, log);
        if (!switched || !switched.value()) {
            return 1;
        }
        if (::getuid() != kNobodyUid || ::geteuid() != kNobodyUid || ::getgid() != kNogroupGid) {
            return 2;
        }
        if (::setuid(0) == 0) {
            return 3;
        }
        // Root's supplementary groups are gone.
        std::vector<gid_t> groups(64);
        const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
        for (int i = 0; i < n; ++i) {
            if (groups[static_cast<std::size_t>(i)] == 0) {
                return 4;
            }
        }
        return 0;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Privileges, ExplicitSupplementaryGroupsAreSet) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root";
    }
    const int rc = inChild([] {
        NullLog log;
        protocol::DaemonArgs args;
        args.group = "g";
        args.uid = kNobodyUid;
        args.gid = kNogroupGid;
        args.supplementaryGroups = {kNogroupGid, 4242};
        if (!switchUser(args, log)) {
            return 1;
        }
        std::vector<gid_t> groups(64);
        const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
        groups.resize(static_cast<std::size_t>(n < 0 ? 0 : n));
        std::sort(groups.begin(), groups.end());
        return groups == std::vector<gid_t>{4242, kNogroupGid} ? 0 : 2;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Privileges, ProcessSettingsApplyHomeUmaskAndLanguage) {
    char tmpl[] = "/tmp/wgp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const int rc = inChild([&dir] {
        NullLog log;
        protocol::DaemonArgs args;
        args.group = "g";
        args.home = dir;
        args.umask = 027;
        args.lang = "C.UTF-8";
        args.locale = "C.UTF-8";
        if (!applyProcessSettings(args, false, log)) {
            return 1;
        }
        char cwd[4096];
        if (::getcwd(cwd, sizeof(cwd)) == nullptr || dir != cwd) {
            return 2;
        }
        const mode_t old = ::umask(0);
        if (old != 027) {
            return 3;
        }
        const char* lang = std::getenv("LANG");     // NOLINT(concurrency-mt-unsafe)
        const char* lcAll = std::getenv("LC_ALL");  // NOLINT(concurrency-mt-unsafe)
        if (lang == nullptr || std::strcmp(lang, "C.UTF-8") != 0 || lcAll == nullptr ||
            std::strcmp(lcAll, "C.UTF-8") != 0) {
            return 4;
        }
        return 0;
    });
    ::rmdir(dir.c_str());
    EXPECT_EQ(rc, 0);
}

TEST(Privileges, MissingHomeOptionIsAnError) {
    const int rc = inChild([] {
        NullLog log;
        protocol::DaemonArgs args;
        args.group = "g";
        args.home = "/nonexistent/wsgid-home";
        return applyProcessSettings(args, false, log).isOk() ? 1 : 0;
    });
    EXPECT_EQ(rc, 0);
}

TEST(Privileges, SwitchedUserGetsItsEnvironment) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root";
    }
    const int rc = inChild([] {
        NullLog log;
        protocol::DaemonArgs args;
        args.group = "g";
        args.uid = kNobodyUid;
        args.gid = kNogroupGid;
        auto switched = switchUser(args, log);
        if (!switched || !applyProcessSettings(args, switched.value(), log)) {
            return 1;
        }
        const auto nobody = lookupUser(kNobodyUid);
        const char* user = std::getenv("USER");  // NOLINT(concurrency-mt-unsafe)
        const char* home = std::getenv("HOME");  // NOLINT(concurrency-mt-unsafe)
        if (!nobody || user == nullptr || nobody->name != user || home == nullptr ||
            nobody->home != home) {
            return 2;
        }
        return 0;
    });
    EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace wsgid::daemon
