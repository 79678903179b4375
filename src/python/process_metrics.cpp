// SPDX-License-Identifier: Apache-2.0
// The process's request accounting (see process_metrics.h). No Python, no httpd.
#include "python/process_metrics.h"

#include <algorithm>
#include <bit>

namespace wsgid::python {

namespace {

double secondsOf(ProcessMetrics::Steady::duration d) {
    return std::chrono::duration<double>(d).count();
}

/// Sub-buckets per octave of the histogram.
constexpr std::uint64_t kStepsPerOctave = 4;
/// Octaves from 1 ms: the last one ends at 2^16 ms (about 65 s).
constexpr std::uint64_t kOctaves = 16;

}  // namespace

std::size_t timeBucket(std::chrono::nanoseconds d) noexcept {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    if (micros < 1000) {
        return 0;
    }
    // Microseconds keep the linear steps of the first octaves exact.
    const auto us = static_cast<std::uint64_t>(micros);
    const std::uint64_t ms = us / 1000;
    const auto octave = static_cast<std::uint64_t>(std::bit_width(ms) - 1);
    if (octave >= kOctaves) {
        return kTimeBuckets - 1;
    }
    const std::uint64_t base = (std::uint64_t{1} << octave) * 1000;
    const std::uint64_t step = base / kStepsPerOctave;
    return static_cast<std::size_t>(octave * kStepsPerOctave + (us - base) / step);
}

void ProcessMetrics::startRecording(Steady::time_point now, double wallNow) {
    const std::lock_guard lock(mutex_);
    if (recording_) {
        return;
    }
    recording_ = true;
    windowStart_ = now;
    windowStartWall_ = wallNow;
    for (Slot& s : slots_) {
        s.windowFrom = now;
    }
}

bool ProcessMetrics::recording() const {
    const std::lock_guard lock(mutex_);
    return recording_;
}

std::size_t ProcessMetrics::begin(unsigned long thread, Steady::time_point now, double wallNow) {
    const std::lock_guard lock(mutex_);
    auto it = slotOf_.find(thread);
    if (it == slotOf_.end()) {
        // A worker beyond threads= (cannot happen with the Server's fixed pool) gets a slot too.
        if (slotOf_.size() >= slots_.size()) {
            slots_.emplace_back();
        }
        it = slotOf_.emplace(thread, slotOf_.size()).first;
        slots_[it->second].used = true;
    }
    Slot& s = slots_[it->second];
    s.active = true;
    s.started = now;
    s.windowFrom = now;
    s.lastStart = wallNow;
    return it->second;
}

void ProcessMetrics::end(std::size_t slot, Steady::time_point now, double wallNow, int status) {
    const std::lock_guard lock(mutex_);
    if (slot >= slots_.size() || !slots_[slot].active) {
        return;
    }
    Slot& s = slots_[slot];
    s.active = false;
    s.lastStop = wallNow;
    ++s.requestCount;
    ++requestCount_;
    const auto took = now - s.started;
    busyDone_ += secondsOf(took);
    if (!recording_) {
        return;
    }
    ++windowCount_;
    ++s.windowCompleted;
    s.windowBusy += secondsOf(now - std::max(s.windowFrom, windowStart_));
    s.windowMax = std::max(s.windowMax, secondsOf(took));
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    application_.total += secondsOf(took);
    application_.minMicros = std::min(application_.minMicros.value_or(micros), micros);
    application_.maxMicros = std::max(application_.maxMicros.value_or(micros), micros);
    ++application_.buckets[timeBucket(took)];
    const int cls = status >= 100 && status < 600 ? status / 100 : 5;
    ++statusClasses_[static_cast<std::size_t>(cls - 1)];
}

ProcessView ProcessMetrics::process(Steady::time_point now) const {
    const std::lock_guard lock(mutex_);
    ProcessView v;
    v.requestCount = requestCount_;
    v.requestBusyTime = busyDone_;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const Slot& s = slots_[i];
        if (!s.used) {
            continue;
        }
        if (s.active) {
            ++v.activeRequests;
            v.requestBusyTime += secondsOf(now - s.started);
        }
        v.threads.push_back({.threadId = static_cast<int>(i + 1),
                             .requestCount = s.requestCount,
                             .active = s.active,
                             .lastStart = s.lastStart,
                             .lastStop = s.lastStop});
    }
    return v;
}

std::optional<RequestWindow> ProcessMetrics::drain(Steady::time_point now, double wallNow) {
    const std::lock_guard lock(mutex_);
    if (!recording_) {
        return std::nullopt;
    }
    RequestWindow w;
    w.startTime = windowStartWall_;
    w.stopTime = wallNow;
    w.requestCount = windowCount_;
    w.application = application_;
    w.statusClasses = statusClasses_;
    const std::size_t n = slots_.size();
    w.completed.assign(n, 0);
    w.busyTime.assign(n, 0);
    w.currentElapsed.assign(n, 0);
    w.maxDuration.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        Slot& s = slots_[i];
        w.threadsStarted += s.used ? 1 : 0;
        w.completed[i] = s.windowCompleted;
        w.busyTime[i] = s.windowBusy;
        w.maxDuration[i] = s.windowMax;
        if (s.active) {
            w.busyTime[i] += secondsOf(now - std::max(s.windowFrom, windowStart_));
            w.currentElapsed[i] = secondsOf(now - s.started);
            s.windowFrom = now;
        }
        w.threadsActive += s.windowCompleted > 0 || s.active ? 1 : 0;
        s.windowCompleted = 0;
        s.windowBusy = 0;
        s.windowMax = 0;
    }
    windowStart_ = now;
    windowStartWall_ = wallNow;
    windowCount_ = 0;
    application_ = {};
    statusClasses_ = {};
    return w;
}

}  // namespace wsgid::python
