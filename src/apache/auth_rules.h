// SPDX-License-Identifier: Apache-2.0
// Pure rules of the authentication hooks: whether the groups a WSGIAuthGroupScript names satisfy a
// "Require wsgi-group ..." line. No ap_* calls.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsgid::apache {

/// Whether any of the groups in `requireArgs` (the words after "Require wsgi-group", quoted as
/// in httpd's configuration) is one of `groups` (case-sensitive, as mod_wsgi compares them).
bool groupsSatisfy(std::string_view requireArgs, const std::vector<std::string>& groups);

}  // namespace wsgid::apache
