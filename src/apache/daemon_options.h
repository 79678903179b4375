// SPDX-License-Identifier: Apache-2.0
// Pure parsing of WSGIDaemonProcess: its option table (name, kind, bounds and the DaemonGroup
// member each option sets), the checks of each value, and the effective max-in-flight= of a
// group. Std types and POSIX only: no httpd, no APR (tests/unit/apache/daemon_options_test.cpp).
#pragma once

#include <string_view>

#include "apache/config.h"
#include "common/status.h"

namespace wsgid::apache {

/// Upper bound of processes=. Real deployments use a handful per group; the bound turns a typo
/// such as processes=1000 into a configtest error instead of a fork storm at start.
inline constexpr int kMaxDaemonProcesses = 1024;
/// Upper bound of threads= (mod_wsgi's own bound, kept so its configs parse the same).
inline constexpr int kMaxDaemonThreads = 65533;
/// Upper bound of any seconds-valued option: a day. Longer values are typos, and shutdown-timeout
/// feeds the bounded wait at `apachectl stop`.
inline constexpr long long kMaxTimeoutSeconds = 86400;
/// Upper bound of listen-backlog; the kernel clamps to net.core.somaxconn anyway.
inline constexpr long long kMaxListenBacklog = 65535;
/// Upper bound of log-rate= and log-burst=: 1 GiB. Anything larger is no limit at all; say 0.
inline constexpr long long kMaxLogLimitBytes = 1LL << 30;

/// The effective max-in-flight= of `g` on an httpd of `httpdWorkers` (MaxRequestWorkers): as set,
/// else the group's own workers (processes x threads) plus its listen-backlog of waiting
/// requests (mod_wsgi's own bound: past the backlog its connects fail), but at most half of
/// httpd's workers unless the group's own workers are more, so that one flooded group always
/// leaves the other half to everything else. 0: no limit.
int maxInFlightLimit(const DaemonGroup& g, int httpdWorkers) noexcept;

/// Parses `WSGIDaemonProcess NAME option=value...` into a group (not yet registered; user names
/// are not resolved and paths are not checked here). Options come from one table in
/// daemon_options.cpp (kDaemonOptions: name, kind, bounds and the DaemonGroup member each sets).
/// Errors name the group and the option.
common::Result<DaemonGroup> parseDaemonProcess(std::string_view raw);

}  // namespace wsgid::apache
