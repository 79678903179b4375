// SPDX-License-Identifier: Apache-2.0
// The request side of mod_wsgid inside httpd children: the content handler that relays a request
// to a daemon group, daemon hook calls, and per-child set-up. Called from hooks.cpp. (URL mapping,
// translate_name, is script_alias_mapping.h.) Defined in handler.cpp and daemon_hooks.cpp; the
// handler's steps are in handler_impl.h.
#pragma once

#include <string_view>
#include <vector>

#include "common/hook_result.h"
#include "common/status.h"
#include "protocol/request_head.h"

struct apr_pool_t;
struct request_rec;
struct server_rec;

namespace wsgid::apache {

/// The content handler for "wsgi-script" (and "application/x-httpd-wsgi"): resolves groups,
/// builds the RequestHead, relays the request to a daemon and its response to the client.
int handleRequest(request_rec* r) noexcept;

struct HookScript;

/// Calls `hook` (common/hook_result.h: allow_access, check_password, ...) of a WSGIAccessScript,
/// WSGIAuthUserScript or WSGIAuthGroupScript in the daemon group the request itself would run in
/// (its alias option, WSGIProcessGroup of its directory or server, else the default group), with
/// `args` as the hook's mod_wsgid.hook.* environ entries. The answer, or why there is none (the
/// group's own failures are logged as for requests). May throw std::bad_alloc. Request thread.
common::Result<common::HookResult> callDaemonHook(request_rec* r, const HookScript& script,
                                                  std::string_view hook,
                                                  std::vector<protocol::EnvEntry>&& args);

/// child_init: creates this child's pool of daemon connections (owned by pchild).
void childInit(apr_pool_t* pchild, server_rec* s) noexcept;

}  // namespace wsgid::apache
