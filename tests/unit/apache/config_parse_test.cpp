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

std::string errorOf(std::string_view rawDaemonProcess) {
    auto r = parseDaemonProcess(rawDaemonProcess);
    EXPECT_FALSE(r.isOk()) << "expected an error for: " << rawDaemonProcess;
    return r ? std::string() : r.status().message();
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

TEST(ParseDaemonProcess, DefaultsMatchModWsgi) {
    auto r = parseDaemonProcess("site");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->name, "site");
    EXPECT_EQ(r->processes, 1);
    EXPECT_FALSE(r->processesGiven);
    EXPECT_EQ(r->threads, 15);
    EXPECT_EQ(r->listenBacklog, 100);
    EXPECT_EQ(r->connectTimeout, std::chrono::seconds(15));
    EXPECT_EQ(r->shutdownTimeout, std::chrono::seconds(5));
    EXPECT_FALSE(r->socketTimeout.has_value());
    EXPECT_FALSE(r->umask.has_value());
}

TEST(ParseDaemonProcess, ParsesEveryImplementedOption) {
    auto r = parseDaemonProcess(
        "site processes=1 threads=4 user=www group=#33 supplementary-groups=adm,#4 umask=0027 "
        "home=/srv/site python-home=/srv/venv python-path=/srv/site:/srv/lib "
        "display-name=%{GROUP} lang=en_US.UTF-8 locale=C.UTF-8 listen-backlog=50 "
        "connect-timeout=3 socket-timeout=60 shutdown-timeout=9 queue-timeout=20");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->processes, 1);
    EXPECT_TRUE(r->processesGiven);  // wsgi.multiprocess follows mod_wsgi: given at all
    EXPECT_EQ(r->threads, 4);
    EXPECT_EQ(r->user, "www");
    EXPECT_EQ(r->group, "#33");
    EXPECT_EQ(r->supplementaryGroups, "adm,#4");
    EXPECT_EQ(r->umask, mode_t{027});
    EXPECT_EQ(r->home, "/srv/site");
    EXPECT_EQ(r->pythonHome, "/srv/venv");
    EXPECT_EQ(r->pythonPath, (std::vector<std::string>{"/srv/site", "/srv/lib"}));
    EXPECT_EQ(r->displayName, "(wsgi:site)");
    EXPECT_EQ(r->lang, "en_US.UTF-8");
    EXPECT_EQ(r->locale, "C.UTF-8");
    EXPECT_EQ(r->listenBacklog, 50);
    EXPECT_EQ(r->connectTimeout, std::chrono::seconds(3));
    EXPECT_EQ(r->socketTimeout, std::chrono::seconds(60));
    EXPECT_EQ(r->shutdownTimeout, std::chrono::seconds(9));
    EXPECT_EQ(r->queueTimeout, std::chrono::seconds(20));
}

TEST(ParseDaemonProcess, MaxInFlightIsSetOrDerived) {
    auto set = parseDaemonProcess("site max-in-flight=7");
    ASSERT_TRUE(set.isOk()) << set.status().message();
    EXPECT_EQ(maxInFlightLimit(*set, 150), 7);
    auto off = parseDaemonProcess("site max-in-flight=0");
    ASSERT_TRUE(off.isOk());
    EXPECT_EQ(maxInFlightLimit(*off, 150), 0);
    // Default: own workers plus the backlog, within half of httpd's workers...
    auto d = parseDaemonProcess("site processes=2 threads=5 listen-backlog=20");
    ASSERT_TRUE(d.isOk());
    EXPECT_EQ(maxInFlightLimit(*d, 150), 30);  // 10 + 20
    EXPECT_EQ(maxInFlightLimit(*d, 40), 20);   // half of 40
    // ...but never below its own workers.
    auto big = parseDaemonProcess("site processes=4 threads=25");
    ASSERT_TRUE(big.isOk());
    EXPECT_EQ(maxInFlightLimit(*big, 150), 100);
    EXPECT_TRUE(contains(errorOf("site max-in-flight=-1"), "option 'max-in-flight'"));
    EXPECT_TRUE(contains(errorOf("site max-in-flight=1000001"), "option 'max-in-flight'"));
}

TEST(ParseDaemonProcess, QueueTimeoutDefaultsTo45AndZeroTurnsItOff) {
    auto d = parseDaemonProcess("site");
    ASSERT_TRUE(d.isOk());
    EXPECT_EQ(d->queueTimeout, std::chrono::seconds(45));
    auto off = parseDaemonProcess("site queue-timeout=0");
    ASSERT_TRUE(off.isOk()) << off.status().message();
    EXPECT_EQ(off->queueTimeout, std::chrono::seconds(0));
    EXPECT_TRUE(contains(errorOf("site queue-timeout=1m"), "option 'queue-timeout'"));
}

TEST(ParseDaemonProcess, LogRateLimitOptions) {
    auto d = parseDaemonProcess("site");
    ASSERT_TRUE(d.isOk());
    EXPECT_EQ(d->logRateBytes, kLogRateBytesPerSecond);
    EXPECT_EQ(d->logBurstBytes, kLogBurstBytes);
    auto r = parseDaemonProcess("site log-rate=1048576 log-burst=0");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->logRateBytes, 1048576U);
    EXPECT_EQ(r->logBurstBytes, 0U);
    EXPECT_TRUE(contains(errorOf("site log-rate=-1"), "option 'log-rate'"));
    EXPECT_TRUE(contains(errorOf("site log-burst=2147483648"), "option 'log-burst'"));
    EXPECT_TRUE(contains(errorOf("site log-rate=1k"), "option 'log-rate'"));
}

TEST(ParseDaemonProcess, SocketTimeoutZeroMeansTheServersTimeout) {
    auto r = parseDaemonProcess("site socket-timeout=0");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_FALSE(r->socketTimeout.has_value());
}

TEST(ParseDaemonProcess, QuotedValues) {
    auto r = parseDaemonProcess(R"(site display-name="wsgi %{GROUP} app" python-path='/a b:/c')");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->displayName, "wsgi (wsgi:site) app");
    EXPECT_EQ(r->pythonPath, (std::vector<std::string>{"/a b", "/c"}));
}

TEST(ParseDaemonProcess, BadNumbersNameTheOption) {
    EXPECT_TRUE(contains(errorOf("site threads=abc"), "option 'threads'"));
    EXPECT_TRUE(contains(errorOf("site threads=65534"), "option 'threads'"));
    EXPECT_TRUE(contains(errorOf("site processes=0"), "option 'processes'"));
    EXPECT_TRUE(contains(errorOf("site processes=2x"), "option 'processes'"));
    EXPECT_TRUE(contains(errorOf("site listen-backlog=0"), "option 'listen-backlog'"));
    EXPECT_TRUE(contains(errorOf("site shutdown-timeout=-1"), "option 'shutdown-timeout'"));
    EXPECT_TRUE(contains(errorOf("site connect-timeout=5s"), "option 'connect-timeout'"));
    EXPECT_TRUE(contains(errorOf("site umask=999"), "option 'umask'"));
    EXPECT_TRUE(contains(errorOf("site group=#x"), "option 'group'"));
}

TEST(ParseDaemonProcess, ThreadsZeroMakesAServiceScriptGroup) {
    const auto g = parseDaemonProcess("service threads=0");
    ASSERT_TRUE(g.isOk()) << g.status().message();
    EXPECT_EQ(g->threads, 0);
    EXPECT_TRUE(contains(errorOf("site threads=-1"), "option 'threads'"));
}

TEST(ParseDaemonProcess, RejectsRootUserUnlessAllowRoot) {
    EXPECT_TRUE(contains(errorOf("site user=root"), "would run Python as root"));
    EXPECT_TRUE(contains(errorOf("site user=#0"), "allow-root=On"));
    EXPECT_TRUE(contains(errorOf("site user=root allow-root=Off"), "user=root"));
    auto g = parseDaemonProcess("site user=root allow-root=On");
    ASSERT_TRUE(g.isOk()) << g.status().message();
    EXPECT_TRUE(g.value().allowRoot);
    EXPECT_EQ(g.value().user, "root");
}

TEST(ParseDaemonProcess, UnknownAndMalformedOptions) {
    EXPECT_TRUE(contains(errorOf("site thread=4"), "unknown option 'thread'"));
    EXPECT_TRUE(contains(errorOf("site threads"), "expected option=value, got 'threads'"));
    EXPECT_TRUE(contains(errorOf("site threads=2 threads=3"), "'threads' is given twice"));
    EXPECT_TRUE(contains(errorOf("site home="), "option 'home' needs a value"));
    EXPECT_TRUE(contains(errorOf("site home=relative/dir"), "absolute path"));
    EXPECT_TRUE(
        contains(errorOf("site supplementary-groups=a,,b"), "option 'supplementary-groups'"));
}

TEST(ParseDaemonProcess, BadGroupNames) {
    EXPECT_TRUE(contains(errorOf(""), "needs a group name"));
    EXPECT_TRUE(contains(errorOf("threads=4"), "group name"));
    EXPECT_TRUE(contains(errorOf("%{GLOBAL}"), "%{...}"));
    EXPECT_TRUE(contains(errorOf(std::string(GroupRegistry::kDefaultGroupName)), "reserved"));
}

TEST(ParseDaemonProcess, EveryModWsgiOptionHasAnEffect) {
    auto r = parseDaemonProcess(
        "site interrupt-timeout=5 server-metrics=On send-buffer-size=0 response-flush-delay=0 "
        "switch-interval=0.005 cpu-priority=-5 python-eggs=/tmp/eggs");
    ASSERT_TRUE(r.isOk()) << r.status().message();
}

TEST(ParseDaemonProcess, MonitoringOptions) {
    auto r = parseDaemonProcess(
        "site request-timeout=10 interrupt-timeout=5 server-metrics=On "
        "newrelic-config-file=/etc/newrelic.ini newrelic-environment=staging");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->interruptTimeout, std::chrono::seconds(5));
    EXPECT_TRUE(r->serverMetrics);
    EXPECT_EQ(r->newrelicConfigFile, "/etc/newrelic.ini");
    EXPECT_EQ(r->newrelicEnvironment, "staging");
}

TEST(ParseDaemonProcess, ProcessTuningOptions) {
    auto r = parseDaemonProcess(
        "site switch-interval=0.0125 cpu-priority=-5 stack-size=524288 python-eggs=/tmp/eggs");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->switchInterval, 0.0125);
    EXPECT_EQ(r->cpuPriority, -5);
    EXPECT_EQ(r->stackSize, 524288U);
    EXPECT_EQ(r->pythonEggs, "/tmp/eggs");
    EXPECT_TRUE(contains(errorOf("site switch-interval=61"), "at most 60"));
    EXPECT_TRUE(contains(errorOf("site cpu-priority=-21"), "option 'cpu-priority'"));
    EXPECT_TRUE(contains(errorOf("site stack-size=-1"), "option 'stack-size'"));
    auto timeouts = parseDaemonProcess("site response-socket-timeout=7");
    ASSERT_TRUE(timeouts.isOk());
    EXPECT_EQ(timeouts->responseSocketTimeout, std::chrono::seconds(7));
    auto zero = parseDaemonProcess("site response-socket-timeout=0");  // 0: socket-timeout's
    ASSERT_TRUE(zero.isOk());
    EXPECT_FALSE(zero->responseSocketTimeout.has_value());
    auto defaults = parseDaemonProcess("site");
    ASSERT_TRUE(defaults.isOk());
    EXPECT_FALSE(defaults->responseSocketTimeout.has_value());
    EXPECT_FALSE(defaults->switchInterval.has_value());
    EXPECT_EQ(defaults->cpuPriority, 0);
    EXPECT_EQ(defaults->stackSize, 0U);
}

TEST(ParseDaemonProcess, BufferOptions) {
    auto d = parseDaemonProcess("site");
    ASSERT_TRUE(d.isOk());
    EXPECT_EQ(d->sendBufferSize, 0);  // 0: the kernel's default / the module's defaults
    EXPECT_EQ(d->receiveBufferSize, 0);
    EXPECT_EQ(d->headerBufferSize, 0);
    EXPECT_EQ(d->responseBufferSize, 0);
    EXPECT_EQ(d->responseFlushDelayMs, 0);
    auto r = parseDaemonProcess(
        "site send-buffer-size=65536 receive-buffer-size=512 header-buffer-size=8192 "
        "response-buffer-size=1048576 response-flush-delay=5");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->sendBufferSize, 65536);
    EXPECT_EQ(r->receiveBufferSize, 512);
    EXPECT_EQ(r->headerBufferSize, 8192);
    EXPECT_EQ(r->responseBufferSize, 1048576);
    EXPECT_EQ(r->responseFlushDelayMs, 5);
    auto zeros = parseDaemonProcess(
        "site send-buffer-size=0 receive-buffer-size=0 header-buffer-size=0 "
        "response-buffer-size=0 response-flush-delay=0");
    ASSERT_TRUE(zeros.isOk()) << zeros.status().message();
}

TEST(ParseDaemonProcess, BufferOptionBounds) {
    EXPECT_TRUE(contains(errorOf("site send-buffer-size=511"), "at least 512"));
    EXPECT_TRUE(contains(errorOf("site receive-buffer-size=100"), "at least 512"));
    EXPECT_TRUE(contains(errorOf("site send-buffer-size=2147483648"), "between 0 and 1073741824"));
    EXPECT_TRUE(contains(errorOf("site header-buffer-size=8191"), "at least 8192"));
    // The protocol's own cap on a whole Start frame.
    EXPECT_TRUE(contains(errorOf("site header-buffer-size=1048577"), "between 0 and 1048576"));
    EXPECT_TRUE(parseDaemonProcess("site header-buffer-size=1048576").isOk());
    EXPECT_TRUE(contains(errorOf("site response-buffer-size=65535"), "at least 65536"));
    EXPECT_TRUE(contains(errorOf("site response-flush-delay=-1"), "option 'response-flush-delay'"));
    EXPECT_TRUE(contains(errorOf("site response-flush-delay=10001"), "between 0 and 10000"));
    EXPECT_TRUE(contains(errorOf("site response-flush-delay=5ms"), "needs an integer"));
}

TEST(ParseDaemonProcess, TimeoutOptions) {
    auto d = parseDaemonProcess("site");
    ASSERT_TRUE(d.isOk());
    EXPECT_EQ(d->startupTimeout, std::chrono::seconds(0));
    EXPECT_EQ(d->requestTimeout, std::chrono::seconds(0));
    EXPECT_EQ(d->deadlockTimeout, std::chrono::seconds(300));  // mod_wsgi's default
    auto r = parseDaemonProcess("site startup-timeout=15 request-timeout=60 deadlock-timeout=0");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->startupTimeout, std::chrono::seconds(15));
    EXPECT_EQ(r->requestTimeout, std::chrono::seconds(60));
    EXPECT_EQ(r->deadlockTimeout, std::chrono::seconds(0));
}

TEST(ParseDaemonProcess, RecyclingOptions) {
    auto d = parseDaemonProcess("site");
    ASSERT_TRUE(d.isOk());
    EXPECT_EQ(d->maximumRequests, 0U);
    EXPECT_EQ(d->gracefulTimeout, std::chrono::seconds(15));  // mod_wsgi's default
    EXPECT_EQ(d->evictionTimeout, std::chrono::seconds(0));   // 0: graceful-timeout
    auto r = parseDaemonProcess(
        "site maximum-requests=1000 restart-interval=3600 inactivity-timeout=120 "
        "graceful-timeout=30 eviction-timeout=10 cpu-time-limit=600 memory-limit=1073741824 "
        "virtual-memory-limit=4G maximum-memory=512M");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->maximumRequests, 1000U);
    EXPECT_EQ(r->restartInterval, std::chrono::seconds(3600));
    EXPECT_EQ(r->inactivityTimeout, std::chrono::seconds(120));
    EXPECT_EQ(r->gracefulTimeout, std::chrono::seconds(30));
    EXPECT_EQ(r->evictionTimeout, std::chrono::seconds(10));
    EXPECT_EQ(r->cpuTimeLimit, std::chrono::seconds(600));
    EXPECT_EQ(r->memoryLimitBytes, 1073741824U);
    EXPECT_EQ(r->virtualMemoryLimitBytes, 4ULL << 30);
    EXPECT_EQ(r->maximumMemoryBytes, 512ULL << 20);
}

TEST(ParseDaemonProcess, ByteCountsTakeKMGSuffixesOnly) {
    auto k = parseDaemonProcess("site maximum-memory=640k");
    ASSERT_TRUE(k.isOk()) << k.status().message();
    EXPECT_EQ(k->maximumMemoryBytes, 640ULL << 10);
    EXPECT_TRUE(contains(errorOf("site maximum-memory=1T"), "byte count such as"));
    EXPECT_TRUE(contains(errorOf("site memory-limit=-1"), "option 'memory-limit'"));
    EXPECT_TRUE(contains(errorOf("site maximum-memory=M"), "option 'maximum-memory'"));
    EXPECT_TRUE(contains(errorOf("site maximum-requests=-5"), "option 'maximum-requests'"));
    EXPECT_TRUE(contains(errorOf("site graceful-timeout=86401"), "option 'graceful-timeout'"));
}

TEST(ParseDaemonProcess, ModWsgiOptionsAreTypeChecked) {
    EXPECT_TRUE(contains(errorOf("site interrupt-timeout=lots"), "option 'interrupt-timeout'"));
    EXPECT_TRUE(contains(errorOf("site server-metrics=yes"), "option 'server-metrics'"));
    EXPECT_TRUE(contains(errorOf("site switch-interval=0"), "option 'switch-interval'"));
    EXPECT_TRUE(contains(errorOf("site send-buffer-size=100"), "at least 512"));
    EXPECT_TRUE(contains(errorOf("site cpu-priority=40"), "option 'cpu-priority'"));
}

TEST(ParseDaemonProcess, ChrootTakesAnAbsolutePath) {
    const auto g = parseDaemonProcess("site chroot=/srv/jail");
    ASSERT_TRUE(g.isOk()) << g.status().message();
    EXPECT_EQ(g->chroot, "/srv/jail");
    EXPECT_TRUE(contains(errorOf("site chroot=jail"), "option 'chroot'"));
}

TEST(ParseDaemonProcess, ScriptOwnerOptions) {
    auto g = parseDaemonProcess("site script-user=bob script-group=#33");
    ASSERT_TRUE(g) << g.status().message();
    EXPECT_EQ(g->scriptUser, "bob");
    EXPECT_EQ(g->scriptGroup, "#33");
    EXPECT_TRUE(contains(errorOf("site script-user=#x"), "option 'script-user'"));
    EXPECT_TRUE(contains(errorOf("site script-group="), "needs a value"));
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
