// SPDX-License-Identifier: Apache-2.0
// daemonArgsFor(): the settings one daemon process of a group starts with (protocol::DaemonArgs),
// built from the group's configuration, the generation and the group's retained secrets. httpd
// glue (the log level and timeout come from the group's server_rec). Parent only.
#pragma once

#include "protocol/daemon_args.h"

struct server_rec;

namespace wsgid::apache {

struct DaemonGroup;
class GroupRegistry;
struct RetainedState;

/// The DaemonArgs of process `processIndex` of `group`, a group of `registry`; `s` is the main
/// server (the log settings of a group without a server of its own).
[[nodiscard]] protocol::DaemonArgs daemonArgsFor(const DaemonGroup& group, int processIndex,
                                                 const GroupRegistry& registry,
                                                 const RetainedState& retained, server_rec* s);

}  // namespace wsgid::apache
