// SPDX-License-Identifier: Apache-2.0
// URL mapping rules of WSGIScriptAlias: which mount matches a URI, which script file it names and
// how the URI splits into SCRIPT_NAME and PATH_INFO. Pure: no ap_* calls, no syscalls.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apache/config.h"

namespace wsgid::apache {

/// Length of the prefix of `uri` covered by the mount `urlPath`, or nullopt when the mount does
/// not apply. A mount "/app" covers "/app" and "/app/..." but not "/apple"; "" (or "/") covers
/// every path. A '/' of the mount matches a run of '/' in the URI, as mod_alias does, so
/// "//app///x" is under "/app". `uri` must be the decoded path (r->uri); a URI that does not
/// start with '/' ("*") matches nothing.
std::optional<std::size_t> matchMount(std::string_view urlPath, std::string_view uri) noexcept;

/// One group of a regular-expression match: [first, second) in the subject, or nullopt when the
/// group took no part in the match.
using Capture = std::optional<std::pair<std::size_t, std::size_t>>;

/// What a WSGIScriptAliasMatch expression matched in a URI: the groups, the whole match first.
struct RegexMatch {
    std::vector<Capture> captures;
};

/// Runs an alias's regular expression (ScriptAlias::regex) on a URI: httpd's regex engine in the
/// module, a stand-in in unit tests. nullopt when it does not match.
using RegexMatcher =
    std::function<std::optional<RegexMatch>(const ScriptAlias& alias, std::string_view uri)>;

/// A matched WSGIScriptAlias or WSGIScriptAliasMatch: its index in the configured array, the URI
/// prefix it covers, and (WSGIScriptAliasMatch only) the groups its expression matched.
struct AliasMatch {
    std::size_t index = 0;
    std::size_t matchedLength = 0;
    std::vector<Capture> captures;
};

/// The first alias (configuration order; vhost aliases come first) that covers `uri`. A
/// WSGIScriptAliasMatch covers the URI prefix its expression matched, as mod_wsgi does (the
/// match should start at the URI's start: anchor it with '^'), when that prefix is not empty
/// and ends on a path segment boundary (at the end of the URI, before a '/', or after one);
/// slashes that end it belong to PATH_INFO.
std::optional<AliasMatch> findAlias(std::span<const ScriptAlias> aliases, std::string_view uri,
                                    const RegexMatcher& matchRegex);

/// `templ` with $0-$9 replaced by those groups of a match in `subject` ("" for a group that did
/// not take part or does not exist) and '&' by the whole match, as httpd's ap_pregsub does for
/// mod_alias; a backslash before '$' or '&' keeps it literal.
std::string substituteCaptures(std::string_view templ, std::string_view subject,
                               std::span<const Capture> captures);

/// The highest N of a $N in `templ` (as substituteCaptures reads it); 0 for '&'; -1 when it has
/// none. For configtest: a reference to a group the expression lacks is a mistake.
int highestCaptureReference(std::string_view templ) noexcept;

/// True when `templ` has anything substituteCaptures would replace.
bool hasCaptureReference(std::string_view templ) noexcept;

/// `path` with every run of '/' reduced to one (mod_wsgi does this for SCRIPT_NAME/PATH_INFO).
std::string collapseSlashes(std::string_view path);

/// SCRIPT_NAME and PATH_INFO of one request, slashes collapsed.
struct ScriptPath {
    std::string scriptName;  ///< "" for a root mount
    std::string pathInfo;    ///< "" or starts with '/'
};

/// Splits `uri` after the `matchedLength` bytes a mount covers: root mount → {"", uri};
/// "/app" on "/app" → {"/app", ""}; "/app" on "/app/x/y" → {"/app", "/x/y"}.
ScriptPath splitAtMount(std::string_view uri, std::size_t matchedLength);

/// The script an alias target names for a URI. A target ending in '/' is a directory of
/// scripts: the first path segment after the mount names the file and joins SCRIPT_NAME
/// (mod_wsgi's "WSGIScriptAlias /wsgi/ /srv/scripts/"). Any other target is the script itself.
struct ScriptTarget {
    std::string filename;           ///< the file for r->filename
    std::size_t matchedLength = 0;  ///< URI bytes that belong to SCRIPT_NAME
};

/// Resolves `target` for `uri`, of which the mount covered `matchedLength` bytes.
ScriptTarget resolveTarget(std::string_view target, std::string_view uri,
                           std::size_t matchedLength);

/// SCRIPT_NAME/PATH_INFO for a script reached through httpd's own URL mapping (SetHandler or
/// AddHandler wsgi-script): PATH_INFO is what httpd's directory walk left over (r->path_info)
/// and SCRIPT_NAME the URI before it, as in CGI.
ScriptPath splitByPathInfo(std::string_view uri, std::string_view pathInfo);

}  // namespace wsgid::apache
