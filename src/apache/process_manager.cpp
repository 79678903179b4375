// SPDX-License-Identifier: Apache-2.0
// Daemon process manager in the httpd parent (see process_manager.h): the hooks' entry points
// and the pconf cleanups that reach the generation's Manager (manager.h). It decides with
// restart_policy.h and retired_daemons.h and acts through daemon_sockets.h and daemon_spawn.h.
// Never runs Python, never starts threads.
#include "apache/process_manager.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "apache/c_boundary.h"
#include "apache/death_records.h"
#include "apache/httpd_includes.h"
#include "apache/manager.h"
#include "apache/retained_state.h"
// httpd_includes.h first: apr_raii.h needs the APR API.
#include "apache/apr_raii.h"

namespace wsgid::apache {

namespace {

/// pconf userdata key of the generation's Manager (the monitor hook finds it there).
constexpr const char* kManagerKey = "wsgid::ProcessManager";

/// In an httpd child: the shared table of daemon deaths (set in child_init; a raw atomic pointer,
/// trivially destructible, read by request threads).
std::atomic<const DeathRecords*> gDeathRecords{nullptr};

apr_status_t configPoolCleanup(void* data) noexcept {
    guardedVoid("daemon shutdown", [&] { static_cast<Manager*>(data)->onConfigPoolCleanup(); });
    return APR_SUCCESS;
}

apr_status_t exitGuardCleanup(void* /*data*/) noexcept {
    guardedVoid("daemon exit guard", [] {
        if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_DESTROY_CONFIG) {
            return;  // a restart: the daemons drain; the next generation takes over
        }
        if (RetainedState* retained = RetainedState::get(false); retained != nullptr) {
            Manager::finalShutdown(*retained, nullptr);
        }
    });
    return APR_SUCCESS;
}

}  // namespace

void ProcessManager::registerExitGuard(apr_pool_t* pconf) noexcept {
    apr_pool_cleanup_register(pconf, nullptr, exitGuardCleanup, apr_pool_cleanup_null);
}

bool ProcessManager::start(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry) noexcept {
    return guarded("post_config (process manager)", false, [&] {
        RetainedState* retained = RetainedState::get(true);
        auto* manager =
            attachToPool(pconf, std::make_unique<Manager>(pconf, s, registry, *retained));
        // Registered after attachToPool, so it runs before the Manager is deleted.
        apr_pool_cleanup_register(pconf, manager, configPoolCleanup, apr_pool_cleanup_null);
        apr_pool_userdata_setn(manager, kManagerKey, nullptr, pconf);
        return manager->start();
    });
}

void ProcessManager::tick(apr_pool_t* pconf) noexcept {
    guardedVoid("monitor (process manager)", [&] {
        void* data = nullptr;
        apr_pool_userdata_get(&data, kManagerKey, pconf);
        if (data != nullptr) {
            static_cast<Manager*>(data)->tick();
        }
    });
}

void ProcessManager::closeInheritedListeners() noexcept {
    guardedVoid("child_init (process manager)", [] {
        if (const RetainedState* retained = RetainedState::get(false); retained != nullptr) {
            retained->sockets.closeCopies();
            if (retained->deaths != nullptr) {
                retained->deaths->protectReadOnly();  // only the parent writes it
                gDeathRecords.store(retained->deaths);
            }
        }
        void* data = nullptr;
        if (ap_server_conf != nullptr && ap_server_conf->process != nullptr) {
            apr_pool_userdata_get(&data, kManagerKey, ap_server_conf->process->pconf);
        }
        if (data != nullptr) {
            static_cast<Manager*>(data)->closeInheritedPipes();
        }
    });
}

std::optional<std::string> ProcessManager::daemonDeathCause(
    pid_t pid, DeathClock::time_point notBefore, std::chrono::milliseconds wait) noexcept {
    try {
        const DeathRecords* table = gDeathRecords.load();
        if (table == nullptr || pid <= 0) {
            return std::nullopt;
        }
        if (auto death = waitForDeath(*table, pid, notBefore, wait)) {
            return death->describe();
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; the 502 says less
        // Not a C boundary (c_boundary.h): a local recovery, the caller goes on without a cause.
    }
    return std::nullopt;
}

}  // namespace wsgid::apache
