// SPDX-License-Identifier: Apache-2.0
// The small helpers every directive handler file shares (directive_context.h).
#include "apache/directive_context.h"

#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/httpd_includes.h"

namespace wsgid::apache {

const char* poolError(cmd_parms* cmd, const std::string& message) {
    return apr_pstrdup(cmd->pool, message.c_str());
}

const char* poolString(cmd_parms* cmd, const std::string& s) {
    return apr_pstrmemdup(cmd->pool, s.data(), s.size());
}

const char* directiveLocation(cmd_parms* cmd) {
    if (cmd->directive == nullptr) {
        return "";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

ServerConfig* serverConfigOf(cmd_parms* cmd) {
    return static_cast<ServerConfig*>(
        ap_get_module_config(cmd->server->module_config, &wsgid_module));
}

const char* serverRootRelative(cmd_parms* cmd, const std::string& path) {
    if (!path.empty() && path.front() == '/') {
        return poolString(cmd, path);
    }
    return ap_server_root_relative(cmd->pool, path.c_str());
}

void noteProcessGroup(cmd_parms* cmd, const std::string& value, const char* directive) {
    auto& registry = GroupRegistry::get(cmd->pool);
    if (value == "%{GLOBAL}") {
        registry.defaultGroupWanted = true;
    } else if (isLiteralName(value)) {
        registry.references.push_back({value, directive, directiveLocation(cmd), cmd->server});
    }
}

const char* checkGlobal(cmd_parms* cmd, const char* value) {
    if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
        return err;
    }
    if (value[0] == '\0') {
        return apr_psprintf(cmd->pool, "%s needs a value", cmd->cmd->name);
    }
    return nullptr;
}

}  // namespace wsgid::apache
