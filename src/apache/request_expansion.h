// SPDX-License-Identifier: Apache-2.0
// What %{...} in a group option (WSGIProcessGroup, WSGIApplicationGroup, WSGICallableObject and
// their alias and hook-script forms) means for one request: the ExpansionContext of a request_rec.
// The expansion rules themselves are pure (environ_rules.h); this is their httpd glue.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "apache/config.h"
#include "apache/environ_rules.h"

struct request_rec;

namespace wsgid::apache {

/// %{ENV:NAME} lookup over a request: notes, then subprocess_env, then the process environment
/// (mod_wsgi's order). Views into `r`: valid while r->pool lives. Request thread only.
class RequestEnvLookup final : public EnvLookup {
public:
    explicit RequestEnvLookup(const request_rec* r) : r_(r) {}
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const override;

private:
    const request_rec* r_;
};

/// What %{...} means for one request whose SCRIPT_NAME is `scriptName` (a view: it must outlive
/// this). Under WSGICaseSensitivity Off, %{RESOURCE} names the interpreter by the lower-cased
/// mount. Request thread only.
class RequestExpansion {
public:
    RequestExpansion(const request_rec* r, bool caseSensitive, std::string_view scriptName);
    RequestExpansion(const RequestExpansion&) = delete;
    RequestExpansion& operator=(const RequestExpansion&) = delete;
    RequestExpansion(RequestExpansion&&) = delete;
    RequestExpansion& operator=(RequestExpansion&&) = delete;
    ~RequestExpansion() = default;

    [[nodiscard]] const ExpansionContext& context() const { return ctx_; }

private:
    RequestEnvLookup env_;
    std::string folded_;  ///< lower-cased SCRIPT_NAME, when case-insensitive
    ExpansionContext ctx_;
};

/// A group option: expanded as %{...}, unless its value came from the URL (LiteralOption of
/// script_alias_mapping.h).
std::string expandOption(const char* spec, bool literal, const ExpansionContext& ctx);

/// The application group a hook script runs in: its application-group=, else (as mod_wsgi) the
/// main interpreter.
std::string hookApplicationGroup(const HookScript& script, const ExpansionContext& ctx);

}  // namespace wsgid::apache
