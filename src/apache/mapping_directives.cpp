// SPDX-License-Identifier: Apache-2.0
// Handlers of WSGIScriptAlias(Match), WSGIHandlerScript, WSGIRestrictProcess, WSGIProcessGroup,
// WSGIApplicationGroup and WSGICallableObject: parse with config_parse, store into the pool records
// and the GroupRegistry. Cross-directive checks happen later, in checkConfiguration
// (config_check.cpp).
#include "apache/mapping_directives.h"

#include <string>
#include <string_view>
#include <utility>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/directive_context.h"
#include "apache/httpd_includes.h"
#include "apache/path_rules.h"

namespace wsgid::apache {

namespace {

/// The highest $N of an alias's file-path and group options, and what names it, for the check
/// against the expression's group count.
struct CaptureUse {
    int highest = -1;
    std::string where;
};

CaptureUse captureUse(const ScriptAliasArgs& a) {
    CaptureUse use;
    auto consider = [&use](const std::string& value, const char* what) {
        const int n = highestCaptureReference(value);
        if (n > use.highest) {
            use = {n, what};
        }
    };
    consider(a.target, "the file-path");
    for (const auto& [opt, what] : {std::pair{&a.processGroup, "process-group="},
                                    std::pair{&a.applicationGroup, "application-group="},
                                    std::pair{&a.callableObject, "callable-object="}}) {
        if (*opt) {
            consider(**opt, what);
        }
    }
    return use;
}

/// WSGIScriptAlias and WSGIScriptAliasMatch (cmd->info non-null).
const char* addScriptAlias(cmd_parms* cmd, const char* raw) {
    const bool match = cmd->info != nullptr;
    const char* directive = match ? "WSGIScriptAliasMatch" : "WSGIScriptAlias";
    auto parsed = parseScriptAlias(raw, match ? AliasKind::Match : AliasKind::Prefix);
    if (!parsed) {
        return poolError(cmd, parsed.status().message());
    }
    const char* target = serverRootRelative(cmd, parsed->target);
    if (target == nullptr) {
        return poolError(cmd,
                         std::string(directive) + ": invalid file-path '" + parsed->target + "'");
    }
    const ap_regex_t* regex = nullptr;
    if (match) {
        regex = ap_pregcomp(cmd->pool, parsed->urlPath.c_str(), AP_REG_EXTENDED);
        if (regex == nullptr) {
            return poolError(cmd, std::string(directive) + ": the regular expression '" +
                                      parsed->urlPath +
                                      "' does not compile; write it as for AliasMatch, e.g. "
                                      "^/sites/([^/]+)");
        }
        const CaptureUse use = captureUse(parsed.value());
        if (use.highest > static_cast<int>(regex->re_nsub)) {
            return poolError(cmd, std::string(directive) + ": " + use.where + " uses $" +
                                      std::to_string(use.highest) + " but '" + parsed->urlPath +
                                      "' has " + std::to_string(regex->re_nsub) +
                                      " group(s); add a (...) group or fix the number");
        }
    }
    auto* alias = static_cast<ScriptAlias*>(apr_array_push(serverConfigOf(cmd)->aliases));
    alias->urlPath = poolString(cmd, parsed->urlPath);
    alias->target = target;
    alias->processGroup = parsed->processGroup ? poolString(cmd, *parsed->processGroup) : nullptr;
    alias->applicationGroup =
        parsed->applicationGroup ? poolString(cmd, *parsed->applicationGroup) : nullptr;
    alias->callableObject =
        parsed->callableObject ? poolString(cmd, *parsed->callableObject) : nullptr;
    alias->passAuthorization = !parsed->passAuthorization   ? Flag::Unset
                               : *parsed->passAuthorization ? Flag::On
                                                            : Flag::Off;
    alias->regex = regex;

    auto& registry = GroupRegistry::get(cmd->pool);
    if (!parsed->processGroup) {
        return nullptr;  // check_config decides whether it needs the default group
    }
    // A group named by $N is known per request only (WSGIRestrictProcess can bound it).
    const bool dynamic =
        match && (hasCaptureReference(*parsed->processGroup) ||
                  (parsed->applicationGroup && hasCaptureReference(*parsed->applicationGroup)) ||
                  hasCaptureReference(parsed->target));
    if (!(match && hasCaptureReference(*parsed->processGroup))) {
        noteProcessGroup(
            cmd, *parsed->processGroup,
            match ? "WSGIScriptAliasMatch process-group=" : "WSGIScriptAlias process-group=");
    }
    // mod_wsgi preloads the script when both groups are literal (%{GLOBAL} counts as the
    // literal main interpreter for application-group=) and nothing depends on the URL.
    if (parsed->applicationGroup && isLiteralName(*parsed->processGroup) && !dynamic) {
        const std::string& app = *parsed->applicationGroup;
        if (app == "%{GLOBAL}" || isLiteralName(app)) {
            registry.pendingPreloads.push_back(
                {*parsed->processGroup,
                 std::string(target) + "|" + (app == "%{GLOBAL}" ? "" : app)});
        }
    }
    return nullptr;
}

/// WSGIProcessGroup / WSGIApplicationGroup: in a <Directory>/<Location> the per-directory record;
/// at server level also the server record (mod_wsgi keeps both; the per-directory default record
/// of a server covers its requests outside any section).
const char* setGroup(cmd_parms* cmd, void* mconfig, const char* value, bool isProcess) {
    if (value[0] == '\0') {
        return apr_psprintf(cmd->pool, "%s needs a group name", cmd->cmd->name);
    }
    const char* v = apr_pstrdup(cmd->pool, value);
    auto* dir = static_cast<DirConfig*>(mconfig);
    (isProcess ? dir->processGroup : dir->applicationGroup) = v;
    if (cmd->path == nullptr) {
        auto* server = serverConfigOf(cmd);
        (isProcess ? server->processGroup : server->applicationGroup) = v;
    }
    if (isProcess) {
        noteProcessGroup(cmd, v, "WSGIProcessGroup");
    }
    return nullptr;
}

}  // namespace

const char* setScriptAlias(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("WSGIScriptAlias", kInternalError,
                   [&]() -> const char* { return addScriptAlias(cmd, raw); });
}

const char* setHandlerScript(cmd_parms* cmd, void* mconfig, const char* raw) noexcept {
    return guarded("WSGIHandlerScript", kInternalError, [&]() -> const char* {
        auto parsed = parseHandlerScript(raw);
        if (!parsed) {
            return poolError(cmd, parsed.status().message());
        }
        const char* script = serverRootRelative(cmd, parsed->script);
        if (script == nullptr) {
            return poolError(cmd, "WSGIHandlerScript: invalid file-path '" + parsed->script + "'");
        }
        auto* dir = static_cast<DirConfig*>(mconfig);
        if (dir->handlerScripts == nullptr) {
            dir->handlerScripts = apr_array_make(cmd->pool, 2, sizeof(HandlerScript));
        }
        auto* h = static_cast<HandlerScript*>(apr_array_push(dir->handlerScripts));
        h->name = poolString(cmd, parsed->name);
        h->script = script;
        h->processGroup = parsed->processGroup ? poolString(cmd, *parsed->processGroup) : nullptr;
        h->applicationGroup =
            parsed->applicationGroup ? poolString(cmd, *parsed->applicationGroup) : nullptr;
        h->passAuthorization = !parsed->passAuthorization   ? Flag::Unset
                               : *parsed->passAuthorization ? Flag::On
                                                            : Flag::Off;
        if (parsed->processGroup) {
            noteProcessGroup(cmd, *parsed->processGroup, "WSGIHandlerScript process-group=");
        } else {
            GroupRegistry::get(cmd->pool).handlerScriptServers.push_back(cmd->server);
        }
        return nullptr;
    });
}

const char* addRestrictProcess(cmd_parms* cmd, void* mconfig, const char* value) noexcept {
    return guarded("WSGIRestrictProcess", kInternalError, [&]() -> const char* {
        const std::string_view name = value;
        if (name.empty() || (name != "%{GLOBAL}" && !isLiteralName(name))) {
            return apr_psprintf(cmd->pool,
                                "WSGIRestrictProcess: '%s' is not a process group name; list "
                                "group names or %%{GLOBAL}",
                                value);
        }
        auto* dir = static_cast<DirConfig*>(mconfig);
        if (dir->restrictProcess == nullptr) {
            dir->restrictProcess = apr_array_make(cmd->pool, 4, sizeof(const char*));
        }
        *static_cast<const char**>(apr_array_push(dir->restrictProcess)) =
            name == "%{GLOBAL}" ? "" : apr_pstrdup(cmd->pool, value);
        return nullptr;
    });
}

const char* setProcessGroup(cmd_parms* cmd, void* mconfig, const char* value) noexcept {
    return guarded("WSGIProcessGroup", kInternalError,
                   [&]() { return setGroup(cmd, mconfig, value, true); });
}

const char* setApplicationGroup(cmd_parms* cmd, void* mconfig, const char* value) noexcept {
    return guarded("WSGIApplicationGroup", kInternalError,
                   [&]() { return setGroup(cmd, mconfig, value, false); });
}

const char* setCallableObject(cmd_parms* cmd, void* mconfig, const char* value) noexcept {
    return guarded("WSGICallableObject", kInternalError, [&]() -> const char* {
        if (value[0] == '\0') {
            return "WSGICallableObject needs a name";
        }
        static_cast<DirConfig*>(mconfig)->callableObject = apr_pstrdup(cmd->pool, value);
        return nullptr;
    });
}

}  // namespace wsgid::apache
