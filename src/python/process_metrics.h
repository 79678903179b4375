// SPDX-License-Identifier: Apache-2.0
// ProcessMetrics: the request accounting behind mod_wsgi.process_metrics(), request_metrics() and
// server_metrics() in a daemon. One per process, shared by every interpreter (mod_wsgi's
// accumulators are process-wide too). Workers note each request's start and end; readers take
// snapshots, and request_metrics() drains a window. Pure C++ with the time passed in
// (tests/unit/python/process_metrics_test.cpp); the module turns snapshots into dicts. No Python,
// no httpd.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace wsgid::python {

/// request_metrics()'s histograms: 16 octaves from 1 ms to 65536 ms, 4 linear steps each, then
/// one bucket for 65536 ms and more (mod_wsgi's layout, so dashboards built on it read ours).
inline constexpr std::size_t kTimeBuckets = 65;

/// The histogram bucket of a duration.
std::size_t timeBucket(std::chrono::nanoseconds d) noexcept;

/// Seconds since the Unix epoch, as Python's time.time(): the wall-clock times the metrics show.
inline double wallClockSeconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// One worker thread as process_metrics() and server_metrics() show it.
struct WorkerThreadView {
    int threadId = 0;                 ///< 1-based, in the order threads served their first request
    std::uint64_t requestCount = 0;   ///< since the process started
    bool active = false;              ///< in a request now
    std::optional<double> lastStart;  ///< wall-clock seconds of its last request's start
    std::optional<double> lastStop;   ///< and of its last request's end
};

/// process_metrics()'s counters.
struct ProcessView {
    std::uint64_t requestCount = 0;
    double requestBusyTime = 0;  ///< seconds inside requests, the running ones up to now
    int activeRequests = 0;
    std::vector<WorkerThreadView> threads;
};

/// One phase's statistics over a window.
struct PhaseWindow {
    double total = 0;  ///< seconds
    std::optional<std::int64_t> minMicros;
    std::optional<std::int64_t> maxMicros;
    std::array<std::uint64_t, kTimeBuckets> buckets{};
};

/// request_metrics()'s window, since the previous drain (or startRecording()).
struct RequestWindow {
    double startTime = 0;  ///< wall-clock seconds
    double stopTime = 0;
    std::uint64_t requestCount = 0;
    int threadsStarted = 0;
    int threadsActive = 0;  ///< completed a request in the window or are in one at its end
    std::vector<std::uint64_t> completed;  ///< per thread slot (index = thread id - 1)
    std::vector<double> busyTime;          ///< seconds, including the in-flight tail
    std::vector<double> currentElapsed;    ///< of the request in flight at the end, or 0
    std::vector<double> maxDuration;       ///< longest request completed in the window
    PhaseWindow application;               ///< time inside the WSGI callable and its iterable
    std::array<std::uint64_t, 5> statusClasses{};  ///< 1xx..5xx
};

/// The process's accounting. Thread-safe; every call takes one short lock.
class ProcessMetrics {
public:
    using Steady = std::chrono::steady_clock;

    /// `threadSlots`: threads= of the group (request_threads_maximum); `startedWall`: when the
    /// process started, wall-clock seconds (restart_time).
    ProcessMetrics(int threadSlots, double startedWall)
        : slots_(static_cast<std::size_t>(threadSlots)), startedWall_(startedWall) {}

    /// Turns on request_metrics()'s window and process_metrics() (idempotent).
    void startRecording(Steady::time_point now, double wallNow);
    [[nodiscard]] bool recording() const;

    /// A worker thread (`thread`: its OS ident) starts a request; returns its slot for end().
    std::size_t begin(unsigned long thread, Steady::time_point now, double wallNow);
    /// The request on `slot` ended with HTTP `status` (0: no response: counted as 5xx).
    void end(std::size_t slot, Steady::time_point now, double wallNow, int status);

    [[nodiscard]] ProcessView process(Steady::time_point now) const;
    /// The window since the last drain; starts the next one. std::nullopt before recording.
    std::optional<RequestWindow> drain(Steady::time_point now, double wallNow);

    [[nodiscard]] double startedWall() const noexcept { return startedWall_; }

private:
    struct Slot {
        bool used = false;
        bool active = false;
        Steady::time_point started{};
        std::uint64_t requestCount = 0;
        std::optional<double> lastStart;
        std::optional<double> lastStop;
        // The window's share.
        std::uint64_t windowCompleted = 0;
        double windowBusy = 0;
        double windowMax = 0;
        Steady::time_point windowFrom{};  ///< where an in-flight request's window share begins
    };

    mutable std::mutex mutex_;
    std::vector<Slot> slots_;  // guarded by mutex_
    const double startedWall_;
    std::map<unsigned long, std::size_t> slotOf_;   // guarded by mutex_
    std::uint64_t requestCount_ = 0;                // guarded by mutex_
    double busyDone_ = 0;                           // guarded by mutex_: finished requests
    bool recording_ = false;                        // guarded by mutex_
    Steady::time_point windowStart_{};              // guarded by mutex_
    double windowStartWall_ = 0;                    // guarded by mutex_
    std::uint64_t windowCount_ = 0;                 // guarded by mutex_
    PhaseWindow application_;                       // guarded by mutex_
    std::array<std::uint64_t, 5> statusClasses_{};  // guarded by mutex_
};

}  // namespace wsgid::python
