// SPDX-License-Identifier: Apache-2.0
// The choice of a process for a request's attempt (see process_choice.h).
#include "apache/process_choice.h"

#include <algorithm>

namespace wsgid::apache {

namespace {

bool contains(std::span<const std::uint32_t> pids, std::uint32_t pid) noexcept {
    return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

void addSkip(ProcessChoice& c, std::uint32_t pid) noexcept {
    if (c.skipped < c.skip.size() && !contains(c.skipList(), pid)) {
        c.skip[c.skipped++] = pid;
    }
}

}  // namespace

ProcessChoice chooseProcess(std::span<const protocol::ProcessLoad> loads, int workers,
                            std::span<const std::uint32_t> avoid, std::uint32_t coin) noexcept {
    ProcessChoice c;
    avoid = avoid.first(std::min(avoid.size(), kMaxAvoidedProcesses));
    for (const std::uint32_t pid : avoid) {
        addSkip(c, pid);
    }
    const auto considered = loads.first(std::min(loads.size(), kMaxChoiceProcesses));
    bool anyFree = false;
    bool anyCandidate = false;
    std::int32_t least = 0;
    std::uint32_t ties = 0;
    for (const protocol::ProcessLoad& load : considered) {
        if (contains(avoid, load.pid)) {
            continue;
        }
        anyCandidate = true;
        if (load.taken < workers) {
            anyFree = true;
            continue;
        }
        if (c.target == 0 || load.taken < least) {
            c.target = load.pid;
            least = load.taken;
            ties = 1;
        } else if (load.taken == least) {
            // Reservoir choice among equals: the k-th tie replaces the pick with chance 1/k.
            ++ties;
            coin = coin * 1664525U + 1013904223U;  // a step of a plain LCG: spread, not secrecy
            // Its high bits: an LCG's lowest bits repeat with short periods.
            if ((coin >> 16) % ties == 0) {
                c.target = load.pid;
            }
        }
    }
    if (!anyCandidate) {
        return c;
    }
    if (anyFree) {
        c.kind = ProcessChoice::Kind::FreeWorker;
        c.target = 0;
        for (const protocol::ProcessLoad& load : considered) {
            if (load.taken >= workers) {
                addSkip(c, load.pid);
            }
        }
        return c;
    }
    c.kind = ProcessChoice::Kind::QueueAtLeastLoaded;
    return c;
}

}  // namespace wsgid::apache
