// SPDX-License-Identifier: Apache-2.0
// Handlers of the server-wide Python settings and <WSGIInterpreterOptions>: parse with
// config_parse, store into the GroupRegistry (or the section being read).
#include "apache/python_directives.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/directive_context.h"
#include "apache/httpd_includes.h"

namespace wsgid::apache {

namespace {

/// The <WSGIInterpreterOptions> section whose directives are being read, or nullptr.
InterpreterSection* openSection(GroupRegistry& registry) {
    return registry.openInterpreterSection
               ? &registry.interpreterSections[*registry.openInterpreterSection]
               : nullptr;
}

/// The directives a <WSGIInterpreterOptions> section may hold (mod_wsgi 6's list).
constexpr std::array<std::string_view, 7> kInterpreterSectionDirectives = {
    "WSGIPythonPath",     "WSGIRestrictStdin",     "WSGIRestrictStdout", "WSGIRestrictSignal",
    "WSGISwitchInterval", "WSGIPerInterpreterGIL", "WSGIFreeThreading"};

bool allowedInSection(const char* directive) {
    return std::any_of(kInterpreterSectionDirectives.begin(), kInterpreterSectionDirectives.end(),
                       [directive](std::string_view name) {
                           // The names are literals, so name.data() ends in a NUL.
                           return ap_cstr_casecmp(directive, name.data()) == 0;
                       });
}

/// A server-wide On/Off Python setting; cmd->info points at the PythonSettings field, and
/// `invert` says the directive's On means the field's false (WSGIDontWriteBytecode).
const char* setPythonFlagImpl(cmd_parms* cmd, int on, bool invert) {
    if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
        return err;
    }
    const auto field = *static_cast<bool common::PythonSettings::*const*>(cmd->info);
    GroupRegistry& registry = GroupRegistry::get(cmd->pool);
    if (InterpreterSection* section = openSection(registry); section != nullptr) {
        // Only the WSGIRestrict* flags are allowed inside a section (openInterpreterOptions).
        std::optional<bool>& flag =
            field == &common::PythonSettings::restrictStdin    ? section->options.restrictStdin
            : field == &common::PythonSettings::restrictStdout ? section->options.restrictStdout
                                                               : section->options.restrictSignal;
        flag = (on != 0) != invert;
        return nullptr;
    }
    registry.python.*field = (on != 0) != invert;
    return nullptr;
}

}  // namespace

const char* setPythonHome(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonHome", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        if (value[0] != '/') {
            return apr_psprintf(cmd->pool, "WSGIPythonHome must be an absolute path, got '%s'",
                                value);
        }
        GroupRegistry::get(cmd->pool).pythonHome = value;
        return nullptr;
    });
}

const char* openInterpreterOptions(cmd_parms* cmd, void* /*mconfig*/, const char* raw) noexcept {
    return guarded("<WSGIInterpreterOptions>", kInternalError, [&]() -> const char* {
        if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
            return err;
        }
        const std::string_view args(raw);
        const std::size_t close = args.rfind('>');
        if (close == std::string_view::npos) {
            return "<WSGIInterpreterOptions> directive missing closing '>'";
        }
        GroupRegistry& registry = GroupRegistry::get(cmd->pool);
        if (registry.openInterpreterSection) {
            return "<WSGIInterpreterOptions> sections cannot be nested";
        }
        auto section = parseInterpreterSection(args.substr(0, close));
        if (!section) {
            return poolError(cmd, section.status().message());
        }
        for (const ap_directive_t* d = cmd->directive->first_child; d != nullptr; d = d->next) {
            if (!allowedInSection(d->directive)) {
                return apr_psprintf(cmd->pool,
                                    "%s (%s:%d) cannot be used inside <WSGIInterpreterOptions>; "
                                    "a section takes only WSGIPythonPath, WSGIRestrictStdin, "
                                    "WSGIRestrictStdout, WSGIRestrictSignal, WSGISwitchInterval, "
                                    "WSGIPerInterpreterGIL and WSGIFreeThreading",
                                    d->directive, d->filename, d->line_num);
            }
        }
        section->definedAt = directiveLocation(cmd);
        registry.interpreterSections.push_back(std::move(*section));
        registry.openInterpreterSection = registry.interpreterSections.size() - 1;
        const char* err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
        registry.openInterpreterSection.reset();
        return err;
    });
}

const char* setPythonPath(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonPath", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        GroupRegistry& registry = GroupRegistry::get(cmd->pool);
        if (InterpreterSection* section = openSection(registry); section != nullptr) {
            section->options.pythonPath = splitColonList(value);
        } else {
            registry.pythonPath = splitColonList(value);
        }
        return nullptr;
    });
}

const char* setPythonEggs(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonEggs", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        GroupRegistry::get(cmd->pool).pythonEggs = value;
        return nullptr;
    });
}

const char* setPythonFlag(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("Python setting", kInternalError,
                   [&]() { return setPythonFlagImpl(cmd, on, false); });
}

const char* setDontWriteBytecode(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("WSGIDontWriteBytecode", kInternalError,
                   [&]() { return setPythonFlagImpl(cmd, on, true); });
}

const char* setPythonOptimize(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonOptimize", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        auto level = parseInteger("WSGIPythonOptimize", value, 0, 2);
        if (!level) {
            return poolError(cmd, level.status().message());
        }
        GroupRegistry::get(cmd->pool).python.optimize = static_cast<int>(*level);
        return nullptr;
    });
}

const char* addPythonWarnings(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonWarnings", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        GroupRegistry::get(cmd->pool).python.warnings.emplace_back(value);
        return nullptr;
    });
}

const char* setPythonHashSeed(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGIPythonHashSeed", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        auto seed = parseHashSeed(value);
        if (!seed) {
            return poolError(cmd, seed.status().message());
        }
        GroupRegistry::get(cmd->pool).python.hashSeed = seed.value();
        return nullptr;
    });
}

const char* setCaseSensitivity(cmd_parms* cmd, void* /*mconfig*/, int on) noexcept {
    return guarded("WSGICaseSensitivity", kInternalError, [&]() -> const char* {
        if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY); err != nullptr) {
            return err;
        }
        GroupRegistry::get(cmd->pool).python.caseSensitive = on != 0;
        return nullptr;
    });
}

const char* setSwitchInterval(cmd_parms* cmd, void* /*mconfig*/, const char* value) noexcept {
    return guarded("WSGISwitchInterval", kInternalError, [&]() -> const char* {
        if (const char* err = checkGlobal(cmd, value); err != nullptr) {
            return err;
        }
        auto seconds = parseSwitchInterval(value);
        if (!seconds) {
            return poolError(cmd, seconds.status().message());
        }
        GroupRegistry& registry = GroupRegistry::get(cmd->pool);
        if (InterpreterSection* section = openSection(registry); section != nullptr) {
            if (section->options.applicationGroup) {
                return "WSGISwitchInterval cannot be used in a <WSGIInterpreterOptions> section "
                       "with application-group=: Python has one switch interval per process; "
                       "put it in a section with process-group= only";
            }
            section->options.switchInterval = *seconds;
        } else {
            registry.python.switchInterval = *seconds;
        }
        return nullptr;
    });
}

}  // namespace wsgid::apache
