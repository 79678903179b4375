// SPDX-License-Identifier: Apache-2.0
// The request side of mod_wsgid inside httpd children: URL mapping (WSGIScriptAlias), the content
// handler that relays a request to a daemon group, and per-child set-up. Called from hooks.cpp.
#pragma once

struct apr_pool_t;
struct request_rec;
struct server_rec;

namespace wsgid::apache {

/// translate_name hook: maps a WSGIScriptAlias mount onto r->filename and r->handler
/// ("wsgi-script"); DECLINED when no alias matches.
int translateName(request_rec* r) noexcept;

/// The content handler for "wsgi-script" (and "application/x-httpd-wsgi"): resolves groups,
/// builds the RequestHead, relays the request to a daemon and its response to the client.
int handleRequest(request_rec* r) noexcept;

/// child_init: creates this child's pool of daemon connections (owned by pchild).
void childInit(apr_pool_t* pchild, server_rec* s) noexcept;

}  // namespace wsgid::apache
