// SPDX-License-Identifier: Apache-2.0
// Tests of the pure directive-argument parsing (src/apache/config_parse.h): no httpd involved.
#include "apache/config_parse.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/contains.h"

namespace wsgid::apache {
namespace {

using test::contains;

std::vector<std::string> words(std::string_view raw) {
    auto r = splitWords(raw);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r ? r.value() : std::vector<std::string>{};
}

TEST(SplitWords, SplitsAtBlanksAndTabs) {
    EXPECT_EQ(words("  a\tb   c "), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(words("   ").empty());
}

TEST(SplitWords, QuotesGroupBlanksEvenInsideAWord) {
    EXPECT_EQ(words(R"(site display-name="my app" lang='en US')"),
              (std::vector<std::string>{"site", "display-name=my app", "lang=en US"}));
    EXPECT_EQ(words(R"("/a b/c.wsgi")"), (std::vector<std::string>{"/a b/c.wsgi"}));
}

TEST(SplitWords, BackslashEscapesTheQuoteInsideQuotes) {
    EXPECT_EQ(words(R"(x="a\"b" y='c\\d')"), (std::vector<std::string>{R"(x=a"b)", R"(y=c\d)"}));
    EXPECT_EQ(words(R"(a\b)"), (std::vector<std::string>{R"(a\b)"}));
}

TEST(SplitWords, RejectsUnterminatedQuote) {
    auto r = splitWords(R"(name display-name="oops)");
    ASSERT_FALSE(r.isOk());
    EXPECT_TRUE(contains(r.status().message(), "unterminated quote"));
}

TEST(SplitOption, SplitsAtTheFirstEquals) {
    auto o = splitOption("python-path=/a=b:/c");
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->key, "python-path");
    EXPECT_EQ(o->value, "/a=b:/c");
    EXPECT_FALSE(splitOption("threads").has_value());
    EXPECT_FALSE(splitOption("=5").has_value());
}

TEST(ParseOnOff, AcceptsAnyCaseAndNamesTheDirectiveOnError) {
    EXPECT_TRUE(parseOnOff("X", "On").value());
    EXPECT_TRUE(parseOnOff("X", "ON").value());
    EXPECT_FALSE(parseOnOff("X", "off").value());
    auto r = parseOnOff("WSGIPassAuthorization", "yes");
    ASSERT_FALSE(r.isOk());
    EXPECT_TRUE(contains(r.status().message(), "WSGIPassAuthorization"));
    EXPECT_TRUE(contains(r.status().message(), "'yes'"));
}

TEST(ParseInteger, RejectsGarbageThatAtoiWouldAccept) {
    for (const char* bad : {"abc", "", "12abc", " 12", "+5", "1.5", "0x10"}) {
        auto r = parseInteger("option 'threads'", bad, 0, 100);
        EXPECT_FALSE(r.isOk()) << bad;
        if (!r) {
            EXPECT_TRUE(contains(r.status().message(), "option 'threads'"));
        }
    }
    EXPECT_EQ(parseInteger("x", "42", 0, 100).value(), 42);
}

TEST(ParseInteger, ChecksTheRange) {
    auto r = parseInteger("option 'processes'", "0", 1, 5);
    ASSERT_FALSE(r.isOk());
    EXPECT_TRUE(contains(r.status().message(), "between 1 and 5"));
    EXPECT_FALSE(parseInteger("x", "99999999999999999999999", 0, 5).isOk());
    EXPECT_EQ(parseInteger("x", "-3", -5, 5).value(), -3);
}

TEST(ParseUmask, ParsesOctalOnly) {
    EXPECT_EQ(parseUmask("umask", "022").value(), mode_t{022});
    EXPECT_EQ(parseUmask("umask", "0077").value(), mode_t{077});
    EXPECT_EQ(parseUmask("umask", "0").value(), mode_t{0});
    EXPECT_EQ(parseUmask("umask", "777").value(), mode_t{0777});
    for (const char* bad : {"8", "0o22", "1000", "", "22x", "-1"}) {
        auto r = parseUmask("option 'umask'", bad);
        EXPECT_FALSE(r.isOk()) << bad;
        if (!r) {
            EXPECT_TRUE(contains(r.status().message(), "option 'umask'"));
        }
    }
}

TEST(SplitColonList, DropsEmptyItems) {
    EXPECT_EQ(splitColonList("/a:/b::/c:"), (std::vector<std::string>{"/a", "/b", "/c"}));
    EXPECT_TRUE(splitColonList("").empty());
    EXPECT_TRUE(splitColonList(":::").empty());
}

TEST(ExpandDisplayName, ReplacesEveryGroupVariable) {
    EXPECT_EQ(expandDisplayName("%{GROUP}", "site1"), "(wsgi:site1)");
    EXPECT_EQ(expandDisplayName("app-%{GROUP}-%{GROUP}", "x"), "app-(wsgi:x)-(wsgi:x)");
    EXPECT_EQ(expandDisplayName("plain", "x"), "plain");
    EXPECT_EQ(expandDisplayName("%{OTHER}", "x"), "%{OTHER}");
}

TEST(IsLiteralName, DetectsExpansions) {
    EXPECT_TRUE(isLiteralName("site1"));
    EXPECT_FALSE(isLiteralName("%{GLOBAL}"));
    EXPECT_FALSE(isLiteralName("pre-%{ENV:X}"));
}

TEST(SocketPath, SanitizesNamesAndKeepsThemDistinct) {
    EXPECT_EQ(sanitizeForPath("site-1.a_b"), "site-1.a_b");
    const std::string slash = sanitizeForPath("a/b");
    const std::string under = sanitizeForPath("a_b");
    EXPECT_EQ(slash.find('/'), std::string::npos);
    EXPECT_NE(slash, under);
    EXPECT_EQ(socketPathFor("/run/wsgid", 1234, "site"), "/run/wsgid.1234.site.sock");
    EXPECT_EQ(worstCaseSocketPathLength("/run/wsgid", "site"),
              std::string("/run/wsgid.1234567.site.sock").size());
}

TEST(ParseScriptAlias, ParsesMountTargetAndOptions) {
    auto r = parseScriptAlias(
        R"(/app/ "/srv/my app/app.wsgi" process-group=site application-group=%{GLOBAL} )"
        R"(callable-object=app pass-authorization=On)");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->urlPath, "/app");
    EXPECT_EQ(r->target, "/srv/my app/app.wsgi");
    EXPECT_EQ(r->processGroup, "site");
    EXPECT_EQ(r->applicationGroup, "%{GLOBAL}");
    EXPECT_EQ(r->callableObject, "app");
    EXPECT_EQ(r->passAuthorization, true);
}

TEST(ParseScriptAlias, RootMountBecomesEmpty) {
    auto r = parseScriptAlias("/ /srv/app.wsgi");
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r->urlPath, "");
    EXPECT_FALSE(r->processGroup.has_value());
    EXPECT_FALSE(r->passAuthorization.has_value());
}

TEST(ParseScriptAlias, ErrorsNameTheProblem) {
    auto unknown = parseScriptAlias("/ /srv/app.wsgi proces-group=x");
    ASSERT_FALSE(unknown.isOk());
    EXPECT_TRUE(contains(unknown.status().message(), "'proces-group'"));
    auto badFlag = parseScriptAlias("/ /srv/app.wsgi pass-authorization=maybe");
    ASSERT_FALSE(badFlag.isOk());
    EXPECT_TRUE(contains(badFlag.status().message(), "pass-authorization"));
    auto relativeUrl = parseScriptAlias("app /srv/app.wsgi");
    ASSERT_FALSE(relativeUrl.isOk());
    EXPECT_TRUE(contains(relativeUrl.status().message(), "must start with '/'"));
    EXPECT_FALSE(parseScriptAlias("/only-one").isOk());
    auto noValue = parseScriptAlias("/ /srv/app.wsgi process-group=");
    ASSERT_FALSE(noValue.isOk());
    EXPECT_TRUE(contains(noValue.status().message(), "process-group"));
}

TEST(ParseScriptAliasMatch, KeepsTheExpressionAsWritten) {
    auto r =
        parseScriptAlias("^/sites/([^/]+)/ /srv/$1/app.wsgi process-group=$1", AliasKind::Match);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->urlPath, "^/sites/([^/]+)/");
    EXPECT_EQ(r->target, "/srv/$1/app.wsgi");
    EXPECT_EQ(r->processGroup, "$1");
    auto unanchored = parseScriptAlias("(.*)\\.py$ /srv/$1.wsgi", AliasKind::Match);
    ASSERT_TRUE(unanchored.isOk()) << unanchored.status().message();
    EXPECT_EQ(unanchored->urlPath, "(.*)\\.py$");
}

TEST(ParseScriptAliasMatch, ErrorsNameTheDirective) {
    auto one = parseScriptAlias("^/x", AliasKind::Match);
    ASSERT_FALSE(one.isOk());
    EXPECT_TRUE(contains(one.status().message(), "WSGIScriptAliasMatch"));
    auto unknown = parseScriptAlias("^/x /srv/a.wsgi bogus=1", AliasKind::Match);
    ASSERT_FALSE(unknown.isOk());
    EXPECT_TRUE(contains(unknown.status().message(), "WSGIScriptAliasMatch: unknown option"));
}

TEST(ParseHandlerScript, NameScriptAndOptions) {
    auto r = parseHandlerScript(
        "my-handler /srv/handler.wsgi process-group=site application-group=%{GLOBAL} "
        "pass-authorization=Off");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->name, "my-handler");
    EXPECT_EQ(r->script, "/srv/handler.wsgi");
    EXPECT_EQ(r->processGroup, "site");
    EXPECT_EQ(r->applicationGroup, "%{GLOBAL}");
    EXPECT_EQ(r->passAuthorization, false);
}

TEST(ParseHandlerScript, RefusesWhatModWsgiRefuses) {
    auto callable = parseHandlerScript("h /srv/h.wsgi callable-object=x");
    ASSERT_FALSE(callable.isOk());
    EXPECT_TRUE(contains(callable.status().message(), "'callable-object'"));
    EXPECT_FALSE(parseHandlerScript("h").isOk());
    auto option = parseHandlerScript("process-group=x /srv/h.wsgi");
    ASSERT_FALSE(option.isOk());
    EXPECT_TRUE(contains(option.status().message(), "handler name"));
    auto twice = parseHandlerScript("h /srv/h.wsgi process-group=a process-group=b");
    ASSERT_FALSE(twice.isOk());
    EXPECT_TRUE(contains(twice.status().message(), "twice"));
}

TEST(ParseHeadMapping, OnOffAutoInAnyCase) {
    EXPECT_EQ(parseHeadMapping("On").value(), HeadMapping::On);
    EXPECT_EQ(parseHeadMapping("off").value(), HeadMapping::Off);
    EXPECT_EQ(parseHeadMapping("AUTO").value(), HeadMapping::Auto);
    auto bad = parseHeadMapping("sometimes");
    ASSERT_FALSE(bad.isOk());
    EXPECT_TRUE(contains(bad.status().message(), "On, Off or Auto"));
}

TEST(ParseHashSeed, RandomOrAnUnsigned32BitNumber) {
    EXPECT_FALSE(parseHashSeed("random").value().has_value());
    EXPECT_FALSE(parseHashSeed("Random").value().has_value());
    EXPECT_EQ(parseHashSeed("0").value(), 0U);
    EXPECT_EQ(parseHashSeed("4294967295").value(), 4294967295U);
    for (const char* bad : {"4294967296", "-1", "0x10", "", "seed"}) {
        auto r = parseHashSeed(bad);
        ASSERT_FALSE(r.isOk()) << bad;
        EXPECT_TRUE(contains(r.status().message(), "random")) << r.status().message();
    }
}

TEST(ParseSwitchInterval, PositiveSecondsWithinBound) {
    EXPECT_DOUBLE_EQ(parseSwitchInterval("0.005").value(), 0.005);
    EXPECT_DOUBLE_EQ(parseSwitchInterval("1").value(), 1.0);
    for (const char* bad : {"0", "-1", "", "5ms", "61", "nan"}) {
        auto r = parseSwitchInterval(bad);
        ASSERT_FALSE(r.isOk()) << bad;
        EXPECT_TRUE(contains(r.status().message(), "WSGISwitchInterval")) << bad;
    }
}

TEST(ParseImportScript, RequiresBothGroups) {
    auto ok = parseImportScript("/srv/app.wsgi process-group=site application-group=%{GLOBAL}");
    ASSERT_TRUE(ok.isOk()) << ok.status().message();
    EXPECT_EQ(ok->script, "/srv/app.wsgi");
    EXPECT_EQ(ok->processGroup, "site");
    EXPECT_EQ(ok->applicationGroup, "%{GLOBAL}");
    auto missing = parseImportScript("/srv/app.wsgi process-group=site");
    ASSERT_FALSE(missing.isOk());
    EXPECT_TRUE(contains(missing.status().message(), "application-group"));
}

class TempDir : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wg-cfgtest-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        const std::string cmd = "rm -rf '" + dir_ + "'";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
    }
    std::string dir_;
};

using CheckPythonHome = TempDir;

TEST_F(CheckPythonHome, AcceptsAVirtualenvOfTheRightVersion) {
    ASSERT_EQ(::mkdir((dir_ + "/lib").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_ + "/lib/python3.11").c_str(), 0755), 0);
    EXPECT_TRUE(checkPythonHome("python-home", dir_, "3.11").isOk());
}

TEST_F(CheckPythonHome, ExplainsAWrongVersion) {
    ASSERT_EQ(::mkdir((dir_ + "/lib").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_ + "/lib/python3.9").c_str(), 0755), 0);
    auto st = checkPythonHome("WSGIDaemonProcess x: python-home", dir_, "3.11");
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "python-home"));
    EXPECT_TRUE(contains(st.message(), "lib/python3.11"));
    EXPECT_TRUE(contains(st.message(), "-m venv"));
}

TEST_F(CheckPythonHome, ExplainsAMissingDirectory) {
    auto st = checkPythonHome("WSGIPythonHome", dir_ + "/nope", "3.11");
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "WSGIPythonHome"));
    EXPECT_TRUE(contains(st.message(), "does not exist"));
}

using CheckDirectory = TempDir;

TEST_F(CheckDirectory, RejectsFilesAndMissingPaths) {
    EXPECT_TRUE(checkDirectory("home", dir_).isOk());
    EXPECT_FALSE(checkDirectory("home", dir_ + "/missing").isOk());
    const std::string file = dir_ + "/f";
    FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    auto st = checkDirectory("option 'home'", file);
    ASSERT_FALSE(st.isOk());
    EXPECT_TRUE(contains(st.message(), "not a directory"));
}

}  // namespace
}  // namespace wsgid::apache
