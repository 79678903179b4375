// SPDX-License-Identifier: Apache-2.0
// Pure parsing of mod_wsgid directive arguments: word splitting with quotes, key=value options,
// strict numbers, octal umask, colon lists, %{GROUP}, On/Off, and the arguments of every directive
// but WSGIDaemonProcess (daemon_options.h). Std types and POSIX only: no httpd, no APR, so every
// rule is unit-tested without a server (tests/unit/apache/config_parse_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "apache/config.h"
#include "common/status.h"

namespace wsgid::apache {

/// Longest usable Unix socket path: sun_path holds 108 bytes including the terminating NUL.
inline constexpr std::size_t kMaxSocketPathBytes = 107;
/// Digits of the largest Linux pid (pid_max is at most 2^22 = 4194304). Socket paths contain the
/// parent's pid, which is not final when configtest runs, so length checks assume the widest.
inline constexpr std::size_t kMaxPidDigits = 7;
/// An InvalidArgument status saying `message`: the error every directive parser returns.
common::Status invalidArgument(std::string message);

/// `s` in single quotes, as directive error messages show a value.
std::string quoted(std::string_view s);

/// Splits a directive's raw argument string into words at blanks. A double or single quote starts
/// a quoted run that may contain blanks and may sit inside a word (`display-name="my app"` is one
/// word `display-name=my app`); inside quotes a backslash escapes the quote character or a
/// backslash. InvalidArgument for an unterminated quote.
common::Result<std::vector<std::string>> splitWords(std::string_view raw);

/// One `key=value` word.
struct OptionWord {
    std::string key;
    std::string value;
};

/// Splits at the first '='; std::nullopt when there is none or the key is empty.
std::optional<OptionWord> splitOption(std::string_view word);

/// "On"/"Off" (any case). `what` names the directive or option in the error message.
common::Result<bool> parseOnOff(std::string_view what, std::string_view value);

/// A decimal integer in [min, max], the whole string (no sign games, no trailing garbage, no
/// atoi-style "abc" -> 0). `what` names the option in the error message.
common::Result<long long> parseInteger(std::string_view what, std::string_view value, long long min,
                                       long long max);

/// An octal umask such as 022 or 0077 (digits 0-7 only, at most 0777).
common::Result<mode_t> parseUmask(std::string_view what, std::string_view value);

/// Splits a colon-separated list (python-path=, WSGIPythonPath), dropping empty items.
std::vector<std::string> splitColonList(std::string_view value);

/// Expands every %{GROUP} in a display-name= value to "(wsgi:NAME)", as mod_wsgi does.
std::string expandDisplayName(std::string_view value, std::string_view group);

/// True when a group name is literal, i.e. contains no %{...} expansion (checked at configtest).
bool isLiteralName(std::string_view value) noexcept;

/// The group name as used inside socket file names: [A-Za-z0-9._-] kept, anything else becomes
/// '_'; if anything was replaced a hash of the original name is appended so two names never share
/// a socket.
std::string sanitizeForPath(std::string_view name);

/// The socket path of a group: `<prefix>.<pid>.<sanitized name>.sock`. No generation in the name:
/// the socket lives across graceful restarts (docs/architecture.md).
std::string socketPathFor(std::string_view prefix, long pid, std::string_view groupName);

/// Length the socket path of this group can reach once the parent's pid is known.
std::size_t worstCaseSocketPathLength(std::string_view prefix, std::string_view groupName);

/// Checks that `dir` is a Python installation or virtualenv of `pythonVersion` ("3.11"), i.e.
/// that `<dir>/lib/python<version>/` exists. The message names `what` and says what to fix.
common::Status checkPythonHome(std::string_view what, const std::string& dir,
                               std::string_view pythonVersion);

/// Checks that `dir` is an existing directory (home=).
common::Status checkDirectory(std::string_view what, const std::string& dir);

/// Arguments of `WSGIScriptAlias URL-path file-path [options]`.
struct ScriptAliasArgs {
    std::string urlPath;  ///< as mounted: trailing slashes removed, "" for "/"
    std::string target;   ///< as written; relative paths are resolved against ServerRoot later
    std::optional<std::string> processGroup;
    std::optional<std::string> applicationGroup;
    std::optional<std::string> callableObject;
    std::optional<bool> passAuthorization;
};

/// Which alias directive: WSGIScriptAlias (a URL-path prefix) or WSGIScriptAliasMatch (a regular
/// expression, kept as written; $N in the file-path and options refer to its groups).
enum class AliasKind { Prefix, Match };

/// Parses WSGIScriptAlias or WSGIScriptAliasMatch arguments; errors name the unknown or bad
/// option.
common::Result<ScriptAliasArgs> parseScriptAlias(std::string_view raw,
                                                 AliasKind kind = AliasKind::Prefix);

/// Arguments of `WSGIHandlerScript name file-path [options]`.
struct HandlerScriptArgs {
    std::string name;    ///< the handler name (SetHandler/AddHandler)
    std::string script;  ///< as written; relative paths are resolved against ServerRoot later
    std::optional<std::string> processGroup;
    std::optional<std::string> applicationGroup;
    std::optional<bool> passAuthorization;
};

/// Parses WSGIHandlerScript arguments (options: process-group, application-group,
/// pass-authorization, as mod_wsgi).
common::Result<HandlerScriptArgs> parseHandlerScript(std::string_view raw);

/// Arguments of WSGIAccessScript, WSGIAuthUserScript and WSGIAuthGroupScript.
struct HookScriptArgs {
    std::string script;  ///< as written; resolved against ServerRoot later
    std::optional<std::string> applicationGroup;
};

/// Parses `file-path [application-group=NAME]` of `directive` (the only option mod_wsgi has;
/// a process-group= is refused: the script runs in the request's own daemon group).
common::Result<HookScriptArgs> parseHookScript(std::string_view directive, std::string_view raw);

/// WSGIMapHEADToGET's value: On, Off or Auto (any case).
common::Result<HeadMapping> parseHeadMapping(std::string_view value);

/// Upper bound of WSGISwitchInterval: a GIL hand-over interval of minutes is a typo (Python's
/// default is 5 ms; tuned values are a few ms to a few hundred).
inline constexpr double kMaxSwitchIntervalSeconds = 60;

/// WSGISwitchInterval's value: seconds, above 0 and at most kMaxSwitchIntervalSeconds.
common::Result<double> parseSwitchInterval(std::string_view value);

/// WSGIPythonHashSeed's value: "random" (nullopt, any case) or 0-4294967295.
common::Result<std::optional<std::uint32_t>> parseHashSeed(std::string_view value);

/// Arguments of `WSGIImportScript file-path process-group=G application-group=A`.
struct ImportScriptArgs {
    std::string script;
    std::string processGroup;
    std::string applicationGroup;
};

/// Parses WSGIImportScript arguments; both options are required.
common::Result<ImportScriptArgs> parseImportScript(std::string_view raw);

/// Parses the arguments of `<WSGIInterpreterOptions [process-group=G] [application-group=A]>`
/// (without the closing '>'): literal names, or %{GLOBAL} (the default daemon group, the main
/// interpreter). The section's settings are filled in by the directives inside it.
common::Result<InterpreterSection> parseInterpreterSection(std::string_view raw);

}  // namespace wsgid::apache
