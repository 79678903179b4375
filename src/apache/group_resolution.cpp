// SPDX-License-Identifier: Apache-2.0
// The daemon group a request runs in: its process-group value (alias option, WSGIProcessGroup,
// or WSGIDispatchScript's process_group()) checked against WSGIRestrictProcess and the groups
// this virtual host may use, with the 500 or 503 and log line of a group that cannot take it.
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/environ_rules.h"
#include "apache/handler_impl.h"
#include "apache/request_expansion.h"
#include "apache/routing_rules.h"
#include "apache/script_alias_mapping.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

CheckedGroup checkGroup(const request_rec* r, const GroupRegistry& registry,
                        const RequestConfig& conf, std::string groupName) {
    CheckedGroup out{.check = GroupCheck::Ok, .name = std::move(groupName), .group = nullptr};
    if (const apr_array_header_t* allowed = conf.dir.restrictProcess; allowed != nullptr) {
        const std::span<const char* const> names(
            reinterpret_cast<const char* const*>(allowed->elts),
            static_cast<std::size_t>(allowed->nelts));
        if (!processGroupAllowed(names, out.name)) {
            out.check = GroupCheck::Restricted;
            return out;
        }
    }
    if (out.name.empty()) {
        out.name = GroupRegistry::kDefaultGroupName;
    }
    out.group = registry.find(out.name);
    if (out.group == nullptr) {
        out.check = GroupCheck::Unknown;
    } else if (!out.group->serverName.empty() &&
               out.group->serverName != orEmpty(r->server->server_hostname)) {
        out.check = GroupCheck::OtherServer;
    } else if (out.group->threads == 0) {
        out.check = GroupCheck::ServiceOnly;
    } else if (out.group->socketPath.empty()) {
        out.check = GroupCheck::NoSocket;
    }
    return out;
}

const char* whyRefused(GroupCheck check) noexcept {
    switch (check) {
        case GroupCheck::Ok:
            break;
        case GroupCheck::Restricted:
            return "is not one WSGIRestrictProcess allows here";
        case GroupCheck::Unknown:
            return "is not a configured WSGIDaemonProcess";
        case GroupCheck::OtherServer:
            return "belongs to another virtual host";
        case GroupCheck::ServiceOnly:
            return "has threads=0: it runs service scripts and takes no requests";
        case GroupCheck::NoSocket:
            return "has no socket (not started)";
    }
    return "is usable";
}

int statusFor(GroupCheck check) noexcept {
    return check == GroupCheck::NoSocket ? HTTP_SERVICE_UNAVAILABLE : HTTP_INTERNAL_SERVER_ERROR;
}

Step<const DaemonGroup*> resolveGroup(request_rec* r, const GroupRegistry& registry,
                                      const RequestConfig& conf, const ExpansionContext& ctx) {
    const char* groupSpec =
        pick(conf.route.processGroup, conf.dir.processGroup, conf.server.processGroup);
    const CheckedGroup checked = checkGroup(
        r, registry, conf,
        groupSpec != nullptr ? expandOption(groupSpec,
                                            groupSpec == conf.route.processGroup &&
                                                (conf.literal & kLiteralProcessGroup) != 0,
                                            ctx)
                             : std::string());
    switch (checked.check) {
        case GroupCheck::Ok:
            return {.value = checked.group};
        case GroupCheck::Restricted:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0151: daemon process group '%s' (from '%s') is not one "
                          "WSGIRestrictProcess allows for %s",
                          checked.name.empty() ? "%{GLOBAL}" : checked.name.c_str(),
                          orEmpty(groupSpec), orEmpty(r->filename));
            break;
        case GroupCheck::Unknown:
            ap_log_rerror(
                APLOG_MARK, APLOG_ERR, 0, r,
                "WG0106: no WSGI daemon process group '%s' is configured (from '%s') for %s",
                checked.name.c_str(), orEmpty(groupSpec), orEmpty(r->filename));
            break;
        case GroupCheck::OtherServer:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0107: daemon process group '%s' belongs to server '%s' and may not be "
                          "used by server '%s'",
                          checked.group->name.c_str(), checked.group->serverName.c_str(),
                          orEmpty(r->server->server_hostname));
            break;
        case GroupCheck::ServiceOnly:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0175: daemon process group '%s' (from '%s') has threads=0: it runs "
                          "service scripts and takes no requests; send %s to another group",
                          checked.group->name.c_str(), orEmpty(groupSpec), orEmpty(r->filename));
            break;
        case GroupCheck::NoSocket:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0108: daemon process group '%s' has no socket (not started)",
                          checked.group->name.c_str());
            break;
    }
    return Step<const DaemonGroup*>::stop(statusFor(checked.check));
}

}  // namespace wsgid::apache
