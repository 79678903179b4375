// SPDX-License-Identifier: Apache-2.0
// What every directive handler needs from its cmd_parms: pool copies of strings and error messages,
// the file:line being read, the server record, paths against ServerRoot, and the group references
// checkConfiguration (config_check.cpp) verifies. Used by the *_directives.cpp handler files
// only.
#pragma once

#include <string>

struct cmd_parms_struct;

namespace wsgid::apache {

struct ServerConfig;

/// The failure value of a directive handler when guarded() caught an exception.
inline constexpr const char* kInternalError =
    "mod_wsgid: internal error while reading this directive";

/// `message` copied into cmd->pool: a directive handler's error return value.
const char* poolError(cmd_parms_struct* cmd, const std::string& message);

/// `s` copied into cmd->pool (lives as long as the configuration).
const char* poolString(cmd_parms_struct* cmd, const std::string& s);

/// "file:line" of the directive being read, in pconf.
const char* directiveLocation(cmd_parms_struct* cmd);

/// The server record of the server (main or virtual host) whose directive is being read.
ServerConfig* serverConfigOf(cmd_parms_struct* cmd);

/// Resolves a file path of a directive against ServerRoot; nullptr if httpd rejects it.
const char* serverRootRelative(cmd_parms_struct* cmd, const std::string& path);

/// Records a process-group value for check_config: a literal name must name a defined group;
/// %{GLOBAL} (mod_wsgi's embedded mode) runs in the implicit default group.
void noteProcessGroup(cmd_parms_struct* cmd, const std::string& value, const char* directive);

/// Common checks of the server-wide settings: main server only, and a value. nullptr when they
/// pass, else the error message.
const char* checkGlobal(cmd_parms_struct* cmd, const char* value);

}  // namespace wsgid::apache
