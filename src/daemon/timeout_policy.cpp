// SPDX-License-Identifier: Apache-2.0
// The daemon's timeout rules (see timeout_policy.h). No httpd, no Python.
#include "daemon/timeout_policy.h"

namespace wsgid::daemon {

using protocol::StopReason;

TimeoutActions TimeoutPolicy::check(common::Clock::time_point now,
                                    const std::vector<RunningRequest>& running,
                                    std::optional<common::Clock::time_point> gilBeat,
                                    std::optional<common::Clock::time_point> oldestLoad) {
    TimeoutActions actions;
    if (limits_.requestTimeout.count() > 0) {
        for (const RunningRequest& r : running) {
            if (!r.timedOutAt) {
                if (now - r.started >= limits_.requestTimeout) {
                    actions.cutOff.push_back(r);
                }
            } else if (!actions.stuck && now - *r.timedOutAt >= limits_.letGoGrace()) {
                actions.stuck = r;
            }
        }
    }
    if (recycleDecided_) {
        return actions;
    }
    if (limits_.deadlockTimeout.count() > 0 && gilBeat &&
        now - *gilBeat >= limits_.deadlockTimeout) {
        actions.recycle = StopReason::DeadlockTimeout;
    } else if (limits_.startupTimeout.count() > 0 && oldestLoad &&
               now - *oldestLoad >= limits_.startupTimeout) {
        actions.recycle = StopReason::StartupTimeout;
    } else if (actions.stuck) {
        actions.recycle = StopReason::RequestTimeout;
    }
    if (actions.recycle) {
        recycleDecided_ = true;
    } else {
        actions.stuck.reset();
    }
    if (actions.recycle != StopReason::RequestTimeout) {
        actions.stuck.reset();
    }
    return actions;
}

}  // namespace wsgid::daemon
