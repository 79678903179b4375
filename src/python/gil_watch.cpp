// SPDX-License-Identifier: Apache-2.0
// The GIL heartbeat (see gil_watch.h). No httpd headers.
#include "python/python.h"

#include "python/gil_watch.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "common/thread_name.h"

namespace wsgid::python {

struct GilWatch::State {
    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;  // guarded by mutex
    std::atomic<Clock::rep> lastBeat{0};
    std::atomic<bool> running{false};
    std::atomic<bool> inGil{false};  ///< waiting for, or holding, the GIL
};

namespace {

void beat(const std::shared_ptr<GilWatch::State>& state) noexcept {
    std::unique_lock lock(state->mutex);
    while (!state->stopping) {
        lock.unlock();
        state->inGil.store(true);
        const PyGILState_STATE gil = PyGILState_Ensure();
        state->lastBeat.store(GilWatch::Clock::now().time_since_epoch().count());
        PyGILState_Release(gil);
        lock.lock();
        state->inGil.store(false);
        state->wake.notify_all();  // stop() may be waiting for this
        state->wake.wait_for(lock, kGilBeatInterval, [&] { return state->stopping; });
    }
}

}  // namespace

GilWatch::GilWatch() : state_(std::make_shared<State>()) {}

GilWatch::~GilWatch() {
    stop();
}

bool GilWatch::start() noexcept {
    try {
        state_->lastBeat.store(Clock::now().time_since_epoch().count());
        state_->running.store(true);
        thread_ = std::thread([state = state_] {
            common::nameThisThread("wsgid-gil-beat");
            beat(state);
        });
        return true;
    } catch (...) {
        state_->running.store(false);
        return false;
    }
}

void GilWatch::stop() noexcept {
    if (!thread_.joinable()) {
        return;
    }
    bool out = false;
    {
        std::unique_lock lock(state_->mutex);
        state_->stopping = true;
        state_->wake.notify_all();
        out = state_->wake.wait_for(lock, kGilStopGrace, [&] { return !state_->inGil.load(); });
    }
    if (out) {
        thread_.join();
    } else {
        thread_.detach();  // waiting for a GIL that may never come: do not hang the exit
    }
    state_->running.store(false);
}

std::optional<GilWatch::Clock::time_point> GilWatch::lastBeat() const noexcept {
    if (!state_->running.load()) {
        return std::nullopt;
    }
    return Clock::time_point(Clock::duration(state_->lastBeat.load()));
}

}  // namespace wsgid::python
