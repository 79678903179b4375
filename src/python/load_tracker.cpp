// SPDX-License-Identifier: Apache-2.0
// Script loads in progress (see load_tracker.h). No httpd headers.
#include "python/load_tracker.h"

#include <mutex>
#include <set>

namespace wsgid::python {

namespace {

struct Loads {
    std::mutex mutex;
    std::multiset<LoadTracker::Clock::time_point> started;  // guarded by mutex
};

/// Never destroyed: a load may end while the process exits.
Loads& loads() {
    static auto* l = new Loads;
    return *l;
}

}  // namespace

LoadTracker::Scope::Scope() : started_(Clock::now()) {
    Loads& l = loads();
    const std::lock_guard lock(l.mutex);
    l.started.insert(started_);
}

LoadTracker::Scope::~Scope() {
    Loads& l = loads();
    const std::lock_guard lock(l.mutex);
    if (const auto it = l.started.find(started_); it != l.started.end()) {
        l.started.erase(it);
    }
}

std::optional<LoadTracker::Clock::time_point> LoadTracker::oldestInProgress() {
    Loads& l = loads();
    const std::lock_guard lock(l.mutex);
    if (l.started.empty()) {
        return std::nullopt;
    }
    return *l.started.begin();
}

}  // namespace wsgid::python
