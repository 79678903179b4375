// SPDX-License-Identifier: Apache-2.0
// Authentication through Python, with the Python in a daemon: the authn provider "wsgi"
// (AuthBasicProvider/AuthDigestProvider wsgi, backed by WSGIAuthUserScript), the authz provider
// "wsgi-group" (Require wsgi-group, backed by WSGIAuthGroupScript) and the access checker of
// WSGIAccessScript. Each asks the daemon group of the request (handler.h, callDaemonHook).
#pragma once

struct apr_pool_t;
struct request_rec;

namespace wsgid::apache {

/// Registers the "wsgi" authn provider and the "wsgi-group" authz provider (register_hooks).
void registerAuthProviders(apr_pool_t* p) noexcept;

/// access_checker hook: WSGIAccessScript's allow_access(environ, host): True allows (OK),
/// False denies (403), None leaves the decision to others (DECLINED).
int accessCheckerHook(request_rec* r) noexcept;

}  // namespace wsgid::apache
