// SPDX-License-Identifier: Apache-2.0
// The directive table and its thin handlers: parse with config_parse, store into the pool records
// and the GroupRegistry. Cross-directive checks happen later, in checkConfiguration (config.cpp).
#include "apache/directives.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/daemon_options.h"
#include "apache/httpd_includes.h"
#include "apache/path_rules.h"
#include "apache/proxy_headers.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// The failure value of a directive handler when guarded() caught an exception.
constexpr const char* kInternalError = "mod_wsgid: internal error while reading this directive";

const char* poolError(cmd_parms* cmd, const std::string& message) {
    return apr_pstrdup(cmd->pool, message.c_str());
}

const char* poolString(cmd_parms* cmd, const std::string& s) {
    return apr_pstrmemdup(cmd->pool, s.data(), s.size());
}

/// "file:line" of the directive being read, in pconf.
const char* where(cmd_parms* cmd) {
    if (cmd->directive == nullptr) {
        return "";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

ServerConfig* serverConfigOf(cmd_parms* cmd) {
    return static_cast<ServerConfig*>(
        ap_get_module_config(cmd->server->module_config, &wsgid_module));
}

/// Resolves a file path of a directive against ServerRoot; nullptr if httpd rejects it.
const char* serverRootRelative(cmd_parms* cmd, const std::string& path) {
    if (!path.empty() && path.front() == '/') {
        return poolString(cmd, path);
    }
    return ap_server_root_relative(cmd->pool, path.c_str());
}

/// Records a process-group value for check_config: a literal name must name a defined group;
/// %{GLOBAL} (mod_wsgi's embedded mode) runs in the implicit default group.
void noteProcessGroup(cmd_parms* cmd, const std::string& value, const char* directive) {
    auto& registry = GroupRegistry::get(cmd->pool);
    if (value == "%{GLOBAL}") {
        registry.defaultGroupWanted = true;
    } else if (isLiteralName(value)) {
        registry.references.push_back({value, directive, where(cmd), cmd->server});
    }
}

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

/// WSGIRestrictProcess: called once per group name (ITERATE).
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

/// WSGITrustedProxyHeaders: header names, kept as environ keys; repeated directives add up.
const char* setTrustedProxyHeaders(cmd_parms* cmd, void* mconfig, const char* raw) noexcept {
    return guarded("WSGITrustedProxyHeaders", kInternalError, [&]() -> const char* {
        auto words = splitWords(raw);
        if (!words || words->empty()) {
            return "WSGITrustedProxyHeaders needs header names, e.g. X-Forwarded-For "
                   "X-Forwarded-Proto";
        }
        auto* dir = static_cast<DirConfig*>(mconfig);
        if (dir->trustedProxyHeaders == nullptr) {
            dir->trustedProxyHeaders = apr_array_make(cmd->pool, 4, sizeof(const char*));
        }
        for (const std::string& word : *words) {
            auto key = trustedHeaderKey(word);
            if (!key) {
                return poolError(cmd, key.status().message());
            }
            *static_cast<const char**>(apr_array_push(dir->trustedProxyHeaders)) =
                poolString(cmd, *key);
        }
        return nullptr;
    });
}

/// WSGITrustedProxies: addresses and networks; repeated directives add up.
const char* setTrustedProxies(cmd_parms* cmd, void* mconfig, const char* raw) noexcept {
    return guarded("WSGITrustedProxies", kInternalError, [&]() -> const char* {
        auto words = splitWords(raw);
        if (!words || words->empty()) {
            return "WSGITrustedProxies needs addresses or networks, e.g. 127.0.0.1 10.0.0.0/8";
        }
        auto* dir = static_cast<DirConfig*>(mconfig);
        if (dir->trustedProxies == nullptr) {
            dir->trustedProxies = apr_array_make(cmd->pool, 4, sizeof(IpNetwork));
        }
        for (const std::string& word : *words) {
            auto net = parseIpNetwork(word);
            if (!net) {
                return poolError(cmd, "WSGITrustedProxies: " + net.status().message());
            }
            *static_cast<IpNetwork*>(apr_array_push(dir->trustedProxies)) = net.value();
        }
        return nullptr;
    });
}

/// WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript / WSGIDispatchScript; cmd->info
/// is the DirConfig field.
const char* setHookScript(cmd_parms* cmd, void* mconfig, const char* raw) noexcept {
    return guarded("hook script", kInternalError, [&]() -> const char* {
        auto parsed = parseHookScript(cmd->cmd->name, raw);
        if (!parsed) {
            return poolError(cmd, parsed.status().message());
        }
        const char* script = serverRootRelative(cmd, parsed->script);
        if (script == nullptr) {
            return apr_psprintf(cmd->pool, "%s: invalid file-path '%s'", cmd->cmd->name,
                                parsed->script.c_str());
        }
        auto* hook = static_cast<HookScript*>(apr_pcalloc(cmd->pool, sizeof(HookScript)));
        hook->script = script;
        hook->applicationGroup =
            parsed->applicationGroup ? poolString(cmd, *parsed->applicationGroup) : nullptr;
        const auto field = *static_cast<const HookScript * DirConfig::*const*>(cmd->info);
        static_cast<DirConfig*>(mconfig)->*field = hook;
        return nullptr;
    });
}

/// On/Off directives that live in the per-directory record only; cmd->info is the field.
const char* setDirFlag(cmd_parms* cmd, void* mconfig, int on) noexcept {
    return guarded("flag directive", kInternalError, [&]() -> const char* {
        const auto field = *static_cast<Flag DirConfig::*const*>(cmd->info);
        static_cast<DirConfig*>(mconfig)->*field = on != 0 ? Flag::On : Flag::Off;
        return nullptr;
    });
}

const char* setMapHeadToGet(cmd_parms* cmd, void* mconfig, const char* value) noexcept {
    return guarded("WSGIMapHEADToGET", kInternalError, [&]() -> const char* {
        auto mode = parseHeadMapping(value);
        if (!mode) {
            return poolError(cmd, mode.status().message());
        }
        static_cast<DirConfig*>(mconfig)->mapHeadToGet = mode.value();
        return nullptr;
    });
}

const char* setDaemonProcess(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("WSGIDaemonProcess", kInternalError, [&]() -> const char* {
        auto parsed = parseDaemonProcess(raw);
        if (!parsed) {
            return poolError(cmd, parsed.status().message());
        }
        auto group = std::make_unique<DaemonGroup>(std::move(parsed.value()));
        group->definedAt = where(cmd);
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

/// On/Off directives kept in both records like setGroup().
void setFlag(cmd_parms* cmd, Flag DirConfig::*dirField, Flag ServerConfig::*serverField,
             void* mconfig, int on) {
    const Flag flag = on != 0 ? Flag::On : Flag::Off;
    static_cast<DirConfig*>(mconfig)->*dirField = flag;
    if (cmd->path == nullptr) {
        serverConfigOf(cmd)->*serverField = flag;
    }
}

const char* setPassAuthorization(cmd_parms* cmd, void* mconfig, int on) noexcept {
    return guarded("WSGIPassAuthorization", kInternalError, [&]() -> const char* {
        setFlag(cmd, &DirConfig::passAuthorization, &ServerConfig::passAuthorization, mconfig, on);
        return nullptr;
    });
}

const char* setChunkedRequest(cmd_parms* cmd, void* mconfig, int on) noexcept {
    return guarded("WSGIChunkedRequest", kInternalError, [&]() -> const char* {
        setFlag(cmd, &DirConfig::chunkedRequest, &ServerConfig::chunkedRequest, mconfig, on);
        return nullptr;
    });
}

/// Common checks of the server-wide settings: main server only, and a value.
const char* checkGlobal(cmd_parms* cmd, const char* value) {
    if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
        return err;
    }
    if (value[0] == '\0') {
        return apr_psprintf(cmd->pool, "%s needs a value", cmd->cmd->name);
    }
    return nullptr;
}

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

const char* setSocketPrefix(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGISocketPrefix", kInternalError,
                   [&]() { return setGlobalPath(cmd, value, &GroupRegistry::socketPrefix); });
}

const char* setDaemonProgram(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIDaemonProgram", kInternalError,
                   [&]() { return setGlobalPath(cmd, value, &GroupRegistry::daemonProgram); });
}

const char* setPythonHome(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonHome", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        if (value[0] != '/') {
            return apr_psprintf(cmd->pool, "WSGIPythonHome must be an absolute path, got '%s'",
                                value);
        }
        GroupRegistry::get(cmd->pool).pythonHome = value;
        return nullptr;
    });
}

/// The <WSGIInterpreterOptions> section whose directives are being read, or nullptr.
InterpreterSection* openSection(GroupRegistry& registry) {
    return registry.openInterpreterSection
               ? &registry.interpreterSections[*registry.openInterpreterSection]
               : nullptr;
}

/// The directives a <WSGIInterpreterOptions> section may hold (mod_wsgi 6's list).
constexpr std::array<std::string_view, 7> kInterpreterSectionDirectives = {
    "WSGIPythonPath",     "WSGIRestrictStdin",     "WSGIRestrictStdout", "WSGIRestrictSignal",
    "WSGISwitchInterval", "WSGIPerInterpreterGIL", "WSGIFreeThreading"};

bool allowedInSection(const char* directive) {
    return std::any_of(kInterpreterSectionDirectives.begin(), kInterpreterSectionDirectives.end(),
                       [directive](std::string_view name) {
                           // The names are literals, so name.data() ends in a NUL.
                           return ap_cstr_casecmp(directive, name.data()) == 0;
                       });
}

/// <WSGIInterpreterOptions [process-group=G] [application-group=A]> ... </WSGIInterpreterOptions>:
/// the directives inside apply to the matching interpreters only (interpreter_sections.h).
const char* openInterpreterOptions(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("<WSGIInterpreterOptions>", kInternalError, [&]() -> const char* {
        if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
            return err;
        }
        const std::string_view args(raw);
        const std::size_t close = args.rfind('>');
        if (close == std::string_view::npos) {
            return "<WSGIInterpreterOptions> directive missing closing '>'";
        }
        GroupRegistry& registry = GroupRegistry::get(cmd->pool);
        if (registry.openInterpreterSection) {
            return "<WSGIInterpreterOptions> sections cannot be nested";
        }
        auto section = parseInterpreterSection(args.substr(0, close));
        if (!section) {
            return poolError(cmd, section.status().message());
        }
        for (const ap_directive_t* d = cmd->directive->first_child; d != nullptr; d = d->next) {
            if (!allowedInSection(d->directive)) {
                return apr_psprintf(cmd->pool,
                                    "%s (%s:%d) cannot be used inside <WSGIInterpreterOptions>; "
                                    "a section takes only WSGIPythonPath, WSGIRestrictStdin, "
                                    "WSGIRestrictStdout, WSGIRestrictSignal, WSGISwitchInterval, "
                                    "WSGIPerInterpreterGIL and WSGIFreeThreading",
                                    d->directive, d->filename, d->line_num);
            }
        }
        section->definedAt = where(cmd);
        registry.interpreterSections.push_back(std::move(*section));
        registry.openInterpreterSection = registry.interpreterSections.size() - 1;
        const char* err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
        registry.openInterpreterSection.reset();
        return err;
    });
}

const char* setPythonPath(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonPath", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        GroupRegistry& registry = GroupRegistry::get(cmd->pool);
        if (InterpreterSection* section = openSection(registry); section != nullptr) {
            section->options.pythonPath = splitColonList(value);
        } else {
            registry.pythonPath = splitColonList(value);
        }
        return nullptr;
    });
}

/// WSGIPythonEggs: embedded mode's egg cache in mod_wsgi, so here the implicit default group's
/// (the one WSGIPythonHome and WSGIPythonPath configure); daemon groups take python-eggs=.
const char* setPythonEggs(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonEggs", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        GroupRegistry::get(cmd->pool).pythonEggs = value;
        return nullptr;
    });
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

/// A server-wide On/Off Python setting; cmd->info points at the PythonSettings field, and
/// `invert` says the directive's On means the field's false (WSGIDontWriteBytecode).
const char* setPythonFlagImpl(cmd_parms* cmd, int on, bool invert) {
    if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
        return err;
    }
    const auto field = *static_cast<bool common::PythonSettings::*const*>(cmd->info);
    GroupRegistry& registry = GroupRegistry::get(cmd->pool);
    if (InterpreterSection* section = openSection(registry); section != nullptr) {
        // Only the WSGIRestrict* flags are allowed inside a section (openInterpreterOptions).
        std::optional<bool>& flag =
            field == &common::PythonSettings::restrictStdin    ? section->options.restrictStdin
            : field == &common::PythonSettings::restrictStdout ? section->options.restrictStdout
                                                               : section->options.restrictSignal;
        flag = (on != 0) != invert;
        return nullptr;
    }
    registry.python.*field = (on != 0) != invert;
    return nullptr;
}

const char* setPythonFlag(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("Python setting", kInternalError,
                   [&]() { return setPythonFlagImpl(cmd, on, false); });
}

const char* setDontWriteBytecode(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("WSGIDontWriteBytecode", kInternalError,
                   [&]() { return setPythonFlagImpl(cmd, on, true); });
}

const char* setPythonOptimize(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonOptimize", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        auto level = parseInteger("WSGIPythonOptimize", value, 0, 2);
        if (!level) {
            return poolError(cmd, level.status().message());
        }
        GroupRegistry::get(cmd->pool).python.optimize = static_cast<int>(*level);
        return nullptr;
    });
}

const char* addPythonWarnings(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonWarnings", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        GroupRegistry::get(cmd->pool).python.warnings.emplace_back(value);
        return nullptr;
    });
}

const char* setPythonHashSeed(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonHashSeed", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        auto seed = parseHashSeed(value);
        if (!seed) {
            return poolError(cmd, seed.status().message());
        }
        GroupRegistry::get(cmd->pool).python.hashSeed = seed.value();
        return nullptr;
    });
}

const char* setCaseSensitivity(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("WSGICaseSensitivity", kInternalError, [&]() -> const char* {
        if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
            return err;
        }
        GroupRegistry::get(cmd->pool).python.caseSensitive = on != 0;
        return nullptr;
    });
}

/// mod_wsgi directives that have no meaning for mod_wsgid; cmd_data is the reason, noted at start.
const char* noteIgnored(cmd_parms* cmd, const char* value) {
    if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
        return err;
    }
    auto& registry = GroupRegistry::get(cmd->pool);
    registry.ignoredDirectives.push_back(std::string(where(cmd)) + ": " + cmd->cmd->name + " " +
                                         value +
                                         " has no effect: " + static_cast<const char*>(cmd->info));
    return nullptr;
}

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

/// Per-directory mod_wsgi directives without effect here (cmd->info says why): noted at start
/// when they stand in the main configuration; in .htaccess (read per request) accepted quietly.
const char* ignoreDirFlag(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("ignored directive", kInternalError, [&]() -> const char* {
        if (cmd->pool == cmd->server->process->pconf) {
            GroupRegistry::get(cmd->pool).ignoredDirectives.push_back(
                std::string(where(cmd)) + ": " + cmd->cmd->name + (on != 0 ? " On" : " Off") +
                " has no effect: " + static_cast<const char*>(cmd->info));
        }
        return nullptr;
    });
}

/// Directives of mod_wsgi 6 for features a Python 3.11 daemon does not have (per-interpreter
/// GIL, free threading): Off is what mod_wsgid does anyway; On is noted at start.
const char* ignoreUnlessOn(cmd_parms* cmd, void* mconfig, int on) noexcept {
    if (on == 0) {
        return guarded("ignored directive", kInternalError,
                       [&]() -> const char* { return ap_check_cmd_context(cmd, GLOBAL_ONLY); });
    }
    return ignoreFlag(cmd, mconfig, on);
}

const char* setSwitchInterval(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGISwitchInterval", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        auto seconds = parseSwitchInterval(value);
        if (!seconds) {
            return poolError(cmd, seconds.status().message());
        }
        GroupRegistry& registry = GroupRegistry::get(cmd->pool);
        if (InterpreterSection* section = openSection(registry); section != nullptr) {
            if (section->options.applicationGroup) {
                return "WSGISwitchInterval cannot be used in a <WSGIInterpreterOptions> section "
                       "with application-group=: Python has one switch interval per process; "
                       "put it in a section with process-group= only";
            }
            section->options.switchInterval = *seconds;
        } else {
            registry.python.switchInterval = *seconds;
        }
        return nullptr;
    });
}

// The PythonSettings fields of setPythonFlag's directives (cmd->info points at one).
constexpr bool common::PythonSettings::*kRestrictStdinField =
    &common::PythonSettings::restrictStdin;
constexpr bool common::PythonSettings::*kRestrictStdoutField =
    &common::PythonSettings::restrictStdout;
constexpr bool common::PythonSettings::*kRestrictSignalField =
    &common::PythonSettings::restrictSignal;
constexpr bool common::PythonSettings::*kDestroyInterpreterField =
    &common::PythonSettings::destroyInterpreter;
constexpr bool common::PythonSettings::*kWriteBytecodeField =
    &common::PythonSettings::writeBytecode;

// The HookScript fields of setHookScript's directives (cmd->info points at one).
constexpr const HookScript* DirConfig::*kAccessScriptField = &DirConfig::accessScript;
constexpr const HookScript* DirConfig::*kAuthUserScriptField = &DirConfig::authUserScript;
constexpr const HookScript* DirConfig::*kAuthGroupScriptField = &DirConfig::authGroupScript;
constexpr const HookScript* DirConfig::*kDispatchScriptField = &DirConfig::dispatchScript;

// The Flag fields of setDirFlag's directives (cmd->info points at one).
constexpr Flag DirConfig::*kScriptReloadingField = &DirConfig::scriptReloading;
constexpr Flag DirConfig::*kErrorOverrideField = &DirConfig::errorOverride;
constexpr Flag DirConfig::*kEnableSendfileField = &DirConfig::enableSendfile;
constexpr Flag DirConfig::*kIgnoreActivityField = &DirConfig::ignoreActivity;

template <typename Fn>
cmd_func asCmd(Fn* fn) noexcept {
    // httpd's command_rec stores every handler as `const char *(*)()` when compiled as C++ (no
    // designated initializers) and calls it back with the signature its args_how promises. The
    // detour through void(*)() is the cast -Wcast-function-type documents as intentional.
    return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(fn));
}

}  // namespace

const command_rec kDirectives[] = {
    AP_INIT_RAW_ARGS("WSGIScriptAlias", asCmd(setScriptAlias), nullptr, RSRC_CONF,
                     "URL-path file-path [process-group=NAME] [application-group=NAME] "
                     "[callable-object=NAME] [pass-authorization=On|Off]"),
    AP_INIT_RAW_ARGS("WSGIScriptAliasMatch", asCmd(setScriptAlias), const_cast<char*>("regex"),
                     RSRC_CONF,
                     "regex file-path [process-group=NAME] [application-group=NAME] "
                     "[callable-object=NAME] [pass-authorization=On|Off]; $N in file-path and "
                     "options are the expression's groups"),
    AP_INIT_RAW_ARGS("WSGIHandlerScript", asCmd(setHandlerScript), nullptr, RSRC_CONF | ACCESS_CONF,
                     "name file-path [process-group=NAME] [application-group=NAME] "
                     "[pass-authorization=On|Off]: SetHandler name runs the script's "
                     "handle_request"),
    AP_INIT_ITERATE("WSGIRestrictProcess", asCmd(addRestrictProcess), nullptr,
                    RSRC_CONF | ACCESS_CONF,
                    "the daemon process groups (names or %{GLOBAL}) requests here may use"),
    AP_INIT_FLAG("WSGIScriptReloading", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kScriptReloadingField)), OR_FILEINFO,
                 "On (default): reload a WSGI script whose modification time changed"),
    AP_INIT_TAKE1("WSGIMapHEADToGET", asCmd(setMapHeadToGet), nullptr, OR_FILEINFO,
                  "On, Off or Auto (default): show HEAD requests to the app as GET"),
    AP_INIT_FLAG("WSGIErrorOverride", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kErrorOverrideField)), OR_FILEINFO,
                 "On: a 4xx/5xx response of the app is replaced by httpd's (ErrorDocument)"),
    AP_INIT_FLAG("WSGIEnableSendfile", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kEnableSendfileField)), OR_FILEINFO,
                 "On: wsgi.file_wrapper responses may be sent with sendfile"),
    AP_INIT_FLAG("WSGIIgnoreActivity", asCmd(setDirFlag),
                 const_cast<void*>(static_cast<const void*>(&kIgnoreActivityField)), OR_FILEINFO,
                 "On: requests here do not count as activity for inactivity-timeout="),
    AP_INIT_RAW_ARGS("WSGIAccessScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kAccessScriptField)), OR_AUTHCFG,
                     "file-path [application-group=NAME]: its allow_access(environ, host) "
                     "decides access, run in the request's daemon group"),
    AP_INIT_RAW_ARGS("WSGIAuthUserScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kAuthUserScriptField)), OR_AUTHCFG,
                     "file-path [application-group=NAME]: check_password/get_realm_hash of "
                     "AuthBasicProvider/AuthDigestProvider wsgi"),
    AP_INIT_RAW_ARGS("WSGIAuthGroupScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kAuthGroupScriptField)),
                     OR_AUTHCFG,
                     "file-path [application-group=NAME]: groups_for_user of Require wsgi-group"),
    AP_INIT_RAW_ARGS("WSGITrustedProxyHeaders", asCmd(setTrustedProxyHeaders), nullptr, OR_FILEINFO,
                     "proxy headers (X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, "
                     "Forwarded, ...) that rewrite the environ when the peer is trusted"),
    AP_INIT_RAW_ARGS("WSGITrustedProxies", asCmd(setTrustedProxies), nullptr, OR_FILEINFO,
                     "addresses or networks of the proxies whose headers are trusted"),
    AP_INIT_RAW_ARGS("WSGIDispatchScript", asCmd(setHookScript),
                     const_cast<void*>(static_cast<const void*>(&kDispatchScriptField)),
                     RSRC_CONF | ACCESS_CONF,
                     "file-path [application-group=NAME]: its process_group/application_group/"
                     "callable_object(environ) reroute each request, run in the request's daemon "
                     "group"),
    AP_INIT_RAW_ARGS("WSGIDaemonProcess", asCmd(setDaemonProcess), nullptr, RSRC_CONF,
                     "NAME [option=value ...]: a daemon process group"),
    AP_INIT_TAKE1("WSGIProcessGroup", asCmd(setProcessGroup), nullptr, RSRC_CONF | ACCESS_CONF,
                  "the daemon process group of these requests"),
    AP_INIT_TAKE1("WSGIApplicationGroup", asCmd(setApplicationGroup), nullptr,
                  RSRC_CONF | ACCESS_CONF,
                  "the Python interpreter (%{GLOBAL}, %{RESOURCE}, %{SERVER}, %{HOST}, "
                  "%{ENV:name} or a name) of these requests"),
    AP_INIT_TAKE1("WSGICallableObject", asCmd(setCallableObject), nullptr, OR_FILEINFO,
                  "name of the WSGI callable in the script (default: application)"),
    AP_INIT_FLAG("WSGIPassAuthorization", asCmd(setPassAuthorization), nullptr, OR_FILEINFO,
                 "On: pass the Authorization header to the application as HTTP_AUTHORIZATION"),
    AP_INIT_FLAG("WSGIChunkedRequest", asCmd(setChunkedRequest), nullptr, OR_FILEINFO,
                 "On: accept request bodies with Transfer-Encoding: chunked"),
    AP_INIT_TAKE1("WSGISocketPrefix", asCmd(setSocketPrefix), nullptr, RSRC_CONF,
                  "path prefix of the daemon sockets (relative to ServerRoot)"),
    AP_INIT_TAKE1("WSGIPythonHome", asCmd(setPythonHome), nullptr, RSRC_CONF,
                  "Python home (virtualenv) of daemon groups without python-home="),
    AP_INIT_TAKE1("WSGIPythonPath", asCmd(setPythonPath), nullptr, RSRC_CONF,
                  "colon-separated sys.path entries of the implicit default group"),
    AP_INIT_TAKE1("WSGIDaemonProgram", asCmd(setDaemonProgram), nullptr, RSRC_CONF,
                  "path of the wsgid-daemon executable (default: the installed one)"),
    AP_INIT_RAW_ARGS("WSGIImportScript", asCmd(setImportScript), nullptr, RSRC_CONF,
                     "file-path process-group=NAME application-group=NAME: load at process "
                     "start"),
    AP_INIT_TAKE1("WSGIPythonOptimize", asCmd(setPythonOptimize), nullptr, RSRC_CONF,
                  "0, 1 or 2: Python's -O level in every daemon (default 0)"),
    AP_INIT_FLAG("WSGIDontWriteBytecode", asCmd(setDontWriteBytecode),
                 const_cast<void*>(static_cast<const void*>(&kWriteBytecodeField)), RSRC_CONF,
                 "On: daemons write no .pyc files (default Off)"),
    AP_INIT_TAKE1("WSGIPythonWarnings", asCmd(addPythonWarnings), nullptr, RSRC_CONF,
                  "a warnings filter as for python -W (repeatable)"),
    AP_INIT_TAKE1("WSGIPythonHashSeed", asCmd(setPythonHashSeed), nullptr, RSRC_CONF,
                  "random (default) or 0-4294967295: Python's hash seed in every daemon"),
    AP_INIT_FLAG("WSGIRestrictStdin", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kRestrictStdinField)), RSRC_CONF,
                 "On: using sys.stdin raises OSError (default Off)"),
    AP_INIT_FLAG("WSGIRestrictStdout", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kRestrictStdoutField)), RSRC_CONF,
                 "On: using sys.stdout raises OSError; Off (default): it writes to the error log"),
    AP_INIT_FLAG("WSGIRestrictSignal", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kRestrictSignalField)), RSRC_CONF,
                 "On (default): signal.signal() is logged and ignored"),
    AP_INIT_FLAG("WSGICaseSensitivity", asCmd(setCaseSensitivity), nullptr, RSRC_CONF,
                 "Off: script paths and %{RESOURCE} names are compared in lower case"),
    AP_INIT_FLAG("WSGIDestroyInterpreter", asCmd(setPythonFlag),
                 const_cast<void*>(static_cast<const void*>(&kDestroyInterpreterField)), RSRC_CONF,
                 "Off: a stopping daemon does not end its interpreters or finalize Python"),
    AP_INIT_TAKE1("WSGIPythonEggs", asCmd(setPythonEggs), nullptr, RSRC_CONF,
                  "PYTHON_EGG_CACHE of the implicit default group (daemon groups: python-eggs=)"),
    AP_INIT_RAW_ARGS("<WSGIInterpreterOptions", asCmd(openInterpreterOptions), nullptr, RSRC_CONF,
                     "[process-group=G] [application-group=A]: Python settings for the matching "
                     "interpreters only"),
    AP_INIT_TAKE1("WSGISwitchInterval", asCmd(setSwitchInterval), nullptr, RSRC_CONF,
                  "seconds (a positive number): sys.setswitchinterval() in every daemon"),
    AP_INIT_FLAG("WSGIPerInterpreterGIL", asCmd(ignoreUnlessOn),
                 const_cast<char*>("needs Python 3.12 or later; sub-interpreters share the GIL"),
                 RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIFreeThreading", asCmd(ignoreUnlessOn),
                 const_cast<char*>("needs a free-threaded Python build; the GIL stays on"),
                 RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIServerMetrics", asCmd(ignoreFlag),
                 const_cast<char*>("mod_wsgi.server_metrics() is not provided"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_RAW_ARGS("WSGITelemetryService", asCmd(ignoreRaw),
                     const_cast<char*>("mod_wsgi 6's telemetry datagrams are not sent"), RSRC_CONF,
                     "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_TAKE1("WSGISlowRequests", asCmd(ignoreValue),
                  const_cast<char*>("mod_wsgi 6's telemetry records are not sent"), RSRC_CONF,
                  "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_RAW_ARGS("WSGITelemetryOptions", asCmd(ignoreRaw),
                     const_cast<char*>("mod_wsgi 6's telemetry records are not sent"), RSRC_CONF,
                     "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_TAKE1("WSGINewRelicConfigFile", asCmd(ignoreValue),
                  const_cast<char*>("start the New Relic agent from the WSGI script instead"),
                  RSRC_CONF, "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_TAKE1("WSGINewRelicEnvironment", asCmd(ignoreValue),
                  const_cast<char*>("start the New Relic agent from the WSGI script instead"),
                  RSRC_CONF, "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_FLAG("WSGIPy3kWarningFlag", asCmd(ignoreFlag),
                 const_cast<char*>("it only existed for Python 2"), RSRC_CONF,
                 "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_FLAG("WSGIPassApacheRequest", asCmd(ignoreDirFlag),
                 const_cast<char*>("Python never runs inside httpd, so there is no request_rec "
                                   "to pass (environ['apache.request_rec'] is absent)"),
                 RSRC_CONF | ACCESS_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIGroupAuthoritative", asCmd(ignoreDirFlag),
                 const_cast<char*>("it has no effect on Apache 2.4 (in mod_wsgi neither)"),
                 OR_AUTHCFG, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIUserAuthoritative", asCmd(ignoreDirFlag),
                 const_cast<char*>("it only existed for Apache 2.2"), OR_AUTHCFG,
                 "accepted for mod_wsgi 4 compatibility; no effect"),
    AP_INIT_FLAG("WSGIRestrictEmbedded", asCmd(ignoreFlag),
                 const_cast<char*>("mod_wsgid never runs Python inside Apache"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGILazyInitialization", asCmd(ignoreFlag),
                 const_cast<char*>("Python is never initialised in the Apache parent"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGISocketRotation", asCmd(ignoreFlag),
                 const_cast<char*>("daemon sockets always keep their name across graceful "
                                   "restarts, which is what Off means in mod_wsgi"),
                 RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_TAKE1("WSGIAcceptMutex", asCmd(ignoreValue),
                  const_cast<char*>("daemon processes accept without a cross-process lock"),
                  RSRC_CONF, "accepted for mod_wsgi compatibility; no effect"),
    AP_INIT_FLAG("WSGIVerboseDebugging", asCmd(ignoreFlag),
                 const_cast<char*>("use LogLevel wsgid:debug instead"), RSRC_CONF,
                 "accepted for mod_wsgi compatibility; no effect"),
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
};

}  // namespace wsgid::apache
