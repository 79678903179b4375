// SPDX-License-Identifier: Apache-2.0
// Pure parsing of mod_wsgid directive arguments (see config_parse.h): words, options and single
// values, socket path names and the python-home/home checks. The argument lists of whole
// directives are parsed in config_parse_args.cpp. No httpd, no APR.
#include "apache/config_parse.h"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <system_error>

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

}  // namespace wsgid::apache
