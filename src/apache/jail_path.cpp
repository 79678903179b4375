// SPDX-License-Identifier: Apache-2.0
// Paths of a chroot= daemon group (see jail_path.h). Pure.
#include "apache/jail_path.h"

namespace wsgid::apache {

namespace {

/// Whether `path` has a ".." component.
bool climbs(std::string_view path) noexcept {
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (path.substr(start, end - start) == "..") {
            return true;
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return false;
}

}  // namespace

std::optional<std::string> pathInJail(std::string_view jail, std::string_view path) {
    if (jail.empty() || jail.front() != '/' || path.empty() || path.front() != '/' ||
        climbs(path)) {
        return std::nullopt;
    }
    while (jail.size() > 1 && jail.back() == '/') {
        jail.remove_suffix(1);
    }
    if (jail == "/") {
        return std::string(path);
    }
    if (!path.starts_with(jail)) {
        return std::nullopt;
    }
    std::string_view rest = path.substr(jail.size());
    if (rest.empty()) {
        return std::string("/");
    }
    if (rest.front() != '/') {
        return std::nullopt;  // "/srv/jailbreak" is not inside "/srv/jail"
    }
    return std::string(rest);
}

}  // namespace wsgid::apache
