// SPDX-License-Identifier: Apache-2.0
// DaemonSpawn: starting one wsgid-daemon process from the httpd parent. The settings go through
// a pipe filled before fork(); the child resets signals, arranges its descriptors, waits out its
// restart delay and execs. POSIX only, no httpd headers and no ap_* calls, so
// tests/unit/apache/daemon_spawn_test.cpp spawns a stand-in program and checks what it got.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/status.h"
#include "protocol/daemon_args.h"

namespace wsgid::apache {

/// Process name (comm) of a forked daemon while it waits out its restart delay before exec.
inline constexpr const char* kBackoffProcessName = "wsgid-backoff";

/// Everything one daemon process is started with.
struct DaemonSpawn {
    std::string binary;            ///< absolute path of wsgid-daemon
    protocol::DaemonArgs args;     ///< written to the settings pipe (descriptor kArgsFd)
    std::vector<std::string> env;  ///< the whole environment, "NAME=value" each
    int listenFd = -1;             ///< becomes descriptor kListenFd
    int logFd = -1;                ///< stdout and stderr; -1: /dev/null
    int statusFd = -1;             ///< becomes protocol::kStatusFd; -1: none
    int loadTableFd = -1;  ///< becomes protocol::kLoadTableFd (with args.loadSlot); -1: none
    std::chrono::nanoseconds delay{};  ///< the child sleeps this long before exec (backoff)
};

/// Why a spawn failed.
enum class SpawnStage {
    Settings,  ///< the settings pipe could not be made or filled (nothing was forked)
    Fork,      ///< fork() failed
};

/// A failed spawn: where, and the error.
struct SpawnFailure {
    SpawnStage stage = SpawnStage::Fork;
    int err = 0;  ///< errno of a failed fork()
    std::string message;
};

/// The pid of the started process, or why none was started.
struct SpawnResult {
    pid_t pid = 0;
    std::optional<SpawnFailure> failure;
};

/// Forks and (in the child) execs `spawn.binary` with argv = {processTitle(args)}, descriptors
/// 0 = /dev/null, 1 and 2 = logFd, kListenFd = listenFd, kArgsFd = the settings pipe,
/// kStatusFd = statusFd (when given) and no others, default signal dispositions and an empty mask,
/// and the parent-death signal SIGTERM. A child that cannot exec writes WG0032 to its stderr and
/// exits with kExitStartupFailure. Call from a single-threaded process (the httpd parent): the
/// child allocates nothing.
SpawnResult startDaemon(const DaemonSpawn& spawn);

}  // namespace wsgid::apache
