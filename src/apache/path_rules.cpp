// SPDX-License-Identifier: Apache-2.0
// URL mapping rules of WSGIScriptAlias (see path_rules.h). Pure: no ap_* calls, no syscalls.
#include "apache/path_rules.h"

namespace wsgid::apache {

namespace {

std::string_view withoutTrailingSlashes(std::string_view s) noexcept {
    while (!s.empty() && s.back() == '/') {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

std::optional<std::size_t> matchMount(std::string_view urlPath, std::string_view uri) noexcept {
    if (uri.empty() || uri.front() != '/') {
        return std::nullopt;
    }
    const std::string_view mount = withoutTrailingSlashes(urlPath);
    std::size_t u = 0;
    std::size_t m = 0;
    while (m < mount.size()) {
        if (u >= uri.size()) {
            return std::nullopt;
        }
        if (mount[m] == '/') {
            if (uri[u] != '/') {
                return std::nullopt;
            }
            while (m < mount.size() && mount[m] == '/') {
                ++m;
            }
            while (u < uri.size() && uri[u] == '/') {
                ++u;
            }
        } else {
            if (uri[u] != mount[m]) {
                return std::nullopt;
            }
            ++m;
            ++u;
        }
    }
    // The mount must end on a segment boundary: "/app" covers "/app/x" but not "/apple".
    if (u < uri.size() && !mount.empty() && uri[u] != '/') {
        return std::nullopt;
    }
    return u;
}

std::optional<AliasMatch> findAlias(std::span<const ScriptAlias> aliases, std::string_view uri,
                                    const RegexMatcher& matchRegex) {
    for (std::size_t i = 0; i < aliases.size(); ++i) {
        const ScriptAlias& alias = aliases[i];
        if (alias.regex == nullptr) {
            const char* urlPath = alias.urlPath;
            if (auto len = matchMount(urlPath != nullptr ? urlPath : "", uri)) {
                return AliasMatch{.index = i, .matchedLength = *len, .captures = {}};
            }
            continue;
        }
        if (!matchRegex || uri.empty() || uri.front() != '/') {
            continue;
        }
        std::optional<RegexMatch> m = matchRegex(alias, uri);
        if (!m || m->captures.empty() || !m->captures.front()) {
            continue;
        }
        std::size_t end = m->captures.front()->second;
        const bool boundary = end == uri.size() || uri[end] == '/' || uri[end - 1] == '/';
        if (end == 0 || end > uri.size() || !boundary) {
            continue;
        }
        while (end > 0 && uri[end - 1] == '/') {
            --end;
        }
        return AliasMatch{.index = i, .matchedLength = end, .captures = std::move(m->captures)};
    }
    return std::nullopt;
}

namespace {

/// The group a '$' at templ[i] refers to, or -1 when it is a literal '$'.
int groupAt(std::string_view templ, std::size_t i) noexcept {
    if (templ[i] == '&') {
        return 0;
    }
    if (templ[i] == '$' && i + 1 < templ.size() && templ[i + 1] >= '0' && templ[i + 1] <= '9') {
        return templ[i + 1] - '0';
    }
    return -1;
}

bool escapedAt(std::string_view templ, std::size_t i) noexcept {
    return templ[i] == '\\' && i + 1 < templ.size() && (templ[i + 1] == '$' || templ[i + 1] == '&');
}

}  // namespace

std::string substituteCaptures(std::string_view templ, std::string_view subject,
                               std::span<const Capture> captures) {
    std::string out;
    out.reserve(templ.size());
    for (std::size_t i = 0; i < templ.size(); ++i) {
        if (escapedAt(templ, i)) {
            out.push_back(templ[++i]);
            continue;
        }
        const int group = groupAt(templ, i);
        if (group < 0) {
            out.push_back(templ[i]);
            continue;
        }
        if (templ[i] == '$') {
            ++i;
        }
        const auto n = static_cast<std::size_t>(group);
        if (n < captures.size() && captures[n] && captures[n]->first <= captures[n]->second &&
            captures[n]->second <= subject.size()) {
            out.append(
                subject.substr(captures[n]->first, captures[n]->second - captures[n]->first));
        }
    }
    return out;
}

int highestCaptureReference(std::string_view templ) noexcept {
    int highest = -1;
    for (std::size_t i = 0; i < templ.size(); ++i) {
        if (escapedAt(templ, i)) {
            ++i;
            continue;
        }
        const int group = groupAt(templ, i);
        highest = group > highest ? group : highest;
    }
    return highest;
}

bool hasCaptureReference(std::string_view templ) noexcept {
    return highestCaptureReference(templ) >= 0;
}

std::string collapseSlashes(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (char c : path) {
        if (c == '/' && !out.empty() && out.back() == '/') {
            continue;
        }
        out.push_back(c);
    }
    return out;
}

ScriptPath splitAtMount(std::string_view uri, std::size_t matchedLength) {
    const std::size_t cut = matchedLength < uri.size() ? matchedLength : uri.size();
    ScriptPath out{.scriptName = collapseSlashes(uri.substr(0, cut)),
                   .pathInfo = collapseSlashes(uri.substr(cut))};
    // A root mount matches nothing, so SCRIPT_NAME is "" rather than "/" (PEP 3333: SCRIPT_NAME
    // never ends in '/', and a request for "/" has PATH_INFO "/").
    while (!out.scriptName.empty() && out.scriptName.back() == '/') {
        out.scriptName.pop_back();
    }
    return out;
}

ScriptTarget resolveTarget(std::string_view target, std::string_view uri,
                           std::size_t matchedLength) {
    if (target.empty() || target.back() != '/' || matchedLength >= uri.size()) {
        return ScriptTarget{.filename = std::string(target), .matchedLength = matchedLength};
    }
    std::size_t pos = matchedLength;
    while (pos < uri.size() && uri[pos] == '/') {
        ++pos;
    }
    std::size_t end = uri.find('/', pos);
    if (end == std::string_view::npos) {
        end = uri.size();
    }
    std::string filename(target);
    filename.append(uri.substr(pos, end - pos));
    return ScriptTarget{.filename = std::move(filename), .matchedLength = end};
}

ScriptPath splitByPathInfo(std::string_view uri, std::string_view pathInfo) {
    std::string script = collapseSlashes(uri);
    std::string info = collapseSlashes(pathInfo);
    if (!info.empty() && script.size() >= info.size() &&
        std::string_view(script).substr(script.size() - info.size()) == info) {
        script.resize(script.size() - info.size());
    }
    while (!script.empty() && script.back() == '/') {
        script.pop_back();
    }
    return ScriptPath{.scriptName = std::move(script), .pathInfo = std::move(info)};
}

}  // namespace wsgid::apache
