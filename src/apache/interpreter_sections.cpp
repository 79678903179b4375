// SPDX-License-Identifier: Apache-2.0
#include "apache/interpreter_sections.h"

#include <algorithm>
#include <iterator>

namespace wsgid::apache {

namespace {

int specificity(const InterpreterSection& s) {
    return (s.processGroup ? 1 : 0) + (s.options.applicationGroup ? 1 : 0);
}

}  // namespace

std::vector<common::InterpreterOptions> interpreterOptionsFor(
    const std::vector<InterpreterSection>& sections, std::string_view groupName) {
    std::vector<const InterpreterSection*> matching;
    for (const InterpreterSection& s : sections) {
        if (!s.processGroup || *s.processGroup == groupName) {
            matching.push_back(&s);
        }
    }
    std::stable_sort(matching.begin(), matching.end(),
                     [](const InterpreterSection* a, const InterpreterSection* b) {
                         return specificity(*a) < specificity(*b);
                     });
    std::vector<common::InterpreterOptions> out;
    out.reserve(matching.size());
    std::transform(matching.begin(), matching.end(), std::back_inserter(out),
                   [](const InterpreterSection* s) { return s->options; });
    return out;
}

}  // namespace wsgid::apache
