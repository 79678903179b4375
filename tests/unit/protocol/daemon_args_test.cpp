// SPDX-License-Identifier: Apache-2.0
// Tests for the DaemonArgs record of the kArgsFd pipe: the parent's encoder and the daemon's
// decoder must agree on every field, and anything else must be refused, never half-read.
#include "protocol/daemon_args.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/hex_bytes.h"

namespace wsgid::protocol {
namespace {

using common::ErrorCode;

DaemonArgs everyField() {
    DaemonArgs a;
    a.group = "site-a";
    a.processIndex = 2;
    a.processes = 4;
    a.multiprocess = true;
    a.threads = 25;
    a.managerPid = 4321;
    a.generation = 7;
    a.secrets = {GroupSecret{.generation = 6, .secret = {}},
                 GroupSecret{.generation = 7, .secret = {}}};
    a.secrets[0].secret.fill(0xa5);
    a.secrets[1].secret[31] = 0x42;
    a.peerUid = 33;
    a.allowRoot = true;
    a.uid = 1001;
    a.gid = 1002;
    a.supplementaryGroups = {27, 1003, 65534};
    a.userName = "site-a";
    a.home = "/srv/site-a";
    a.chroot = "/srv/jails/site-a";
    a.umask = 027;
    a.pythonHome = "/srv/site-a/venv";
    a.pythonPath = {"/srv/site-a/lib", "/srv/site-a/venv/lib/python3.11/site-packages"};
    a.lang = "en_US.UTF-8";
    a.locale = "C.UTF-8";
    a.displayName = "(wsgi:site-a)";
    a.logLevel = "info";
    a.shutdownTimeoutSec = 12;
    a.socketTimeoutSec = 60;
    a.queueTimeoutSec = 45;
    a.preload = {"/srv/site-a/app.wsgi|", "/srv/site-a/admin.wsgi|admin=x"};
    a.lifecycle = {.maximumRequests = 1ULL << 40,
                   .restartIntervalSec = 3600,
                   .inactivityTimeoutSec = 120,
                   .maximumMemoryBytes = 3ULL << 32,
                   .cpuTimeLimitSec = 600,
                   .memoryLimitBytes = 1ULL << 33,
                   .virtualMemoryLimitBytes = 1ULL << 34,
                   .gracefulTimeoutSec = 30,
                   .evictionTimeoutSec = 10,
                   .startupTimeoutSec = 15,
                   .requestTimeoutSec = 60,
                   .deadlockTimeoutSec = 300,
                   .interruptTimeoutSec = 5};
    a.python.optimize = 2;
    a.python.writeBytecode = false;
    a.python.warnings = {"ignore::DeprecationWarning", "error::ResourceWarning"};
    a.python.hashSeed = 0;
    a.python.restrictStdin = true;
    a.python.restrictStdout = true;
    a.python.restrictSignal = false;
    a.python.caseSensitive = false;
    a.python.destroyInterpreter = false;
    a.python.switchInterval = 0.002;
    a.cpuPriority = -7;
    a.stackSize = 524288;
    a.pythonEggs = "/srv/site-a/.eggs";
    a.socketBuffers = {.send = 65536, .receive = 4096};
    a.serverMetrics = true;
    a.newrelicConfigFile = "/srv/site-a/newrelic.ini";
    a.newrelicEnvironment = "staging";
    a.interpreterOptions = {
        common::InterpreterOptions{.switchInterval = 0.01, .pythonPath = {"/srv/site-a/shared"}},
        common::InterpreterOptions{.applicationGroup = "",
                                   .restrictStdin = false,
                                   .restrictStdout = true,
                                   .restrictSignal = false},
        common::InterpreterOptions{.applicationGroup = "admin", .pythonPath = {"/a", "/b"}}};
    a.loadSlot = 5;
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
    ASSERT_EQ(got.secrets.size(), want.secrets.size());
    for (std::size_t i = 0; i < got.secrets.size(); ++i) {
        EXPECT_EQ(got.secrets[i].generation, want.secrets[i].generation);
        EXPECT_EQ(got.secrets[i].secret, want.secrets[i].secret);
    }
    EXPECT_EQ(got.peerUid, want.peerUid);
    EXPECT_EQ(got.allowRoot, want.allowRoot);
    EXPECT_EQ(got.uid, want.uid);
    EXPECT_EQ(got.gid, want.gid);
    EXPECT_EQ(got.supplementaryGroups, want.supplementaryGroups);
    EXPECT_EQ(got.userName, want.userName);
    EXPECT_EQ(got.home, want.home);
    EXPECT_EQ(got.chroot, want.chroot);
    EXPECT_EQ(got.umask, want.umask);
    EXPECT_EQ(got.pythonHome, want.pythonHome);
    EXPECT_EQ(got.pythonPath, want.pythonPath);
    EXPECT_EQ(got.lang, want.lang);
    EXPECT_EQ(got.locale, want.locale);
    EXPECT_EQ(got.displayName, want.displayName);
    EXPECT_EQ(got.logLevel, want.logLevel);
    EXPECT_EQ(got.shutdownTimeoutSec, want.shutdownTimeoutSec);
    EXPECT_EQ(got.socketTimeoutSec, want.socketTimeoutSec);
    EXPECT_EQ(got.queueTimeoutSec, want.queueTimeoutSec);
    EXPECT_EQ(got.preload, want.preload);
    const DaemonLifecycle& g = got.lifecycle;
    const DaemonLifecycle& w = want.lifecycle;
    EXPECT_EQ(g.maximumRequests, w.maximumRequests);
    EXPECT_EQ(g.restartIntervalSec, w.restartIntervalSec);
    EXPECT_EQ(g.inactivityTimeoutSec, w.inactivityTimeoutSec);
    EXPECT_EQ(g.maximumMemoryBytes, w.maximumMemoryBytes);
    EXPECT_EQ(g.cpuTimeLimitSec, w.cpuTimeLimitSec);
    EXPECT_EQ(g.memoryLimitBytes, w.memoryLimitBytes);
    EXPECT_EQ(g.virtualMemoryLimitBytes, w.virtualMemoryLimitBytes);
    EXPECT_EQ(g.gracefulTimeoutSec, w.gracefulTimeoutSec);
    EXPECT_EQ(g.evictionTimeoutSec, w.evictionTimeoutSec);
    EXPECT_EQ(g.startupTimeoutSec, w.startupTimeoutSec);
    EXPECT_EQ(g.requestTimeoutSec, w.requestTimeoutSec);
    EXPECT_EQ(g.deadlockTimeoutSec, w.deadlockTimeoutSec);
    EXPECT_EQ(g.interruptTimeoutSec, w.interruptTimeoutSec);
    EXPECT_EQ(got.serverMetrics, want.serverMetrics);
    EXPECT_EQ(got.newrelicConfigFile, want.newrelicConfigFile);
    EXPECT_EQ(got.newrelicEnvironment, want.newrelicEnvironment);
    EXPECT_EQ(got.python.optimize, want.python.optimize);
    EXPECT_EQ(got.python.writeBytecode, want.python.writeBytecode);
    EXPECT_EQ(got.python.warnings, want.python.warnings);
    EXPECT_EQ(got.python.hashSeed, want.python.hashSeed);
    EXPECT_EQ(got.python.restrictStdin, want.python.restrictStdin);
    EXPECT_EQ(got.python.restrictStdout, want.python.restrictStdout);
    EXPECT_EQ(got.python.restrictSignal, want.python.restrictSignal);
    EXPECT_EQ(got.python.caseSensitive, want.python.caseSensitive);
    EXPECT_EQ(got.python.destroyInterpreter, want.python.destroyInterpreter);
    EXPECT_EQ(got.python.switchInterval, want.python.switchInterval);
    EXPECT_EQ(got.cpuPriority, want.cpuPriority);
    EXPECT_EQ(got.stackSize, want.stackSize);
    EXPECT_EQ(got.pythonEggs, want.pythonEggs);
    EXPECT_EQ(got.socketBuffers.send, want.socketBuffers.send);
    EXPECT_EQ(got.socketBuffers.receive, want.socketBuffers.receive);
    EXPECT_EQ(got.loadSlot, want.loadSlot);
    ASSERT_EQ(got.interpreterOptions.size(), want.interpreterOptions.size());
    for (std::size_t i = 0; i < got.interpreterOptions.size(); ++i) {
        const common::InterpreterOptions& go = got.interpreterOptions[i];
        const common::InterpreterOptions& wo = want.interpreterOptions[i];
        EXPECT_EQ(go.applicationGroup, wo.applicationGroup);
        EXPECT_EQ(go.restrictStdin, wo.restrictStdin);
        EXPECT_EQ(go.restrictStdout, wo.restrictStdout);
        EXPECT_EQ(go.restrictSignal, wo.restrictSignal);
        EXPECT_EQ(go.switchInterval, wo.switchInterval);
        EXPECT_EQ(go.pythonPath, wo.pythonPath);
    }
}

TEST(DaemonArgs, RoundTripsEveryField) {
    const DaemonArgs a = everyField();
    EXPECT_EQ(processTitle(a), "(wsgi:site-a)");
    auto r = decodeDaemonArgs(encodeDaemonArgs(a));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    expectSameArgs(r.value(), a);
}

TEST(DaemonArgs, RoundTripsDefaults) {
    DaemonArgs a;
    a.group = "g";
    EXPECT_EQ(processTitle(a), "wsgid-daemon");
    auto r = decodeDaemonArgs(encodeDaemonArgs(a));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    expectSameArgs(r.value(), a);
    EXPECT_FALSE(r.value().uid.has_value());
    EXPECT_FALSE(r.value().gid.has_value());
    EXPECT_FALSE(r.value().umask.has_value());
    EXPECT_FALSE(r.value().peerUid.has_value());
    EXPECT_FALSE(r.value().allowRoot);
    // mod_wsgi's defaults.
    EXPECT_EQ(r.value().python.optimize, 0);
    EXPECT_TRUE(r.value().python.writeBytecode);
    EXPECT_FALSE(r.value().python.hashSeed.has_value());
    EXPECT_TRUE(r.value().python.restrictSignal);
    EXPECT_FALSE(r.value().python.restrictStdout);
    EXPECT_TRUE(r.value().python.caseSensitive);
    EXPECT_TRUE(r.value().python.destroyInterpreter);
}

TEST(DaemonArgs, SwitchIntervalAndPriorityKeepTheirExactValues) {
    for (const double seconds : {1e-7, 0.005, 1.0 / 3.0, 20.0}) {
        DaemonArgs a;
        a.group = "g";
        a.python.switchInterval = seconds;
        a.cpuPriority = seconds < 0.01 ? kMinCpuPriority : kMaxCpuPriority;
        auto r = decodeDaemonArgs(encodeDaemonArgs(a));
        ASSERT_TRUE(r.isOk()) << r.status().message();
        EXPECT_EQ(r.value().python.switchInterval, seconds);
        EXPECT_EQ(r.value().cpuPriority, a.cpuPriority);
    }
}

TEST(DaemonArgs, ZeroIdsAndUmaskAreKeptDistinctFromAbsent) {
    DaemonArgs a;
    a.group = "g";
    a.uid = 0;
    a.gid = 0;
    a.umask = 0;
    a.peerUid = 0;
    auto r = decodeDaemonArgs(encodeDaemonArgs(a));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().uid, uid_t{0});
    EXPECT_EQ(r.value().gid, gid_t{0});
    EXPECT_EQ(r.value().umask, mode_t{0});
    EXPECT_EQ(r.value().peerUid, uid_t{0});
}

TEST(DaemonArgs, EveryTruncationIsRefused) {
    const std::string bytes = encodeDaemonArgs(everyField());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        auto r = decodeDaemonArgs(std::string_view(bytes).substr(0, n));
        ASSERT_FALSE(r.isOk()) << "accepted a record cut at " << n << " of " << bytes.size();
        EXPECT_EQ(r.status().code(), ErrorCode::InvalidArgument);
    }
}

TEST(DaemonArgs, TrailingBytesAreRefused) {
    auto r = decodeDaemonArgs(encodeDaemonArgs(everyField()) + "x");
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("trailing"), std::string::npos);
}

TEST(DaemonArgs, ForeignBytesAreRefusedByMagic) {
    auto r = decodeDaemonArgs("--group=g --threads=2");
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("magic"), std::string::npos);
}

TEST(DaemonArgs, GoldenHeaderAndLifecycleBlock) {
    // The record starts with the magic "WGDA" and format 7; the lifecycle block comes last but
    // one: u64 maximum-requests, u32 restart-interval, u32 inactivity-timeout, u64
    // maximum-memory, u32 cpu-time-limit, u64 memory-limit, u64 virtual-memory-limit, u32
    // graceful-timeout, u32 eviction-timeout, u32 startup-timeout, u32 request-timeout, u32
    // deadlock-timeout, u32 interrupt-timeout; then the monitoring block: u8 server-metrics,
    // str newrelic-config-file, str newrelic-environment (u32 length, then the bytes); last, the
    // <WSGIInterpreterOptions> sections: u32 count, then each: u8 scoped, str application-group,
    // u8 stdin, stdout and signal (0 unset, 1 Off, 2 On), str switch interval, u32 + str paths;
    // last, u32 the load table entry plus one (0: none).
    DaemonArgs a;
    a.group = "g";
    a.lifecycle = {.maximumRequests = 1000,
                   .restartIntervalSec = 2,
                   .inactivityTimeoutSec = 3,
                   .maximumMemoryBytes = 0x0102030405,
                   .cpuTimeLimitSec = 4,
                   .memoryLimitBytes = 5,
                   .virtualMemoryLimitBytes = 6,
                   .gracefulTimeoutSec = 15,
                   .evictionTimeoutSec = 7,
                   .startupTimeoutSec = 8,
                   .requestTimeoutSec = 9,
                   .deadlockTimeoutSec = 300,
                   .interruptTimeoutSec = 10};
    a.serverMetrics = true;
    a.newrelicEnvironment = "qa";
    a.interpreterOptions = {common::InterpreterOptions{
        .applicationGroup = "x", .restrictStdout = true, .pythonPath = {"/p"}}};
    const std::string bytes = encodeDaemonArgs(a);
    EXPECT_EQ(test::toHex(bytes.substr(0, 5)), test::toHex(test::hexBytes("57 47 44 41 07")));
    const std::string tail = test::hexBytes(
        "e8 03 00 00 00 00 00 00"  // maximum-requests 1000
        "02 00 00 00 03 00 00 00"  // restart-interval 2, inactivity-timeout 3
        "05 04 03 02 01 00 00 00"  // maximum-memory
        "04 00 00 00"              // cpu-time-limit 4
        "05 00 00 00 00 00 00 00"  // memory-limit 5
        "06 00 00 00 00 00 00 00"  // virtual-memory-limit 6
        "0f 00 00 00 07 00 00 00"  // graceful-timeout 15, eviction-timeout 7
        "08 00 00 00 09 00 00 00"  // startup-timeout 8, request-timeout 9
        "2c 01 00 00"              // deadlock-timeout 300
        "0a 00 00 00"              // interrupt-timeout 10
        "01"                       // server-metrics On
        "00 00 00 00"              // newrelic-config-file ""
        "02 00 00 00 71 61"        // newrelic-environment "qa"
        "01 00 00 00"              // one section
        "01 01 00 00 00 78"        // application-group= "x"
        "00 02 00"                 // WSGIRestrictStdin unset, WSGIRestrictStdout On, Signal unset
        "00 00 00 00"              // no WSGISwitchInterval
        "01 00 00 00 02 00 00 00 2f 70"  // WSGIPythonPath "/p"
        "00 00 00 00");                  // no load table entry
    ASSERT_GE(bytes.size(), tail.size());
    EXPECT_EQ(test::toHex(bytes.substr(bytes.size() - tail.size())), test::toHex(tail));
}

TEST(DaemonArgs, TheLoadTableEntryRoundTripsWithinTheGroupsTable) {
    DaemonArgs a;
    a.group = "g";
    a.processes = 3;
    a.processIndex = 2;
    for (const int slot : {-1, 0, 5}) {
        a.loadSlot = slot;
        auto r = decodeDaemonArgs(encodeDaemonArgs(a));
        ASSERT_TRUE(r.isOk()) << r.status().message();
        EXPECT_EQ(r.value().loadSlot, slot);
    }
    a.loadSlot = 6;  // past the 3 processes' 6 entries
    auto r = decodeDaemonArgs(encodeDaemonArgs(a));
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("load table"), std::string::npos);
}

TEST(DaemonArgs, OversizedSocketBuffersAreRefused) {
    DaemonArgs a;
    a.group = "g";
    a.socketBuffers.receive = common::kMaxSocketBufferBytes + 1;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(a)).isOk());
    a.socketBuffers = {.send = common::kMaxSocketBufferBytes + 1, .receive = 0};
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(a)).isOk());
}

TEST(DaemonArgs, OtherFormatVersionIsRefused) {
    std::string bytes = encodeDaemonArgs(everyField());
    bytes[4] = static_cast<char>(bytes[4] + 1);
    auto r = decodeDaemonArgs(bytes);
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("stale"), std::string::npos);
}

TEST(DaemonArgs, InvalidValuesAreRefused) {
    DaemonArgs noGroup;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(noGroup)).isOk());
    DaemonArgs badIndex;
    badIndex.group = "g";
    badIndex.processIndex = 3;
    badIndex.processes = 2;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(badIndex)).isOk());
    DaemonArgs noThreads;
    noThreads.group = "g";
    noThreads.threads = 0;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(noThreads)).isOk());
    DaemonArgs relativeJail;
    relativeJail.group = "g";
    relativeJail.chroot = "jail";
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(relativeJail)).isOk());
    DaemonArgs negativeThreads;
    negativeThreads.group = "g";
    negativeThreads.threads = -1;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(negativeThreads)).isOk());
    DaemonArgs wideUmask;
    wideUmask.group = "g";
    wideUmask.umask = 01000;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(wideUmask)).isOk());
    DaemonArgs optimizeTooHigh;
    optimizeTooHigh.group = "g";
    optimizeTooHigh.python.optimize = 3;
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(optimizeTooHigh)).isOk());
    DaemonArgs tooManySecrets;
    tooManySecrets.group = "g";
    tooManySecrets.secrets.resize(kRetainedSecretGenerations + 1);
    EXPECT_FALSE(decodeDaemonArgs(encodeDaemonArgs(tooManySecrets)).isOk());
}

TEST(DaemonArgs, TypicalRecordFitsThePipeWithRoomToSpare) {
    DaemonArgs a = everyField();
    a.secrets.resize(kRetainedSecretGenerations);
    EXPECT_LT(encodeDaemonArgs(a).size(), kMaxDaemonArgsBytes / 16);
    EXPECT_FALSE(decodeDaemonArgs(std::string(kMaxDaemonArgsBytes + 1, 'x')).isOk());
}

TEST(DaemonArgs, ServiceScriptDaemonRoundTrips) {
    DaemonArgs service;
    service.group = "g";
    service.threads = 0;
    service.preload = {"/srv/service.py|"};
    auto decoded = decodeDaemonArgs(encodeDaemonArgs(service));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().message();
    EXPECT_EQ(decoded->threads, 0);
    EXPECT_EQ(decoded->preload, service.preload);
}

}  // namespace
}  // namespace wsgid::protocol
