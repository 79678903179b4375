// SPDX-License-Identifier: Apache-2.0
// Handlers of the per-directory request settings (directory_directives.h): parse with
// config_parse and proxy_headers, store into the per-directory (and server) records.
#include "apache/directory_directives.h"

#include <string>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/directive_context.h"
#include "apache/httpd_includes.h"
#include "apache/proxy_headers.h"

namespace wsgid::apache {

namespace {

/// On/Off directives kept in both records like setGroup().
void setFlag(cmd_parms* cmd, Flag DirConfig::*dirField, Flag ServerConfig::*serverField,
             void* mconfig, int on) {
    const Flag flag = on != 0 ? Flag::On : Flag::Off;
    static_cast<DirConfig*>(mconfig)->*dirField = flag;
    if (cmd->path == nullptr) {
        serverConfigOf(cmd)->*serverField = flag;
    }
}

}  // namespace

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

}  // namespace wsgid::apache
