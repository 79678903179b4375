// SPDX-License-Identifier: Apache-2.0
// Handlers of the mod_wsgi directives mod_wsgid accepts without effect (ignored_directives.h):
// each lands in GroupRegistry::ignoredDirectives, logged once at start.
#include "apache/ignored_directives.h"

#include <string>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/directive_context.h"
#include "apache/httpd_includes.h"

namespace wsgid::apache {

namespace {

/// mod_wsgi directives that have no meaning for mod_wsgid; cmd_data is the reason, noted at start.
const char* noteIgnored(cmd_parms* cmd, const char* value) {
    if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
        return err;
    }
    auto& registry = GroupRegistry::get(cmd->pool);
    registry.ignoredDirectives.push_back(std::string(directiveLocation(cmd)) + ": " +
                                         cmd->cmd->name + " " + value +
                                         " has no effect: " + static_cast<const char*>(cmd->info));
    return nullptr;
}

}  // namespace

const char* ignoreFlag(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("ignored directive", kInternalError,
                   [&]() { return noteIgnored(cmd, on != 0 ? "On" : "Off"); });
}

const char* ignoreValue(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("ignored directive", kInternalError, [&]() { return noteIgnored(cmd, value); });
}

const char* ignoreRaw(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("ignored directive", kInternalError, [&]() { return noteIgnored(cmd, raw); });
}

const char* ignoreDirFlag(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("ignored directive", kInternalError, [&]() -> const char* {
        if (cmd->pool == cmd->server->process->pconf) {
            GroupRegistry::get(cmd->pool).ignoredDirectives.push_back(
                std::string(directiveLocation(cmd)) + ": " + cmd->cmd->name +
                (on != 0 ? " On" : " Off") +
                " has no effect: " + static_cast<const char*>(cmd->info));
        }
        return nullptr;
    });
}

const char* ignoreUnlessOn(cmd_parms* cmd, void* mconfig, int on) noexcept {
    if (on == 0) {
        return guarded("ignored directive", kInternalError,
                       [&]() -> const char* { return ap_check_cmd_context(cmd, GLOBAL_ONLY); });
    }
    return ignoreFlag(cmd, mconfig, on);
}

}  // namespace wsgid::apache
