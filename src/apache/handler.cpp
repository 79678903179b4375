// SPDX-License-Identifier: Apache-2.0
// The content handler inside httpd children: resolves a request's script, group and route,
// relays it to its daemon group, and keeps the per-child connection pool. The alias mapping is in
// script_alias_mapping, %{...} expansion in request_expansion, the end of a relay in relay_finish;
// pure rules in path_rules/environ_rules; the wire protocol session in daemon_connection,
// connection_pool and relay.
#include "apache/handler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "apache/httpd_includes.h"
#include "apache/jail_path.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/apache_body_source.h"
#include "apache/apache_response_sink.h"
#include "apache/apr_raii.h"
#include "apache/c_boundary.h"
#include "apache/c_string.h"
#include "apache/collecting_sink.h"
#include "apache/config.h"
#include "apache/connection_pool.h"
#include "apache/daemon_connection.h"
#include "apache/empty_body_source.h"
#include "apache/environ.h"
#include "apache/environ_rules.h"
#include "apache/in_flight_limit.h"
#include "apache/path_rules.h"
#include "apache/relay.h"
#include "apache/relay_finish.h"
#include "apache/request_attempts.h"
#include "apache/request_expansion.h"
#include "apache/routing_rules.h"
#include "apache/script_alias_mapping.h"
#include "common/ascii.h"
#include "common/socket_buffers.h"
#include "protocol/response.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

constexpr const char* kWsgiMimeHandler = "application/x-httpd-wsgi";
constexpr std::string_view kDefaultCallable = "application";
constexpr std::string_view kDefaultApplicationGroup = "%{RESOURCE}";
/// The callable mod_wsgi calls in a WSGIHandlerScript.
constexpr const char* kHandlerScriptCallable = "handle_request";

/// Per-child state: the connection pool, the registry of this configuration generation, and the
/// child's row of the shared request counters (max-in-flight=).
struct ChildState {
    ChildState(const GroupRegistry& r, server_rec* s) : registry(&r), inFlight(r, s) {}
    ConnectionPool pool;
    const GroupRegistry* registry = nullptr;
    ChildInFlight inFlight;
};

/// Set in childInit, cleared by pchild's cleanup. A raw atomic pointer (trivially destructible,
/// so no static destructor runs at DSO unload); handlers read it concurrently.
std::atomic<ChildState*> gChildState{nullptr};

apr_status_t clearChildState(void* /*unused*/) noexcept {
    gChildState.store(nullptr);
    return APR_SUCCESS;
}

/// First non-null of an alias option, a directory setting and a server setting.
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

/// The application's I/O timeout: socket-timeout= of the group, else the server's Timeout.
std::chrono::milliseconds ioTimeoutFor(const DaemonGroup& group, const request_rec* r) {
    if (group.socketTimeout) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(*group.socketTimeout);
    }
    return std::chrono::milliseconds(apr_time_as_msec(r->server->timeout));
}

/// How long a new connection may wait for a daemon process to take it: what is left of the
/// request's queue-timeout (measured, as in mod_wsgi, from when httpd received the request), or
/// without one the I/O timeout. At least a millisecond, so an expired budget fails promptly.
std::chrono::milliseconds acceptTimeoutFor(const DaemonGroup& group, const request_rec* r) {
    if (group.queueTimeout.count() == 0) {
        return ioTimeoutFor(group, r);
    }
    const apr_time_t deadline = r->request_time + apr_time_from_sec(group.queueTimeout.count());
    const apr_time_t left = deadline - apr_time_now();
    return std::chrono::milliseconds(std::max<apr_time_t>(1, apr_time_as_msec(left)));
}

/// What a step of the handler decided: a value to go on with, or the status (an HTTP status or
/// DECLINED) the handler returns at once.
template <typename T>
struct Step {
    std::optional<T> value;
    int status = OK;

    static Step stop(int status) { return Step{.value = std::nullopt, .status = status}; }
};

/// The module's configuration that applies to one request: its route (the alias that mapped it,
/// a WSGIHandlerScript, or none), the directory record and the server record, with empty records
/// standing in for missing ones.
struct RequestConfig {
    ScriptAlias route;
    unsigned char literal = 0;  ///< LiteralOption bits of route's options
    const HandlerScript* handlerScript = nullptr;
    const DirConfig& dir;
    const ServerConfig& server;
};

/// The WSGIHandlerScript that r->handler names in this request's scope, if any.
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

/// The script file of the request and its SCRIPT_NAME/PATH_INFO: from the alias translateName
/// matched, or (SetHandler/AddHandler wsgi-script) from httpd's own mapping, where ExecCGI must be
/// allowed. 404 when the script does not exist, 403 when it is no regular file. A
/// WSGIHandlerScript request needs neither (the handler script serves whatever was asked for).
/// 404 for path info under AcceptPathInfo Off, as mod_wsgi.
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

/// Where a request runs and what it calls: the daemon group, and the routing of its RequestHead
/// (SCRIPT_NAME/PATH_INFO, interpreter, callable, settings; contentLength is filled in later).
struct Route {
    const DaemonGroup* group = nullptr;
    RequestRouting routing;
};

/// Why a process-group value cannot take a request (see checkGroup).
enum class GroupCheck { Ok, Restricted, Unknown, OtherServer, ServiceOnly, NoSocket };

/// A process-group value checked for a request: the group it names when usable.
struct CheckedGroup {
    GroupCheck check = GroupCheck::Unknown;
    std::string name;  ///< the expanded value, the default group's name for "" (%{GLOBAL})
    const DaemonGroup* group = nullptr;
};

/// Whether the (expanded) process-group value `groupName` may take request `r`: WSGIRestrictProcess
/// lists it, such a group exists, it is not another virtual host's, it takes requests (not
/// threads=0) and it has a socket. The rule of WSGIProcessGroup values and of
/// WSGIDispatchScript's process_group() answers alike.
CheckedGroup checkGroup(const request_rec* r, const GroupRegistry& registry,
                        const RequestConfig& conf, std::string groupName) {
    CheckedGroup out{.check = GroupCheck::Ok, .name = std::move(groupName), .group = nullptr};
    if (const apr_array_header_t* allowed = conf.dir.restrictProcess; allowed != nullptr) {
        const std::span<const char* const> names(
            reinterpret_cast<const char* const*>(allowed->elts),
            static_cast<std::size_t>(allowed->nelts));
        if (!processGroupAllowed(names, out.name)) {
            out.check = GroupCheck::Restricted;
            return out;
        }
    }
    if (out.name.empty()) {
        out.name = GroupRegistry::kDefaultGroupName;
    }
    out.group = registry.find(out.name);
    if (out.group == nullptr) {
        out.check = GroupCheck::Unknown;
    } else if (!out.group->serverName.empty() &&
               out.group->serverName != orEmpty(r->server->server_hostname)) {
        out.check = GroupCheck::OtherServer;
    } else if (out.group->threads == 0) {
        out.check = GroupCheck::ServiceOnly;
    } else if (out.group->socketPath.empty()) {
        out.check = GroupCheck::NoSocket;
    }
    return out;
}

/// Why checkGroup refused a group, to follow its name in a log line.
const char* whyRefused(GroupCheck check) noexcept {
    switch (check) {
        case GroupCheck::Ok:
            break;
        case GroupCheck::Restricted:
            return "is not one WSGIRestrictProcess allows here";
        case GroupCheck::Unknown:
            return "is not a configured WSGIDaemonProcess";
        case GroupCheck::OtherServer:
            return "belongs to another virtual host";
        case GroupCheck::ServiceOnly:
            return "has threads=0: it runs service scripts and takes no requests";
        case GroupCheck::NoSocket:
            return "has no socket (not started)";
    }
    return "is usable";
}

/// The status a request gets for a group that cannot take it.
int statusFor(GroupCheck check) noexcept {
    return check == GroupCheck::NoSocket ? HTTP_SERVICE_UNAVAILABLE : HTTP_INTERNAL_SERVER_ERROR;
}

/// The daemon group of the request: the route's option, then WSGIProcessGroup of the directory,
/// then of the server, else the default group; %{...} expanded. 500 when no such group exists,
/// it belongs to another virtual host, WSGIRestrictProcess does not list it or it takes no
/// requests (threads=0); 503 when it has no socket.
Step<const DaemonGroup*> resolveGroup(request_rec* r, const GroupRegistry& registry,
                                      const RequestConfig& conf, const ExpansionContext& ctx) {
    const char* groupSpec =
        pick(conf.route.processGroup, conf.dir.processGroup, conf.server.processGroup);
    const CheckedGroup checked = checkGroup(
        r, registry, conf,
        groupSpec != nullptr ? expandOption(groupSpec,
                                            groupSpec == conf.route.processGroup &&
                                                (conf.literal & kLiteralProcessGroup) != 0,
                                            ctx)
                             : std::string());
    switch (checked.check) {
        case GroupCheck::Ok:
            return {.value = checked.group};
        case GroupCheck::Restricted:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0151: daemon process group '%s' (from '%s') is not one "
                          "WSGIRestrictProcess allows for %s",
                          checked.name.empty() ? "%{GLOBAL}" : checked.name.c_str(),
                          orEmpty(groupSpec), orEmpty(r->filename));
            break;
        case GroupCheck::Unknown:
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                "WG0106: no WSGI daemon process group '%s' is configured (from '%s') for %s",
                checked.name.c_str(), orEmpty(groupSpec), orEmpty(r->filename));
            break;
        case GroupCheck::OtherServer:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0107: daemon process group '%s' belongs to server '%s' and may not be "
                          "used by server '%s'",
                          checked.group->name.c_str(), checked.group->serverName.c_str(),
                          orEmpty(r->server->server_hostname));
            break;
        case GroupCheck::ServiceOnly:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0175: daemon process group '%s' (from '%s') has threads=0: it runs "
                          "service scripts and takes no requests; send %s to another group",
                          checked.group->name.c_str(), orEmpty(groupSpec), orEmpty(r->filename));
            break;
        case GroupCheck::NoSocket:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0108: daemon process group '%s' has no socket (not started)",
                          checked.group->name.c_str());
            break;
    }
    return Step<const DaemonGroup*>::stop(statusFor(checked.check));
}

/// chroot= of `group`: whether `script` (the file the daemon loads) is inside the jail; logs
/// WG0176 when it is not, since the daemon could never open it.
bool scriptInJail(request_rec* r, const DaemonGroup& group, std::string_view script) {
    if (group.chroot.empty() || pathInJail(group.chroot, script)) {
        return true;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "WG0176: WSGI script %.*s is outside the jail %s of daemon process group '%s' "
                  "(chroot=); move it inside the jail or serve it from another group",
                  static_cast<int>(script.size()), script.data(), group.chroot.c_str(),
                  group.name.c_str());
    return false;
}

/// Whether an output filter before httpd's protocol filters (DEFLATE and the like) works on this
/// request's body, for WSGIMapHEADToGET Auto.
bool hasContentFilter(const request_rec* r) noexcept {
    return r->output_filters != nullptr && r->output_filters->frec != nullptr &&
           r->output_filters->frec->ftype < AP_FTYPE_PROTOCOL;
}

/// The route of the request (see Route), each setting taken from the route's option, then the
/// directory, then the server.
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

/// script-user= and script-group= of the request's group: the WSGI script that runs (the handler
/// script for WSGIHandlerScript, else the request's file) must be owned by them; 403 otherwise,
/// as mod_wsgi. OK when the group requires neither.
int checkScriptOwner(request_rec* r, const DaemonGroup& group, const HandlerScript* handlerScript) {
    if (!group.scriptUid && !group.scriptGid) {
        return OK;
    }
    const char* script = handlerScript != nullptr ? handlerScript->script : r->filename;
    apr_finfo_t info{};
    if (handlerScript == nullptr && (r->finfo.valid & APR_FINFO_OWNER) == APR_FINFO_OWNER) {
        info = r->finfo;
    } else if (apr_stat(&info, script, APR_FINFO_OWNER, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0161: cannot read the owner of the WSGI script %s for the "
                      "script-user=/script-group= check of daemon group '%s'",
                      orEmpty(script), group.name.c_str());
        return HTTP_FORBIDDEN;
    }
    switch (scriptOwnerCheck(group.scriptUid, group.scriptGid, info.user, info.group)) {
        case ScriptOwner::Ok:
            return OK;
        case ScriptOwner::WrongUser:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0161: the WSGI script %s is owned by uid %lu, not by script-user=%s "
                          "of daemon group '%s'; chown the script or change script-user=",
                          orEmpty(script), static_cast<unsigned long>(info.user),
                          group.scriptUser.c_str(), group.name.c_str());
            return HTTP_FORBIDDEN;
        case ScriptOwner::WrongGroup:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0161: the WSGI script %s has gid %lu, not script-group=%s of daemon "
                          "group '%s'; chgrp the script or change script-group=",
                          orEmpty(script), static_cast<unsigned long>(info.group),
                          group.scriptGroup.c_str(), group.name.c_str());
            return HTTP_FORBIDDEN;
    }
    return HTTP_FORBIDDEN;
}

/// How the request body is framed: its Content-Length, -1 when chunked (WSGIChunkedRequest On),
/// 0 when there is none. 501 for another transfer coding, 411 for chunked while
/// WSGIChunkedRequest is Off, 400 for an invalid Content-Length.
Step<std::int64_t> bodyLength(request_rec* r, const RequestConfig& conf) {
    if (const char* te = apr_table_get(r->headers_in, "Transfer-Encoding")) {
        if (ap_is_chunked(r->pool, te) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0110: unsupported request Transfer-Encoding '%s'", te);
            return Step<std::int64_t>::stop(HTTP_NOT_IMPLEMENTED);
        }
        if (!flagValue(pickFlag(conf.dir.chunkedRequest, conf.server.chunkedRequest, Flag::Unset),
                       false)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0109: chunked request body refused (WSGIChunkedRequest Off) for %s",
                          orEmpty(r->filename));
            return Step<std::int64_t>::stop(HTTP_LENGTH_REQUIRED);
        }
        return {.value = -1};
    }
    if (const char* cl = apr_table_get(r->headers_in, "Content-Length")) {
        apr_off_t len = 0;
        if (ap_parse_strict_length(&len, cl) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "WG0111: invalid Content-Length '%s'", cl);
            return Step<std::int64_t>::stop(HTTP_BAD_REQUEST);
        }
        return {.value = len};
    }
    return {.value = 0};
}

/// Serves `location` instead of the app's 200 response (mod_cgi's local redirect): as a GET
/// without a body, after the rest of the request body was read, so a kept-alive connection stays
/// in step (the connection is closed when it cannot be).
int internalRedirect(request_rec* r, ApacheBodySource& source, const char* location) {
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "WG0153: internal redirect of %s to %s (200 with a local Location)",
                  orEmpty(r->uri), location);
    if (!source.atEnd() && !source.discardRest(kMaxUnreadBodyDrain)) {
        r->connection->keepalive = AP_CONN_CLOSE;
    }
    r->method = "GET";
    r->method_number = M_GET;
    apr_table_unset(r->headers_in, "Content-Length");
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    ap_internal_redirect_handler(location, r);
    return OK;
}

/// How to reach `group` for `r`. Views into `group` and `registry`: valid while they live.
ConnectParams connectParamsFor(const DaemonGroup& group, const request_rec* r,
                               const GroupRegistry& registry) {
    return {
        .socketPath = group.socketPath,
        .connectTimeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(group.connectTimeout),
        .acceptTimeout = acceptTimeoutFor(group, r),
        .acceptTimeoutName = group.queueTimeout.count() > 0 ? "queue-timeout" : "socket-timeout",
        .ioTimeout = ioTimeoutFor(group, r),
        .group = group.name,
        .managerPid = registry.managerPid,
        .generation = registry.generation,
        .secret = group.secret,
        // The module sends what the daemon receives, and the reverse.
        .socketBuffers = common::withDefaultSizes(
                             {.send = static_cast<std::uint32_t>(group.sendBufferSize),
                              .receive = static_cast<std::uint32_t>(group.receiveBufferSize)},
                             common::kernelSocketBufferMax())
                             .mirrored()};
}

/// Runs the request on the group's daemons (request_attempts.h: another process or a new
/// connection when the daemon cannot have started it) and relays the response; returns the
/// handler's status.
int relayToDaemon(request_rec* r, ChildState& child, const DaemonGroup& group,
                  const protocol::RequestHead& head, const RequestConfig& conf) {
    const ConnectParams params = connectParamsFor(group, r, *child.registry);
    ApacheBodySource source(r);
    ApacheResponseSink sink(r, source, flagValue(conf.dir.errorOverride, false));
    if (const auto limit =
            group.responseSocketTimeout ? group.responseSocketTimeout : group.socketTimeout) {
        sink.limitClientWrites(*limit);
    }
    const DeathClock::time_point sentAt = DeathClock::now();
    auto attempt = runRequestAttempts(
        child.pool, params, head, source, sink,
        {.singleProcess = group.processes == 1, .buffering = responseBufferingFor(group)},
        [r, &group](const RelayResult& retried) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "WG0121: retrying on a new connection to daemon group '%s': %s",
                          group.name.c_str(), retried.detail.c_str());
        });
    if (!attempt) {
        if (attempt.status().code() == common::ErrorCode::Timeout) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "WG0130: daemon group '%s' had no free worker for %s: %s",
                          group.name.c_str(), orEmpty(r->filename),
                          attempt.status().message().c_str());
            return groupBusy(r);
        }
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0112: daemon group '%s' not reachable at %s: %s", group.name.c_str(),
                      group.socketPath.c_str(), attempt.status().message().c_str());
        return HTTP_SERVICE_UNAVAILABLE;
    }
    const RelayResult& result = attempt->result;
    const int status =
        finishRelay(r, group, attempt->connection.get(), result, source, sink, sentAt);
    if (result.reusable) {
        child.pool.giveBack(std::move(attempt->connection));
    }
    if (status != OK || result.outcome != RelayOutcome::Completed) {
        return status;
    }
    // Only now: the redirected request may need a daemon connection of its own.
    switch (sink.disposition()) {
        case ResponseDisposition::InternalRedirect:
            return internalRedirect(r, source, sink.redirectLocation());
        case ResponseDisposition::ErrorOverride:
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "WG0154: the app's %d response for %s is replaced by httpd's "
                          "(WSGIErrorOverride On)",
                          sink.appStatus(), orEmpty(r->uri));
            return sink.appStatus();
        case ResponseDisposition::Pass:
            break;
    }
    return status;
}

/// Bound on a hook's answer: a user name, a digest or a list of groups.
constexpr std::size_t kMaxHookAnswerBytes = std::size_t{64} * 1024;

/// Sends a hook call (routing.hook, its script and arguments) to `daemons` as a request and
/// decodes the answer.
common::Result<common::HookResult> askDaemon(request_rec* r, const DaemonGroup& daemons,
                                             RequestRouting&& routing) {
    ChildState* child = gChildState.load();
    if (child == nullptr || child->registry == nullptr) {
        return common::Status(common::ErrorCode::Internal,
                              "mod_wsgid was not initialised in this httpd child");
    }
    if (!scriptInJail(r, daemons, routing.hookScript)) {
        return common::Status(common::ErrorCode::NotFound,
                              "its script is outside the group's chroot= jail");
    }
    routing.jail = daemons.chroot;
    routing.processGroup = daemons.name;
    routing.contentLength = 0;
    routing.enableSendfile = false;  // the answer is read here (CollectingSink), never a file
    const protocol::RequestHead head = buildRequestHead(r, std::move(routing));
    EmptyBodySource source;
    CollectingSink sink(kMaxHookAnswerBytes);
    auto attempt = runRequestAttempts(
        child->pool, connectParamsFor(daemons, r, *child->registry), head, source, sink,
        {.singleProcess = daemons.processes == 1, .buffering = responseBufferingFor(daemons)},
        [](const RelayResult& /*retried*/) {});
    if (!attempt) {
        return attempt.status();
    }
    const RelayResult& result = attempt->result;
    if (result.reusable) {
        child->pool.giveBack(std::move(attempt->connection));
    }
    if (result.outcome != RelayOutcome::Completed || sink.status() != 200) {
        const std::string why =
            result.outcome == RelayOutcome::ErrorBeforeStart && result.error
                ? std::string(protocol::toString(result.error->code)) + ": " + result.error->message
                : result.detail;
        return common::Status(common::ErrorCode::Internal,
                              "daemon group '" + daemons.name + "' failed it: " + why);
    }
    return common::decodeHookResult(sink.bodyText());
}

common::Result<common::HookResult> callDaemonHookImpl(request_rec* r, const HookScript& script,
                                                      std::string_view hook,
                                                      std::vector<protocol::EnvEntry>&& args) {
    ChildState* child = gChildState.load();
    if (child == nullptr || child->registry == nullptr) {
        return common::Status(common::ErrorCode::Internal,
                              "mod_wsgid was not initialised in this httpd child");
    }
    const auto* note = routeNoteOf(r);
    ScriptPath path = note != nullptr
                          ? ScriptPath{.scriptName = note->scriptName, .pathInfo = note->pathInfo}
                          : splitByPathInfo(orEmpty(r->uri), orEmpty(r->path_info));
    const RequestConfig conf = requestConfigOf(r, note, nullptr);
    const RequestExpansion expansion(r, child->registry->python.caseSensitive, path.scriptName);
    const ExpansionContext& ctx = expansion.context();
    // The request's own daemon group: a tenant's script runs with the tenant's code.
    const Step<const DaemonGroup*> group = resolveGroup(r, *child->registry, conf, ctx);
    if (!group.value) {
        return common::Status(common::ErrorCode::NotFound,
                              "no daemon group can run it (see the message before)");
    }
    RequestRouting routing;
    routing.applicationGroup = hookApplicationGroup(script, ctx);
    routing.callableObject = hook;
    routing.hookScript = script.script;
    routing.hook = hook;
    routing.hookArgs = std::move(args);
    routing.scriptName = path.scriptName;  // a copy: ctx views path.scriptName
    routing.pathInfo = std::move(path.pathInfo);
    return askDaemon(r, **group.value, std::move(routing));
}

/// Logs why WSGIDispatchScript could not route request `r` (WG0165) and returns 500 (503 when
/// `status` says so).
int dispatchFailed(request_rec* r, const HookScript& script, const std::string& why,
                   const char* fix, int status = HTTP_INTERNAL_SERVER_ERROR) {
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "WG0165: WSGIDispatchScript %s could not route %s %s: %s; %s", script.script,
                  orEmpty(r->method), orEmpty(r->uri), why.c_str(), fix);
    return status;
}

/// WSGIDispatchScript: asks the script's process_group(), application_group() and
/// callable_object() in the daemon group the request would use without it, in the script's
/// application group, with the request's environ; each str answer replaces that part of
/// `route`, expanded and checked as the directive it stands for (checkGroup). OK, or the status
/// of a failure (logged once, WG0165: never a silent fallback to the configured routing).
int applyDispatchScript(request_rec* r, const GroupRegistry& registry, const RequestConfig& conf,
                        Route& route) {
    const HookScript& script = *conf.dir.dispatchScript;
    const RequestExpansion expansion(r, registry.python.caseSensitive, route.routing.scriptName);
    const ExpansionContext& ctx = expansion.context();
    RequestRouting call = route.routing;  // the environ as the app would see it
    call.applicationGroup = hookApplicationGroup(script, ctx);
    call.callableObject = common::kDispatch;
    call.hookScript = script.script;
    call.hook = common::kDispatch;
    call.hookArgs = {
        {std::string(common::kHookApplicationGroupKey), route.routing.applicationGroup},
        {std::string(common::kHookCallableObjectKey), route.routing.callableObject}};
    auto answer = askDaemon(r, *route.group, std::move(call));
    if (!answer) {
        return dispatchFailed(r, script, answer.status().message(),
                              "fix the script (the daemon's log has its error above)");
    }
    if (answer->kind != common::HookResult::Kind::Dispatch) {
        return dispatchFailed(r, script, "the daemon answered no dispatch result",
                              "check that daemons and module are of the same build");
    }
    const common::DispatchAnswer& d = answer->dispatch;
    if (d.processGroup) {
        const CheckedGroup checked =
            checkGroup(r, registry, conf, expandGroupSpec(*d.processGroup, ctx));
        if (checked.check != GroupCheck::Ok) {
            // "" and %{GLOBAL} name the default group, which exists only when a mount uses it.
            const bool global =
                checked.name.empty() || checked.name == GroupRegistry::kDefaultGroupName;
            const std::string why = "process_group() answered '" + *d.processGroup + "': " +
                                    (global ? std::string("the default group (%{GLOBAL})")
                                            : "daemon process group '" + checked.name + "'") +
                                    " " + whyRefused(checked.check);
            return dispatchFailed(
                r, script, why,
                "change process_group() to answer a group this virtual host may use, or add "
                "it (WSGIDaemonProcess, WSGIRestrictProcess)",
                statusFor(checked.check));
        }
        route.group = checked.group;
        route.routing.processGroup = checked.group->name;
    }
    if (d.applicationGroup) {
        route.routing.applicationGroup = expandGroupSpec(*d.applicationGroup, ctx);
    }
    if (d.callableObject) {
        std::string callable = expandGroupSpec(*d.callableObject, ctx);
        if (!isCallableName(callable)) {
            return dispatchFailed(
                r, script,
                "callable_object() answered '" + *d.callableObject + "', which is no Python name",
                "make callable_object() answer the name of a global of the "
                "WSGI script, or None");
        }
        route.routing.callableObject = std::move(callable);
    }
    return OK;
}

bool isWsgiHandler(const request_rec* r) noexcept {
    return r->handler != nullptr && (std::strcmp(r->handler, kWsgiScriptHandler) == 0 ||
                                     std::strcmp(r->handler, kWsgiMimeHandler) == 0);
}

int handleRequestImpl(request_rec* r) {
    const HandlerScript* handlerScript = nullptr;
    if (!isWsgiHandler(r)) {
        handlerScript = findHandlerScript(r);
        if (handlerScript == nullptr) {
            return DECLINED;
        }
    }
    ChildState* child = gChildState.load();
    if (child == nullptr || child->registry == nullptr) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0102: mod_wsgid was not initialised in this httpd child");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    const auto* note = handlerScript != nullptr ? nullptr : routeNoteOf(r);
    Step<ScriptPath> path = resolveScript(r, note, handlerScript != nullptr);
    if (!path.value) {
        return path.status;
    }
    const RequestConfig conf = requestConfigOf(r, note, handlerScript);
    Step<Route> route = resolveRoute(r, *child->registry, conf, std::move(*path.value));
    if (!route.value) {
        return route.status;
    }
    if (conf.dir.dispatchScript != nullptr) {
        // Only requests under a WSGIDispatchScript pay for its round trip.
        if (const int dispatched = applyDispatchScript(r, *child->registry, conf, *route.value);
            dispatched != OK) {
            return dispatched;
        }
    }
    if (const int owner = checkScriptOwner(r, *route.value->group, handlerScript); owner != OK) {
        return owner;
    }
    if (!scriptInJail(r, *route.value->group,
                      handlerScript != nullptr ? handlerScript->script : orEmpty(r->filename))) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    route.value->routing.jail = route.value->group->chroot;
    const Step<std::int64_t> length = bodyLength(r, conf);
    if (!length.value) {
        return length.status;
    }
    route.value->routing.contentLength = *length.value;
    const DaemonGroup& group = *route.value->group;
    // Counted for as long as the request runs (docs/architecture.md "Fair share").
    const InFlightTicket ticket = child->inFlight.enter(r, group);
    if (!ticket.admitted()) {
        return groupBusy(r);
    }
    const protocol::RequestHead head = buildRequestHead(r, std::move(route.value->routing));
    return relayToDaemon(r, *child, group, head, conf);
}

}  // namespace

int handleRequest(request_rec* r) noexcept {
    return guardedRequest(r, "handler", HTTP_INTERNAL_SERVER_ERROR,
                          [r] { return handleRequestImpl(r); });
}

common::Result<common::HookResult> callDaemonHook(request_rec* r, const HookScript& script,
                                                  std::string_view hook,
                                                  std::vector<protocol::EnvEntry>&& args) {
    return callDaemonHookImpl(r, script, hook, std::move(args));
}

void childInit(apr_pool_t* pchild, server_rec* s) noexcept {
    const auto failed = [s](const char* what) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "WG0123: child initialisation failed: %s", what);
    };
    (void)guardedWith(failed, false, [&] {
        auto state = std::make_unique<ChildState>(GroupRegistry::get(s->process->pconf), s);
        ChildState* raw = attachToPool(pchild, std::move(state));
        // Registered after attachToPool, so (cleanups run in reverse order) the pointer is
        // cleared before the state is deleted.
        apr_pool_cleanup_register(pchild, nullptr, clearChildState, apr_pool_cleanup_null);
        gChildState.store(raw);
        return true;
    });
}

}  // namespace wsgid::apache
