// SPDX-License-Identifier: Apache-2.0
// The directive table of mod_wsgid (mod_wsgi's names, contexts and meaning). The handlers are thin
// and live in the *_directives.cpp files (mapping, directory, daemon, python, ignored):
// config_parse.cpp parses, config_check.cpp validates across directives at check_config.
#pragma once

struct command_struct;

namespace wsgid::apache {

/// The command_rec table of the module record, terminated by an empty entry. Static; read by
/// httpd while it reads the configuration (single-threaded).
extern const command_struct kDirectives[];

}  // namespace wsgid::apache
