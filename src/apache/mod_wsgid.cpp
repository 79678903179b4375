// SPDX-License-Identifier: Apache-2.0
// The module record `wsgid_module` and its hook registration; nothing else lives here (DESIGN,
// rules of thumb for C++ inside an httpd module, 1).
#include "apache/auth_providers.h"
#include "apache/config.h"
#include "apache/directives.h"
#include "apache/hooks.h"
#include "apache/httpd_includes.h"

namespace {

void registerHooks(apr_pool_t* p) noexcept {
    using namespace wsgid::apache;
    // WSGIScriptAlias maps URLs after mod_alias (so Alias/Redirect win, as with mod_wsgi) and
    // before mod_userdir and mod_vhost_alias.
    static const char* const kBeforeUs[] = {"mod_alias.c", nullptr};
    static const char* const kAfterUs[] = {"mod_userdir.c", "mod_vhost_alias.c", nullptr};

    ap_hook_pre_config(preConfigHook, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_check_config(checkConfigHook, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_config(postConfigHook, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_child_init(childInitHook, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_translate_name(translateNameHook, kBeforeUs, kAfterUs, APR_HOOK_MIDDLE);
    ap_hook_handler(handlerHook, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_monitor(monitorHook, nullptr, nullptr, APR_HOOK_MIDDLE);
    // WSGIAccessScript decides after mod_ssl's checks and before host-based access control, as
    // in mod_wsgi.
    static const char* const kBeforeAccess[] = {"mod_ssl.c", nullptr};
    static const char* const kAfterAccess[] = {"mod_authz_host.c", nullptr};
    ap_hook_access_checker(accessCheckerHook, kBeforeAccess, kAfterAccess, APR_HOOK_MIDDLE);
    registerAuthProviders(p);
}

}  // namespace

extern "C" {
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): httpd's module record
module AP_MODULE_DECLARE_DATA __attribute__((visibility("default"))) wsgid_module = {
    STANDARD20_MODULE_STUFF,
    wsgid::apache::createDirConfig,
    wsgid::apache::mergeDirConfig,
    wsgid::apache::createServerConfig,
    wsgid::apache::mergeServerConfig,
    wsgid::apache::kDirectives,
    registerHooks,
    AP_MODULE_FLAG_NONE,
};
}
