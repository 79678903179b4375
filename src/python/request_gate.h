// SPDX-License-Identifier: Apache-2.0
// RequestGate: the fence between one request's RequestIo and every thread that uses it, so a
// thread still inside write() or wsgi.input when its request ends never reaches the next request
// or freed memory. Long story: docs/architecture.md "GIL and thread model". No Python objects.
#pragma once

#include "python/python.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <utility>

#include "common/log_sink.h"
#include "python/gil.h"
#include "python/request_io.h"

namespace wsgid::python {

/// How long an interrupted RequestIo call may take to return. Interrupting makes blocked and later
/// calls fail at once, so this only absorbs scheduling; past it the RequestIo broke its contract
/// and the process aborts rather than free memory a thread still uses.
inline constexpr std::chrono::milliseconds kInterruptWait = std::chrono::seconds(1);

/// Counts the threads using one request's RequestIo and, when the request ends, closes and waits
/// for them. Threads: enter() and Pass's end on any thread with the GIL held; close() on the
/// request's own thread with the GIL held. Lives as long as the request (the worker's stack);
/// close() returns only when no Pass is left, so nothing refers to it afterwards.
class RequestGate {
public:
    /// `io` must outlive close().
    explicit RequestGate(RequestIo& io) noexcept : io_(io) {}
    RequestGate(const RequestGate&) = delete;
    RequestGate& operator=(const RequestGate&) = delete;
    RequestGate(RequestGate&&) = delete;
    RequestGate& operator=(RequestGate&&) = delete;
    ~RequestGate() = default;

    /// One thread's right to use the RequestIo, from enter() to its end. End it only after the
    /// last access to request state (with the GIL held again), never inside a GIL release.
    class Pass {
    public:
        Pass() noexcept = default;
        Pass(const Pass&) = delete;
        Pass& operator=(const Pass&) = delete;
        Pass(Pass&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
        Pass& operator=(Pass&&) = delete;
        ~Pass() {
            if (gate_ != nullptr) {
                gate_->leave();
            }
        }

        /// False when the gate was already closed (the request ended): use nothing.
        explicit operator bool() const noexcept { return gate_ != nullptr; }

        /// The RequestIo, for the non-blocking calls made with the GIL held. Non-empty pass only.
        [[nodiscard]] RequestIo& io() const noexcept { return gate_->io_; }

        /// Runs `call(RequestIo&)` with the GIL released and returns its result; close() counts
        /// the thread as inside the RequestIo meanwhile. GIL held; returns with it held.
        template <typename F>
        auto withoutGil(F&& call) const {
            GilRelease unlocked;
            const InIo inside(*gate_);
            return call(gate_->io_);
        }

        /// Whether close() had to interrupt the RequestIo: a failure of a call made with this
        /// pass is then the fence's doing, not the client's.
        [[nodiscard]] bool interrupted() const noexcept;

    private:
        friend class RequestGate;
        explicit Pass(RequestGate* gate) noexcept : gate_(gate) {}
        RequestGate* gate_ = nullptr;
    };

    /// GIL held. An empty Pass once close() has begun.
    [[nodiscard]] Pass enter() noexcept;

    /// How close() went.
    enum class Closed {
        Idle,         ///< no thread held a pass
        Waited,       ///< threads held passes and left within the grace time
        Interrupted,  ///< the grace time passed: RequestIo::interrupt() was called
    };

    /// Ends the request's use of the RequestIo: later enter() calls fail, then waits (GIL
    /// released) for the passes still held, `grace` at most before it interrupts the RequestIo
    /// (WG0337, naming `script` and `requestId`), then kInterruptWait for the calls to return (past
    /// it WG0338 and abort). Request's own thread, GIL held; returns with it held and no pass left.
    /// Call once.
    Closed close(std::chrono::milliseconds grace, common::LogSink& log, std::string_view script,
                 std::string_view requestId) noexcept;

private:
    // Marks a thread inside a RequestIo call (GIL released) for the scope.
    class InIo {
    public:
        explicit InIo(RequestGate& gate) noexcept;
        InIo(const InIo&) = delete;
        InIo& operator=(const InIo&) = delete;
        InIo(InIo&&) = delete;
        InIo& operator=(InIo&&) = delete;
        ~InIo();

    private:
        RequestGate& gate_;
    };

    void leave() noexcept;

    RequestIo& io_;
    std::mutex mutex_;
    std::condition_variable changed_;  // a pass ended or a RequestIo call returned
    // Guarded by mutex_:
    bool open_ = true;
    bool interrupted_ = false;
    int passes_ = 0;  // passes not yet ended
    int inIo_ = 0;    // threads inside a RequestIo call
};

}  // namespace wsgid::python
