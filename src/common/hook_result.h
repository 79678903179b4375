// SPDX-License-Identifier: Apache-2.0
// The hooks mod_wsgid runs in a daemon for httpd (WSGIAccessScript, WSGIAuthUserScript,
// WSGIAuthGroupScript, WSGIDispatchScript): how the module names the hook and its arguments in
// the request environ, and HookResult, the answer the daemon sends back as the body of the hook
// call's response. Both sides use this one encoder/decoder. Pure: standard library only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wsgid::common {

/// Environ key naming the hook of a hook call (absent for a WSGI request). The module never
/// lets a SetEnv variable of the mod_wsgid. namespace through, so only it can set these.
inline constexpr std::string_view kHookKey = "mod_wsgid.hook";
/// Environ keys of the hook's arguments (removed from the environ the hook sees).
inline constexpr std::string_view kHookUserKey = "mod_wsgid.hook.user";
inline constexpr std::string_view kHookPasswordKey = "mod_wsgid.hook.password";
inline constexpr std::string_view kHookRealmKey = "mod_wsgid.hook.realm";
inline constexpr std::string_view kHookHostKey = "mod_wsgid.hook.host";
/// A dispatch call's: the request's own application group and callable, which the dispatch
/// functions see as mod_wsgi.application_group and mod_wsgi.callable_object (the call itself
/// runs in the dispatch script's application group).
inline constexpr std::string_view kHookApplicationGroupKey = "mod_wsgid.hook.application_group";
inline constexpr std::string_view kHookCallableObjectKey = "mod_wsgid.hook.callable_object";

/// The hooks, named as the functions mod_wsgi calls in the scripts.
inline constexpr std::string_view kAllowAccess = "allow_access";      ///< (environ, host)
inline constexpr std::string_view kCheckPassword = "check_password";  ///< (environ, user, password)
inline constexpr std::string_view kGetRealmHash = "get_realm_hash";   ///< (environ, user, realm)
inline constexpr std::string_view kGroupsForUser = "groups_for_user";  ///< (environ, user)
/// WSGIDispatchScript: one call runs whichever of the script's process_group(environ),
/// application_group(environ) and callable_object(environ) exist, in that order.
inline constexpr std::string_view kDispatch = "dispatch";
inline constexpr std::string_view kProcessGroupFunction = "process_group";
inline constexpr std::string_view kApplicationGroupFunction = "application_group";
inline constexpr std::string_view kCallableObjectFunction = "callable_object";

/// What the dispatch functions answered: a value for each that exists and returned a str (""
/// included: it means %{GLOBAL} for the groups), nothing for one that is missing or returned None.
struct DispatchAnswer {
    std::optional<std::string> processGroup;
    std::optional<std::string> applicationGroup;
    std::optional<std::string> callableObject;

    friend bool operator==(const DispatchAnswer&, const DispatchAnswer&) = default;
};

/// What a hook function answered.
struct HookResult {
    enum class Kind {
        Allow,  ///< True: access allowed, password right
        Deny,   ///< False: access denied, password wrong
        None,   ///< None: no decision (allow_access), no such user (check_password, get_realm_hash)
        User,   ///< check_password returned a str: the password is right, `value` is the user
        Hash,   ///< get_realm_hash's digest of "user:realm:password", in `value`
        Groups,    ///< groups_for_user's groups, in `groups`
        Dispatch,  ///< the dispatch functions' answers, in `dispatch`
    };
    Kind kind = Kind::None;
    std::string value;
    std::vector<std::string> groups;
    DispatchAnswer dispatch;

    friend bool operator==(const HookResult&, const HookResult&) = default;
};

/// Whether `text` can travel as a value or group name: no NUL, CR or LF.
bool isHookText(std::string_view text) noexcept;

/// The bytes of `result`: its kind's word, then for User and Hash the value, for Groups each
/// group, for Dispatch "process_group=VALUE" and the like for each answer given, each on a line
/// of its own. Precondition: every value passes isHookText().
std::string encodeHookResult(const HookResult& result);

/// Decodes encodeHookResult() output; ProtocolError naming what is wrong otherwise.
Result<HookResult> decodeHookResult(std::string_view bytes);

}  // namespace wsgid::common
