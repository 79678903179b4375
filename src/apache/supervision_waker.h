// SPDX-License-Identifier: Apache-2.0
// SupervisionWaker: how the httpd parent gets to run supervision promptly. Module code runs in
// the parent only from hooks: the monitor hook (about every 10 s) and other-child callbacks,
// which the MPM's maintenance loop calls within a second of a child's death. So the waker is a
// tiny forked child that dies when the parent has something to do: when a watched descriptor
// (a daemon's status pipe) becomes readable or hits EOF, or at a deadline (a drain bound, a
// backoff). Its death runs the parent's tick at once; the parent then forks the next one. It
// never execs, holds only the watched descriptors and no secret, and dies with the parent.
// Parent only (single thread); docs/architecture.md "Life of a daemon" tells why.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <sys/types.h>

#include "apache/restart_policy.h"

struct apr_pool_t;
struct server_rec;

namespace wsgid::apache {

/// A waker lives at least this long: it bounds the forks per second (5) when something stays
/// readable, and a status record or a death is rarely that urgent.
inline constexpr std::chrono::milliseconds kMinWakerLife{200};

/// Process name (comm) of the waker, as ps shows it.
inline constexpr const char* kWakerProcessName = "wsgid-waker";

/// The waker of one configuration generation, owned by its Manager.
class SupervisionWaker {
public:
    using Wake = std::function<void()>;

    /// `onWake` runs when the waker has died (from an other-child callback in the MPM's loop).
    /// The registration lives in a subpool of `pool`.
    SupervisionWaker(server_rec* s, apr_pool_t* pool, Wake onWake);
    SupervisionWaker(const SupervisionWaker&) = delete;
    SupervisionWaker& operator=(const SupervisionWaker&) = delete;
    SupervisionWaker(SupervisionWaker&&) = delete;
    SupervisionWaker& operator=(SupervisionWaker&&) = delete;
    /// Kills and reaps a running waker.
    ~SupervisionWaker();

    /// Forks a waker watching `fds` for readability until `deadline` (at least kMinWakerLife
    /// from now), unless one runs already. A failed fork is logged once (WG0067) and left to
    /// the monitor hook's ticks.
    void arm(const std::vector<int>& fds, SupervisorTime deadline);
    /// Kills and reaps the waker, if one runs (httpd restarts or stops).
    void disarm() noexcept;
    /// The running waker's pid, or 0.
    [[nodiscard]] pid_t pid() const noexcept;

    /// other-child callback. C-called.
    static void callback(int reason, void* data, int status) noexcept;

private:
    struct Registration;
    server_rec* s_;
    apr_pool_t* pool_ = nullptr;
    Wake onWake_;
    std::unique_ptr<Registration> reg_;
    pid_t pid_ = 0;  ///< the running waker, until it is reaped
    bool forkFailureLogged_ = false;
};

}  // namespace wsgid::apache
