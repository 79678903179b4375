// SPDX-License-Identifier: Apache-2.0
// httpd's LogLevel names, kept once: the module names the daemon's level from its own httpd level
// (daemon_args.h's logLevel carries the name) and the daemon parses it back and labels its lines
// with it ("[wsgid:warn]"). Pure: no syscalls, no httpd.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace wsgid::protocol {

/// httpd's LogLevel names by rank: emerg=0 (APLOG_EMERG), alert, crit, error, warn, notice, info,
/// debug=7 (APLOG_DEBUG), trace1..trace8=8..15 (APLOG_TRACE1..APLOG_TRACE8).
inline constexpr std::array<std::string_view, 16> kHttpdLogLevelNames = {
    "emerg",  "alert",  "crit",   "error",  "warn",   "notice", "info",   "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8"};

/// The highest rank (trace8).
inline constexpr int kMaxHttpdLogRank = static_cast<int>(kHttpdLogLevelNames.size()) - 1;

/// The name of an httpd rank ("warn" for 4); a rank out of range is clamped to emerg or trace8.
constexpr std::string_view httpdLogLevelName(int rank) noexcept {
    return kHttpdLogLevelNames[static_cast<std::size_t>(std::clamp(rank, 0, kMaxHttpdLogRank))];
}

/// The rank of an httpd LogLevel name ("warn" -> 4, "trace3" -> 10); std::nullopt for any other
/// text (names are lower case, as httpd writes them).
constexpr std::optional<int> parseHttpdLogLevel(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kHttpdLogLevelNames.size(); ++i) {
        if (kHttpdLogLevelNames[i] == name) {
            return static_cast<int>(i);
        }
    }
    return std::nullopt;
}

}  // namespace wsgid::protocol
