// SPDX-License-Identifier: Apache-2.0
// Pure rules of the authentication hooks (see auth_rules.h).
#include "apache/auth_rules.h"

#include <algorithm>

#include "apache/config_parse.h"

namespace wsgid::apache {

bool groupsSatisfy(std::string_view requireArgs, const std::vector<std::string>& groups) {
    auto words = splitWords(requireArgs);
    if (!words) {
        return false;
    }
    return std::any_of(words->begin(), words->end(), [&](const std::string& wanted) {
        return std::find(groups.begin(), groups.end(), wanted) != groups.end();
    });
}

}  // namespace wsgid::apache
