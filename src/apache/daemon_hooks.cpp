// SPDX-License-Identifier: Apache-2.0
// Scripts the request side calls in a daemon group as hooks: WSGIAccessScript,
// WSGIAuthUserScript and WSGIAuthGroupScript (callDaemonHook, handler.h) and WSGIDispatchScript
// (applyDispatchScript). Each call is a request to the group whose answer is decoded here.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/c_string.h"
#include "apache/collecting_sink.h"
#include "apache/config.h"
#include "apache/empty_body_source.h"
#include "apache/environ.h"
#include "apache/environ_rules.h"
#include "apache/handler.h"
#include "apache/handler_impl.h"
#include "apache/path_rules.h"
#include "apache/relay.h"
#include "apache/relay_finish.h"
#include "apache/request_attempts.h"
#include "apache/request_expansion.h"
#include "apache/routing_rules.h"
#include "apache/script_alias_mapping.h"
#include "common/hook_result.h"
#include "common/status.h"
#include "protocol/request_head.h"
#include "protocol/response.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

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
    auto attempt = runRequestAttempts(child->pool, connectParamsFor(daemons, r, *child->registry),
                                      head, source, sink, attemptOptionsFor(daemons),
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

}  // namespace

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

common::Result<common::HookResult> callDaemonHook(request_rec* r, const HookScript& script,
                                                  std::string_view hook,
                                                  std::vector<protocol::EnvEntry>&& args) {
    return callDaemonHookImpl(r, script, hook, std::move(args));
}

}  // namespace wsgid::apache
