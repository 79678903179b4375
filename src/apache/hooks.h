// SPDX-License-Identifier: Apache-2.0
// The hook functions httpd calls (registered in mod_wsgid.cpp): noexcept trampolines into the code
// that owns the work, which guards its C boundary with c_boundary.h.
#pragma once

struct apr_pool_t;
struct request_rec;
struct server_rec;

namespace wsgid::apache {

/// pre_config: a fresh GroupRegistry for this configuration read, and the exit guard that reaps
/// daemons if httpd exits before this generation's post_config (ProcessManager).
int preConfigHook(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp) noexcept;
/// check_config: cross-directive validation (checkConfiguration); runs in `apachectl configtest`.
int checkConfigHook(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s) noexcept;
/// post_config: starts the daemon groups, on the real pass only (not the pre-config pass).
int postConfigHook(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* s) noexcept;
/// child_init: closes the daemon listening sockets inherited from the parent, then sets up the
/// child's request side (childInit in handler.h).
void childInitHook(apr_pool_t* pchild, server_rec* s) noexcept;
/// translate_name (after mod_alias): WSGIScriptAlias mapping (translateName in
/// script_alias_mapping.h).
int translateNameHook(request_rec* r) noexcept;
/// handler: relays "wsgi-script" requests to a daemon (handleRequest in handler.h).
int handlerHook(request_rec* r) noexcept;
/// monitor (httpd parent, every ten or so MPM maintenance cycles): the process manager's tick.
int monitorHook(apr_pool_t* p, server_rec* s) noexcept;

}  // namespace wsgid::apache
