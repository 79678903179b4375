// SPDX-License-Identifier: Apache-2.0
// Pure parsing of mod_wsgid directive arguments (see config_parse.h). No httpd, no APR.
#include "apache/config_parse.h"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <system_error>
#include <type_traits>

#include <sys/stat.h>

#include "common/ascii.h"
#include "common/socket_io.h"

namespace wsgid::apache {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

bool isBlank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::uint32_t fnv1a(std::string_view s) noexcept {
    std::uint32_t h = 2166136261U;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619U;
    }
    return h;
}

}  // namespace

Status invalidArgument(std::string message) {
    return {ErrorCode::InvalidArgument, std::move(message)};
}

std::string quoted(std::string_view s) {
    return "'" + std::string(s) + "'";
}

Result<std::vector<std::string>> splitWords(std::string_view raw) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (true) {
        while (i < raw.size() && isBlank(raw[i])) {
            ++i;
        }
        if (i >= raw.size()) {
            break;
        }
        std::string word;
        while (i < raw.size() && !isBlank(raw[i])) {
            const char c = raw[i];
            if (c != '"' && c != '\'') {
                word.push_back(c);
                ++i;
                continue;
            }
            const char quote = c;
            ++i;
            bool closed = false;
            while (i < raw.size()) {
                const char q = raw[i];
                if (q == '\\' && i + 1 < raw.size() &&
                    (raw[i + 1] == quote || raw[i + 1] == '\\')) {
                    word.push_back(raw[i + 1]);
                    i += 2;
                    continue;
                }
                ++i;
                if (q == quote) {
                    closed = true;
                    break;
                }
                word.push_back(q);
            }
            if (!closed) {
                return invalidArgument("unterminated quote " + std::string(1, quote) + " in " +
                                       quoted(raw));
            }
        }
        words.push_back(std::move(word));
    }
    return words;
}

std::optional<OptionWord> splitOption(std::string_view word) {
    const auto eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        return std::nullopt;
    }
    return OptionWord{std::string(word.substr(0, eq)), std::string(word.substr(eq + 1))};
}

Result<bool> parseOnOff(std::string_view what, std::string_view value) {
    if (common::equalsIgnoreCase(value, "on")) {
        return true;
    }
    if (common::equalsIgnoreCase(value, "off")) {
        return false;
    }
    return invalidArgument(std::string(what) + " must be On or Off, got " + quoted(value));
}

Result<long long> parseInteger(std::string_view what, std::string_view value, long long min,
                               long long max) {
    long long n = 0;
    const auto* end = value.data() + value.size();
    // from_chars accepts a leading '-' only; '+', blanks and trailing text are rejected.
    auto [p, ec] = std::from_chars(value.data(), end, n, 10);
    if (value.empty() || ec != std::errc() || p != end) {
        return invalidArgument(std::string(what) + " needs an integer, got " + quoted(value));
    }
    if (n < min || n > max) {
        return invalidArgument(std::string(what) + " must be between " + std::to_string(min) +
                               " and " + std::to_string(max) + ", got " + quoted(value));
    }
    return n;
}

Result<mode_t> parseUmask(std::string_view what, std::string_view value) {
    unsigned int n = 0;
    const auto* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, n, 8);
    if (value.empty() || ec != std::errc() || p != end || n > 0777) {
        return invalidArgument(std::string(what) +
                               " needs an octal mode between 0 and 0777 (e.g. 0022), " + "got " +
                               quoted(value));
    }
    return static_cast<mode_t>(n);
}

std::vector<std::string> splitColonList(std::string_view value) {
    std::vector<std::string> out;
    while (!value.empty()) {
        const auto pos = value.find(':');
        const auto item = value.substr(0, pos);
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (pos == std::string_view::npos) {
            break;
        }
        value.remove_prefix(pos + 1);
    }
    return out;
}

std::string expandDisplayName(std::string_view value, std::string_view group) {
    static constexpr std::string_view kGroupVar = "%{GROUP}";
    std::string out;
    while (true) {
        const auto pos = value.find(kGroupVar);
        out += value.substr(0, pos);
        if (pos == std::string_view::npos) {
            break;
        }
        out += "(wsgi:";
        out += group;
        out += ")";
        value.remove_prefix(pos + kGroupVar.size());
    }
    return out;
}

bool isLiteralName(std::string_view value) noexcept {
    return value.find("%{") == std::string_view::npos;
}

std::string sanitizeForPath(std::string_view name) {
    std::string out;
    bool changed = false;
    for (const char c : name) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out.push_back(keep ? c : '_');
        changed = changed || !keep;
    }
    if (changed) {
        char hex[9];
        auto [p, ec] = std::to_chars(hex, hex + sizeof(hex) - 1, fnv1a(name), 16);
        (void)ec;
        out += "-";
        out.append(hex, p);
    }
    return out;
}

std::string socketPathFor(std::string_view prefix, long pid, std::string_view groupName) {
    std::string path(prefix);
    path += ".";
    path += std::to_string(pid);
    path += ".";
    path += sanitizeForPath(groupName);
    path += ".sock";
    return path;
}

std::size_t worstCaseSocketPathLength(std::string_view prefix, std::string_view groupName) {
    // "<prefix>.<pid>.<name>.sock"
    return prefix.size() + 1 + kMaxPidDigits + 1 + sanitizeForPath(groupName).size() + 5;
}

Status checkPythonHome(std::string_view what, const std::string& dir,
                       std::string_view pythonVersion) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        const int err = errno;
        return {ErrorCode::NotFound,
                std::string(what) + " " + quoted(dir) + " does not exist (" +
                    common::errnoText(err) + "): point it at a virtualenv made with python" +
                    std::string(pythonVersion) + " -m venv, or remove it to use the system Python"};
    }
    if (!S_ISDIR(st.st_mode)) {
        return {ErrorCode::InvalidArgument, std::string(what) + " " + quoted(dir) +
                                                " is not a directory: point it at the " +
                                                "virtualenv's top directory (its sys.prefix)"};
    }
    const std::string lib = dir + "/lib/python" + std::string(pythonVersion);
    if (::stat(lib.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return {ErrorCode::InvalidArgument,
                std::string(what) + " " + quoted(dir) + " is not a Python " +
                    std::string(pythonVersion) + " installation: " + lib +
                    " does not exist. mod_wsgid runs Python " + std::string(pythonVersion) +
                    "; recreate the virtualenv with python" + std::string(pythonVersion) +
                    " -m venv " + dir};
    }
    return Status::ok();
}

Status checkDirectory(std::string_view what, const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        const int err = errno;
        return {ErrorCode::NotFound, std::string(what) + " " + quoted(dir) + " does not exist (" +
                                         common::errnoText(err) + ")"};
    }
    if (!S_ISDIR(st.st_mode)) {
        return {ErrorCode::InvalidArgument,
                std::string(what) + " " + quoted(dir) + " is not a directory"};
    }
    return Status::ok();
}

namespace {

/// Applies one option word of WSGIScriptAlias(Match) or WSGIHandlerScript to `a` (a
/// ScriptAliasArgs or HandlerScriptArgs); callable-object= only where `Args` has it.
template <typename Args>
Status applyRouteOption(std::string_view directive, const OptionWord& opt, Args& a) {
    constexpr bool kHasCallable = std::is_same_v<Args, ScriptAliasArgs>;
    const std::string what = std::string(directive) + " option '" + opt.key + "'";
    auto set = [&](std::optional<std::string>& field) -> Status {
        if (field) {
            return invalidArgument(what + " is given twice");
        }
        if (opt.value.empty()) {
            return invalidArgument(what + " needs a value");
        }
        field = opt.value;
        return Status::ok();
    };
    if (opt.key == "process-group") {
        return set(a.processGroup);
    }
    if (opt.key == "application-group") {
        return set(a.applicationGroup);
    }
    if constexpr (kHasCallable) {
        if (opt.key == "callable-object") {
            return set(a.callableObject);
        }
    }
    if (opt.key == "pass-authorization") {
        if (a.passAuthorization) {
            return invalidArgument(what + " is given twice");
        }
        auto b = parseOnOff(what, opt.value);
        if (!b) {
            return b.status();
        }
        a.passAuthorization = *b;
        return Status::ok();
    }
    return invalidArgument(std::string(directive) + ": unknown option " + quoted(opt.key) +
                           (kHasCallable
                                ? " (known: process-group, application-group, callable-object, "
                                  "pass-authorization)"
                                : " (known: process-group, application-group, "
                                  "pass-authorization)"));
}

/// Applies the option words from `first` on (see applyRouteOption).
template <typename Args>
Status applyRouteOptions(std::string_view directive, const std::vector<std::string>& words,
                         std::size_t first, Args& a) {
    for (std::size_t i = first; i < words.size(); ++i) {
        const auto opt = splitOption(words[i]);
        if (!opt) {
            return invalidArgument(std::string(directive) + ": expected option=value, got " +
                                   quoted(words[i]));
        }
        if (Status st = applyRouteOption(directive, *opt, a); !st) {
            return st;
        }
    }
    return Status::ok();
}

}  // namespace

Result<ScriptAliasArgs> parseScriptAlias(std::string_view raw, AliasKind kind) {
    const bool match = kind == AliasKind::Match;
    const std::string_view kDirective = match ? "WSGIScriptAliasMatch" : "WSGIScriptAlias";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->size() < 2) {
        return invalidArgument(std::string(kDirective) +
                               (match ? " needs a regular expression and a file-path: "
                                        "WSGIScriptAliasMatch ^/([^/]+) /srv/sites/$1/app.wsgi"
                                      : " needs a URL-path and a file-path: WSGIScriptAlias /app "
                                        "/path/app.wsgi"));
    }
    ScriptAliasArgs a;
    std::string_view url = (*words)[0];
    if (match) {
        if (url.empty()) {
            return invalidArgument(std::string(kDirective) + ": the regular expression is empty");
        }
    } else {
        if (url.empty() || url.front() != '/') {
            return invalidArgument(std::string(kDirective) + ": URL-path " + quoted(url) +
                                   " must start with '/'");
        }
        while (!url.empty() && url.back() == '/') {
            url.remove_suffix(1);
        }
    }
    a.urlPath.assign(url);
    a.target = (*words)[1];
    if (a.target.empty()) {
        return invalidArgument(std::string(kDirective) + ": the file-path is empty");
    }
    if (Status st = applyRouteOptions(kDirective, *words, 2, a); !st) {
        return st;
    }
    return a;
}

Result<HandlerScriptArgs> parseHandlerScript(std::string_view raw) {
    static constexpr std::string_view kDirective = "WSGIHandlerScript";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->size() < 2 || (*words)[0].empty() || (*words)[1].empty()) {
        return invalidArgument(
            std::string(kDirective) +
            " needs a handler name and a file-path: WSGIHandlerScript my-handler "
            "/srv/handler.wsgi, then SetHandler my-handler");
    }
    HandlerScriptArgs a;
    a.name = (*words)[0];
    a.script = (*words)[1];
    if (a.name.find('=') != std::string::npos) {
        return invalidArgument(std::string(kDirective) +
                               ": the first argument must be the handler " + "name, got " +
                               quoted(a.name));
    }
    if (Status st = applyRouteOptions(kDirective, *words, 2, a); !st) {
        return st;
    }
    return a;
}

Result<HookScriptArgs> parseHookScript(std::string_view directive, std::string_view raw) {
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(directive) + ": " + words.status().message());
    }
    if (words->empty() || (*words)[0].empty() || (*words)[0].find('=') != std::string::npos) {
        return invalidArgument(std::string(directive) +
                               " needs a file-path: " + std::string(directive) +
                               " /srv/site/auth.wsgi [application-group=NAME]");
    }
    HookScriptArgs a;
    a.script = (*words)[0];
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt || opt->key != "application-group") {
            return invalidArgument(
                std::string(directive) + ": unknown option " + quoted((*words)[i]) +
                " (known: application-group; the script runs in the daemon group "
                "of the request)");
        }
        if (a.applicationGroup || opt->value.empty()) {
            return invalidArgument(std::string(directive) +
                                   ": application-group= needs one value, given once");
        }
        a.applicationGroup = opt->value;
    }
    return a;
}

Result<HeadMapping> parseHeadMapping(std::string_view value) {
    if (common::equalsIgnoreCase(value, "On")) {
        return HeadMapping::On;
    }
    if (common::equalsIgnoreCase(value, "Off")) {
        return HeadMapping::Off;
    }
    if (common::equalsIgnoreCase(value, "Auto")) {
        return HeadMapping::Auto;
    }
    return invalidArgument("WSGIMapHEADToGET must be On, Off or Auto, got " + quoted(value));
}

Result<std::optional<std::uint32_t>> parseHashSeed(std::string_view value) {
    if (common::equalsIgnoreCase(value, "random")) {
        return std::optional<std::uint32_t>();
    }
    auto n = parseInteger("WSGIPythonHashSeed", value, 0, 4294967295LL);
    if (!n) {
        return Status(ErrorCode::InvalidArgument,
                      n.status().message() + " (or 'random', the default)");
    }
    return std::optional<std::uint32_t>(static_cast<std::uint32_t>(*n));
}

Result<double> parseSwitchInterval(std::string_view value) {
    double seconds = 0;
    const auto* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, seconds);
    if (value.empty() || ec != std::errc() || p != end || !(seconds > 0) ||
        seconds > kMaxSwitchIntervalSeconds) {
        return invalidArgument("WSGISwitchInterval needs seconds, a number above 0 and at most " +
                               std::to_string(static_cast<int>(kMaxSwitchIntervalSeconds)) +
                               " (Python's default is 0.005), got " + quoted(value));
    }
    return seconds;
}

Result<ImportScriptArgs> parseImportScript(std::string_view raw) {
    static constexpr std::string_view kDirective = "WSGIImportScript";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->empty() || (*words)[0].empty()) {
        return invalidArgument(std::string(kDirective) +
                               " needs a file-path, process-group= and application-group=");
    }
    ImportScriptArgs a;
    a.script = (*words)[0];
    bool haveProcess = false;
    bool haveApplication = false;
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt) {
            return invalidArgument(std::string(kDirective) + ": expected option=value, got " +
                                   quoted((*words)[i]));
        }
        const std::string what = std::string(kDirective) + " option '" + opt->key + "'";
        if (opt->key == "process-group") {
            a.processGroup = opt->value;
            haveProcess = true;
        } else if (opt->key == "application-group") {
            a.applicationGroup = opt->value;
            haveApplication = true;
        } else {
            return invalidArgument(std::string(kDirective) + ": unknown option " +
                                   quoted(opt->key) + " (known: process-group, application-group)");
        }
        if (opt->value.empty()) {
            return invalidArgument(what + " needs a value");
        }
    }
    if (!haveProcess || !haveApplication) {
        return invalidArgument(std::string(kDirective) +
                               ": both process-group= and application-group= " + "are required");
    }
    return a;
}

Result<InterpreterSection> parseInterpreterSection(std::string_view raw) {
    static constexpr std::string_view kDirective = "<WSGIInterpreterOptions>";
    auto words = splitWords(raw);
    if (!words) {
        return invalidArgument(std::string(kDirective) + ": " + words.status().message());
    }
    InterpreterSection section;
    for (const std::string& word : *words) {
        const auto opt = splitOption(word);
        if (!opt) {
            return invalidArgument(std::string(kDirective) + ": expected option=value, got " +
                                   quoted(word));
        }
        const std::string what = std::string(kDirective) + " option '" + opt->key + "'";
        std::optional<std::string>* target = nullptr;
        std::string global;
        if (opt->key == "process-group") {
            target = &section.processGroup;
            global = GroupRegistry::kDefaultGroupName;
        } else if (opt->key == "application-group") {
            target = &section.options.applicationGroup;
        } else {
            return invalidArgument(std::string(kDirective) + ": unknown option " +
                                   quoted(opt->key) + " (known: process-group, application-group)");
        }
        if (target->has_value()) {
            return invalidArgument(what + " is given twice");
        }
        if (opt->value.empty()) {
            return invalidArgument(what + " needs a value");
        }
        if (opt->value == "%{GLOBAL}") {
            *target = global;
        } else if (isLiteralName(opt->value)) {
            *target = opt->value;
        } else {
            return invalidArgument(what +
                                   " must be a name or %{GLOBAL}: the section is matched when "
                                   "the configuration is read, not per request; got " +
                                   quoted(opt->value));
        }
    }
    return section;
}

}  // namespace wsgid::apache
