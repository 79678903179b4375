// SPDX-License-Identifier: Apache-2.0
// Handlers of WSGIDaemonProcess, WSGISocketPrefix, WSGIDaemonProgram and WSGIImportScript: parse
// with daemon_options and config_parse, store into the GroupRegistry. Cross-directive checks happen
// later, in checkConfiguration (config_check.cpp).
#include "apache/daemon_directives.h"

#include <memory>
#include <string>
#include <utility>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/daemon_options.h"
#include "apache/directive_context.h"
#include "apache/httpd_includes.h"

namespace wsgid::apache {

namespace {

/// WSGISocketPrefix / WSGIDaemonProgram: a path relative to ServerRoot.
const char* setGlobalPath(cmd_parms* cmd, const char* value, std::string GroupRegistry::*field) {
    if (const char* err = checkGlobal(cmd, value); err != nullptr) {
        return err;
    }
    const char* path = serverRootRelative(cmd, value);
    if (path == nullptr) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name, value);
    }
    GroupRegistry::get(cmd->pool).*field = path;
    return nullptr;
}

}  // namespace

const char* setDaemonProcess(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("WSGIDaemonProcess", kInternalError, [&]() -> const char* {
        auto parsed = parseDaemonProcess(raw);
        if (!parsed) {
            return poolError(cmd, parsed.status().message());
        }
        auto group = std::make_unique<DaemonGroup>(std::move(parsed.value()));
        group->definedAt = directiveLocation(cmd);
        group->server = cmd->server;
        auto& registry = GroupRegistry::get(cmd->pool);
        if (const DaemonGroup* existing = registry.find(group->name); existing != nullptr) {
            return poolError(cmd, "WSGIDaemonProcess: group '" + group->name +
                                      "' is already defined at " + existing->definedAt +
                                      "; group names must be unique server-wide");
        }
        registry.add(std::move(group));
        return nullptr;
    });
}

const char* setSocketPrefix(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGISocketPrefix", kInternalError,
                   [&]() { return setGlobalPath(cmd, value, &GroupRegistry::socketPrefix); });
}

const char* setDaemonProgram(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIDaemonProgram", kInternalError,
                   [&]() { return setGlobalPath(cmd, value, &GroupRegistry::daemonProgram); });
}

const char* setImportScript(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("WSGIImportScript", kInternalError, [&]() -> const char* {
        auto parsed = parseImportScript(raw);
        if (!parsed) {
            return poolError(cmd, parsed.status().message());
        }
        const char* script = serverRootRelative(cmd, parsed->script);
        if (script == nullptr) {
            return poolError(cmd, "WSGIImportScript: invalid file-path '" + parsed->script + "'");
        }
        const std::string& app = parsed->applicationGroup;
        if (app != "%{GLOBAL}" && !isLiteralName(app)) {
            return poolError(cmd,
                             "WSGIImportScript: application-group must be a name or "
                             "%{GLOBAL} (the script is loaded before any request), got '" +
                                 app + "'");
        }
        const std::string& group = parsed->processGroup;
        if (group != "%{GLOBAL}" && !isLiteralName(group)) {
            return poolError(cmd,
                             "WSGIImportScript: process-group must be a name or %{GLOBAL}, "
                             "got '" +
                                 group + "'");
        }
        noteProcessGroup(cmd, group, "WSGIImportScript process-group=");
        auto& registry = GroupRegistry::get(cmd->pool);
        registry.pendingPreloads.push_back(
            {group == "%{GLOBAL}" ? std::string(GroupRegistry::kDefaultGroupName) : group,
             std::string(script) + "|" + (app == "%{GLOBAL}" ? "" : app)});
        return nullptr;
    });
}

}  // namespace wsgid::apache
