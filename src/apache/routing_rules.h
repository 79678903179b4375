// SPDX-License-Identifier: Apache-2.0
// Pure rules of the request-routing directives: WSGIRestrictProcess, WSGIDispatchScript's
// callable_object() answers, WSGIMapHEADToGET, the
// script-user=/script-group= owner check, and what becomes of an app's response (WSGIErrorOverride,
// the Location: internal redirect). No ap_* calls, no syscalls: the handler feeds them what it read
// from request_rec.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include <sys/types.h>

#include "apache/config.h"

namespace wsgid::apache {

/// WSGIRestrictProcess: whether `group` (the expanded process-group value, "" for %{GLOBAL}) is
/// one of `allowed`.
bool processGroupAllowed(std::span<const char* const> allowed, std::string_view group) noexcept;

/// WSGIDispatchScript: whether a callable_object() answer (after %{...} expansion) can name a
/// module global at all: a Python identifier (ASCII letters, digits and '_', or any non-ASCII
/// byte of a latin-1 name; not starting with a digit). Anything else could only fail later with
/// a vaguer "no callable" error, so the module refuses it with the script's name.
bool isCallableName(std::string_view name) noexcept;

/// WSGIMapHEADToGET: whether a HEAD request reaches the app as GET. On: always; Auto (the
/// default, also for Unset): only when an output filter before httpd's protocol filters works on
/// the body (DEFLATE and the like), which must see the body a GET would have; Off: never.
bool headShownAsGet(HeadMapping mode, bool headRequest, bool contentFilter) noexcept;

/// script-user= and script-group=: which required owner a script file fails. ScriptOwner::Ok when
/// it has both (or none is required).
enum class ScriptOwner { Ok, WrongUser, WrongGroup };
ScriptOwner scriptOwnerCheck(std::optional<uid_t> requiredUid, std::optional<gid_t> requiredGid,
                             uid_t fileUid, gid_t fileGid) noexcept;

/// What the handler does with an app's response once its status and headers are known.
enum class ResponseDisposition {
    Pass,              ///< relay it to the client
    InternalRedirect,  ///< 200 with a local Location: serve that URL instead (mod_cgi's rule)
    ErrorOverride,     ///< a 4xx/5xx under WSGIErrorOverride On: httpd answers (ErrorDocument)
};

/// The disposition of a response with `status` and (if any) its Location header. A 200 whose
/// Location is a local path ("/...") is an internal redirect, as mod_cgi and mod_wsgi do; with
/// `errorOverride`, any status of 400 or more is answered by httpd.
ResponseDisposition responseDisposition(int status, std::optional<std::string_view> location,
                                        bool errorOverride) noexcept;

}  // namespace wsgid::apache
