// SPDX-License-Identifier: Apache-2.0
// Handlers of the per-directory request settings: On/Off flags, WSGIMapHEADToGET, trusted proxies
// and the access/auth/dispatch scripts. httpd calls them via directives.cpp's table while it reads
// the configuration, or an .htaccess file during a request (the OR_* contexts).
#pragma once

struct cmd_parms_struct;

namespace wsgid::apache {

/// WSGITrustedProxyHeaders: header names, kept as environ keys; repeated directives add up.
const char* setTrustedProxyHeaders(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// WSGITrustedProxies: addresses and networks; repeated directives add up.
const char* setTrustedProxies(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript / WSGIDispatchScript; cmd->info
/// is the DirConfig field.
const char* setHookScript(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// On/Off directives that live in the per-directory record only; cmd->info is the field.
const char* setDirFlag(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// WSGIMapHEADToGET: On, Off or Auto.
const char* setMapHeadToGet(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIPassAuthorization: kept in the per-directory record, at server level also in the server one.
const char* setPassAuthorization(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// WSGIChunkedRequest: kept in the per-directory record, at server level also in the server one.
const char* setChunkedRequest(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

}  // namespace wsgid::apache
