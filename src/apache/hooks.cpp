// SPDX-License-Identifier: Apache-2.0
// Hook trampolines: each is noexcept, catches everything (guarded) and hands over to the C++ code
// that owns the work (config_check.cpp, process_manager.cpp, handler.cpp,
// script_alias_mapping.cpp).
#include "apache/hooks.h"

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/handler.h"
#include "apache/httpd_includes.h"
#include "apache/in_flight_limit.h"
#include "apache/process_manager.h"
#include "apache/request_ids.h"
#include "apache/script_alias_mapping.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// The failure value of configuration hooks: any value other than OK/DECLINED stops httpd.
constexpr int kHookFailure = HTTP_INTERNAL_SERVER_ERROR;

/// httpd reads its configuration twice at start-up; the first read (the "pre-config" pass) only
/// checks it and must not start anything (DESIGN rule of thumb 6).
bool isPreConfigPass() noexcept {
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
}

}  // namespace

int preConfigHook(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/) noexcept {
    return guarded("pre_config", kHookFailure, [&] {
        (void)GroupRegistry::get(pconf);  // this read's registry, deleted with pconf
        ProcessManager::registerExitGuard(pconf);
        return OK;
    });
}

int checkConfigHook(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/,
                    server_rec* s) noexcept {
    // Notices are logged once per start: in configtest, else on the real pass only.
    const bool logNotices =
        ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST || !isPreConfigPass();
    return checkConfiguration(pconf, s, logNotices) ? OK : kHookFailure;
}

int postConfigHook(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/,
                   server_rec* s) noexcept {
    return guarded("post_config", kHookFailure, [&] {
        if (isPreConfigPass()) {
            return OK;
        }
        GroupRegistry& registry = GroupRegistry::get(pconf);
        // Before the MPM forks this generation's children: they inherit the mapping.
        mapInFlightTable(pconf, s, registry);
        return ProcessManager::start(pconf, s, registry) ? OK : kHookFailure;
    });
}

void childInitHook(apr_pool_t* pchild, server_rec* s) noexcept {
    startRequestIds();
    ProcessManager::closeInheritedListeners();
    childInit(pchild, s);
}

int translateNameHook(request_rec* r) noexcept {
    return translateName(r);
}

int handlerHook(request_rec* r) noexcept {
    return handleRequest(r);
}

int monitorHook(apr_pool_t* p, server_rec* /*s*/) noexcept {
    ProcessManager::tick(p);
    return DECLINED;
}

}  // namespace wsgid::apache
