// SPDX-License-Identifier: Apache-2.0
// Pure rules of the request-routing directives (see routing_rules.h).
#include "apache/routing_rules.h"

#include <algorithm>

namespace wsgid::apache {

bool processGroupAllowed(std::span<const char* const> allowed, std::string_view group) noexcept {
    return std::any_of(allowed.begin(), allowed.end(),
                       [group](const char* name) { return name != nullptr && group == name; });
}

bool isCallableName(std::string_view name) noexcept {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x80U || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
    });
}

bool headShownAsGet(HeadMapping mode, bool headRequest, bool contentFilter) noexcept {
    switch (mode) {
        case HeadMapping::On:
            return headRequest;
        case HeadMapping::Off:
            return false;
        case HeadMapping::Unset:
        case HeadMapping::Auto:
            return headRequest && contentFilter;
    }
    return false;
}

ScriptOwner scriptOwnerCheck(std::optional<uid_t> requiredUid, std::optional<gid_t> requiredGid,
                             uid_t fileUid, gid_t fileGid) noexcept {
    if (requiredUid && *requiredUid != fileUid) {
        return ScriptOwner::WrongUser;
    }
    if (requiredGid && *requiredGid != fileGid) {
        return ScriptOwner::WrongGroup;
    }
    return ScriptOwner::Ok;
}

ResponseDisposition responseDisposition(int status, std::optional<std::string_view> location,
                                        bool errorOverride) noexcept {
    if (status == 200 && location && !location->empty() && location->front() == '/') {
        return ResponseDisposition::InternalRedirect;
    }
    if (errorOverride && status >= 400) {
        return ResponseDisposition::ErrorOverride;
    }
    return ResponseDisposition::Pass;
}

}  // namespace wsgid::apache
