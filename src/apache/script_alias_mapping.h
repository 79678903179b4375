// SPDX-License-Identifier: Apache-2.0
// WSGIScriptAlias(Match) mapping in translate_name: which alias maps a URL, the script file and
// SCRIPT_NAME/PATH_INFO it gives, kept for the handler as the request's RouteNote. The matching
// rules themselves are pure (path_rules.h); this is their httpd glue.
#pragma once

#include <type_traits>

#include "apache/config.h"

struct request_rec;

namespace wsgid::apache {

/// The handler name translateName sets for a mapped request (and the one SetHandler uses).
inline constexpr const char* kWsgiScriptHandler = "wsgi-script";

/// Group options of a route taken literally: a WSGIScriptAliasMatch option with $N, whose value
/// comes from the URL, is never expanded as %{...} (a client must not pick %{GLOBAL} or read an
/// environment variable by crafting a URL).
enum LiteralOption : unsigned char {
    kLiteralProcessGroup = 1U << 0U,
    kLiteralApplicationGroup = 1U << 1U,
    kLiteralCallable = 1U << 2U,
};

/// What translateName decided, kept in r->request_config. Pool memory, trivially destructible:
/// valid until r->pool is cleared.
struct RouteNote {
    ScriptAlias route;      ///< the alias, $N substituted for WSGIScriptAliasMatch
    unsigned char literal;  ///< LiteralOption bits
    const char* scriptName;
    const char* pathInfo;
};
static_assert(std::is_trivially_destructible_v<RouteNote>);

/// translate_name hook: maps a WSGIScriptAlias mount onto r->filename and r->handler
/// ("wsgi-script") and keeps its RouteNote; DECLINED when no alias matches.
int translateName(request_rec* r) noexcept;

/// The RouteNote translateName kept for `r`, or nullptr when no alias mapped it.
const RouteNote* routeNoteOf(const request_rec* r) noexcept;

}  // namespace wsgid::apache
