// SPDX-License-Identifier: Apache-2.0
// request_rec → protocol::RequestHead: the CGI/WSGI environ the daemon turns into the WSGI
// environ. Our own builder (not ap_add_cgi_vars, whose PATH_TRANSLATED subrequest is slow); the
// pure rules it applies live in environ_rules.h and path_rules.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apache/proxy_headers.h"
#include "protocol/request_head.h"

struct request_rec;

namespace wsgid::apache {

/// What the handler decided about a request before its environ is built.
struct RequestRouting {
    std::string scriptName;        ///< SCRIPT_NAME (slashes collapsed)
    std::string pathInfo;          ///< PATH_INFO (decoded, slashes collapsed)
    std::string callableObject;    ///< WSGI callable name
    std::string applicationGroup;  ///< "" = main interpreter
    std::string processGroup;      ///< daemon group name
    bool passAuthorization = false;
    std::int64_t contentLength = -1;  ///< -1 when chunked
    /// WSGIHandlerScript: the script the daemon runs (SCRIPT_FILENAME stays the requested file,
    /// r->filename); "" for a WSGI script, which is r->filename itself.
    std::string handlerScript;
    /// REQUEST_METHOD as the app sees it; "" for r->method (WSGIMapHEADToGET may say GET).
    std::string requestMethod;
    bool scriptReloading = true;  ///< WSGIScriptReloading
    bool enableSendfile = true;   ///< WSGIEnableSendfile: file_wrapper responses pass the file
    bool ignoreActivity = false;  ///< WSGIIgnoreActivity
    /// WSGITrustedProxyHeaders / WSGITrustedProxies (views into the request's config records).
    ProxyTrust proxyTrust;
    /// A hook call (common/hook_result.h): the script the daemon loads, the hook's name and its
    /// arguments as mod_wsgid.hook.* entries; empty for a request.
    std::string hookScript;
    std::string hook;
    std::vector<protocol::EnvEntry> hookArgs;
    /// chroot= of the group ("" = none): the script the daemon loads, SCRIPT_FILENAME and
    /// DOCUMENT_ROOT are given as paths inside it (the caller checked that the script is).
    std::string jail;
};

/// Builds the RequestHead of `r`: the CGI variables, the mod_wsgi.* settings of the request
/// (protocol/request_flags.h) and mod_wsgi.script_name/path_info, every passable request header
/// as HTTP_*, then the r->subprocess_env entries (SetEnv, mod_ssl, mod_rewrite E=) whose keys are
/// not taken yet (never mod_wsgid.* ones: only the module sets those); last, the trusted proxy
/// headers rewrite it (proxy_headers.h). The
/// result owns all its strings (nothing points into r->pool). Request thread only.
protocol::RequestHead buildRequestHead(request_rec* r, RequestRouting&& routing);

}  // namespace wsgid::apache
