// SPDX-License-Identifier: Apache-2.0
// WSGIScriptAlias(Match) mapping in translate_name (see script_alias_mapping.h): ap_regexec for
// the Match form, the pure rules of path_rules.h, the RouteNote in r->request_config.
#include "apache/script_alias_mapping.h"

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "apache/c_boundary.h"
#include "apache/c_string.h"
#include "apache/httpd_includes.h"
#include "apache/path_rules.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

int translateNameImpl(request_rec* r) {
    // Forward-proxy requests and "OPTIONS *" are not local paths.
    if (r->proxyreq != PROXYREQ_NONE || r->uri == nullptr || r->uri[0] != '/') {
        return DECLINED;
    }
    const ServerConfig* sconf = getServerConfig(r->server);
    if (sconf == nullptr || sconf->aliases == nullptr || sconf->aliases->nelts == 0) {
        return DECLINED;
    }
    if (sconf->aliases->elt_size != static_cast<int>(sizeof(ScriptAlias))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0101: WSGIScriptAlias table has elements of %d bytes, expected %d",
                      sconf->aliases->elt_size, static_cast<int>(sizeof(ScriptAlias)));
        return DECLINED;
    }
    const std::span<const ScriptAlias> aliases(
        reinterpret_cast<const ScriptAlias*>(sconf->aliases->elts),
        static_cast<std::size_t>(sconf->aliases->nelts));
    const std::string_view uri = r->uri;
    const RegexMatcher matcher = [r](const ScriptAlias& alias,
                                     std::string_view /*uri*/) -> std::optional<RegexMatch> {
        std::array<ap_regmatch_t, AP_MAX_REG_MATCH> m{};
        if (ap_regexec(static_cast<const ap_regex_t*>(alias.regex), r->uri, m.size(), m.data(),
                       0) != 0) {
            return std::nullopt;
        }
        RegexMatch out;
        out.captures.reserve(m.size());
        for (const ap_regmatch_t& g : m) {
            if (g.rm_so < 0 || g.rm_eo < g.rm_so) {
                out.captures.emplace_back(std::nullopt);
            } else {
                out.captures.emplace_back(std::pair{static_cast<std::size_t>(g.rm_so),
                                                    static_cast<std::size_t>(g.rm_eo)});
            }
        }
        return out;
    };
    const auto match = findAlias(aliases, uri, matcher);
    if (!match) {
        return DECLINED;
    }
    const ScriptAlias& alias = aliases[match->index];
    auto* note = static_cast<RouteNote*>(apr_pcalloc(r->pool, sizeof(RouteNote)));
    note->route = alias;
    std::string targetPath = orEmpty(alias.target);
    if (alias.regex != nullptr) {
        targetPath = substituteCaptures(targetPath, uri, match->captures);
        auto substitute = [&](const char*& option, unsigned char bit) {
            if (option != nullptr && hasCaptureReference(option)) {
                const std::string v = substituteCaptures(option, uri, match->captures);
                option = apr_pstrmemdup(r->pool, v.data(), v.size());
                note->literal |= bit;
            }
        };
        substitute(note->route.processGroup, kLiteralProcessGroup);
        substitute(note->route.applicationGroup, kLiteralApplicationGroup);
        substitute(note->route.callableObject, kLiteralCallable);
    }
    const ScriptTarget target = resolveTarget(targetPath, uri, match->matchedLength);
    const ScriptPath path = splitAtMount(uri, target.matchedLength);
    note->scriptName = apr_pstrmemdup(r->pool, path.scriptName.data(), path.scriptName.size());
    note->pathInfo = apr_pstrmemdup(r->pool, path.pathInfo.data(), path.pathInfo.size());
    ap_set_module_config(r->request_config, &wsgid_module, note);
    r->filename = apr_pstrmemdup(r->pool, target.filename.data(), target.filename.size());
    r->handler = kWsgiScriptHandler;
    return OK;
}

}  // namespace

int translateName(request_rec* r) noexcept {
    return guardedRequest(r, "translate_name", HTTP_INTERNAL_SERVER_ERROR,
                          [r] { return translateNameImpl(r); });
}

const RouteNote* routeNoteOf(const request_rec* r) noexcept {
    return static_cast<const RouteNote*>(ap_get_module_config(r->request_config, &wsgid_module));
}

}  // namespace wsgid::apache
