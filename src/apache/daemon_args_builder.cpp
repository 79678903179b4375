// SPDX-License-Identifier: Apache-2.0
// daemonArgsFor() (see daemon_args_builder.h): a group's configuration turned into the settings
// of one of its daemon processes. Parent only.
#include "apache/daemon_args_builder.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <unistd.h>

#include "apache/config.h"
#include "apache/httpd_includes.h"
#include "apache/interpreter_sections.h"
#include "apache/retained_state.h"
#include "common/socket_buffers.h"
#include "protocol/log_levels.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

// protocol/log_levels.h names httpd's ranks by their APLOG_* values.
static_assert(protocol::parseHttpdLogLevel("emerg") == APLOG_EMERG);
static_assert(protocol::parseHttpdLogLevel("warn") == APLOG_WARNING);
static_assert(protocol::parseHttpdLogLevel("debug") == APLOG_DEBUG);
static_assert(protocol::kMaxHttpdLogRank == APLOG_TRACE8);

const std::vector<protocol::GroupSecret>* secretsOf(const RetainedState& retained,
                                                    const std::string& group) {
    const auto it = std::find_if(retained.secrets.begin(), retained.secrets.end(),
                                 [&](const RetainedSecrets& r) { return r.group == group; });
    return it == retained.secrets.end() ? nullptr : &it->history;
}

}  // namespace

protocol::DaemonArgs daemonArgsFor(const DaemonGroup& group, int processIndex,
                                   const GroupRegistry& registry, const RetainedState& retained,
                                   server_rec* s) {
    const DaemonGroup& g = group;
    protocol::DaemonArgs a;
    a.group = g.name;
    a.processIndex = processIndex;
    a.processes = g.processes;
    a.multiprocess = g.processesGiven;
    a.threads = g.threads;
    a.managerPid = registry.managerPid;
    a.generation = registry.generation;
    if (const auto* secrets = secretsOf(retained, g.name)) {
        a.secrets = *secrets;
    }
    // httpd children run as User when httpd starts as root (or as socket-user=, under mod_ruid2
    // or mpm-itk), else as whoever started it.
    a.peerUid = ::geteuid() == 0 ? g.socketUid.value_or(ap_unixd_config.user_id) : ::geteuid();
    a.allowRoot = g.allowRoot;
    if (::geteuid() == 0) {
        a.uid = g.uid;
        a.gid = g.gid;
        a.supplementaryGroups = g.supplementaryGids;
        a.userName = g.userName;
    }
    a.home = g.home;
    a.chroot = g.chroot;
    a.umask = g.umask;
    a.pythonHome = g.pythonHome;
    a.pythonPath = g.pythonPath;
    a.lang = g.lang;
    a.locale = g.locale;
    a.displayName = g.displayName;
    server_rec* logServer = g.server != nullptr ? g.server : s;
    a.logLevel =
        protocol::httpdLogLevelName(ap_get_server_module_loglevel(logServer, APLOG_MODULE_INDEX));
    a.shutdownTimeoutSec = static_cast<int>(g.shutdownTimeout.count());
    // The module side's socket-timeout, so both ends give up on a silent peer together.
    a.socketTimeoutSec =
        std::max(1, static_cast<int>(g.socketTimeout ? g.socketTimeout->count()
                                                     : apr_time_sec(logServer->timeout)));
    a.queueTimeoutSec = static_cast<int>(g.queueTimeout.count());
    protocol::DaemonLifecycle& l = a.lifecycle;
    l.maximumRequests = g.maximumRequests;
    l.restartIntervalSec = static_cast<int>(g.restartInterval.count());
    l.inactivityTimeoutSec = static_cast<int>(g.inactivityTimeout.count());
    l.maximumMemoryBytes = g.maximumMemoryBytes;
    l.cpuTimeLimitSec = static_cast<int>(g.cpuTimeLimit.count());
    l.memoryLimitBytes = g.memoryLimitBytes;
    l.virtualMemoryLimitBytes = g.virtualMemoryLimitBytes;
    l.gracefulTimeoutSec = static_cast<int>(g.gracefulTimeout.count());
    l.evictionTimeoutSec = static_cast<int>(
        (g.evictionTimeout.count() > 0 ? g.evictionTimeout : g.gracefulTimeout).count());
    l.startupTimeoutSec = static_cast<int>(g.startupTimeout.count());
    l.requestTimeoutSec = static_cast<int>(g.requestTimeout.count());
    l.interruptTimeoutSec = static_cast<int>(g.interruptTimeout.count());
    l.deadlockTimeoutSec = static_cast<int>(g.deadlockTimeout.count());
    a.preload = g.preload;
    a.python = registry.python;
    if (g.switchInterval) {
        a.python.switchInterval = g.switchInterval;
    }
    a.cpuPriority = g.cpuPriority;
    a.stackSize = g.stackSize;
    a.pythonEggs = g.pythonEggs;
    a.socketBuffers =
        common::withDefaultSizes({.send = static_cast<std::uint32_t>(g.sendBufferSize),
                                  .receive = static_cast<std::uint32_t>(g.receiveBufferSize)},
                                 common::kernelSocketBufferMax());
    a.serverMetrics = g.serverMetrics;
    a.newrelicConfigFile = g.newrelicConfigFile;
    a.newrelicEnvironment = g.newrelicEnvironment;
    a.interpreterOptions = interpreterOptionsFor(registry.interpreterSections, g.name);
    if (g.switchInterval) {
        // The group's own switch-interval= is more specific than any section.
        for (common::InterpreterOptions& o : a.interpreterOptions) {
            o.switchInterval.reset();
        }
    }
    return a;
}

}  // namespace wsgid::apache
