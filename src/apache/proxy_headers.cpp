// SPDX-License-Identifier: Apache-2.0
// Trusted proxy headers (see proxy_headers.h). Pure: inet_pton is a libc parser, no syscall.
#include "apache/proxy_headers.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <system_error>

#include <arpa/inet.h>

#include "apache/environ_rules.h"
#include "common/ascii.h"

namespace wsgid::apache {

namespace {

using common::ErrorCode;
using common::Status;
using protocol::EnvEntry;

/// The kinds of proxy header: the headers of one kind are synonyms, and only a trusted one of
/// them may reach the app.
enum class Kind { Client, Host, Server, Port, ScriptName, Scheme, Forwarded };

enum class Apply {
    ForwardedFor,  ///< a chain of addresses
    ClientIp,      ///< one address, as it is
    Host,
    Server,
    Port,
    ScriptName,
    SchemeName,  ///< "http" / "https"
    SchemeFlag,  ///< On/Off, true/false, 1/0
    Forwarded,   ///< RFC 7239
};

struct HeaderRule {
    std::string_view key;
    Kind kind;
    Apply apply;
};

// mod_wsgi's registry, plus Forwarded.
constexpr std::array kRules = {
    HeaderRule{"HTTP_X_FORWARDED_FOR", Kind::Client, Apply::ForwardedFor},
    HeaderRule{"HTTP_X_CLIENT_IP", Kind::Client, Apply::ClientIp},
    HeaderRule{"HTTP_X_REAL_IP", Kind::Client, Apply::ClientIp},
    HeaderRule{"HTTP_X_FORWARDED_HOST", Kind::Host, Apply::Host},
    HeaderRule{"HTTP_X_HOST", Kind::Host, Apply::Host},
    HeaderRule{"HTTP_X_FORWARDED_SERVER", Kind::Server, Apply::Server},
    HeaderRule{"HTTP_X_FORWARDED_PORT", Kind::Port, Apply::Port},
    HeaderRule{"HTTP_X_SCRIPT_NAME", Kind::ScriptName, Apply::ScriptName},
    HeaderRule{"HTTP_X_FORWARDED_SCRIPT_NAME", Kind::ScriptName, Apply::ScriptName},
    HeaderRule{"HTTP_X_FORWARDED_PROTO", Kind::Scheme, Apply::SchemeName},
    HeaderRule{"HTTP_X_FORWARDED_SCHEME", Kind::Scheme, Apply::SchemeName},
    HeaderRule{"HTTP_X_SCHEME", Kind::Scheme, Apply::SchemeName},
    HeaderRule{"HTTP_X_FORWARDED_HTTPS", Kind::Scheme, Apply::SchemeFlag},
    HeaderRule{"HTTP_X_FORWARDED_SSL", Kind::Scheme, Apply::SchemeFlag},
    HeaderRule{"HTTP_X_HTTPS", Kind::Scheme, Apply::SchemeFlag},
    HeaderRule{"HTTP_FORWARDED", Kind::Forwarded, Apply::Forwarded},
};

constexpr std::size_t kKinds = 7;

const HeaderRule* ruleFor(std::string_view key) noexcept {
    const auto* it = std::find_if(kRules.begin(), kRules.end(),
                                  [key](const HeaderRule& r) { return r.key == key; });
    return it == kRules.end() ? nullptr : it;
}

// ---- environ entries --------------------------------------------------------------------------

const std::string* envGet(const std::vector<EnvEntry>& env, std::string_view key) {
    for (const auto& [k, v] : env) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

void envSet(std::vector<EnvEntry>& env, std::string_view key, std::string value) {
    for (auto& [k, v] : env) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    env.emplace_back(std::string(key), std::move(value));
}

void envUnset(std::vector<EnvEntry>& env, std::string_view key) {
    std::erase_if(env, [key](const EnvEntry& e) { return e.first == key; });
}

// ---- addresses --------------------------------------------------------------------------------

struct Address {
    bool v6 = false;
    std::array<unsigned char, 16> bytes{};
};

std::optional<Address> parseAddress(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    char buf[INET6_ADDRSTRLEN] = {};
    std::memcpy(buf, text.data(), text.size());
    Address a;
    if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
        return a;
    }
    if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
        a.v6 = true;
        // An IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 address.
        static constexpr std::array<unsigned char, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                                  0, 0, 0, 0, 0xff, 0xff};
        if (std::equal(kMapped.begin(), kMapped.end(), a.bytes.begin())) {
            std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
            std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
            a.v6 = false;
        }
        return a;
    }
    return std::nullopt;
}

Status invalid(std::string message) {
    return {ErrorCode::InvalidArgument, std::move(message)};
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// The non-empty elements of a comma-separated list (empty ones are ignored, RFC 9110 5.6.1).
std::vector<std::string_view> listElements(std::string_view value) {
    std::vector<std::string_view> out;
    while (true) {
        const std::size_t comma = value.find(',');
        const std::string_view item = trim(value.substr(0, comma));
        if (!item.empty()) {
            out.push_back(item);
        }
        if (comma == std::string_view::npos) {
            return out;
        }
        value.remove_prefix(comma + 1);
    }
}

/// The index of the client in a chain of `n` hops whose address `at(i)` gives, as mod_wsgi
/// picks it from X-Forwarded-For (see applyProxyHeaders).
template <typename At>
std::size_t clientIndex(std::size_t n, const ProxyTrust& trust, At at) {
    if (!trust.proxiesListed) {
        return 0;
    }
    std::optional<std::size_t> first;
    for (std::size_t i = n; i > 0; --i) {
        if (!anyNetworkContains(trust.proxies, at(i - 1))) {
            break;
        }
        first = i - 1;
    }
    if (!first) {
        return n - 1;
    }
    return *first == 0 ? 0 : *first - 1;
}

// ---- Forwarded (RFC 7239) ---------------------------------------------------------------------

struct ForwardedElement {
    std::string forNode;
    std::string host;
    std::string proto;
};

std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        std::string out;
        for (std::size_t i = 1; i + 1 < v.size(); ++i) {
            if (v[i] == '\\' && i + 2 < v.size()) {
                ++i;
            }
            out.push_back(v[i]);
        }
        return out;
    }
    return std::string(v);
}

/// The address part of a for= node: "[2001:db8::1]:47011" -> "2001:db8::1",
/// "192.0.2.43:80" -> "192.0.2.43"; obfuscated identifiers and "unknown" stay as they are.
std::string nodeAddress(const std::string& node) {
    if (!node.empty() && node.front() == '[') {
        const std::size_t close = node.find(']');
        return close == std::string::npos ? node : node.substr(1, close - 1);
    }
    const std::size_t colon = node.find(':');
    if (colon != std::string::npos && node.find(':', colon + 1) == std::string::npos) {
        return node.substr(0, colon);
    }
    return node;
}

std::vector<ForwardedElement> parseForwarded(std::string_view value) {
    std::vector<ForwardedElement> out;
    for (std::string_view element : listElements(value)) {
        ForwardedElement e;
        while (!element.empty()) {
            const std::size_t semi = element.find(';');
            const std::string_view pair = trim(element.substr(0, semi));
            const std::size_t eq = pair.find('=');
            if (eq != std::string_view::npos) {
                const std::string_view name = trim(pair.substr(0, eq));
                const std::string v = unquote(pair.substr(eq + 1));
                if (common::equalsIgnoreCase(name, "for")) {
                    e.forNode = nodeAddress(v);
                } else if (common::equalsIgnoreCase(name, "host")) {
                    e.host = v;
                } else if (common::equalsIgnoreCase(name, "proto")) {
                    e.proto = v;
                }
            }
            if (semi == std::string_view::npos) {
                break;
            }
            element.remove_prefix(semi + 1);
        }
        out.push_back(std::move(e));
    }
    return out;
}

// ---- rewriting --------------------------------------------------------------------------------

void setScheme(std::vector<EnvEntry>& env, bool https) {
    if (https) {
        envSet(env, "HTTPS", "1");
    } else {
        envUnset(env, "HTTPS");
    }
    envSet(env, "REQUEST_SCHEME", https ? "https" : "http");
}

/// Applies one trusted header's value; true when it changed anything (it is then the one of its
/// kind the app keeps).
bool applyRule(std::vector<EnvEntry>& env, const HeaderRule& rule, const std::string& value,
               const ProxyTrust& trust) {
    switch (rule.apply) {
        case Apply::ForwardedFor: {
            const std::vector<std::string_view> hops = listElements(value);
            if (hops.empty()) {
                return false;
            }
            const std::size_t client =
                clientIndex(hops.size(), trust, [&](std::size_t i) { return hops[i]; });
            envSet(env, "REMOTE_ADDR", std::string(hops[client]));
            if (trust.proxiesListed) {
                std::string rest(hops[client]);
                for (std::size_t i = client + 1; i < hops.size(); ++i) {
                    rest.append(", ").append(hops[i]);
                }
                envSet(env, rule.key, std::move(rest));
            }
            return true;
        }
        case Apply::ClientIp:
            envSet(env, "REMOTE_ADDR", value);
            return true;
        case Apply::Host:
            envSet(env, "HTTP_HOST", value);
            return true;
        case Apply::Server:
            envSet(env, "SERVER_NAME", value);
            return true;
        case Apply::Port:
            envSet(env, "SERVER_PORT", value);
            return true;
        case Apply::ScriptName:
            envSet(env, "mod_wsgi.mount_point", value);
            envSet(env, "SCRIPT_NAME", value);
            return true;
        case Apply::SchemeName:
            if (common::equalsIgnoreCase(value, "https") ||
                common::equalsIgnoreCase(value, "http")) {
                setScheme(env, common::equalsIgnoreCase(value, "https"));
                return true;
            }
            return false;
        case Apply::SchemeFlag: {
            const auto is = [&value](std::initializer_list<std::string_view> words) {
                return std::any_of(words.begin(), words.end(), [&value](std::string_view w) {
                    return common::equalsIgnoreCase(value, w);
                });
            };
            if (is({"on", "true", "1"})) {
                setScheme(env, true);
                return true;
            }
            if (is({"off", "false", "0"})) {
                setScheme(env, false);
                return true;
            }
            return false;
        }
        case Apply::Forwarded: {
            const std::vector<ForwardedElement> elements = parseForwarded(value);
            if (elements.empty()) {
                return false;
            }
            const ForwardedElement& e = elements[clientIndex(
                elements.size(), trust, [&](std::size_t i) { return elements[i].forNode; })];
            if (!e.forNode.empty()) {
                envSet(env, "REMOTE_ADDR", e.forNode);
            }
            if (!e.host.empty()) {
                envSet(env, "HTTP_HOST", e.host);
            }
            if (common::equalsIgnoreCase(e.proto, "https") ||
                common::equalsIgnoreCase(e.proto, "http")) {
                setScheme(env, common::equalsIgnoreCase(e.proto, "https"));
            }
            return true;
        }
    }
    return false;
}

}  // namespace

common::Result<IpNetwork> parseIpNetwork(std::string_view text) {
    const std::size_t slash = text.find('/');
    const std::optional<Address> a = parseAddress(text.substr(0, slash));
    if (!a) {
        return invalid("'" + std::string(text) +
                       "' is no IP address or network (write 10.0.0.1, 10.0.0.0/8 or "
                       "2001:db8::/32)");
    }
    IpNetwork net{.v6 = a->v6, .bytes = a->bytes, .prefix = a->v6 ? 128 : 32};
    if (slash != std::string_view::npos) {
        const std::string_view mask = text.substr(slash + 1);
        int bits = -1;
        const auto [end, ec] = std::from_chars(mask.data(), mask.data() + mask.size(), bits);
        if (ec == std::errc() && end == mask.data() + mask.size() && bits >= 0 &&
            bits <= net.prefix) {
            net.prefix = bits;
        } else if (const std::optional<Address> m = parseAddress(mask); m && !m->v6 && !net.v6) {
            // A dotted IPv4 mask: its leading one bits, which must be contiguous.
            std::uint32_t v = (std::uint32_t{m->bytes[0]} << 24U) |
                              (std::uint32_t{m->bytes[1]} << 16U) |
                              (std::uint32_t{m->bytes[2]} << 8U) | m->bytes[3];
            int ones = 0;
            while ((v & 0x80000000U) != 0) {
                ++ones;
                v <<= 1U;
            }
            if (v != 0) {
                return invalid("'" + std::string(text) + "': the mask is not contiguous");
            }
            net.prefix = ones;
        } else {
            return invalid("'" + std::string(text) + "': the prefix must be 0-" +
                           std::to_string(net.prefix) + " or a dotted IPv4 mask");
        }
    }
    return net;
}

bool networkContains(const IpNetwork& net, std::string_view ip) noexcept {
    const std::optional<Address> a = parseAddress(ip);
    if (!a || a->v6 != net.v6) {
        return false;
    }
    int bits = net.prefix;
    for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
        const unsigned mask =
            bits >= 8 ? 0xffU : (0xffU << static_cast<unsigned>(8 - bits)) & 0xffU;
        if ((a->bytes[i] & mask) != (net.bytes[i] & mask)) {
            return false;
        }
    }
    return true;
}

bool anyNetworkContains(std::span<const IpNetwork> nets, std::string_view ip) noexcept {
    return std::any_of(nets.begin(), nets.end(),
                       [ip](const IpNetwork& n) { return networkContains(n, ip); });
}

common::Result<std::string> trustedHeaderKey(std::string_view headerName) {
    if (std::optional<std::string> key = environKeyForHeader(headerName, true);
        key && ruleFor(*key) != nullptr) {
        return std::move(*key);
    }
    std::string known;
    for (const HeaderRule& r : kRules) {
        std::string name;
        bool upper = true;
        for (const char c : r.key.substr(5)) {
            name.push_back(c == '_' ? '-' : upper ? c : common::asciiToLower(c));
            upper = c == '_';
        }
        known += (known.empty() ? "" : ", ") + name;
    }
    return invalid("WSGITrustedProxyHeaders: '" + std::string(headerName) +
                   "' is not a proxy header mod_wsgid understands (known: " + known + ")");
}

void applyProxyHeaders(std::vector<EnvEntry>& env, const ProxyTrust& trust) {
    if (trust.headers.empty()) {
        return;
    }
    bool peerTrusted = true;
    if (trust.proxiesListed) {
        const std::string* peer = envGet(env, "REMOTE_ADDR");
        peerTrusted = peer != nullptr && anyNetworkContains(trust.proxies, *peer);
    }
    std::array<bool, kKinds> named{};
    std::array<const HeaderRule*, kKinds> kept{};
    for (const char* key : trust.headers) {
        const HeaderRule* rule = key != nullptr ? ruleFor(key) : nullptr;
        if (rule == nullptr) {
            continue;
        }
        const auto kind = static_cast<std::size_t>(rule->kind);
        named[kind] = true;
        if (!peerTrusted) {
            continue;
        }
        const std::string* value = envGet(env, rule->key);
        if (value != nullptr && applyRule(env, *rule, std::string(*value), trust)) {
            kept[kind] = rule;
        }
    }
    for (const HeaderRule& rule : kRules) {
        const auto kind = static_cast<std::size_t>(rule.kind);
        if (named[kind] && kept[kind] != &rule) {
            envUnset(env, rule.key);
        }
    }
}

}  // namespace wsgid::apache
