// SPDX-License-Identifier: Apache-2.0
// Handlers of the directives that say what runs a request: WSGIScriptAlias(Match),
// WSGIHandlerScript, WSGIProcessGroup, WSGIApplicationGroup, WSGICallableObject and
// WSGIRestrictProcess. httpd calls them via directives.cpp's table while reading the configuration.
#pragma once

struct cmd_parms_struct;

namespace wsgid::apache {

/// WSGIScriptAlias and WSGIScriptAliasMatch (cmd->info non-null): adds a mount to the server
/// record; notes its process group and the script preload it implies for check_config.
const char* setScriptAlias(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// WSGIHandlerScript: a script that SetHandler's name runs, in the per-directory record.
const char* setHandlerScript(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// WSGIRestrictProcess: called once per group name (ITERATE).
const char* addRestrictProcess(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIProcessGroup: the daemon group of the requests here (at server level also the server's).
const char* setProcessGroup(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIApplicationGroup: the interpreter of the requests here (at server level also the server's).
const char* setApplicationGroup(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGICallableObject: the name of the WSGI callable in the script.
const char* setCallableObject(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

}  // namespace wsgid::apache
