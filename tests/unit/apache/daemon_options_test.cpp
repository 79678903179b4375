// SPDX-License-Identifier: Apache-2.0
// Tests of the pure WSGIDaemonProcess parsing (src/apache/daemon_options.h): no httpd involved.
#include "apache/daemon_options.h"

#include <chrono>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <sys/types.h>

#include "support/contains.h"

namespace wsgid::apache {
namespace {

using test::contains;

std::string errorOf(std::string_view rawDaemonProcess) {
    auto r = parseDaemonProcess(rawDaemonProcess);
    EXPECT_FALSE(r.isOk()) << "expected an error for: " << rawDaemonProcess;
    return r ? std::string() : r.status().message();
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

}  // namespace
}  // namespace wsgid::apache
