// SPDX-License-Identifier: Apache-2.0
// Unit tests for the WSGIScriptAlias URL mapping rules (apache/path_rules.h).
#include "apache/path_rules.h"

#include <regex>
#include <string>
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
                       .passAuthorization = Flag::Unset,
                       .regex = nullptr};
}

/// A WSGIScriptAliasMatch whose "compiled expression" is the std::regex the fake matcher runs.
ScriptAlias matchAlias(const std::regex& re, const char* target) {
    ScriptAlias a = alias("", target);
    a.regex = &re;
    return a;
}

/// Stands in for httpd's regex engine: std::regex (ECMAScript) searched in the URI.
std::optional<RegexMatch> fakeMatcher(const ScriptAlias& a, std::string_view uri) {
    const auto& re = *static_cast<const std::regex*>(a.regex);
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(uri.begin(), uri.end(), m, re)) {
        return std::nullopt;
    }
    RegexMatch out;
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (!m[i].matched) {
            out.captures.emplace_back(std::nullopt);
        } else {
            const auto first = static_cast<std::size_t>(m[i].first - uri.begin());
            out.captures.emplace_back(std::pair{first, first + m[i].length()});
        }
    }
    return out;
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
    auto m = findAlias(aliases, "/app/sub/x", fakeMatcher);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 0U);
    EXPECT_EQ(m->matchedLength, 4U);
}

TEST(FindAlias, FallsThroughToRootMount) {
    const std::vector<ScriptAlias> aliases = {alias("/app", "/srv/app.wsgi"),
                                              alias("", "/srv/root.wsgi")};
    auto m = findAlias(aliases, "/apple", fakeMatcher);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 1U);
    EXPECT_EQ(m->matchedLength, 0U);
}

TEST(FindAlias, NoMatch) {
    const std::vector<ScriptAlias> aliases = {alias("/app", "/srv/app.wsgi")};
    EXPECT_FALSE(findAlias(aliases, "/other", fakeMatcher));
    EXPECT_FALSE(findAlias({}, "/app", fakeMatcher));
}

TEST(FindAlias, RegexAliasesTakeTheirTurnInOrder) {
    const std::regex sites("^/sites/([a-z]+)");
    const std::vector<ScriptAlias> aliases = {alias("/sites/fixed", "/srv/fixed.wsgi"),
                                              matchAlias(sites, "/srv/$1/app.wsgi"),
                                              alias("", "/srv/root.wsgi")};
    auto fixed = findAlias(aliases, "/sites/fixed/x", fakeMatcher);
    ASSERT_TRUE(fixed);
    EXPECT_EQ(fixed->index, 0U);
    EXPECT_TRUE(fixed->captures.empty());

    auto m = findAlias(aliases, "/sites/blog/post/1", fakeMatcher);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->index, 1U);
    EXPECT_EQ(m->matchedLength, 11U);  // "/sites/blog"
    ASSERT_EQ(m->captures.size(), 2U);
    EXPECT_EQ(substituteCaptures("/srv/$1/app.wsgi", "/sites/blog/post/1", m->captures),
              "/srv/blog/app.wsgi");

    auto other = findAlias(aliases, "/elsewhere", fakeMatcher);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->index, 2U);
}

TEST(FindAlias, RegexMatchMustEndOnASegmentBoundary) {
    const std::regex re("^/app");
    const std::vector<ScriptAlias> aliases = {matchAlias(re, "/srv/app.wsgi")};
    EXPECT_FALSE(findAlias(aliases, "/apple", fakeMatcher));
    EXPECT_TRUE(findAlias(aliases, "/app", fakeMatcher));
    EXPECT_TRUE(findAlias(aliases, "/app/x", fakeMatcher));
}

TEST(FindAlias, SlashesEndingARegexMatchBelongToPathInfo) {
    const std::regex re("^/wsgi/+");
    const std::vector<ScriptAlias> aliases = {matchAlias(re, "/srv/app.wsgi")};
    auto m = findAlias(aliases, "/wsgi//x", fakeMatcher);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->matchedLength, 5U);
    const ScriptPath p = splitAtMount("/wsgi//x", m->matchedLength);
    EXPECT_EQ(p.scriptName, "/wsgi");
    EXPECT_EQ(p.pathInfo, "/x");
}

TEST(FindAlias, EmptyRegexMatchOrNoMatcherIsNoMatch) {
    const std::regex empty("^");
    const std::vector<ScriptAlias> aliases = {matchAlias(empty, "/srv/app.wsgi")};
    EXPECT_FALSE(findAlias(aliases, "/x", fakeMatcher));
    const std::regex any("^/x");
    const std::vector<ScriptAlias> anyAliases = {matchAlias(any, "/srv/app.wsgi")};
    EXPECT_FALSE(findAlias(anyAliases, "/x", RegexMatcher{}));
}

TEST(SubstituteCaptures, GroupsWholeMatchAndEscapes) {
    const std::string subject = "/a/b";
    const std::vector<Capture> caps = {std::pair<std::size_t, std::size_t>{0, 4},
                                       std::pair<std::size_t, std::size_t>{1, 2}, std::nullopt};
    EXPECT_EQ(substituteCaptures("x-$1-$2-$9", subject, caps), "x-a--");
    EXPECT_EQ(substituteCaptures("[&]", subject, caps), "[/a/b]");
    EXPECT_EQ(substituteCaptures("\\$1 \\& $ $x \\n", subject, caps), "$1 & $ $x \\n");
    EXPECT_EQ(substituteCaptures("plain", subject, caps), "plain");
}

TEST(HighestCaptureReference, CountsWhatSubstitutionWouldReplace) {
    EXPECT_EQ(highestCaptureReference("/srv/$1/$3/app"), 3);
    EXPECT_EQ(highestCaptureReference("&"), 0);
    EXPECT_EQ(highestCaptureReference("no refs, $ or \\$2"), -1);
    EXPECT_TRUE(hasCaptureReference("$0"));
    EXPECT_FALSE(hasCaptureReference("%{GLOBAL}"));
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
