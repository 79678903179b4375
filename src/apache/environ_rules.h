// SPDX-License-Identifier: Apache-2.0
// Pure rules behind the request environ: request header → HTTP_* key, "host[:port]", and the
// %{...} expansion of WSGIProcessGroup/WSGIApplicationGroup/WSGICallableObject values.
// No ap_* calls, no syscalls (the environment is reached through EnvLookup).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgid::apache {

/// The environ key for request header `name` ("X-Forwarded-For" → "HTTP_X_FORWARDED_FOR"), or
/// nullopt when the header must not reach the app:
/// - Content-Type and Content-Length (they have their own CONTENT_* keys);
/// - Proxy (httpoxy: HTTP_PROXY would be taken for a proxy setting);
/// - names with bytes other than ASCII letters, digits and '-' ("X_Foo" would collide with
///   "X-Foo" once '-' becomes '_', letting a client forge a header a front proxy set);
/// - Authorization and Proxy-Authorization unless `passAuthorization` (WSGIPassAuthorization or
///   CGIPassAuth; Off by default, as in mod_wsgi and CGI, so credentials checked by httpd stay
///   in httpd).
std::optional<std::string> environKeyForHeader(std::string_view name, bool passAuthorization);

/// "host" or "host:port"; the port is left out when it is 80 or 443, as mod_wsgi does for
/// %{SERVER}, %{HOST} and %{RESOURCE} (whatever the scheme).
std::string hostWithPort(std::string_view host, unsigned port);

/// Where %{ENV:NAME} looks (request notes, then subprocess_env, then the process environment).
/// Implemented by the handler over request_rec; by a map in tests.
class EnvLookup {
public:
    virtual ~EnvLookup() = default;
    /// The value of `name`, or nullopt when it is not set. The view must stay valid for the
    /// duration of the expansion call.
    [[nodiscard]] virtual std::optional<std::string_view> find(std::string_view name) const = 0;

protected:
    /// Interface: made and copied only as part of an implementation (no slicing through it).
    EnvLookup() = default;
    EnvLookup(const EnvLookup&) = default;
    EnvLookup& operator=(const EnvLookup&) = default;
    EnvLookup(EnvLookup&&) = default;
    EnvLookup& operator=(EnvLookup&&) = default;
};

/// What %{...} refers to for one request. Views must outlive the expandGroupSpec() call.
struct ExpansionContext {
    std::string_view serverHostname;  ///< r->server->server_hostname
    std::string_view requestHost;     ///< host of the Host header (lowercased); "" when absent
    unsigned port = 80;               ///< ap_get_server_port(r)
    std::string_view scriptName;      ///< SCRIPT_NAME of the request
    const EnvLookup* env = nullptr;   ///< nullptr: %{ENV:...} stays literal
};

/// Expands a WSGIProcessGroup/WSGIApplicationGroup/WSGICallableObject value. Only a value that
/// is entirely one %{...} is expanded, everything else is literal:
/// - %{GLOBAL} → "" (main interpreter; for process groups: the default group);
/// - %{SERVER} → "host[:port]" of the server name;
/// - %{HOST} → "host[:port]" of the Host header (the server name when there is none);
/// - %{RESOURCE} → "%{SERVER}|SCRIPT_NAME" (mod_wsgi's default application group);
/// - %{ENV:NAME} → the variable's value, itself expanded once more when it is another %{...}
///   form other than %{ENV:...} (so a SetEnv can say %{GLOBAL}, and lookups cannot loop);
///   left literal when the variable is not set (mod_wsgi does the same).
std::string expandGroupSpec(std::string_view spec, const ExpansionContext& ctx);

}  // namespace wsgid::apache
