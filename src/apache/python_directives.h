// SPDX-License-Identifier: Apache-2.0
// Handlers of the server-wide Python settings of the daemons (WSGIPython*, WSGIRestrict*, ...) and
// of <WSGIInterpreterOptions>, which narrows some to matching interpreters. httpd calls them via
// directives.cpp's table while it reads the configuration (single-threaded).
#pragma once

struct cmd_parms_struct;

namespace wsgid::apache {

/// WSGIPythonHome: the Python home (virtualenv) of daemon groups without python-home=.
const char* setPythonHome(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// <WSGIInterpreterOptions [process-group=G] [application-group=A]> ... </WSGIInterpreterOptions>:
/// the directives inside apply to the matching interpreters only (interpreter_sections.h).
const char* openInterpreterOptions(cmd_parms_struct* cmd, void* mconfig, const char* raw) noexcept;

/// WSGIPythonPath: sys.path entries of the implicit default group, or of the open section.
const char* setPythonPath(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIPythonEggs: embedded mode's egg cache in mod_wsgi, so here the implicit default group's
/// (the one WSGIPythonHome and WSGIPythonPath configure); daemon groups take python-eggs=.
const char* setPythonEggs(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// A server-wide On/Off Python setting (WSGIRestrictStdin, ...); cmd->info points at the
/// PythonSettings field.
const char* setPythonFlag(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// WSGIDontWriteBytecode: setPythonFlag with On meaning the field's false.
const char* setDontWriteBytecode(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// WSGIPythonOptimize: 0, 1 or 2.
const char* setPythonOptimize(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIPythonWarnings: one more warnings filter (repeatable).
const char* addPythonWarnings(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGIPythonHashSeed: random or a number.
const char* setPythonHashSeed(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

/// WSGICaseSensitivity: Off compares script paths and %{RESOURCE} names in lower case.
const char* setCaseSensitivity(cmd_parms_struct* cmd, void* mconfig, int on) noexcept;

/// WSGISwitchInterval: sys.setswitchinterval() of every daemon, or of the open section's.
const char* setSwitchInterval(cmd_parms_struct* cmd, void* mconfig, const char* value) noexcept;

}  // namespace wsgid::apache
