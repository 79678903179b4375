// SPDX-License-Identifier: Apache-2.0
// Server: the group's load table (protocol/load_table.h). This process publishes its places
// there; it reads its siblings' to take a connection from the backlog while every process is
// full, and to hand a queued request back when a sibling frees a worker first, so that no
// request waits behind a busy process while a sibling idles (docs/architecture.md "Admission").
#include <algorithm>
#include <array>
#include <numeric>

#include "daemon/server.h"

namespace wsgid::daemon {

namespace {

/// Most entries looked at: protocol::kMaxLoadTableProcesses processes, each with its
/// replacement's entry.
constexpr std::size_t kMaxLoadsRead =
    static_cast<std::size_t>(protocol::kMaxLoadTableProcesses) * protocol::kLoadSlotsPerProcess;

/// Most times one change republishes places_ that other threads changed meanwhile: each of
/// those threads publishes after its own change, so the last one leaves the true count.
constexpr int kMaxPublishRounds = 4;

}  // namespace

void Server::placesChanged() noexcept {
    if (!usesLoadTable()) {
        return;
    }
    // Threads that change places_ at once may publish out of order, one a value another has
    // already replaced. Publishing until the count read back is the one published leaves the
    // true count when the last of them is done.
    int now = places_.load();
    for (int round = 0; round < kMaxPublishRounds; ++round) {
        load_.publish(now);
        const int again = places_.load();
        if (again == now) {
            return;
        }
        now = again;
    }
}

int Server::siblingsFreeWorkers() const noexcept {
    if (!usesLoadTable()) {
        return 0;
    }
    std::array<protocol::ProcessLoad, kMaxLoadsRead> loads{};
    const std::size_t n = protocol::readLoads(config_.loadTable, loads);
    const auto live = std::span(loads).first(n);
    return std::accumulate(
        live.begin(), live.end(), 0, [&](int free, const protocol::ProcessLoad& load) {
            const bool sibling = load.pid != ownPid_;
            return free + (sibling ? std::max(config_.threads - load.taken, 0) : 0);
        });
}

bool Server::takePlaceWhileAllFull() noexcept {
    if (!usesLoadTable() || siblingsFreeWorkers() != 0) {
        return false;
    }
    places_.fetch_add(1);
    placesChanged();
    return true;
}

void Server::handBackQueued() {
    if (!usesLoadTable() || queue_.size() == 0) {
        return;
    }
    int left = siblingsFreeWorkers();
    if (left == 0) {
        return;
    }
    const auto waitedSince = common::Clock::now() - kHandBackAfter;
    std::vector<ConnectionPtr> back = queue_.takeIf([&](const ConnectionPtr& conn) {
        if (left == 0 || !conn->mayReturn() || conn->queuedAt() > waitedSince) {
            return false;
        }
        --left;
        return true;
    });
    for (ConnectionPtr& conn : back) {
        const Connection::Event next = conn->rejectRequest(protocol::ResponseErrorCode::Busy,
                                                           "a sibling process has a free worker");
        finished();
        dispatch(std::move(conn), next);
    }
}

}  // namespace wsgid::daemon
