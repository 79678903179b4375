// SPDX-License-Identifier: Apache-2.0
// InterpreterSection: one <WSGIInterpreterOptions> section as configured, and the rule that picks
// the sections of one daemon group in the order its daemons apply them. Pure: no httpd calls.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/interpreter_options.h"

namespace wsgid::apache {

/// One <WSGIInterpreterOptions [process-group=G] [application-group=A]> section.
struct InterpreterSection {
    std::optional<std::string> processGroup;  ///< nullopt: every group
    common::InterpreterOptions options;       ///< application-group= and the settings
    const char* definedAt = "";               ///< "file:line", for messages
};

/// The settings of the sections that apply to daemon group `groupName` (those naming it, and
/// those naming no group), least specific first: sections naming neither group, then those naming
/// one of the two, then both; ties in configuration order. Applied in that order, the most
/// specific section wins and, among equals, the last in the configuration, as in mod_wsgi.
std::vector<common::InterpreterOptions> interpreterOptionsFor(
    const std::vector<InterpreterSection>& sections, std::string_view groupName);

}  // namespace wsgid::apache
