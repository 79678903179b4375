// SPDX-License-Identifier: Apache-2.0
// Handlers of the mod_wsgi directives that have no meaning for mod_wsgid: accepted so a mod_wsgi
// configuration reads, noted at start with the reason (cmd->info, set in directives.cpp's table).
#pragma once

struct cmd_parms_struct;

namespace wsgid::apache {

/// A server-wide On/Off directive without effect, noted at start.
const char* ignoreFlag(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// A server-wide one-argument directive without effect, noted at start.
const char* ignoreValue(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// A server-wide directive with free arguments without effect, noted at start.
const char* ignoreRaw(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// Per-directory mod_wsgi directives without effect here (cmd->info says why): noted at start
/// when they stand in the main configuration; in .htaccess (read per request) accepted quietly.
const char* ignoreDirFlag(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// Directives of mod_wsgi 6 for features a Python 3.11 daemon does not have (per-interpreter
/// GIL, free threading): Off is what mod_wsgid does anyway; On is noted at start.
const char* ignoreUnlessOn(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

}  // namespace wsgid::apache
