// SPDX-License-Identifier: Apache-2.0
// HookResult <-> bytes (see hook_result.h). Pure.
#include "common/hook_result.h"

#include <array>
#include <utility>

namespace wsgid::common {

namespace {

using Kind = HookResult::Kind;

constexpr std::array<std::pair<Kind, std::string_view>, 7> kWords = {{
    {Kind::Allow, "allow"},
    {Kind::Deny, "deny"},
    {Kind::None, "none"},
    {Kind::User, "user"},
    {Kind::Hash, "hash"},
    {Kind::Groups, "groups"},
    {Kind::Dispatch, "dispatch"},
}};

/// The answers of a Dispatch result, by the name of the function that gave them.
constexpr std::array<std::pair<std::string_view, std::optional<std::string> DispatchAnswer::*>, 3>
    kDispatchFields = {{
        {kProcessGroupFunction, &DispatchAnswer::processGroup},
        {kApplicationGroupFunction, &DispatchAnswer::applicationGroup},
        {kCallableObjectFunction, &DispatchAnswer::callableObject},
    }};

Status malformed(std::string what) {
    return {ErrorCode::ProtocolError, "hook result: " + std::move(what)};
}

}  // namespace

bool isHookText(std::string_view text) noexcept {
    return text.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos;
}

std::string encodeHookResult(const HookResult& result) {
    std::string out;
    for (const auto& [kind, word] : kWords) {
        if (kind == result.kind) {
            out = word;
        }
    }
    if (result.kind == Kind::User || result.kind == Kind::Hash) {
        out.append("\n").append(result.value);
    } else if (result.kind == Kind::Groups) {
        for (const std::string& g : result.groups) {
            out.append("\n").append(g);
        }
    } else if (result.kind == Kind::Dispatch) {
        for (const auto& [name, field] : kDispatchFields) {
            if (const std::optional<std::string>& v = result.dispatch.*field) {
                out.append("\n").append(name).append("=").append(*v);
            }
        }
    }
    return out;
}

Result<HookResult> decodeHookResult(std::string_view bytes) {
    if (!isHookText(bytes.substr(0, bytes.find('\n'))) ||
        bytes.find_first_of(std::string_view("\0\r", 2)) != std::string_view::npos) {
        return malformed("control bytes");
    }
    std::vector<std::string_view> lines;
    while (true) {
        const std::size_t nl = bytes.find('\n');
        lines.push_back(bytes.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        bytes.remove_prefix(nl + 1);
    }
    HookResult r;
    bool known = false;
    for (const auto& [kind, word] : kWords) {
        if (lines.front() == word) {
            r.kind = kind;
            known = true;
        }
    }
    if (!known) {
        return malformed("unknown answer '" + std::string(lines.front()) + "'");
    }
    switch (r.kind) {
        case Kind::Allow:
        case Kind::Deny:
        case Kind::None:
            if (lines.size() != 1) {
                return malformed("bytes after '" + std::string(lines.front()) + "'");
            }
            break;
        case Kind::User:
        case Kind::Hash:
            if (lines.size() != 2 || lines[1].empty()) {
                return malformed("'" + std::string(lines.front()) + "' needs one value");
            }
            r.value = lines[1];
            break;
        case Kind::Groups:
            r.groups.assign(lines.begin() + 1, lines.end());
            break;
        case Kind::Dispatch:
            for (std::size_t i = 1; i < lines.size(); ++i) {
                const std::size_t eq = lines[i].find('=');
                const std::string_view name = lines[i].substr(0, eq);
                bool taken = false;
                for (const auto& [fieldName, field] : kDispatchFields) {
                    if (eq != std::string_view::npos && name == fieldName && !(r.dispatch.*field)) {
                        r.dispatch.*field = std::string(lines[i].substr(eq + 1));
                        taken = true;
                    }
                }
                if (!taken) {
                    return malformed("unknown or repeated dispatch answer '" +
                                     std::string(lines[i]) + "'");
                }
            }
            break;
    }
    return r;
}

}  // namespace wsgid::common
