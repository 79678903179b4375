// SPDX-License-Identifier: Apache-2.0
// RequestQueue: the bounded hand-off of requests read while every worker is busy (by the
// daemon's I/O thread) to the worker threads.
// Knows nothing about connections or Python; no httpd headers here.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/socket_io.h"

namespace wsgid::daemon {

/// Outcome of RequestQueue::tryPush.
enum class PushResult {
    Pushed,  ///< the item was moved into the queue
    Full,    ///< the queue holds `capacity` items; the item was left with the caller
    Closed,  ///< close() was called; the item was left with the caller
};

/// A bounded FIFO with blocking pop. Producers never block (the I/O thread must not stall);
/// consumers wait with a deadline. close() refuses further pushes and wakes every waiter; items
/// queued before close() are still handed out, so a graceful stop finishes them.
/// Thread-safe: any number of producers and consumers.
template <typename T>
class RequestQueue {
public:
    /// `capacity` must be at least 1.
    explicit RequestQueue(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}
    ~RequestQueue() = default;
    RequestQueue(const RequestQueue&) = delete;
    RequestQueue& operator=(const RequestQueue&) = delete;
    RequestQueue(RequestQueue&&) = delete;
    RequestQueue& operator=(RequestQueue&&) = delete;

    /// Moves `item` into the queue unless it is full or closed; on failure `item` is untouched.
    PushResult tryPush(T& item) {
        {
            const std::lock_guard lock(mutex_);
            if (closed_) {
                return PushResult::Closed;
            }
            if (items_.size() >= capacity_) {
                return PushResult::Full;
            }
            items_.push_back(std::move(item));
        }
        ready_.notify_one();
        return PushResult::Pushed;
    }

    /// The oldest item. Waits until one arrives, the queue is closed and empty, or `deadline`
    /// passes; std::nullopt in the last two cases.
    std::optional<T> pop(common::Deadline deadline) {
        std::unique_lock lock(mutex_);
        const auto available = [this] { return !items_.empty() || closed_; };
        if (deadline.at() == common::Clock::time_point::max()) {
            ready_.wait(lock, available);
        } else if (!ready_.wait_until(lock, deadline.at(), available)) {
            return std::nullopt;
        }
        return takeFront();
    }

    /// The oldest item if there is one, without waiting (also after close()).
    std::optional<T> tryPop() {
        const std::lock_guard lock(mutex_);
        return takeFront();
    }

    /// Removes and returns, oldest first, every item for which `stale(item)` is true. `stale`
    /// runs with the queue locked: it must be quick and take no lock of its own.
    template <typename Pred>
    std::vector<T> takeIf(Pred stale) {
        std::vector<T> taken;
        const std::lock_guard lock(mutex_);
        for (auto it = items_.begin(); it != items_.end();) {
            if (stale(*it)) {
                taken.push_back(std::move(*it));
                it = items_.erase(it);
            } else {
                ++it;
            }
        }
        return taken;
    }

    /// Refuses further pushes and wakes all waiting consumers. Idempotent.
    void close() {
        {
            const std::lock_guard lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
    }

    /// Items waiting (a snapshot; for logs and the status page).
    [[nodiscard]] std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return items_.size();
    }

    /// Whether close() was called.
    [[nodiscard]] bool closed() const {
        const std::lock_guard lock(mutex_);
        return closed_;
    }

    /// The bound given at construction.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    // Call with mutex_ held.
    std::optional<T> takeFront() {
        if (items_.empty()) {
            return std::nullopt;
        }
        std::optional<T> item(std::move(items_.front()));
        items_.pop_front();
        return item;
    }

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<T> items_;  // guarded by mutex_
    bool closed_ = false;  // guarded by mutex_
};

}  // namespace wsgid::daemon
