// SPDX-License-Identifier: Apache-2.0
// The ExpansionContext of a request (see request_expansion.h).
#include "apache/request_expansion.h"

#include <algorithm>
#include <cstdlib>

#include "apache/c_string.h"
#include "apache/httpd_includes.h"
#include "common/ascii.h"

namespace wsgid::apache {

std::optional<std::string_view> RequestEnvLookup::find(std::string_view name) const {
    const std::string key(name);
    if (const char* v = apr_table_get(r_->notes, key.c_str())) {
        return v;
    }
    if (r_->subprocess_env != nullptr) {
        if (const char* v = apr_table_get(r_->subprocess_env, key.c_str())) {
            return v;
        }
    }
    // getenv is only racy against setenv, which httpd children do not call after start-up.
    if (const char* v = std::getenv(key.c_str())) {  // NOLINT(concurrency-mt-unsafe)
        return v;
    }
    return std::nullopt;
}

RequestExpansion::RequestExpansion(const request_rec* r, bool caseSensitive,
                                   std::string_view scriptName)
    : env_(r),
      folded_(caseSensitive ? std::string() : std::string(scriptName)),
      ctx_{.serverHostname = orEmpty(r->server->server_hostname),
           .requestHost = orEmpty(r->hostname),
           .port = ap_get_server_port(r),
           .scriptName = caseSensitive ? scriptName : std::string_view(folded_),
           .env = &env_} {
    std::transform(folded_.begin(), folded_.end(), folded_.begin(), common::asciiToLower);
}

std::string expandOption(const char* spec, bool literal, const ExpansionContext& ctx) {
    return literal ? std::string(spec) : expandGroupSpec(spec, ctx);
}

std::string hookApplicationGroup(const HookScript& script, const ExpansionContext& ctx) {
    return expandGroupSpec(
        script.applicationGroup != nullptr ? script.applicationGroup : "%{GLOBAL}", ctx);
}

}  // namespace wsgid::apache
