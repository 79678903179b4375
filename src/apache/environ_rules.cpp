// SPDX-License-Identifier: Apache-2.0
// Pure rules behind the request environ (see environ_rules.h). No ap_* calls, no syscalls.
#include "apache/environ_rules.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>

#include "common/ascii.h"

namespace wsgid::apache {

namespace {

constexpr std::string_view kEnvPrefix = "%{ENV:";

/// Expands one %{...} form that is not %{ENV:...}; nullopt when `spec` is no such form.
std::optional<std::string> expandFixedForm(std::string_view spec, const ExpansionContext& ctx) {
    if (spec == "%{GLOBAL}") {
        return std::string();
    }
    if (spec == "%{SERVER}") {
        return hostWithPort(ctx.serverHostname, ctx.port);
    }
    if (spec == "%{HOST}") {
        return hostWithPort(ctx.requestHost.empty() ? ctx.serverHostname : ctx.requestHost,
                            ctx.port);
    }
    if (spec == "%{RESOURCE}") {
        std::string out = hostWithPort(ctx.serverHostname, ctx.port);
        out.push_back('|');
        out.append(ctx.scriptName);
        return out;
    }
    return std::nullopt;
}

/// The NAME of "%{ENV:NAME}", or nullopt.
std::optional<std::string_view> envName(std::string_view spec) noexcept {
    if (spec.size() <= kEnvPrefix.size() + 1 || spec.substr(0, kEnvPrefix.size()) != kEnvPrefix ||
        spec.back() != '}') {
        return std::nullopt;
    }
    return spec.substr(kEnvPrefix.size(), spec.size() - kEnvPrefix.size() - 1);
}

}  // namespace

std::optional<std::string> environKeyForHeader(std::string_view name, bool passAuthorization) {
    if (name.empty()) {
        return std::nullopt;
    }
    if (!std::all_of(name.begin(), name.end(),
                     [](char c) { return common::isAsciiAlnum(c) || c == '-'; })) {
        return std::nullopt;
    }
    if (common::equalsIgnoreCase(name, "Content-Type") ||
        common::equalsIgnoreCase(name, "Content-Length") ||
        common::equalsIgnoreCase(name, "Proxy")) {
        return std::nullopt;
    }
    if (!passAuthorization && (common::equalsIgnoreCase(name, "Authorization") ||
                               common::equalsIgnoreCase(name, "Proxy-Authorization"))) {
        return std::nullopt;
    }
    std::string key = "HTTP_";
    key.reserve(key.size() + name.size());
    std::transform(name.begin(), name.end(), std::back_inserter(key), [](char c) {
        return c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    return key;
}

std::string hostWithPort(std::string_view host, unsigned port) {
    std::string out(host);
    if (port != 80 && port != 443) {
        out.push_back(':');
        out.append(std::to_string(port));
    }
    return out;
}

std::string expandGroupSpec(std::string_view spec, const ExpansionContext& ctx) {
    if (auto fixed = expandFixedForm(spec, ctx)) {
        return std::move(*fixed);
    }
    auto name = envName(spec);
    if (!name || ctx.env == nullptr) {
        return std::string(spec);
    }
    auto value = ctx.env->find(*name);
    if (!value) {
        return std::string(spec);
    }
    if (auto fixed = expandFixedForm(*value, ctx)) {
        return std::move(*fixed);
    }
    return std::string(*value);
}

}  // namespace wsgid::apache
