// SPDX-License-Identifier: Apache-2.0
// Pure parsing of mod_wsgid directive arguments (see config_parse.h). No httpd, no APR.
#include "apache/config_parse.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>
#include <type_traits>
#include <variant>

#include <sys/stat.h>

#include "apache/response_buffering.h"
#include "common/ascii.h"
#include "common/socket_buffers.h"
#include "common/socket_io.h"
#include "protocol/daemon_args.h"

namespace wsgid::apache {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

Status invalid(std::string message) {
    return {ErrorCode::InvalidArgument, std::move(message)};
}

std::string quoted(std::string_view s) {
    return "'" + std::string(s) + "'";
}

bool isBlank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// Upper bound of the byte-count options: 1 PiB; a larger value is a typo.
constexpr long long kMaxByteCount = 1LL << 50;

/// "1048576", "512K", "256M", "2G" (powers of 1024), 0..kMaxByteCount.
Result<long long> parseByteCount(std::string_view what, std::string_view value) {
    long long unit = 1;
    std::string_view digits = value;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'k':
            case 'K':
                unit = 1LL << 10;
                break;
            case 'm':
            case 'M':
                unit = 1LL << 20;
                break;
            case 'g':
            case 'G':
                unit = 1LL << 30;
                break;
            default:
                break;
        }
        if (unit != 1) {
            digits.remove_suffix(1);
        }
    }
    auto n = parseInteger(what, digits, 0, kMaxByteCount / unit);
    if (!n) {
        return invalid(std::string(what) + " needs a byte count such as 1073741824, 512M or 1G, " +
                       "got " + quoted(value));
    }
    return *n * unit;
}

/// user= / group= values: a name, or #number.
Status checkIdentity(std::string_view what, std::string_view value) {
    if (value.front() == '#') {
        auto n = parseInteger(what, value.substr(1), 0, 0x7fffffff);
        return n ? Status::ok() : n.status();
    }
    return Status::ok();
}

// ---- the WSGIDaemonProcess option table -------------------------------------------------------

/// How a WSGIDaemonProcess option's value is parsed and checked.
enum class OptionKind {
    Integer,        ///< a decimal integer in [lo, hi]
    ZeroOrAtLeast,  ///< 0 (off), or an integer of at least lo (and at most hi when hi > 0)
    Bytes,          ///< a byte count, optionally with a K, M or G suffix (powers of 1024)
    Seconds,        ///< whole seconds in [lo, kMaxTimeoutSeconds]
    Float,          ///< a positive decimal number
    OnOff,          ///< On or Off
    Text,           ///< any non-empty string
    AbsolutePath,   ///< a path starting with '/'
    Identity,       ///< a user or group name, or #number
    IdentityList,   ///< comma-separated Identity values
    Umask,          ///< an octal mode up to 0777
    PathList,       ///< colon-separated directories (empty items dropped)
    DisplayName,    ///< text with %{GROUP} expanded
};

/// The DaemonGroup member an option sets. Every option has one: an option accepted without an
/// effect would let a configuration that relies on it run without it.
using OptionTarget =
    std::variant<int DaemonGroup::*, bool DaemonGroup::*, std::string DaemonGroup::*,
                 std::uint64_t DaemonGroup::*, std::chrono::seconds DaemonGroup::*,
                 std::optional<std::chrono::seconds> DaemonGroup::*,
                 std::optional<int> DaemonGroup::*, std::optional<mode_t> DaemonGroup::*,
                 std::vector<std::string> DaemonGroup::*, std::optional<double> DaemonGroup::*>;

/// One WSGIDaemonProcess option: its name, how its value is checked, and where it goes. To add
/// an option, add a row to kDaemonOptions (and a row to docs/configuration.md).
struct DaemonOption {
    std::string_view name;
    OptionKind kind;
    OptionTarget target;
    long long lo = 0;
    long long hi = 0;
    /// A check before the kind's, for values that deserve their own message; nullptr for none.
    Status (*check)(std::string_view what, std::string_view value) = nullptr;
    /// A step after the value is stored (processes= also sets processesGiven); nullptr for none.
    void (*after)(DaemonGroup& g) = nullptr;
};

void noteProcessesGiven(DaemonGroup& g) {
    g.processesGiven = true;
}

/// switch-interval= has WSGISwitchInterval's bounds.
Status checkSwitchInterval(std::string_view what, std::string_view value) {
    if (parseSwitchInterval(value)) {
        return Status::ok();
    }
    return invalid(std::string(what) + " needs seconds, a number above 0 and at most " +
                   std::to_string(static_cast<int>(kMaxSwitchIntervalSeconds)) +
                   " (Python's default is 0.005), got " + quoted(value));
}

// Every option of mod_wsgi 6.0.5 (reference §2) and mod_wsgid's own, except the rejected ones
// (kRejectedOptions). Bounds are the documented ones; a row without a target is accepted and
// type-checked but not implemented yet.
constexpr std::array kDaemonOptions = {
    DaemonOption{"processes", OptionKind::Integer, &DaemonGroup::processes, 1, kMaxDaemonProcesses,
                 nullptr, noteProcessesGiven},
    // 0: a service-script daemon (WSGIImportScript only, no requests); checked by check_config.
    DaemonOption{"threads", OptionKind::Integer, &DaemonGroup::threads, 0, kMaxDaemonThreads},
    DaemonOption{"user", OptionKind::Identity, &DaemonGroup::user},
    DaemonOption{"group", OptionKind::Identity, &DaemonGroup::group},
    DaemonOption{"supplementary-groups", OptionKind::IdentityList,
                 &DaemonGroup::supplementaryGroups},
    DaemonOption{"umask", OptionKind::Umask, &DaemonGroup::umask},
    DaemonOption{"home", OptionKind::AbsolutePath, &DaemonGroup::home},
    DaemonOption{"chroot", OptionKind::AbsolutePath, &DaemonGroup::chroot},
    DaemonOption{"python-home", OptionKind::AbsolutePath, &DaemonGroup::pythonHome},
    DaemonOption{"python-path", OptionKind::PathList, &DaemonGroup::pythonPath},
    DaemonOption{"display-name", OptionKind::DisplayName, &DaemonGroup::displayName},
    DaemonOption{"allow-root", OptionKind::OnOff, &DaemonGroup::allowRoot},
    DaemonOption{"script-user", OptionKind::Identity, &DaemonGroup::scriptUser},
    DaemonOption{"script-group", OptionKind::Identity, &DaemonGroup::scriptGroup},
    DaemonOption{"lang", OptionKind::Text, &DaemonGroup::lang},
    DaemonOption{"locale", OptionKind::Text, &DaemonGroup::locale},
    DaemonOption{"listen-backlog", OptionKind::Integer, &DaemonGroup::listenBacklog, 1,
                 kMaxListenBacklog},
    DaemonOption{"log-rate", OptionKind::Integer, &DaemonGroup::logRateBytes, 0, kMaxLogLimitBytes},
    DaemonOption{"log-burst", OptionKind::Integer, &DaemonGroup::logBurstBytes, 0,
                 kMaxLogLimitBytes},
    DaemonOption{"connect-timeout", OptionKind::Seconds, &DaemonGroup::connectTimeout},
    // 0 keeps mod_wsgi's meaning: the server's Timeout (the member stays unset).
    DaemonOption{"socket-timeout", OptionKind::Seconds, &DaemonGroup::socketTimeout},
    DaemonOption{"shutdown-timeout", OptionKind::Seconds, &DaemonGroup::shutdownTimeout},
    DaemonOption{"queue-timeout", OptionKind::Seconds, &DaemonGroup::queueTimeout},
    DaemonOption{"max-in-flight", OptionKind::Integer, &DaemonGroup::maxInFlight, 0,
                 kMaxInFlightLimit},
    DaemonOption{"python-eggs", OptionKind::Text, &DaemonGroup::pythonEggs},
    DaemonOption{"switch-interval", OptionKind::Float, &DaemonGroup::switchInterval, 0, 0,
                 checkSwitchInterval},
    DaemonOption{"stack-size", OptionKind::ZeroOrAtLeast, &DaemonGroup::stackSize},
    DaemonOption{"maximum-requests", OptionKind::ZeroOrAtLeast, &DaemonGroup::maximumRequests},
    DaemonOption{"startup-timeout", OptionKind::Seconds, &DaemonGroup::startupTimeout},
    DaemonOption{"deadlock-timeout", OptionKind::Seconds, &DaemonGroup::deadlockTimeout},
    DaemonOption{"inactivity-timeout", OptionKind::Seconds, &DaemonGroup::inactivityTimeout},
    DaemonOption{"request-timeout", OptionKind::Seconds, &DaemonGroup::requestTimeout},
    DaemonOption{"interrupt-timeout", OptionKind::Seconds, &DaemonGroup::interruptTimeout},
    DaemonOption{"graceful-timeout", OptionKind::Seconds, &DaemonGroup::gracefulTimeout},
    DaemonOption{"eviction-timeout", OptionKind::Seconds, &DaemonGroup::evictionTimeout},
    DaemonOption{"restart-interval", OptionKind::Seconds, &DaemonGroup::restartInterval},
    // 0 keeps mod_wsgi's meaning: socket-timeout= (the member stays unset).
    DaemonOption{"response-socket-timeout", OptionKind::Seconds,
                 &DaemonGroup::responseSocketTimeout},
    DaemonOption{"response-flush-delay", OptionKind::ZeroOrAtLeast,
                 &DaemonGroup::responseFlushDelayMs, 0, kMaxResponseFlushDelay.count()},
    DaemonOption{"send-buffer-size", OptionKind::ZeroOrAtLeast, &DaemonGroup::sendBufferSize,
                 common::kMinSocketBufferBytes, common::kMaxSocketBufferBytes},
    DaemonOption{"receive-buffer-size", OptionKind::ZeroOrAtLeast, &DaemonGroup::receiveBufferSize,
                 common::kMinSocketBufferBytes, common::kMaxSocketBufferBytes},
    DaemonOption{"header-buffer-size", OptionKind::ZeroOrAtLeast, &DaemonGroup::headerBufferSize,
                 kMinHeaderBufferBytes, kMaxHeaderBufferBytes},
    DaemonOption{"response-buffer-size", OptionKind::ZeroOrAtLeast,
                 &DaemonGroup::responseBufferSize, kMinResponseBufferBytes,
                 kMaxResponseBufferBytes},
    DaemonOption{"socket-user", OptionKind::Identity, &DaemonGroup::socketUser},
    DaemonOption{"cpu-time-limit", OptionKind::Seconds, &DaemonGroup::cpuTimeLimit},
    DaemonOption{"cpu-priority", OptionKind::Integer, &DaemonGroup::cpuPriority,
                 protocol::kMinCpuPriority, protocol::kMaxCpuPriority},
    DaemonOption{"memory-limit", OptionKind::Bytes, &DaemonGroup::memoryLimitBytes},
    DaemonOption{"virtual-memory-limit", OptionKind::Bytes, &DaemonGroup::virtualMemoryLimitBytes},
    // mod_wsgid's own: recycle (gracefully) when the resident set size passes this.
    DaemonOption{"maximum-memory", OptionKind::Bytes, &DaemonGroup::maximumMemoryBytes},
    DaemonOption{"server-metrics", OptionKind::OnOff, &DaemonGroup::serverMetrics},
    DaemonOption{"newrelic-config-file", OptionKind::Text, &DaemonGroup::newrelicConfigFile},
    DaemonOption{"newrelic-environment", OptionKind::Text, &DaemonGroup::newrelicEnvironment},
};

/// True when no two rows of kDaemonOptions share a name (a second row would never be reached).
constexpr bool optionNamesAreUnique() {
    for (std::size_t i = 0; i < kDaemonOptions.size(); ++i) {
        for (std::size_t j = i + 1; j < kDaemonOptions.size(); ++j) {
            if (kDaemonOptions[i].name == kDaemonOptions[j].name) {
                return false;
            }
        }
    }
    return true;
}
static_assert(optionNamesAreUnique(), "kDaemonOptions lists an option twice");

// Security boundaries mod_wsgid does not enforce yet: ignoring them with a warning would silently
// weaken isolation, so configtest fails instead. None left (chroot= is implemented).
constexpr std::array<std::string_view, 0> kRejectedOptions = {};

/// A checked option value, in the form its kind produces.
using OptionValue =
    std::variant<long long, double, bool, std::string, std::vector<std::string>, mode_t>;

/// Checks `value` against `opt`'s kind and bounds and converts it. `what` names the option.
Result<OptionValue> parseOptionValue(const DaemonOption& opt, std::string_view what,
                                     std::string_view value, std::string_view groupName) {
    switch (opt.kind) {
        case OptionKind::Integer: {
            auto n = parseInteger(what, value, opt.lo, opt.hi);
            if (!n) {
                return n.status();
            }
            return OptionValue{*n};
        }
        case OptionKind::ZeroOrAtLeast: {
            // hi: an upper bound where the option has one (0: none).
            auto n = parseInteger(what, value, 0,
                                  opt.hi > 0 ? opt.hi : std::numeric_limits<long long>::max());
            if (!n) {
                return n.status();
            }
            if (opt.lo > 0 && *n != 0 && *n < opt.lo) {
                return invalid(std::string(what) + " must be 0 or at least " +
                               std::to_string(opt.lo) + ", got " + quoted(value));
            }
            return OptionValue{*n};
        }
        case OptionKind::Bytes: {
            auto n = parseByteCount(what, value);
            if (!n) {
                return n.status();
            }
            return OptionValue{*n};
        }
        case OptionKind::Seconds: {
            auto n = parseInteger(what, value, opt.lo, kMaxTimeoutSeconds);
            if (!n) {
                return n.status();
            }
            return OptionValue{*n};
        }
        case OptionKind::Float: {
            double d = 0;
            const auto* end = value.data() + value.size();
            auto [p, ec] = std::from_chars(value.data(), end, d);
            if (ec != std::errc() || p != end || !(d > 0)) {
                return invalid(std::string(what) + " needs a positive number, got " +
                               quoted(value));
            }
            return OptionValue{d};
        }
        case OptionKind::OnOff: {
            auto b = parseOnOff(what, value);
            if (!b) {
                return b.status();
            }
            return OptionValue{*b};
        }
        case OptionKind::Text:
            return OptionValue{std::string(value)};
        case OptionKind::AbsolutePath:
            if (value.front() != '/') {
                return invalid(std::string(what) + " must be an absolute path, got " +
                               quoted(value));
            }
            return OptionValue{std::string(value)};
        case OptionKind::Identity:
            if (Status st = checkIdentity(what, value); !st) {
                return st;
            }
            return OptionValue{std::string(value)};
        case OptionKind::IdentityList: {
            std::string_view rest = value;
            while (true) {
                const auto comma = rest.find(',');
                const auto item = rest.substr(0, comma);
                if (item.empty()) {
                    return invalid(std::string(what) + " has an empty item in " + quoted(value));
                }
                if (Status st = checkIdentity(what, item); !st) {
                    return st;
                }
                if (comma == std::string_view::npos) {
                    break;
                }
                rest.remove_prefix(comma + 1);
            }
            return OptionValue{std::string(value)};
        }
        case OptionKind::Umask: {
            auto m = parseUmask(what, value);
            if (!m) {
                return m.status();
            }
            return OptionValue{*m};
        }
        case OptionKind::PathList:
            return OptionValue{splitColonList(value)};
        case OptionKind::DisplayName:
            return OptionValue{expandDisplayName(value, groupName)};
    }
    return invalid(std::string(what) + ": unknown option kind");
}

/// Stores a checked value into the member `target` names.
void storeOption(DaemonGroup& g, const OptionTarget& target, OptionValue&& value) {
    std::visit(
        [&](auto member) {
            using Member = decltype(member);
            if constexpr (std::is_same_v<Member, int DaemonGroup::*> ||
                          std::is_same_v<Member, std::optional<int> DaemonGroup::*>) {
                g.*member = static_cast<int>(std::get<long long>(value));
            } else if constexpr (std::is_same_v<Member, bool DaemonGroup::*>) {
                g.*member = std::get<bool>(value);
            } else if constexpr (std::is_same_v<Member, std::string DaemonGroup::*>) {
                g.*member = std::get<std::string>(std::move(value));
            } else if constexpr (std::is_same_v<Member, std::uint64_t DaemonGroup::*>) {
                g.*member = static_cast<std::uint64_t>(std::get<long long>(value));
            } else if constexpr (std::is_same_v<Member, std::chrono::seconds DaemonGroup::*>) {
                g.*member = std::chrono::seconds(std::get<long long>(value));
            } else if constexpr (std::is_same_v<
                                     Member, std::optional<std::chrono::seconds> DaemonGroup::*>) {
                // 0 leaves an optional duration unset: "use the default".
                const long long n = std::get<long long>(value);
                g.*member = n > 0 ? std::optional(std::chrono::seconds(n)) : std::nullopt;
            } else if constexpr (std::is_same_v<Member, std::optional<mode_t> DaemonGroup::*>) {
                g.*member = std::get<mode_t>(value);
            } else if constexpr (std::is_same_v<Member, std::vector<std::string> DaemonGroup::*>) {
                g.*member = std::get<std::vector<std::string>>(std::move(value));
            } else if constexpr (std::is_same_v<Member, std::optional<double> DaemonGroup::*>) {
                g.*member = std::get<double>(value);
            }
        },
        target);
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
                return invalid("unterminated quote " + std::string(1, quote) + " in " +
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
    return invalid(std::string(what) + " must be On or Off, got " + quoted(value));
}

Result<long long> parseInteger(std::string_view what, std::string_view value, long long min,
                               long long max) {
    long long n = 0;
    const auto* end = value.data() + value.size();
    // from_chars accepts a leading '-' only; '+', blanks and trailing text are rejected.
    auto [p, ec] = std::from_chars(value.data(), end, n, 10);
    if (value.empty() || ec != std::errc() || p != end) {
        return invalid(std::string(what) + " needs an integer, got " + quoted(value));
    }
    if (n < min || n > max) {
        return invalid(std::string(what) + " must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", got " + quoted(value));
    }
    return n;
}

Result<mode_t> parseUmask(std::string_view what, std::string_view value) {
    unsigned int n = 0;
    const auto* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, n, 8);
    if (value.empty() || ec != std::errc() || p != end || n > 0777) {
        return invalid(std::string(what) + " needs an octal mode between 0 and 0777 (e.g. 0022), " +
                       "got " + quoted(value));
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
            return invalid(what + " is given twice");
        }
        if (opt.value.empty()) {
            return invalid(what + " needs a value");
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
            return invalid(what + " is given twice");
        }
        auto b = parseOnOff(what, opt.value);
        if (!b) {
            return b.status();
        }
        a.passAuthorization = *b;
        return Status::ok();
    }
    return invalid(std::string(directive) + ": unknown option " + quoted(opt.key) +
                   (kHasCallable ? " (known: process-group, application-group, callable-object, "
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
            return invalid(std::string(directive) + ": expected option=value, got " +
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
        return invalid(std::string(kDirective) +
                       (match ? " needs a regular expression and a file-path: "
                                "WSGIScriptAliasMatch ^/([^/]+) /srv/sites/$1/app.wsgi"
                              : " needs a URL-path and a file-path: WSGIScriptAlias /app "
                                "/path/app.wsgi"));
    }
    ScriptAliasArgs a;
    std::string_view url = (*words)[0];
    if (match) {
        if (url.empty()) {
            return invalid(std::string(kDirective) + ": the regular expression is empty");
        }
    } else {
        if (url.empty() || url.front() != '/') {
            return invalid(std::string(kDirective) + ": URL-path " + quoted(url) +
                           " must start with '/'");
        }
        while (!url.empty() && url.back() == '/') {
            url.remove_suffix(1);
        }
    }
    a.urlPath.assign(url);
    a.target = (*words)[1];
    if (a.target.empty()) {
        return invalid(std::string(kDirective) + ": the file-path is empty");
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
        return invalid(std::string(kDirective) +
                       " needs a handler name and a file-path: WSGIHandlerScript my-handler "
                       "/srv/handler.wsgi, then SetHandler my-handler");
    }
    HandlerScriptArgs a;
    a.name = (*words)[0];
    a.script = (*words)[1];
    if (a.name.find('=') != std::string::npos) {
        return invalid(std::string(kDirective) + ": the first argument must be the handler " +
                       "name, got " + quoted(a.name));
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
        return invalid(std::string(directive) + " needs a file-path: " + std::string(directive) +
                       " /srv/site/auth.wsgi [application-group=NAME]");
    }
    HookScriptArgs a;
    a.script = (*words)[0];
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt || opt->key != "application-group") {
            return invalid(std::string(directive) + ": unknown option " + quoted((*words)[i]) +
                           " (known: application-group; the script runs in the daemon group "
                           "of the request)");
        }
        if (a.applicationGroup || opt->value.empty()) {
            return invalid(std::string(directive) +
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
    return invalid("WSGIMapHEADToGET must be On, Off or Auto, got " + quoted(value));
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
        return invalid("WSGISwitchInterval needs seconds, a number above 0 and at most " +
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
        return invalid(std::string(kDirective) +
                       " needs a file-path, process-group= and application-group=");
    }
    ImportScriptArgs a;
    a.script = (*words)[0];
    bool haveProcess = false;
    bool haveApplication = false;
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt) {
            return invalid(std::string(kDirective) + ": expected option=value, got " +
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
            return invalid(std::string(kDirective) + ": unknown option " + quoted(opt->key) +
                           " (known: process-group, application-group)");
        }
        if (opt->value.empty()) {
            return invalid(what + " needs a value");
        }
    }
    if (!haveProcess || !haveApplication) {
        return invalid(std::string(kDirective) +
                       ": both process-group= and application-group= " + "are required");
    }
    return a;
}

Result<InterpreterSection> parseInterpreterSection(std::string_view raw) {
    static constexpr std::string_view kDirective = "<WSGIInterpreterOptions>";
    auto words = splitWords(raw);
    if (!words) {
        return invalid(std::string(kDirective) + ": " + words.status().message());
    }
    InterpreterSection section;
    for (const std::string& word : *words) {
        const auto opt = splitOption(word);
        if (!opt) {
            return invalid(std::string(kDirective) + ": expected option=value, got " +
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
            return invalid(std::string(kDirective) + ": unknown option " + quoted(opt->key) +
                           " (known: process-group, application-group)");
        }
        if (target->has_value()) {
            return invalid(what + " is given twice");
        }
        if (opt->value.empty()) {
            return invalid(what + " needs a value");
        }
        if (opt->value == "%{GLOBAL}") {
            *target = global;
        } else if (isLiteralName(opt->value)) {
            *target = opt->value;
        } else {
            return invalid(what +
                           " must be a name or %{GLOBAL}: the section is matched when "
                           "the configuration is read, not per request; got " +
                           quoted(opt->value));
        }
    }
    return section;
}

int maxInFlightLimit(const DaemonGroup& g, int httpdWorkers) noexcept {
    if (g.maxInFlight) {
        return *g.maxInFlight;
    }
    const long long own = static_cast<long long>(g.processes) * g.threads;
    const long long share = std::max<long long>(own, httpdWorkers / 2);
    const long long limit = std::min(own + g.listenBacklog, share);
    return static_cast<int>(std::clamp<long long>(limit, 1, kMaxInFlightLimit));
}

Result<DaemonGroup> parseDaemonProcess(std::string_view raw) {
    static constexpr std::string_view kDirective = "WSGIDaemonProcess";
    auto words = splitWords(raw);
    if (!words) {
        return Status(ErrorCode::InvalidArgument,
                      std::string(kDirective) + ": " + words.status().message());
    }
    if (words->empty() || (*words)[0].empty()) {
        return invalid(std::string(kDirective) + " needs a group name");
    }
    DaemonGroup g;
    g.name = (*words)[0];
    if (g.name.find('=') != std::string::npos) {
        return invalid(std::string(kDirective) + ": the first argument must be the group name, " +
                       "got the option " + quoted(g.name));
    }
    if (!isLiteralName(g.name)) {
        return invalid(std::string(kDirective) + ": group name " + quoted(g.name) +
                       " must not contain %{...}");
    }
    if (g.name == GroupRegistry::kDefaultGroupName) {
        return invalid(std::string(kDirective) + ": group name " + quoted(g.name) +
                       " is reserved for the implicit default group; choose another name");
    }
    const std::string prefix = std::string(kDirective) + " " + g.name + ": ";

    std::set<std::string, std::less<>> seen;
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt) {
            return invalid(prefix + "expected option=value, got " + quoted((*words)[i]));
        }
        const std::string& key = opt->key;
        const std::string& value = opt->value;
        std::string what = prefix;
        what += "option '" + key + "'";
        if (!seen.insert(key).second) {
            return invalid(what + " is given twice");
        }
        if (value.empty()) {
            return invalid(what + " needs a value");
        }
        if (std::find(kRejectedOptions.begin(), kRejectedOptions.end(), key) !=
            kRejectedOptions.end()) {
            return invalid(what + " is not supported by mod_wsgid: the daemon would run without " +
                           "that protection. Remove the option");
        }

        const auto* const option =
            std::find_if(kDaemonOptions.begin(), kDaemonOptions.end(),
                         [&](const DaemonOption& o) { return o.name == key; });
        if (option == kDaemonOptions.end()) {
            return invalid(prefix + "unknown option " + quoted(key) +
                           " (see the WSGIDaemonProcess options in docs/configuration.md)");
        }
        if (option->check != nullptr) {
            if (Status st = option->check(what, value); !st) {
                return st;
            }
        }
        auto parsed = parseOptionValue(*option, what, value, g.name);
        if (!parsed) {
            return parsed.status();
        }
        storeOption(g, option->target, std::move(parsed.value()));
        if (option->after != nullptr) {
            option->after(g);
        }
    }
    if ((g.user == "root" || g.user == "#0") && !g.allowRoot) {
        return invalid(prefix + "user=" + g.user +
                       " would run Python as root; name an unprivileged user, or add "
                       "allow-root=On if root is really meant");
    }
    return g;
}

}  // namespace wsgid::apache
