// SPDX-License-Identifier: Apache-2.0
// The interrupter thread (see gil_job_thread.h). No httpd headers.
#include "python/python.h"

#include "python/gil_job_thread.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "python/gil.h"
#include "python/gil_watch.h"

namespace wsgid::python {

struct GilJobThread::State {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;  // guarded by mutex
    bool stopping = false;                   // guarded by mutex
    std::atomic<bool> inGil{false};          ///< waiting for, or holding, the GIL
};

namespace {

void serve(const std::shared_ptr<GilJobThread::State>& state) noexcept {
    std::unique_lock lock(state->mutex);
    for (;;) {
        state->wake.wait(lock, [&] { return state->stopping || !state->jobs.empty(); });
        if (state->stopping) {
            return;
        }
        std::function<void()> job = std::move(state->jobs.front());
        state->jobs.pop_front();
        lock.unlock();
        state->inGil.store(true);
        {
            const GilAcquire gil;
            try {
                job();
            } catch (...) {
                PyErr_Clear();  // out of memory in the job: the request goes uninterrupted
            }
        }
        lock.lock();
        state->inGil.store(false);
        state->wake.notify_all();  // stop() may be waiting for this
    }
}

}  // namespace

GilJobThread::GilJobThread() : state_(std::make_shared<State>()) {}

GilJobThread::~GilJobThread() {
    stop();
}

bool GilJobThread::post(std::function<void()> job) noexcept {
    try {
        {
            const std::lock_guard lock(state_->mutex);
            if (state_->stopping || state_->jobs.size() >= kMaxQueuedGilJobs) {
                return false;
            }
            state_->jobs.push_back(std::move(job));
        }
        if (!thread_.joinable()) {
            thread_ = std::thread([state = state_] { serve(state); });
        }
        state_->wake.notify_one();
        return true;
    } catch (...) {
        return false;
    }
}

void GilJobThread::stop() noexcept {
    bool out = false;
    {
        std::unique_lock lock(state_->mutex);
        state_->stopping = true;
        state_->jobs.clear();
        state_->wake.notify_all();
        // As GilWatch::stop: a thread left behind must not meet Python's finalization.
        out = state_->wake.wait_for(lock, kGilStopGrace, [&] { return !state_->inGil.load(); });
    }
    if (!thread_.joinable()) {
        return;
    }
    if (out) {
        thread_.join();
    } else {
        thread_.detach();  // waiting for a GIL that may never come: do not hang the exit
    }
}

}  // namespace wsgid::python
