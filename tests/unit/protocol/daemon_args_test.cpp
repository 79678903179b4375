// SPDX-License-Identifier: Apache-2.0
// Tests for DaemonArgs <-> argv: the parent's encoder and the daemon's parser must agree, and
// every bad value must be refused with a message naming the option.
#include "protocol/daemon_args.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace wsgid::protocol {
namespace {

using common::ErrorCode;

// Parses argv[1..] the way main() hands it over.
common::Result<DaemonArgs> parse(const std::vector<std::string>& argv) {
    std::vector<std::string_view> views(argv.begin() + 1, argv.end());
    return parseArgv(views);
}

common::Result<DaemonArgs> parseOptions(std::vector<std::string_view> options) {
    return parseArgv(options);
}

DaemonArgs everyField() {
    DaemonArgs a;
    a.group = "site-a";
    a.processIndex = 2;
    a.processes = 4;
    a.multiprocess = true;
    a.threads = 25;
    a.managerPid = 4321;
    a.generation = 7;
    a.uid = 1001;
    a.gid = 1002;
    a.supplementaryGroups = {27, 1003, 65534};
    a.userName = "site-a";
    a.home = "/srv/site-a";
    a.umask = 027;
    a.pythonHome = "/srv/site-a/venv";
    a.pythonPath = {"/srv/site-a/lib", "/srv/site-a/venv/lib/python3.11/site-packages"};
    a.lang = "en_US.UTF-8";
    a.locale = "C.UTF-8";
    a.displayName = "(wsgi:site-a)";
    a.logLevel = "info";
    a.shutdownTimeoutSec = 12;
    a.preload = {"/srv/site-a/app.wsgi|", "/srv/site-a/admin.wsgi|admin=x"};
    return a;
}

void expectSameArgs(const DaemonArgs& got, const DaemonArgs& want) {
    EXPECT_EQ(got.group, want.group);
    EXPECT_EQ(got.processIndex, want.processIndex);
    EXPECT_EQ(got.processes, want.processes);
    EXPECT_EQ(got.multiprocess, want.multiprocess);
    EXPECT_EQ(got.threads, want.threads);
    EXPECT_EQ(got.managerPid, want.managerPid);
    EXPECT_EQ(got.generation, want.generation);
    EXPECT_EQ(got.uid, want.uid);
    EXPECT_EQ(got.gid, want.gid);
    EXPECT_EQ(got.supplementaryGroups, want.supplementaryGroups);
    EXPECT_EQ(got.userName, want.userName);
    EXPECT_EQ(got.home, want.home);
    EXPECT_EQ(got.umask, want.umask);
    EXPECT_EQ(got.pythonHome, want.pythonHome);
    EXPECT_EQ(got.pythonPath, want.pythonPath);
    EXPECT_EQ(got.lang, want.lang);
    EXPECT_EQ(got.locale, want.locale);
    EXPECT_EQ(got.logLevel, want.logLevel);
    EXPECT_EQ(got.shutdownTimeoutSec, want.shutdownTimeoutSec);
    EXPECT_EQ(got.preload, want.preload);
}

TEST(DaemonArgs, RoundTripsEveryField) {
    const DaemonArgs a = everyField();
    const auto argv = toArgv(a);
    EXPECT_EQ(argv[0], "(wsgi:site-a)");
    auto r = parse(argv);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    expectSameArgs(r.value(), a);
}

TEST(DaemonArgs, RoundTripsDefaults) {
    DaemonArgs a;
    a.group = "g";
    const auto argv = toArgv(a);
    EXPECT_EQ(argv[0], "wsgid-daemon");
    auto r = parse(argv);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    expectSameArgs(r.value(), a);
    EXPECT_FALSE(r.value().uid.has_value());
    EXPECT_FALSE(r.value().gid.has_value());
    EXPECT_FALSE(r.value().umask.has_value());
}

TEST(DaemonArgs, EveryOptionHasKeyValueForm) {
    const auto argv = toArgv(everyField());
    for (std::size_t i = 1; i < argv.size(); ++i) {
        EXPECT_EQ(argv[i].rfind("--", 0), 0U) << argv[i];
        EXPECT_NE(argv[i].find('='), std::string::npos) << argv[i];
    }
}

TEST(DaemonArgs, ValueMayContainEquals) {
    auto r = parseOptions({"--group=g", "--preload=/a.wsgi|x=y", "--home=/p=q"});
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().preload, std::vector<std::string>{"/a.wsgi|x=y"});
    EXPECT_EQ(r.value().home, "/p=q");
}

TEST(DaemonArgs, UmaskIsOctal) {
    DaemonArgs a;
    a.group = "g";
    a.umask = 022;
    const auto argv = toArgv(a);
    EXPECT_NE(std::find(argv.begin(), argv.end(), "--umask=22"), argv.end());
    auto r = parseOptions({"--group=g", "--umask=0027"});
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().umask, mode_t{027});
    auto zero = parseOptions({"--group=g", "--umask=0"});
    ASSERT_TRUE(zero.isOk());
    EXPECT_EQ(zero.value().umask, mode_t{0});
    auto full = parseOptions({"--group=g", "--umask=777"});
    ASSERT_TRUE(full.isOk());
    EXPECT_EQ(full.value().umask, mode_t{0777});
}

TEST(DaemonArgs, ListsSkipEmptyItems) {
    auto r = parseOptions({"--group=g", "--python-path=/a::/b:", "--supplementary-groups=1,,2"});
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().pythonPath, (std::vector<std::string>{"/a", "/b"}));
    EXPECT_EQ(r.value().supplementaryGroups, (std::vector<gid_t>{1, 2}));
}

TEST(DaemonArgs, PreloadAccumulates) {
    auto r = parseOptions({"--group=g", "--preload=a|", "--preload=b|x"});
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().preload, (std::vector<std::string>{"a|", "b|x"}));
}

TEST(DaemonArgs, RejectsBadValuesNamingTheOption) {
    struct Case {
        std::string_view option;
        std::string_view value;
    };
    const Case cases[] = {
        {"group", ""},
        {"process-index", "-1"},
        {"process-index", "x"},
        {"process-index", ""},
        {"processes", "0"},
        {"processes", "2x"},
        {"processes", "99999999999"},
        {"multiprocess", "yes"},
        {"multiprocess", ""},
        {"threads", "0"},
        {"threads", "-3"},
        {"threads", " 5"},
        {"manager-pid", "-1"},
        {"manager-pid", "4294967296"},
        {"generation", "abc"},
        {"uid", "root"},
        {"uid", "-1"},
        {"gid", "1.5"},
        {"supplementary-groups", "1,x,3"},
        {"umask", "8"},
        {"umask", "0800"},
        {"umask", "1000"},
        {"umask", "rwx"},
        {"umask", ""},
        {"shutdown-timeout", "-1"},
        {"shutdown-timeout", "5s"},
    };
    for (const auto& c : cases) {
        const std::string arg = "--" + std::string(c.option) + "=" + std::string(c.value);
        auto r = parseOptions({"--group=g", arg});
        ASSERT_FALSE(r.isOk()) << arg;
        EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument) << arg;
        EXPECT_NE(r.status().message().find("--" + std::string(c.option)), std::string::npos)
            << arg << " -> " << r.status().message();
    }
}

TEST(DaemonArgs, RejectsUnknownOption) {
    auto r = parseOptions({"--group=g", "--maximum-requests=100"});
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.status().message().find("--maximum-requests"), std::string::npos);
}

TEST(DaemonArgs, RejectsArgumentsNotInKeyValueForm) {
    for (const std::string_view bad : {"group=g", "--group", "-g", "", "g"}) {
        auto r = parseOptions({bad});
        ASSERT_FALSE(r.isOk()) << "'" << bad << "'";
        EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
    }
}

TEST(DaemonArgs, RequiresGroup) {
    auto r = parseOptions({"--threads=3"});
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(r.status().message().find("--group"), std::string::npos);
    auto none = parseOptions({});
    ASSERT_FALSE(none.isOk());
    EXPECT_NE(none.status().message().find("--group"), std::string::npos);
}

TEST(DaemonArgs, ListenFdAndStartupExitAreStable) {
    // Both are shared with the httpd parent, which may be a different build during an upgrade.
    EXPECT_EQ(kListenFd, 3);
    EXPECT_EQ(kExitStartupFailure, 78);
}

}  // namespace
}  // namespace wsgid::protocol
