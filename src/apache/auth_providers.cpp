// SPDX-License-Identifier: Apache-2.0
// The authn/authz providers and the access checker of mod_wsgi's authentication scripts (see
// auth_providers.h). Thin httpd glue: the call is callDaemonHook, the rules auth_rules.h; each
// entry point httpd calls guards its body with guardedRequest (WG0100).
#include "apache/auth_providers.h"

#include <optional>
#include <string>
#include <vector>

#include "apache/auth_rules.h"
#include "apache/c_boundary.h"
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/handler.h"
#include "apache/httpd_includes.h"
#include "common/hook_result.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

using common::HookResult;
using Kind = HookResult::Kind;

/// The answer of a hook, or nothing (logged, WG0157) when the call failed. May throw
/// std::bad_alloc: each provider entry point guards its body (guardedRequest, WG0100).
std::optional<HookResult> ask(request_rec* r, const HookScript& script, std::string_view hook,
                              std::vector<protocol::EnvEntry>&& args) {
    auto answer = callDaemonHook(r, script, hook, std::move(args));
    if (answer) {
        return std::move(answer.value());
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "WG0157: %s of %s for %s: %s",
                  std::string(hook).c_str(), script.script, orEmpty(r->uri),
                  answer.status().message().c_str());
    return std::nullopt;
}

const DirConfig* dirOf(const request_rec* r) noexcept {
    return getDirConfig(r->per_dir_config);
}

/// The user script of the request, or nullptr (logged: the provider is used without one).
const HookScript* userScript(request_rec* r) noexcept {
    const DirConfig* d = dirOf(r);
    if (d == nullptr || d->authUserScript == nullptr) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0156: the authn provider 'wsgi' is used for %s but no "
                      "WSGIAuthUserScript applies there",
                      orEmpty(r->uri));
        return nullptr;
    }
    return d->authUserScript;
}

authn_status checkPassword(request_rec* r, const char* user, const char* password) noexcept {
    return guardedRequest(r, common::kCheckPassword, AUTH_GENERAL_ERROR, [&]() -> authn_status {
        const HookScript* script = userScript(r);
        if (script == nullptr) {
            return AUTH_GENERAL_ERROR;
        }
        std::optional<HookResult> answer = ask(r, *script, common::kCheckPassword,
                                               {{std::string(common::kHookUserKey), user},
                                                {std::string(common::kHookPasswordKey), password}});
        if (!answer) {
            return AUTH_GENERAL_ERROR;
        }
        switch (answer->kind) {
            case Kind::Allow:
                return AUTH_GRANTED;
            case Kind::Deny:
                return AUTH_DENIED;
            case Kind::None:
                return AUTH_USER_NOT_FOUND;
            case Kind::User:
                // mod_wsgi: a str answer is the user name from now on.
                r->user = apr_pstrmemdup(r->pool, answer->value.data(), answer->value.size());
                return AUTH_GRANTED;
            case Kind::Hash:
            case Kind::Groups:
            case Kind::Dispatch:
                break;
        }
        return AUTH_GENERAL_ERROR;
    });
}

authn_status getRealmHash(request_rec* r, const char* user, const char* realm,
                          char** hash) noexcept {
    return guardedRequest(r, common::kGetRealmHash, AUTH_GENERAL_ERROR, [&]() -> authn_status {
        const HookScript* script = userScript(r);
        if (script == nullptr) {
            return AUTH_GENERAL_ERROR;
        }
        std::optional<HookResult> answer = ask(r, *script, common::kGetRealmHash,
                                               {{std::string(common::kHookUserKey), user},
                                                {std::string(common::kHookRealmKey), realm}});
        if (!answer) {
            return AUTH_GENERAL_ERROR;
        }
        if (answer->kind == Kind::None) {
            return AUTH_USER_NOT_FOUND;
        }
        if (answer->kind != Kind::Hash) {
            return AUTH_GENERAL_ERROR;
        }
        *hash = apr_pstrmemdup(r->pool, answer->value.data(), answer->value.size());
        return AUTH_USER_FOUND;
    });
}

authz_status checkGroups(request_rec* r, const char* requireArgs,
                         const void* /*parsedRequireLine*/) noexcept {
    return guardedRequest(r, common::kGroupsForUser, AUTHZ_GENERAL_ERROR, [&]() -> authz_status {
        if (r->user == nullptr) {
            return AUTHZ_DENIED_NO_USER;
        }
        const DirConfig* d = dirOf(r);
        if (d == nullptr || d->authGroupScript == nullptr) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0158: 'Require wsgi-group' is used for %s but no WSGIAuthGroupScript "
                          "applies there",
                          orEmpty(r->uri));
            return AUTHZ_DENIED;
        }
        std::optional<HookResult> answer = ask(r, *d->authGroupScript, common::kGroupsForUser,
                                               {{std::string(common::kHookUserKey), r->user}});
        if (!answer || answer->kind != Kind::Groups) {
            return AUTHZ_GENERAL_ERROR;
        }
        if (groupsSatisfy(orEmpty(requireArgs), answer->groups)) {
            return AUTHZ_GRANTED;
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "WG0159: user '%s' is in none of the groups '%s' require for %s", r->user,
                      orEmpty(requireArgs), orEmpty(r->uri));
        return AUTHZ_DENIED;
    });
}

const authn_provider kAuthnProvider = {&checkPassword, &getRealmHash};
const authz_provider kAuthzProvider = {&checkGroups, nullptr};

}  // namespace

void registerAuthProviders(apr_pool_t* p) noexcept {
    ap_register_auth_provider(p, AUTHN_PROVIDER_GROUP, "wsgi", AUTHN_PROVIDER_VERSION,
                              &kAuthnProvider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "wsgi-group", AUTHZ_PROVIDER_VERSION,
                              &kAuthzProvider, AP_AUTH_INTERNAL_PER_CONF);
}

int accessCheckerHook(request_rec* r) noexcept {
    return guardedRequest(r, common::kAllowAccess, HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
        const DirConfig* d = dirOf(r);
        if (d == nullptr || d->accessScript == nullptr) {
            return DECLINED;
        }
        const char* host = ap_get_useragent_host(r, REMOTE_HOST, nullptr);
        if (host == nullptr) {
            host = r->useragent_ip != nullptr ? r->useragent_ip : "";
        }
        std::optional<HookResult> answer = ask(r, *d->accessScript, common::kAllowAccess,
                                               {{std::string(common::kHookHostKey), host}});
        if (!answer) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        switch (answer->kind) {
            case Kind::Allow:
                return OK;
            case Kind::None:
                return DECLINED;
            case Kind::Deny:
                if (ap_satisfies(r) != SATISFY_ANY || ap_some_auth_required(r) == 0) {
                    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                                  "WG0160: WSGIAccessScript %s denied access to %s for %s",
                                  d->accessScript->script, orEmpty(r->uri), host);
                }
                return HTTP_FORBIDDEN;
            case Kind::User:
            case Kind::Hash:
            case Kind::Groups:
            case Kind::Dispatch:
                break;
        }
        return HTTP_INTERNAL_SERVER_ERROR;
    });
}

}  // namespace wsgid::apache
