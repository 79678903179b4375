// SPDX-License-Identifier: Apache-2.0
// WSGITrustedProxies / WSGITrustedProxyHeaders: which peers may tell the app who the client is,
// and how their headers rewrite the environ (REMOTE_ADDR, HTTP_HOST, SERVER_NAME, SERVER_PORT,
// SCRIPT_NAME, the scheme). Pure: works on the environ entries the module built; no ap_* calls.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"
#include "protocol/request_head.h"

namespace wsgid::apache {

/// One entry of WSGITrustedProxies: an IPv4 or IPv6 address, or a network (address/prefix, or
/// an IPv4 address/dotted mask). Trivially destructible: kept in pool arrays.
struct IpNetwork {
    bool v6 = false;
    std::array<unsigned char, 16> bytes{};  ///< network address (4 used for IPv4)
    int prefix = 0;                         ///< significant bits
};
static_assert(std::is_trivially_destructible_v<IpNetwork>);

/// Parses a WSGITrustedProxies word ("10.0.0.1", "10.0.0.0/8", "10.0.0.0/255.0.0.0",
/// "2001:db8::/32"); the error says what is wrong.
common::Result<IpNetwork> parseIpNetwork(std::string_view text);

/// Whether the textual address `ip` lies in `net` (an IPv4-mapped IPv6 address counts as its
/// IPv4 address); false for anything that is no address.
bool networkContains(const IpNetwork& net, std::string_view ip) noexcept;

/// Whether `ip` lies in any of `nets`.
bool anyNetworkContains(std::span<const IpNetwork> nets, std::string_view ip) noexcept;

/// The environ key of a header WSGITrustedProxyHeaders may name ("X-Forwarded-For" ->
/// "HTTP_X_FORWARDED_FOR"); an error listing the supported headers for any other name.
common::Result<std::string> trustedHeaderKey(std::string_view headerName);

/// The proxy settings of a request.
struct ProxyTrust {
    std::span<const char* const> headers;  ///< environ keys of the trusted headers, in order
    std::span<const IpNetwork> proxies;    ///< WSGITrustedProxies
    bool proxiesListed = false;  ///< WSGITrustedProxies given; without it every peer is trusted
};

/// Applies WSGITrustedProxyHeaders to `env` (mod_wsgi's rules, plus RFC 7239 Forwarded):
/// - nothing happens without trusted headers;
/// - the peer (REMOTE_ADDR) is trusted when WSGITrustedProxies lists it, or lists nothing;
/// - a trusted peer's headers rewrite: X-Forwarded-For, X-Client-IP, X-Real-IP -> REMOTE_ADDR;
///   X-Forwarded-Host, X-Host -> HTTP_HOST; X-Forwarded-Server -> SERVER_NAME;
///   X-Forwarded-Port -> SERVER_PORT; X-Script-Name, X-Forwarded-Script-Name -> SCRIPT_NAME
///   (and mod_wsgi.mount_point); X-Forwarded-Proto, X-Forwarded-Scheme, X-Scheme ("http",
///   "https"), X-Forwarded-HTTPS, X-Forwarded-SSL, X-HTTPS ("On"/"Off", "true"/"false",
///   "1"/"0") -> HTTPS and REQUEST_SCHEME (so wsgi.url_scheme); Forwarded -> REMOTE_ADDR,
///   HTTP_HOST and the scheme from its for=, host= and proto=;
/// - X-Forwarded-For and Forwarded are chains: with WSGITrustedProxies, the client is the
///   entry before the trailing run of trusted proxies (the last entry when the last is not
///   trusted), and X-Forwarded-For is cut to start there; without it, the first entry;
/// - for every kind of header (client, host, server, port, script name, scheme, Forwarded) that
///   has a trusted header, every other header of that kind is removed, and the trusted one too
///   when the peer is not trusted: an app never sees a value nobody vouched for.
void applyProxyHeaders(std::vector<protocol::EnvEntry>& env, const ProxyTrust& trust);

}  // namespace wsgid::apache
