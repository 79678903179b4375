// SPDX-License-Identifier: Apache-2.0
// InterpreterOptions: one <WSGIInterpreterOptions> section (mod_wsgi 6): Python settings that
// apply only to the interpreters it matches. Carried from the module's configuration through
// DaemonArgs to each daemon, which applies them when it creates an interpreter. Data and one
// pure rule; no httpd, no Python.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/python_settings.h"

namespace wsgid::common {

/// The settings of one section that matched a daemon group (the module already left out the
/// sections of other groups).
struct InterpreterOptions {
    /// application-group=: the one interpreter it applies to ("" is %{GLOBAL}, the main
    /// interpreter); nullopt: every interpreter of the group.
    std::optional<std::string> applicationGroup = std::nullopt;
    std::optional<bool> restrictStdin = std::nullopt;   ///< WSGIRestrictStdin inside the section
    std::optional<bool> restrictStdout = std::nullopt;  ///< WSGIRestrictStdout
    std::optional<bool> restrictSignal = std::nullopt;  ///< WSGIRestrictSignal
    /// WSGISwitchInterval: sys.setswitchinterval() is process-wide in CPython, so the module
    /// accepts it only in sections without application-group=.
    std::optional<double> switchInterval = std::nullopt;
    std::vector<std::string> pythonPath = {};  ///< WSGIPythonPath: added after the group's own
};

/// The settings and python-path of the interpreter `applicationGroup`: `base` and
/// `basePythonPath` (the group's) with every section of `sections` that matches applied in order
/// (the module sends them least specific first, ties in configuration order, so the most
/// specific and then the last one wins); python-path entries add up.
void applyInterpreterOptions(const std::vector<InterpreterOptions>& sections,
                             std::string_view applicationGroup, PythonSettings& base,
                             std::vector<std::string>& basePythonPath);

}  // namespace wsgid::common
