// SPDX-License-Identifier: Apache-2.0
// RetainedState: what the process manager keeps in the httpd parent across configuration
// generations (ap_retained_data): the groups' listening sockets, the retired processes still
// draining, each group's recent secrets, and the shared table of recent daemon deaths. Parent only
// (single thread); httpd glue.
#pragma once

#include <string>
#include <vector>

#include "apache/daemon_sockets.h"
#include "apache/death_records.h"
#include "apache/retired_daemons.h"
#include "protocol/daemon_args.h"

namespace wsgid::apache {

/// A group's secrets of the latest generations, newest last (kRetainedSecretGenerations): new
/// daemons accept children of earlier generations that are still finishing requests.
struct RetainedSecrets {
    std::string group;
    std::vector<protocol::GroupSecret> history;
};

/// Lives in the httpd parent for its whole life (allocated once, reached through
/// ap_retained_data). No virtual functions, nothing that points into this module's code: the
/// module is unloaded and reloaded at every restart.
struct RetainedState {
    DaemonSockets sockets;
    RetiredDaemons retired;
    std::vector<RetainedSecrets> secrets;
    /// Recent daemon deaths, in memory shared with every httpd child (mapped once, before the
    /// first child is forked); nullptr if it could not be mapped.
    DeathRecords* deaths = nullptr;

    /// The state of this httpd parent, created on first use when `create`; else nullptr if
    /// there is none.
    static RetainedState* get(bool create);
    /// Deletes the state (httpd stops); get(false) returns nullptr afterwards.
    static void drop();
};

}  // namespace wsgid::apache
