// SPDX-License-Identifier: Apache-2.0
// One hook call for httpd (WSGIAccessScript, WSGIAuthUserScript, WSGIAuthGroupScript,
// WSGIDispatchScript): the module sends it like a request, whose environ names the hook and its
// arguments (common/hook_result.h); the daemon calls the script's function and answers with a
// HookResult as the response body. Runs with the GIL held; RequestIo calls without it.
#pragma once

#include "python/python.h"

#include "python/request_io.h"
#include "python/wsgi_call.h"

namespace wsgid::python {

/// Whether `request` is a hook call rather than a WSGI request.
bool isHookCall(const WsgiRequest& request) noexcept;

/// Whether `request` is a WSGIDispatchScript call (its script is loaded as a module, whose
/// dispatch functions are all optional, rather than for one callable).
bool isDispatchCall(const WsgiRequest& request) noexcept;

/// Calls `function` (the script's allow_access, check_password, get_realm_hash or
/// groups_for_user, as the request names it) as mod_wsgi does: (environ, host),
/// (environ, user, password), (environ, user, realm) or (environ, user), the environ being the
/// request's CGI environ without the hook's own keys. For a dispatch call `function` is the
/// script's module, and each of its process_group, application_group and callable_object is
/// called with the environ (mod_wsgi.application_group and .callable_object showing the
/// request's own). Sends "200 OK" with the encoded HookResult. An exception, or an answer of the
/// wrong type, is logged (WG0350/WG0351) and returned as AppError, which the module turns into
/// an authentication error or a 500. GIL held on entry and return.
CallOutcome runHookCall(PyObject* function, const WsgiRequest& request, RequestIo& io,
                        const CallContext& context);

}  // namespace wsgid::python
