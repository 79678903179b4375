// SPDX-License-Identifier: Apache-2.0
// The content handler's steps (handler.h), shared by the files that define them: handler.cpp,
// request_resolution.cpp, group_resolution.cpp, request_checks.cpp, relay_to_daemon.cpp and
// daemon_hooks.cpp. Include nowhere else, and after httpd_includes.h (Step needs httpd's OK).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apache/config.h"
#include "apache/connection_pool.h"
#include "apache/daemon_connection.h"
#include "apache/environ.h"
#include "apache/in_flight_limit.h"
#include "apache/path_rules.h"
#include "protocol/request_head.h"

struct request_rec;
struct server_rec;

namespace wsgid::apache {

struct ExpansionContext;
struct RouteNote;

// handler.cpp: the per-child state.

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
extern std::atomic<ChildState*> gChildState;

// request_resolution.cpp: the request's configuration, script and route.

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
    ScriptAlias route{};
    unsigned char literal = 0;  ///< LiteralOption bits of route's options
    const HandlerScript* handlerScript = nullptr;
    const DirConfig& dir;
    const ServerConfig& server;
};

/// Where a request runs and what it calls: the daemon group, and the routing of its RequestHead
/// (SCRIPT_NAME/PATH_INFO, interpreter, callable, settings; contentLength is filled in later).
struct Route {
    const DaemonGroup* group = nullptr;
    RequestRouting routing;
};

/// First non-null of an alias option, a directory setting and a server setting.
const char* pick(const char* aliasValue, const char* dirValue, const char* serverValue) noexcept;

Flag pickFlag(Flag a, Flag b, Flag c) noexcept;

/// The WSGIHandlerScript that r->handler names in this request's scope, if any.
const HandlerScript* findHandlerScript(const request_rec* r) noexcept;

RequestConfig requestConfigOf(const request_rec* r, const RouteNote* note,
                              const HandlerScript* handlerScript) noexcept;

/// The script file of the request and its SCRIPT_NAME/PATH_INFO: from the alias translateName
/// matched, or (SetHandler/AddHandler wsgi-script) from httpd's own mapping, where ExecCGI must be
/// allowed. 404 when the script does not exist, 403 when it is no regular file. A
/// WSGIHandlerScript request needs neither (the handler script serves whatever was asked for).
/// 404 for path info under AcceptPathInfo Off, as mod_wsgi.
Step<ScriptPath> resolveScript(request_rec* r, const RouteNote* note, bool handlerScript);

/// The route of the request (see Route), each setting taken from the route's option, then the
/// directory, then the server.
Step<Route> resolveRoute(request_rec* r, const GroupRegistry& registry, const RequestConfig& conf,
                         ScriptPath&& path);

// group_resolution.cpp: the request's daemon group.

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
                        const RequestConfig& conf, std::string groupName);

/// Why checkGroup refused a group, to follow its name in a log line.
const char* whyRefused(GroupCheck check) noexcept;

/// The status a request gets for a group that cannot take it.
int statusFor(GroupCheck check) noexcept;

/// The daemon group of the request: the route's option, then WSGIProcessGroup of the directory,
/// then of the server, else the default group; %{...} expanded. 500 when no such group exists,
/// it belongs to another virtual host, WSGIRestrictProcess does not list it or it takes no
/// requests (threads=0); 503 when it has no socket.
Step<const DaemonGroup*> resolveGroup(request_rec* r, const GroupRegistry& registry,
                                      const RequestConfig& conf, const ExpansionContext& ctx);

// request_checks.cpp: checks before the relay.

/// chroot= of `group`: whether `script` (the file the daemon loads) is inside the jail; logs
/// WG0176 when it is not, since the daemon could never open it.
bool scriptInJail(request_rec* r, const DaemonGroup& group, std::string_view script);

/// script-user= and script-group= of the request's group: the WSGI script that runs (the handler
/// script for WSGIHandlerScript, else the request's file) must be owned by them; 403 otherwise,
/// as mod_wsgi. OK when the group requires neither.
int checkScriptOwner(request_rec* r, const DaemonGroup& group, const HandlerScript* handlerScript);

/// How the request body is framed: its Content-Length, -1 when chunked (WSGIChunkedRequest On),
/// 0 when there is none. 501 for another transfer coding, 411 for chunked while
/// WSGIChunkedRequest is Off, 400 for an invalid Content-Length.
Step<std::int64_t> bodyLength(request_rec* r, const RequestConfig& conf);

// relay_to_daemon.cpp: the relay.

/// How to reach `group` for `r`. Views into `group` and `registry`: valid while they live.
ConnectParams connectParamsFor(const DaemonGroup& group, const request_rec* r,
                               const GroupRegistry& registry);

/// Runs the request on the group's daemons (request_attempts.h: another process or a new
/// connection when the daemon cannot have started it) and relays the response; returns the
/// handler's status.
int relayToDaemon(request_rec* r, ChildState& child, const DaemonGroup& group,
                  const protocol::RequestHead& head, const RequestConfig& conf);

// daemon_hooks.cpp: WSGIDispatchScript.

/// WSGIDispatchScript: asks the script's process_group(), application_group() and
/// callable_object() in the daemon group the request would use without it, in the script's
/// application group, with the request's environ; each str answer replaces that part of
/// `route`, expanded and checked as the directive it stands for (checkGroup). OK, or the status
/// of a failure (logged once, WG0165: never a silent fallback to the configured routing).
int applyDispatchScript(request_rec* r, const GroupRegistry& registry, const RequestConfig& conf,
                        Route& route);

}  // namespace wsgid::apache
