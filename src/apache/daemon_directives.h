// SPDX-License-Identifier: Apache-2.0
// Handlers of WSGIDaemonProcess, WSGISocketPrefix, WSGIDaemonProgram and WSGIImportScript (a
// script a group loads at start). httpd calls them via directives.cpp's table while it reads the
// configuration (single-threaded).
#pragma once

struct cmd_parms_struct;

namespace wsgid::apache {

/// WSGIDaemonProcess: adds a daemon group to the GroupRegistry; names are unique server-wide.
const char* setDaemonProcess(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// WSGISocketPrefix: the path prefix of the daemon sockets, relative to ServerRoot.
const char* setSocketPrefix(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIDaemonProgram: the path of the wsgid-daemon executable, relative to ServerRoot.
const char* setDaemonProgram(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIImportScript: a script the named daemon group loads at process start.
const char* setImportScript(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

}  // namespace wsgid::apache
