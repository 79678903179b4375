// SPDX-License-Identifier: Apache-2.0
// Manager (manager.h), starting a generation: the groups' listening sockets (reused across
// restarts), their secrets, the shared table of daemon deaths, the log relay and the slots whose
// daemons it then spawns; and, in each httpd child, closing the pipes the child inherited of it.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <unistd.h>

#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/daemon_sockets.h"
#include "apache/death_records.h"
#include "apache/httpd_includes.h"
#include "apache/log_rate_limit.h"
#include "apache/log_relay.h"
#include "apache/manager.h"
#include "apache/retained_state.h"
#include "apache/server_log_sink.h"
#include "apache/socket_directory.h"
#include "apache/supervision_waker.h"
#include "common/random.h"
#include "protocol/daemon_args.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

bool Manager::start() {
    registry_.managerPid = static_cast<std::uint32_t>(::getpid());
    registry_.generation = static_cast<std::uint32_t>(ap_state_query(AP_SQ_CONFIG_GEN));
    if (apr_pool_create(&retiredPool_, pconf_) != APR_SUCCESS) {
        return false;
    }
    if (!openListeners() || !makeSecrets()) {
        return false;
    }
    makeLoadTables();  // before the MPM forks its children, which inherit the mappings
    if (retained_.deaths == nullptr) {
        // Before the MPM forks its first child, so every child inherits the mapping.
        retained_.deaths = DeathRecords::mapShared();
        if (retained_.deaths == nullptr) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s_,
                         "WG0066: cannot map the shared table of daemon deaths; a request whose "
                         "daemon dies gets 502 without the cause");
        }
    }
    waker_ = std::make_unique<SupervisionWaker>(s_, pconf_, [this] { tick(); });
    adoptRetired();
    if (!startLogRelay()) {
        return false;
    }

    int processes = 0;
    for (const auto& g : registry_.groups()) {
        const int listenFd = retained_.sockets.fdFor(g->name);
        if (listenFd < 0) {
            return false;  // openListeners() made one per group
        }
        for (int i = 0; i < g->processes; ++i) {
            auto slot = std::make_unique<Slot>();
            slot->manager = this;
            slot->group = g.get();
            slot->index = i;
            slot->listenFd = listenFd;
            slot->current = std::make_unique<Process>();
            slot->replacement = std::make_unique<Process>();
            for (Process* p : {slot->current.get(), slot->replacement.get()}) {
                p->slot = slot.get();
                if (apr_pool_create(&p->pool, pconf_) != APR_SUCCESS) {
                    return false;
                }
            }
            slots_.push_back(std::move(slot));
            ++processes;
        }
    }
    const char* source = !registry_.daemonProgram.empty()              ? "WSGIDaemonProgram"
                         : registry_.daemonBinary != WSGID_DAEMON_PATH ? "build tree"
                                                                       : "installed";
    if (slots_.empty()) {
        return true;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0020: starting %d daemon process(es) in %d group(s), generation %u, with "
                 "%s (%s)",
                 processes, static_cast<int>(registry_.groups().size()), registry_.generation,
                 registry_.daemonBinary.c_str(), source);
    for (const auto& slot : slots_) {
        spawn(*slot, SupervisorDuration::zero());
    }
    armWaker(SupervisorClock::now());
    return true;
}

bool Manager::openListeners() {
    const long pid = static_cast<long>(::getpid());
    for (const auto& stale : removeStaleSockets(registry_.socketPrefix, pid)) {
        if (stale.error == 0) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                         "WG0026: removed the socket %s of httpd pid %ld, which is gone",
                         stale.path.c_str(), stale.pid);
        } else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, stale.error, s_,
                         "WG0027: cannot remove the stale socket %s of httpd pid %ld",
                         stale.path.c_str(), stale.pid);
        }
    }
    std::vector<WantedListener> wanted(registry_.groups().size());
    std::transform(
        registry_.groups().begin(), registry_.groups().end(), wanted.begin(), [&](const auto& g) {
            return WantedListener{.group = g->name,
                                  .path = socketPathFor(registry_.socketPrefix, pid, g->name),
                                  .backlog = g->listenBacklog,
                                  .ownerUid = g->socketUid,
                                  .ownerName = g->socketUser};
        });
    SocketOwner owner;
    if (::geteuid() == 0) {
        owner.uid = ap_unixd_config.user_id;
        owner.gid = ap_unixd_config.group_id;
        owner.userName = ap_unixd_config.user_name != nullptr ? ap_unixd_config.user_name : "";
    }
    ServerLogSink log(s_);
    if (const common::Status st = retained_.sockets.reconcile(wanted, owner, log); !st) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s_, "WG0021: %s",
                     st.message().c_str());
        return false;
    }
    for (const auto& g : registry_.groups()) {
        g->socketPath = socketPathFor(registry_.socketPrefix, pid, g->name);
    }
    return true;
}

bool Manager::makeSecrets() {
    std::vector<RetainedSecrets> kept;
    for (const auto& gp : registry_.groups()) {
        DaemonGroup& g = *gp;
        auto it = std::find_if(retained_.secrets.begin(), retained_.secrets.end(),
                               [&](const RetainedSecrets& r) { return r.group == g.name; });
        RetainedSecrets entry{.group = g.name, .history = {}};
        if (it != retained_.secrets.end()) {
            entry.history = std::move(it->history);
        }
        // Startup reads the configuration twice with one generation number: one secret for it.
        if (entry.history.empty() || entry.history.back().generation != registry_.generation) {
            protocol::GroupSecret fresh{.generation = registry_.generation, .secret = {}};
            if (const common::Status st = common::fillRandom(fresh.secret); !st) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s_,
                             "WG0028: cannot make the secret of daemon group %s: %s",
                             g.name.c_str(), st.message().c_str());
                return false;
            }
            entry.history.push_back(fresh);
        }
        if (entry.history.size() > protocol::kRetainedSecretGenerations) {
            entry.history.erase(entry.history.begin(),
                                entry.history.end() - static_cast<std::ptrdiff_t>(
                                                          protocol::kRetainedSecretGenerations));
        }
        g.secret = entry.history.back().secret;
        kept.push_back(std::move(entry));
    }
    // Groups no longer configured lose their secrets with their sockets.
    retained_.secrets = std::move(kept);
    return true;
}

bool Manager::startLogRelay() {
    std::vector<RelayRoute> routes;
    for (const auto& g : registry_.groups()) {
        server_rec* logServer = g->server != nullptr ? g->server : s_;
        apr_os_file_t logFd = -1;
        if (logServer->error_log == nullptr ||
            apr_os_file_get(&logFd, logServer->error_log) != APR_SUCCESS) {
            logFd = -1;
        }
        routes.push_back(
            {.group = g->name,
             .server = logServer,
             .logFd = logFd,
             .rateBytes = g->logRateBytes,
             .burstBytes = std::max<std::uint64_t>(g->logBurstBytes, kMaxRelayLineBytes)});
    }
    // A relay that died took the read ends along: daemons that still write to its pipes get
    // EPIPE, so they are restarted (gracefully, like a recycle) to pick up the new pipes.
    relay_ = std::make_unique<LogRelay>(
        s_, std::move(routes),
        [this] {
            for (const auto& slot : slots_) {
                if (slot->state.pid() > 0 && !slot->current->termSent) {
                    (void)::kill(slot->state.pid(), SIGTERM);
                    slot->current->termSent = true;
                }
            }
        },
        [this] {
            for (const auto& g : registry_.groups()) {
                g->secret.fill(0);
            }
            for (auto& entry : retained_.secrets) {
                for (auto& gs : entry.history) {
                    gs.secret.fill(0);
                }
            }
        });
    return relay_->start(pconf_);
}

void Manager::makeLoadTables() {
    for (const auto& g : registry_.groups()) {
        if (g->processes < 2) {
            continue;  // one process has no sibling to route around
        }
        auto table = GroupLoadTable::make(g->name, g->processes);
        if (!table) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_,
                         "WG0072: cannot make the load table of daemon group %s (%s); its "
                         "requests find a process with a free worker by Busy answers alone",
                         g->name.c_str(), table.status().message().c_str());
            continue;
        }
        g->loadTable = table.value().get();
        registry_.loadTables.push_back(std::move(table.value()));
    }
}

void Manager::closeInheritedPipes() noexcept {
    for (const auto& table : registry_.loadTables) {
        table->forgetDescriptor();
    }
    if (relay_) {
        relay_->closeInheritedEnds();
    }
    for (const auto& slot : slots_) {
        slot->current->channel.close();
        slot->replacement->channel.close();
    }
    for (const auto& w : watches_) {
        w->channel.close();
    }
}

}  // namespace wsgid::apache
