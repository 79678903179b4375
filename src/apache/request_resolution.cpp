// SPDX-License-Identifier: Apache-2.0
// What applies to one request: the module configuration of its scope (alias route, handler
// script, directory, server), its script file and SCRIPT_NAME/PATH_INFO, and its Route (daemon
// group, application group, callable and settings). The daemon group itself: group_resolution.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/environ.h"
#include "apache/environ_rules.h"
#include "apache/handler_impl.h"
#include "apache/path_rules.h"
#include "apache/proxy_headers.h"
#include "apache/request_expansion.h"
#include "apache/routing_rules.h"
#include "apache/script_alias_mapping.h"
#include "common/ascii.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

constexpr std::string_view kDefaultCallable = "application";
constexpr std::string_view kDefaultApplicationGroup = "%{RESOURCE}";

/// The callable mod_wsgi calls in a WSGIHandlerScript.
constexpr const char* kHandlerScriptCallable = "handle_request";

/// Whether an output filter before httpd's protocol filters (DEFLATE and the like) works on this
/// request's body, for WSGIMapHEADToGET Auto.
bool hasContentFilter(const request_rec* r) noexcept {
    return r->output_filters != nullptr && r->output_filters->frec != nullptr &&
           r->output_filters->frec->ftype < AP_FTYPE_PROTOCOL;
}

}  // namespace

const char* pick(const char* aliasValue, const char* dirValue, const char* serverValue) noexcept {
    if (aliasValue != nullptr) {
        return aliasValue;
    }
    return dirValue != nullptr ? dirValue : serverValue;
}

Flag pickFlag(Flag a, Flag b, Flag c) noexcept {
    if (a != Flag::Unset) {
        return a;
    }
    return b != Flag::Unset ? b : c;
}

const HandlerScript* findHandlerScript(const request_rec* r) noexcept {
    const DirConfig* dconf = getDirConfig(r->per_dir_config);
    if (r->handler == nullptr || dconf == nullptr || dconf->handlerScripts == nullptr) {
        return nullptr;
    }
    const auto* scripts = reinterpret_cast<const HandlerScript*>(dconf->handlerScripts->elts);
    for (int i = 0; i < dconf->handlerScripts->nelts; ++i) {
        // SetHandler and AddHandler lower-case the handler names they set.
        if (scripts[i].name != nullptr && common::equalsIgnoreCase(scripts[i].name, r->handler)) {
            return &scripts[i];
        }
    }
    return nullptr;
}

RequestConfig requestConfigOf(const request_rec* r, const RouteNote* note,
                              const HandlerScript* handlerScript) noexcept {
    static constexpr DirConfig kNoDir{.processGroup = nullptr,
                                      .applicationGroup = nullptr,
                                      .callableObject = nullptr,
                                      .passAuthorization = Flag::Unset,
                                      .chunkedRequest = Flag::Unset,
                                      .handlerScripts = nullptr,
                                      .restrictProcess = nullptr,
                                      .scriptReloading = Flag::Unset,
                                      .mapHeadToGet = HeadMapping::Unset,
                                      .errorOverride = Flag::Unset,
                                      .enableSendfile = Flag::Unset,
                                      .ignoreActivity = Flag::Unset,
                                      .trustedProxyHeaders = nullptr,
                                      .trustedProxies = nullptr,
                                      .accessScript = nullptr,
                                      .authUserScript = nullptr,
                                      .authGroupScript = nullptr,
                                      .dispatchScript = nullptr};
    static constexpr ServerConfig kNoServer{.aliases = nullptr,
                                            .processGroup = nullptr,
                                            .applicationGroup = nullptr,
                                            .passAuthorization = Flag::Unset,
                                            .chunkedRequest = Flag::Unset};
    static constexpr ScriptAlias kNoRoute{.urlPath = nullptr,
                                          .target = nullptr,
                                          .processGroup = nullptr,
                                          .applicationGroup = nullptr,
                                          .callableObject = nullptr,
                                          .passAuthorization = Flag::Unset,
                                          .regex = nullptr};
    const DirConfig* dconf = getDirConfig(r->per_dir_config);
    const ServerConfig* sconf = getServerConfig(r->server);
    RequestConfig conf{.route = note != nullptr ? note->route : kNoRoute,
                       .literal = note != nullptr ? note->literal : static_cast<unsigned char>(0),
                       .handlerScript = handlerScript,
                       .dir = dconf != nullptr ? *dconf : kNoDir,
                       .server = sconf != nullptr ? *sconf : kNoServer};
    if (handlerScript != nullptr) {
        // mod_wsgi's fixed entry point of handler scripts; WSGICallableObject does not apply.
        conf.route.processGroup = handlerScript->processGroup;
        conf.route.applicationGroup = handlerScript->applicationGroup;
        conf.route.callableObject = kHandlerScriptCallable;
        conf.route.passAuthorization = handlerScript->passAuthorization;
    }
    return conf;
}

Step<ScriptPath> resolveScript(request_rec* r, const RouteNote* note, bool handlerScript) {
    ScriptPath path;
    if (note != nullptr) {
        path.scriptName = note->scriptName;
        path.pathInfo = note->pathInfo;
    } else {
        // SetHandler/AddHandler wsgi-script: like CGI, only where ExecCGI is allowed.
        if (!handlerScript && (ap_allow_options(r) & OPT_EXECCGI) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0105: Options ExecCGI is off in this directory: %s",
                          orEmpty(r->filename));
            return Step<ScriptPath>::stop(HTTP_FORBIDDEN);
        }
        if (r->used_path_info == AP_REQ_REJECT_PATH_INFO && r->path_info != nullptr &&
            *r->path_info != '\0') {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0152: AcceptPathInfo Off refuses the path info '%s' of %s",
                          r->path_info, orEmpty(r->filename));
            return Step<ScriptPath>::stop(HTTP_NOT_FOUND);
        }
        path = splitByPathInfo(orEmpty(r->uri), orEmpty(r->path_info));
        if (handlerScript) {
            return {.value = std::move(path)};
        }
    }
    // For an alias, httpd's directory walk moves whatever part of the target does not exist
    // into r->path_info: then the script is missing.
    const bool aliasTargetMissing =
        note != nullptr && r->path_info != nullptr && *r->path_info != '\0';
    if (r->filename == nullptr || r->finfo.filetype == APR_NOFILE || aliasTargetMissing) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "WG0103: target WSGI script not found or unable to stat: %s%s",
                      orEmpty(r->filename), aliasTargetMissing ? r->path_info : "");
        return Step<ScriptPath>::stop(HTTP_NOT_FOUND);
    }
    if (r->finfo.filetype != APR_REG) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0104: target WSGI script is not a regular file: %s", r->filename);
        return Step<ScriptPath>::stop(HTTP_FORBIDDEN);
    }
    return {.value = std::move(path)};
}

Step<Route> resolveRoute(request_rec* r, const GroupRegistry& registry, const RequestConfig& conf,
                         ScriptPath&& path) {
    const RequestExpansion expansion(r, registry.python.caseSensitive, path.scriptName);
    const ExpansionContext& ctx = expansion.context();
    const Step<const DaemonGroup*> group = resolveGroup(r, registry, conf, ctx);
    if (!group.value) {
        return Step<Route>::stop(group.status);
    }
    const char* appSpec =
        pick(conf.route.applicationGroup, conf.dir.applicationGroup, conf.server.applicationGroup);
    const char* callableSpec = pick(conf.route.callableObject, conf.dir.callableObject, nullptr);
    const auto* core =
        static_cast<const core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
    Route route{.group = *group.value, .routing = {}};
    RequestRouting& routing = route.routing;
    routing.applicationGroup =
        appSpec != nullptr ? expandOption(appSpec,
                                          appSpec == conf.route.applicationGroup &&
                                              (conf.literal & kLiteralApplicationGroup) != 0,
                                          ctx)
                           : expandGroupSpec(kDefaultApplicationGroup, ctx);
    routing.callableObject = callableSpec != nullptr
                                 ? expandOption(callableSpec,
                                                callableSpec == conf.route.callableObject &&
                                                    (conf.literal & kLiteralCallable) != 0,
                                                ctx)
                                 : std::string(kDefaultCallable);
    routing.processGroup = route.group->name;
    routing.passAuthorization =
        flagValue(pickFlag(conf.route.passAuthorization, conf.dir.passAuthorization,
                           conf.server.passAuthorization),
                  false) ||
        (core != nullptr && core->cgi_pass_auth == AP_CGI_PASS_AUTH_ON);
    if (conf.handlerScript != nullptr) {
        routing.handlerScript = conf.handlerScript->script;
    }
    if (headShownAsGet(conf.dir.mapHeadToGet, r->header_only != 0, hasContentFilter(r))) {
        routing.requestMethod = "GET";
    }
    routing.scriptReloading = flagValue(conf.dir.scriptReloading, true);
    routing.enableSendfile = flagValue(conf.dir.enableSendfile, true);
    routing.ignoreActivity = flagValue(conf.dir.ignoreActivity, false);
    if (const apr_array_header_t* h = conf.dir.trustedProxyHeaders; h != nullptr) {
        routing.proxyTrust.headers = std::span<const char* const>(
            reinterpret_cast<const char* const*>(h->elts), static_cast<std::size_t>(h->nelts));
    }
    if (const apr_array_header_t* p = conf.dir.trustedProxies; p != nullptr) {
        routing.proxyTrust.proxies = std::span<const IpNetwork>(
            reinterpret_cast<const IpNetwork*>(p->elts), static_cast<std::size_t>(p->nelts));
        routing.proxyTrust.proxiesListed = true;
    }
    // Last: ctx views path.scriptName.
    routing.scriptName = std::move(path.scriptName);
    routing.pathInfo = std::move(path.pathInfo);
    return {.value = std::move(route)};
}

}  // namespace wsgid::apache
