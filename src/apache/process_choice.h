// SPDX-License-Identifier: Apache-2.0
// Where a request's attempt goes, from its daemon group's load table (protocol/load_table.h):
// to a process with a free worker when one shows one; when every process is full, queued at the
// least loaded one (which hands it back if a sibling frees a worker first). The rule alone, over
// values: the pool and the table's mapping are the caller's. No httpd calls, no syscalls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/load_table.h"

namespace wsgid::apache {

/// Most processes one choice looks at: a child's connections lead to at most this many, and
/// a larger group (rare) is routed by the first ones, the rest by Busy answers.
inline constexpr std::size_t kMaxChoiceProcesses = 64;

/// Most processes a caller asks a choice to avoid: one per earlier attempt of the request
/// (request_attempts.h allows 3), with room to spare.
inline constexpr std::size_t kMaxAvoidedProcesses = 8;

/// What an attempt should try.
struct ProcessChoice {
    enum class Kind {
        /// The table says nothing usable (no live entry, or only processes to avoid): the
        /// attempt goes as without a table.
        NoInformation,
        /// Some process shows a free worker: take a pooled connection to any process not in
        /// `skip`, else open a new connection (only a process with a free worker accepts it).
        FreeWorker,
        /// Every process is full: queue (may queue, may return) on a pooled connection to
        /// `target`, the least loaded; without one, on any pooled connection not in `skip`.
        QueueAtLeastLoaded,
    };
    Kind kind = Kind::NoInformation;
    std::uint32_t target = 0;  ///< QueueAtLeastLoaded only
    /// Processes whose pooled connections this attempt must not take: full ones (FreeWorker)
    /// and the `avoid` the caller gave.
    std::array<std::uint32_t, kMaxChoiceProcesses + kMaxAvoidedProcesses> skip{};
    std::size_t skipped = 0;

    [[nodiscard]] std::span<const std::uint32_t> skipList() const noexcept {
        return {skip.data(), skipped};
    }
};

/// The choice for one attempt. `loads`: the table's live entries (readLoads). `workers`: the
/// group's threads per process. `avoid`: processes that already answered Busy to this request
/// or are stopping (never chosen; beyond kMaxAvoidedProcesses, the first ones). `coin`: any number,
/// used only to break a tie between equally loaded processes (so ties do not all go to the first
/// one).
ProcessChoice chooseProcess(std::span<const protocol::ProcessLoad> loads, int workers,
                            std::span<const std::uint32_t> avoid, std::uint32_t coin) noexcept;

}  // namespace wsgid::apache
