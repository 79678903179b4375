// SPDX-License-Identifier: Apache-2.0
// RequestQueue: FIFO order, the bound, close() semantics and concurrent use.
#include "daemon/request_queue.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace wsgid::daemon {
namespace {

using common::Deadline;

// Bound for waits expected to succeed; never asserted on.
constexpr std::chrono::milliseconds kGenerous{10000};
// Deadline for a pop that is meant to time out.
constexpr std::chrono::milliseconds kExpireSoon{20};

TEST(RequestQueue, PopsInFifoOrder) {
    RequestQueue<int> q(8);
    for (int i = 0; i < 5; ++i) {
        int v = i;
        ASSERT_EQ(q.tryPush(v), PushResult::Pushed);
    }
    EXPECT_EQ(q.size(), 5U);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(q.pop(Deadline::after(kGenerous)), i);
    }
    EXPECT_EQ(q.size(), 0U);
}

TEST(RequestQueue, FullQueueRefusesAndLeavesTheItemWithTheCaller) {
    RequestQueue<std::unique_ptr<int>> q(2);
    auto a = std::make_unique<int>(1);
    auto b = std::make_unique<int>(2);
    auto c = std::make_unique<int>(3);
    EXPECT_EQ(q.tryPush(a), PushResult::Pushed);
    EXPECT_EQ(q.tryPush(b), PushResult::Pushed);
    EXPECT_EQ(q.tryPush(c), PushResult::Full);
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, 3);
    EXPECT_EQ(q.capacity(), 2U);
}

TEST(RequestQueue, TakeIfRemovesMatchingItemsOldestFirstAndKeepsTheRest) {
    RequestQueue<int> q(8);
    for (int i = 1; i <= 6; ++i) {
        int v = i;
        ASSERT_EQ(q.tryPush(v), PushResult::Pushed);
    }
    const std::vector<int> even = q.takeIf([](int v) { return v % 2 == 0; });
    EXPECT_EQ(even, (std::vector<int>{2, 4, 6}));
    EXPECT_EQ(q.size(), 3U);
    EXPECT_EQ(q.tryPop(), 1);
    EXPECT_EQ(q.tryPop(), 3);
    EXPECT_EQ(q.tryPop(), 5);
    EXPECT_TRUE(q.takeIf([](int /*v*/) { return true; }).empty());
}

TEST(RequestQueue, PopTimesOutWhenEmpty) {
    RequestQueue<int> q(1);
    EXPECT_FALSE(q.pop(Deadline::after(kExpireSoon)).has_value());
    EXPECT_FALSE(q.tryPop().has_value());
}

TEST(RequestQueue, CloseRefusesPushesButHandsOutQueuedItems) {
    RequestQueue<int> q(4);
    int one = 1;
    int two = 2;
    ASSERT_EQ(q.tryPush(one), PushResult::Pushed);
    ASSERT_EQ(q.tryPush(two), PushResult::Pushed);
    q.close();
    q.close();  // idempotent
    EXPECT_TRUE(q.closed());
    int three = 3;
    EXPECT_EQ(q.tryPush(three), PushResult::Closed);
    EXPECT_EQ(q.pop(Deadline::never()), 1);
    EXPECT_EQ(q.tryPop(), 2);
    // Closed and empty: returns at once even without a deadline.
    EXPECT_FALSE(q.pop(Deadline::never()).has_value());
}

TEST(RequestQueue, CloseWakesEveryWaitingConsumer) {
    RequestQueue<int> q(4);
    std::atomic<int> woken{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 3; ++i) {
        consumers.emplace_back([&] {
            if (!q.pop(Deadline::after(kGenerous)).has_value()) {
                ++woken;
            }
        });
    }
    q.close();
    for (auto& t : consumers) {
        t.join();
    }
    EXPECT_EQ(woken.load(), 3);
}

TEST(RequestQueue, PushWakesAWaitingConsumer) {
    RequestQueue<int> q(1);
    std::thread consumer([&] { EXPECT_EQ(q.pop(Deadline::after(kGenerous)), 42); });
    int v = 42;
    // The bound of 1 means the push only succeeds once the slot is free; retry until then.
    const Deadline deadline = Deadline::after(kGenerous);
    while (q.tryPush(v) != PushResult::Pushed && !deadline.expired()) {
        std::this_thread::yield();
    }
    consumer.join();
}

TEST(RequestQueue, ManyProducersAndConsumersLoseNothing) {
    constexpr int kProducers = 4;
    constexpr int kPerProducer = 2000;
    RequestQueue<int> q(16);
    std::atomic<long> sum{0};
    std::atomic<int> count{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 3; ++i) {
        consumers.emplace_back([&] {
            while (auto v = q.pop(Deadline::after(kGenerous))) {
                sum += *v;
                ++count;
            }
        });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            for (int i = 0; i < kPerProducer; ++i) {
                int v = p * kPerProducer + i;
                const Deadline deadline = Deadline::after(kGenerous);
                while (q.tryPush(v) == PushResult::Full && !deadline.expired()) {
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& t : producers) {
        t.join();
    }
    q.close();
    for (auto& t : consumers) {
        t.join();
    }
    const long n = kProducers * kPerProducer;
    EXPECT_EQ(count.load(), n);
    EXPECT_EQ(sum.load(), n * (n - 1) / 2);
}

}  // namespace
}  // namespace wsgid::daemon
