// SPDX-License-Identifier: Apache-2.0
// A one-shot timeout on a thread of its own (see watchdog.h). No httpd, no Python.
#include "daemon/watchdog.h"

#include "common/thread_name.h"

namespace wsgid::daemon {

Watchdog::Watchdog(std::chrono::milliseconds timeout, std::function<void()> fire) {
    if (timeout.count() <= 0 || !fire) {
        return;
    }
    thread_ = std::thread([this, timeout, fire = std::move(fire)] {
        common::nameThisThread("wsgid-watchdog");
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, timeout, [this] { return disarmed_; })) {
            return;
        }
        lock.unlock();
        fire();
    });
}

Watchdog::~Watchdog() {
    disarm();
}

void Watchdog::disarm() noexcept {
    {
        const std::lock_guard lock(mutex_);
        disarmed_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

}  // namespace wsgid::daemon
