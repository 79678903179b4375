// SPDX-License-Identifier: Apache-2.0
// ProcessMetrics: lifetime counts, the drained window, and the histogram layout.
#include "python/process_metrics.h"

#include <gtest/gtest.h>

namespace wsgid::python {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = ProcessMetrics::Steady;

const Steady::time_point kT0 = Steady::time_point(seconds(1000));

TEST(ProcessMetrics, HistogramBucketsFollowOctavesOfFourSteps) {
    EXPECT_EQ(timeBucket(std::chrono::microseconds(999)), 0U);
    EXPECT_EQ(timeBucket(milliseconds(1)), 0U);
    EXPECT_EQ(timeBucket(std::chrono::microseconds(1250)), 1U);
    EXPECT_EQ(timeBucket(milliseconds(2)), 4U);
    EXPECT_EQ(timeBucket(milliseconds(3)), 6U);
    EXPECT_EQ(timeBucket(milliseconds(65535)), 63U);
    EXPECT_EQ(timeBucket(milliseconds(65536)), 64U);
    EXPECT_EQ(timeBucket(std::chrono::hours(1)), 64U);
}

TEST(ProcessMetrics, CountsRequestsPerThreadAndBusyTime) {
    ProcessMetrics m(3, 500.0);
    const auto a = m.begin(11, kT0, 1.0);
    const auto b = m.begin(22, kT0, 1.0);
    EXPECT_NE(a, b);
    m.end(a, kT0 + seconds(2), 3.0, 200);
    const ProcessView v = m.process(kT0 + seconds(3));
    EXPECT_EQ(v.requestCount, 1U);
    EXPECT_EQ(v.activeRequests, 1);
    EXPECT_DOUBLE_EQ(v.requestBusyTime, 2.0 + 3.0);  // the running one counts up to now
    ASSERT_EQ(v.threads.size(), 2U);
    EXPECT_EQ(v.threads[0].threadId, 1);
    EXPECT_EQ(v.threads[0].requestCount, 1U);
    EXPECT_FALSE(v.threads[0].active);
    EXPECT_TRUE(v.threads[1].active);
    // The same OS thread keeps its slot.
    EXPECT_EQ(m.begin(11, kT0 + seconds(4), 5.0), a);
    EXPECT_DOUBLE_EQ(m.startedWall(), 500.0);
}

TEST(ProcessMetrics, WindowIsNoneBeforeRecordingThenDrains) {
    ProcessMetrics m(2, 0.0);
    EXPECT_FALSE(m.drain(kT0, 10.0).has_value());
    m.end(m.begin(1, kT0, 10.0), kT0 + milliseconds(5), 10.0, 200);  // before: lifetime only
    m.startRecording(kT0 + seconds(1), 11.0);
    m.end(m.begin(1, kT0 + seconds(1), 11.0), kT0 + seconds(2), 12.0, 404);
    const auto running = m.begin(2, kT0 + seconds(2), 12.0);
    (void)running;
    const auto w = m.drain(kT0 + seconds(4), 14.0);
    ASSERT_TRUE(w.has_value());
    EXPECT_DOUBLE_EQ(w->startTime, 11.0);
    EXPECT_DOUBLE_EQ(w->stopTime, 14.0);
    EXPECT_EQ(w->requestCount, 1U);
    EXPECT_EQ(w->statusClasses[3], 1U);
    EXPECT_EQ(w->threadsStarted, 2);
    EXPECT_EQ(w->threadsActive, 2);
    EXPECT_EQ(w->completed, (std::vector<std::uint64_t>{1, 0}));
    EXPECT_DOUBLE_EQ(w->busyTime[0], 1.0);
    EXPECT_DOUBLE_EQ(w->busyTime[1], 2.0);
    EXPECT_DOUBLE_EQ(w->currentElapsed[1], 2.0);
    EXPECT_EQ(w->application.minMicros, 1000000);
    EXPECT_EQ(w->application.buckets[timeBucket(seconds(1))], 1U);
    // The next window starts where this one ended.
    const auto next = m.drain(kT0 + seconds(5), 15.0);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->requestCount, 0U);
    EXPECT_DOUBLE_EQ(next->busyTime[1], 1.0);
    EXPECT_FALSE(next->application.minMicros.has_value());
    EXPECT_EQ(m.process(kT0 + seconds(5)).requestCount, 2U);
}

}  // namespace
}  // namespace wsgid::python
