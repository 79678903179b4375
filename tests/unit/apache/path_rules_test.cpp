// SPDX-License-Identifier: Apache-2.0
// Unit tests for the WSGIScriptAlias URL mapping rules (apache/path_rules.h).
#include "apache/path_rules.h"

#include <vector>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

ScriptAlias alias(const char* urlPath, const char* target) {
    return ScriptAlias{.urlPath = urlPath,
                       .target = target,
                       .processGroup = nullptr,
                       .applicationGroup = nullptr,
                       .callableObject = nullptr,
                       .passAuthorization = Flag::Unset};
}

TEST(MatchMount, MountCoversItselfAndItsSubtree) {
    EXPECT_EQ(matchMount("/app", "/app"), 4U);
    EXPECT_EQ(matchMount("/app", "/app/"), 4U);
    EXPECT_EQ(matchMount("/app", "/app/x/y"), 4U);
}

TEST(MatchMount, DoesNotMatchLongerSegment) {
    EXPECT_FALSE(matchMount("/app", "/apple"));
    EXPECT_FALSE(matchMount("/app", "/ap"));
    EXPECT_FALSE(matchMount("/app", "/other/app"));
}

TEST(MatchMount, RootMountMatchesEverything) {
    EXPECT_EQ(matchMount("", "/"), 0U);
    EXPECT_EQ(matchMount("", "/anything/at/all"), 0U);
    EXPECT_EQ(matchMount("/", "/x"), 0U);
}

TEST(MatchMount, UriMustBeAPath) {
    EXPECT_FALSE(matchMount("", "*"));
    EXPECT_FALSE(matchMount("", ""));
    EXPECT_FALSE(matchMount("/app", "app"));
}

TEST(MatchMount, SlashRunsInTheUriMatchOneSlash) {
    EXPECT_EQ(matchMount("/app", "//app"), 5U);
    EXPECT_EQ(matchMount("/a/b", "/a///b/c"), 6U);
    EXPECT_FALSE(matchMount("/a/b", "/ab"));
}

TEST(MatchMount, TrailingSlashOfTheMountIsIgnored) {
    EXPECT_EQ(matchMount("/app/", "/app"), 4U);
    EXPECT_FALSE(matchMount("/app/", "/apple"));
}

TEST(MatchMount, IsCaseSensitive) {
    EXPECT_FALSE(matchMount("/App", "/app"));
}

TEST(FindAlias, FirstMatchWinsInConfigurationOrder) {
    const std::vector<ScriptAlias> aliases = {alias("/app", "/srv/app.wsgi"),
                                              alias("/app/sub", "/srv/sub.wsgi"),
                                              alias("", "/srv/root.wsgi")};
    auto m = findAlias(aliases, "/app/sub/x");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 0U);
    EXPECT_EQ(m->matchedLength, 4U);
}

TEST(FindAlias, FallsThroughToRootMount) {
    const std::vector<ScriptAlias> aliases = {alias("/app", "/srv/app.wsgi"),
                                              alias("", "/srv/root.wsgi")};
    auto m = findAlias(aliases, "/apple");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 1U);
    EXPECT_EQ(m->matchedLength, 0U);
}

TEST(FindAlias, NoMatch) {
    const std::vector<ScriptAlias> aliases = {alias("/app", "/srv/app.wsgi")};
    EXPECT_FALSE(findAlias(aliases, "/other"));
    EXPECT_FALSE(findAlias({}, "/app"));
}

TEST(CollapseSlashes, ReducesRuns) {
    EXPECT_EQ(collapseSlashes("//a///b/"), "/a/b/");
    EXPECT_EQ(collapseSlashes(""), "");
    EXPECT_EQ(collapseSlashes("abc"), "abc");
}

TEST(SplitAtMount, RootMountGivesEmptyScriptName) {
    auto p = splitAtMount("/x/y", 0);
    EXPECT_EQ(p.scriptName, "");
    EXPECT_EQ(p.pathInfo, "/x/y");
    auto root = splitAtMount("/", 0);
    EXPECT_EQ(root.scriptName, "");
    EXPECT_EQ(root.pathInfo, "/");
}

TEST(SplitAtMount, MountItselfHasEmptyPathInfo) {
    auto p = splitAtMount("/app", 4);
    EXPECT_EQ(p.scriptName, "/app");
    EXPECT_EQ(p.pathInfo, "");
}

TEST(SplitAtMount, RestBecomesPathInfo) {
    auto p = splitAtMount("/app/x/y", 4);
    EXPECT_EQ(p.scriptName, "/app");
    EXPECT_EQ(p.pathInfo, "/x/y");
}

TEST(SplitAtMount, CollapsesDuplicateSlashes) {
    const std::string uri = "//app//x///y";
    auto m = matchMount("/app", uri);
    ASSERT_TRUE(m);
    auto p = splitAtMount(uri, *m);
    EXPECT_EQ(p.scriptName, "/app");
    EXPECT_EQ(p.pathInfo, "/x/y");
}

TEST(SplitAtMount, KeepsDecodedCharacters) {
    // r->uri is already percent-decoded by httpd; PATH_INFO carries the decoded bytes, as CGI.
    auto p = splitAtMount("/app/a b/\xc3\xa9", 4);
    EXPECT_EQ(p.pathInfo, "/a b/\xc3\xa9");
}

TEST(SplitAtMount, TrailingSlashStaysInPathInfo) {
    auto p = splitAtMount("/app/", 4);
    EXPECT_EQ(p.scriptName, "/app");
    EXPECT_EQ(p.pathInfo, "/");
}

TEST(ResolveTarget, FileTargetIsTheScript) {
    auto t = resolveTarget("/srv/app.wsgi", "/app/x", 4);
    EXPECT_EQ(t.filename, "/srv/app.wsgi");
    EXPECT_EQ(t.matchedLength, 4U);
}

TEST(ResolveTarget, DirectoryTargetTakesTheNextSegment) {
    const std::string uri = "/wsgi/hello.wsgi/more/path";
    auto t = resolveTarget("/srv/scripts/", uri, 5);
    EXPECT_EQ(t.filename, "/srv/scripts/hello.wsgi");
    auto p = splitAtMount(uri, t.matchedLength);
    EXPECT_EQ(p.scriptName, "/wsgi/hello.wsgi");
    EXPECT_EQ(p.pathInfo, "/more/path");
}

TEST(ResolveTarget, DirectoryTargetWithoutSegmentIsTheDirectory) {
    auto t = resolveTarget("/srv/scripts/", "/wsgi", 5);
    EXPECT_EQ(t.filename, "/srv/scripts/");
    EXPECT_EQ(t.matchedLength, 5U);
}

TEST(SplitByPathInfo, ScriptNameIsUriBeforePathInfo) {
    auto p = splitByPathInfo("/dir/app.wsgi/x/y", "/x/y");
    EXPECT_EQ(p.scriptName, "/dir/app.wsgi");
    EXPECT_EQ(p.pathInfo, "/x/y");
}

TEST(SplitByPathInfo, NoPathInfo) {
    auto p = splitByPathInfo("/dir/app.wsgi", "");
    EXPECT_EQ(p.scriptName, "/dir/app.wsgi");
    EXPECT_EQ(p.pathInfo, "");
}

TEST(SplitByPathInfo, MismatchKeepsWholeUriAsScriptName) {
    auto p = splitByPathInfo("/dir/app.wsgi", "/rewritten");
    EXPECT_EQ(p.scriptName, "/dir/app.wsgi");
    EXPECT_EQ(p.pathInfo, "/rewritten");
}

}  // namespace
}  // namespace wsgid::apache
