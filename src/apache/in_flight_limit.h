// SPDX-License-Identifier: Apache-2.0
// max-in-flight= inside httpd: the parent maps each generation's InFlightTable before it forks
// children, every child claims a row of it, and the handler counts each request in its group's
// counter for as long as the request runs, refusing it at once (503) when the group is at its
// limit, so one group can never tie up every httpd worker (docs/architecture.md "Fair share").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "apache/in_flight_table.h"

struct apr_pool_t;
struct request_rec;
struct server_rec;

namespace wsgid::apache {

class GroupRegistry;
struct DaemonGroup;

/// post_config, in the httpd parent: numbers the groups, maps their table (one row per possible
/// child, ServerLimit) into `registry` and unmaps the parent's view with `pconf`. Without the
/// mapping (logged) no limit applies.
void mapInFlightTable(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry) noexcept;

/// One httpd child's view: its row, and when it last logged a refusal per group.
class ChildInFlight {
public:
    /// child_init: claims a row of `registry`'s table for this process.
    ChildInFlight(const GroupRegistry& registry, server_rec* s);

    /// Counts `r`'s request in `group`'s counter for as long as the ticket lives; a ticket not
    /// admitted() means 503 at once (logged, at most once a second per group and child).
    /// Request threads, concurrently.
    InFlightTicket enter(request_rec* r, const DaemonGroup& group);

private:
    InFlightTable* table_ = nullptr;
    std::optional<std::size_t> row_;
    /// apr_time_t of the last refusal logged, per group.
    std::unique_ptr<std::atomic<std::int64_t>[]> lastLogged_;
};

}  // namespace wsgid::apache
