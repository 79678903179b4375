// SPDX-License-Identifier: Apache-2.0
// RequestGate (see request_gate.h): pass counting, and the bounded close that waits for the
// passes with the GIL released (their holders need it to end them).
#include "python/request_gate.h"

#include <cstdlib>
#include <string>

#include "common/duration_text.h"

namespace wsgid::python {

namespace {

constexpr std::string_view kIdInterrupted = "WG0337";
constexpr std::string_view kIdStuck = "WG0338";

}  // namespace

bool RequestGate::Pass::interrupted() const noexcept {
    const std::lock_guard lock(gate_->mutex_);
    return gate_->interrupted_;
}

RequestGate::InIo::InIo(RequestGate& gate) noexcept : gate_(gate) {
    const std::lock_guard lock(gate_.mutex_);
    ++gate_.inIo_;
}

RequestGate::InIo::~InIo() {
    const std::lock_guard lock(gate_.mutex_);
    --gate_.inIo_;
    gate_.changed_.notify_all();
}

RequestGate::Pass RequestGate::enter() noexcept {
    const std::lock_guard lock(mutex_);
    if (!open_) {
        return {};
    }
    ++passes_;
    return Pass(this);
}

void RequestGate::leave() noexcept {
    // Notified under the mutex: close() cannot return (and the gate die) before this unlocks.
    const std::lock_guard lock(mutex_);
    --passes_;
    changed_.notify_all();
}

RequestGate::Closed RequestGate::close(std::chrono::milliseconds grace, common::LogSink& log,
                                       std::string_view script,
                                       std::string_view requestId) noexcept {
    {
        const std::lock_guard lock(mutex_);
        open_ = false;
        if (passes_ == 0) {
            return Closed::Idle;
        }
    }
    // Declared first so the mutex is unlocked before the GIL is taken back (a pass ends with the
    // GIL held and then takes the mutex: the reverse order would deadlock).
    const GilRelease unlocked;
    std::unique_lock lock(mutex_);
    if (changed_.wait_for(lock, grace, [this] { return passes_ == 0; })) {
        return Closed::Waited;
    }
    interrupted_ = true;
    lock.unlock();
    // Built only here: the common path allocates nothing. (A failed allocation ends in terminate,
    // which is what the abort below does anyway.)
    const std::string what = std::string(script) + " (request " + std::string(requestId) + ")";
    log.log(common::LogLevel::Warning, kIdInterrupted,
            what + ": an application thread was still using the request's connection " +
                common::durationText(grace) +
                " after the request ended; closing the connection so its call fails");
    io_.interrupt();
    lock.lock();
    if (!changed_.wait_for(lock, kInterruptWait, [this] { return inIo_ == 0; })) {
        lock.unlock();
        log.log(common::LogLevel::Critical, kIdStuck,
                what + ": a RequestIo call did not return " + common::durationText(kInterruptWait) +
                    " after it was interrupted; aborting rather than freeing what it uses");
        std::abort();
    }
    // Every call has returned: what is left is each holder taking the GIL back and ending its
    // pass, which is no longer than this thread's own wait for the GIL.
    changed_.wait(lock, [this] { return passes_ == 0; });
    return Closed::Interrupted;
}

}  // namespace wsgid::python
