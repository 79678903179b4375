// SPDX-License-Identifier: Apache-2.0
#include "apache/daemon_environment.h"

#include <algorithm>
#include <array>

namespace wsgid::apache {

namespace {

constexpr std::array<std::string_view, 4> kAllowed = {"PATH", "TZ", "LANG", "LANGUAGE"};
constexpr std::array<std::string_view, 5> kSanitizerSettings = {
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "LD_PRELOAD", "PYTHONMALLOC"};

bool allowed(std::string_view name, bool sanitizerBuild) {
    const auto in = [name](const auto& list) {
        return std::find(list.begin(), list.end(), name) != list.end();
    };
    return in(kAllowed) || name.starts_with("LC_") || (sanitizerBuild && in(kSanitizerSettings));
}

}  // namespace

std::vector<std::string> daemonEnvironment(const char* const* parent, bool sanitizerBuild) {
    std::vector<std::string> out;
    bool havePath = false;
    for (const char* const* e = parent; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            continue;
        }
        const std::string_view name = entry.substr(0, eq);
        if (!allowed(name, sanitizerBuild)) {
            continue;
        }
        // The first of duplicate names wins, as getenv() sees it.
        const bool seen = std::any_of(out.begin(), out.end(), [name](const std::string& kept) {
            return kept.size() > name.size() && kept[name.size()] == '=' &&
                   kept.compare(0, name.size(), name) == 0;
        });
        if (seen) {
            continue;
        }
        havePath = havePath || name == "PATH";
        out.emplace_back(entry);
    }
    if (!havePath) {
        out.push_back("PATH=" + std::string(kDefaultDaemonPath));
    }
    return out;
}

}  // namespace wsgid::apache
