// SPDX-License-Identifier: Apache-2.0
// The hook functions httpd calls (registered in mod_wsgid.cpp) and guarded(), the one way C-called
// code of this module turns an escaping C++ exception into a log line and a C failure value.
#pragma once

#include <exception>
#include <utility>

struct apr_pool_t;
struct request_rec;
struct server_rec;

namespace wsgid::apache {

/// Logs (WG0001, crit) that an exception reached the C boundary `where`. Never throws.
void logEscapedException(const char* where, const char* what) noexcept;

/// Runs `fn` and returns its result; if it throws, logs WG0001 and returns `failure`. Every hook,
/// directive handler, pool cleanup and APR callback of the module wraps its body in this.
template <typename R, typename Fn>
R guarded(const char* where, R failure, Fn&& fn) noexcept {
    try {
        return std::forward<Fn>(fn)();
    } catch (const std::exception& e) {
        logEscapedException(where, e.what());
    } catch (...) {
        logEscapedException(where, "unknown exception");
    }
    return failure;
}

/// guarded() for callbacks that return nothing.
template <typename Fn>
void guardedVoid(const char* where, Fn&& fn) noexcept {
    try {
        std::forward<Fn>(fn)();
    } catch (const std::exception& e) {
        logEscapedException(where, e.what());
    } catch (...) {
        logEscapedException(where, "unknown exception");
    }
}

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
/// translate_name (after mod_alias): WSGIScriptAlias mapping (translateName in handler.h).
int translateNameHook(request_rec* r) noexcept;
/// handler: relays "wsgi-script" requests to a daemon (handleRequest in handler.h).
int handlerHook(request_rec* r) noexcept;
/// monitor (httpd parent, every ten or so MPM maintenance cycles): the process manager's tick.
int monitorHook(apr_pool_t* p, server_rec* s) noexcept;

}  // namespace wsgid::apache
