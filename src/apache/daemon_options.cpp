// SPDX-License-Identifier: Apache-2.0
// Pure parsing of WSGIDaemonProcess (see daemon_options.h). No httpd, no APR; the word and value
// rules it shares with the other directives are config_parse's.
#include "apache/daemon_options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

#include <sys/stat.h>

#include "apache/config_parse.h"
#include "apache/in_flight_table.h"
#include "apache/response_buffering.h"
#include "common/socket_buffers.h"
#include "protocol/daemon_args.h"

namespace wsgid::apache {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

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
        return invalidArgument(std::string(what) +
                               " needs a byte count such as 1073741824, 512M or 1G, " + "got " +
                               quoted(value));
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
    return invalidArgument(std::string(what) + " needs seconds, a number above 0 and at most " +
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
                return invalidArgument(std::string(what) + " must be 0 or at least " +
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
                return invalidArgument(std::string(what) + " needs a positive number, got " +
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
                return invalidArgument(std::string(what) + " must be an absolute path, got " +
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
                    return invalidArgument(std::string(what) + " has an empty item in " +
                                           quoted(value));
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
    return invalidArgument(std::string(what) + ": unknown option kind");
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

}  // namespace

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
        return invalidArgument(std::string(kDirective) + " needs a group name");
    }
    DaemonGroup g;
    g.name = (*words)[0];
    if (g.name.find('=') != std::string::npos) {
        return invalidArgument(std::string(kDirective) +
                               ": the first argument must be the group name, " + "got the option " +
                               quoted(g.name));
    }
    if (!isLiteralName(g.name)) {
        return invalidArgument(std::string(kDirective) + ": group name " + quoted(g.name) +
                               " must not contain %{...}");
    }
    if (g.name == GroupRegistry::kDefaultGroupName) {
        return invalidArgument(std::string(kDirective) + ": group name " + quoted(g.name) +
                               " is reserved for the implicit default group; choose another name");
    }
    const std::string prefix = std::string(kDirective) + " " + g.name + ": ";

    std::set<std::string, std::less<>> seen;
    for (std::size_t i = 1; i < words->size(); ++i) {
        const auto opt = splitOption((*words)[i]);
        if (!opt) {
            return invalidArgument(prefix + "expected option=value, got " + quoted((*words)[i]));
        }
        const std::string& key = opt->key;
        const std::string& value = opt->value;
        std::string what = prefix;
        what += "option '" + key + "'";
        if (!seen.insert(key).second) {
            return invalidArgument(what + " is given twice");
        }
        if (value.empty()) {
            return invalidArgument(what + " needs a value");
        }
        if (std::find(kRejectedOptions.begin(), kRejectedOptions.end(), key) !=
            kRejectedOptions.end()) {
            return invalidArgument(what +
                                   " is not supported by mod_wsgid: the daemon would run without " +
                                   "that protection. Remove the option");
        }

        const auto* const option =
            std::find_if(kDaemonOptions.begin(), kDaemonOptions.end(),
                         [&](const DaemonOption& o) { return o.name == key; });
        if (option == kDaemonOptions.end()) {
            return invalidArgument(prefix + "unknown option " + quoted(key) +
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
        return invalidArgument(prefix + "user=" + g.user +
                               " would run Python as root; name an unprivileged user, or add "
                               "allow-root=On if root is really meant");
    }
    return g;
}

}  // namespace wsgid::apache
