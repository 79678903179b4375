// SPDX-License-Identifier: Apache-2.0
// The parent's waker (see supervision_waker.h). The child runs between fork() and _exit() in a
// copy of the single-threaded parent: it allocates nothing after fork.
#include "apache/supervision_waker.h"

#include <algorithm>
#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apache/c_boundary.h"
#include "apache/httpd_includes.h"
#include "common/monotonic_sleep.h"
// httpd_includes.h first: other_child.h needs the APR other-child API.
#include "apache/other_child.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// Most descriptors one waker watches: far more daemon processes than a server runs; beyond it
/// the rest are left to the monitor hook's ticks.
constexpr std::size_t kMaxWatched = 1024;

/// First descriptor of the watched copies in the child (0-2 stay stdio).
constexpr int kFirstWatchedFd = 3;

/// The child: moves the watched descriptors to 3.., closes every other one, then waits.
[[noreturn]] void runWaker(pollfd* fds, std::size_t count, std::chrono::nanoseconds minLife,
                           std::chrono::nanoseconds timeout) noexcept {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            (void)::sigaction(sig, &dfl, nullptr);
        }
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
    (void)::prctl(PR_SET_NAME, kWakerProcessName);
    const int above = kFirstWatchedFd + static_cast<int>(count);
    for (std::size_t i = 0; i < count; ++i) {
        fds[i].fd = ::fcntl(fds[i].fd, F_DUPFD_CLOEXEC, above);
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (fds[i].fd >= 0) {
            (void)::dup2(fds[i].fd, kFirstWatchedFd + static_cast<int>(i));
            fds[i].fd = kFirstWatchedFd + static_cast<int>(i);
        }
    }
    (void)::close_range(static_cast<unsigned>(above), ~0U, 0);
    common::sleepFor(minLife);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    while (::poll(fds, count, static_cast<int>(std::clamp<long long>(ms, 0, 1 << 30))) < 0 &&
           errno == EINTR) {
    }
    ::_exit(0);
}

}  // namespace

struct SupervisionWaker::Registration {
    SupervisionWaker* owner = nullptr;
    apr_proc_t proc{};
    bool registered = false;
};

SupervisionWaker::SupervisionWaker(server_rec* s, apr_pool_t* pool, Wake onWake)
    : s_(s), onWake_(std::move(onWake)), reg_(std::make_unique<Registration>()) {
    reg_->owner = this;
    if (apr_pool_create(&pool_, pool) != APR_SUCCESS) {
        pool_ = nullptr;
    }
}

SupervisionWaker::~SupervisionWaker() {
    disarm();
}

pid_t SupervisionWaker::pid() const noexcept {
    return pid_;
}

void SupervisionWaker::arm(const std::vector<int>& fds, SupervisorTime deadline) {
    if (pid_ > 0 || pool_ == nullptr) {
        return;
    }
    std::vector<pollfd> watched;
    for (const int fd : fds) {
        if (fd >= 0 && watched.size() < kMaxWatched) {
            watched.push_back({.fd = fd, .events = POLLIN, .revents = 0});
        }
    }
    const auto now = SupervisorClock::now();
    const auto timeout = std::max<SupervisorDuration>(deadline - now, kMinWakerLife) -
                         std::chrono::duration_cast<SupervisorDuration>(kMinWakerLife);
    const pid_t child = ::fork();
    if (child == 0) {
        runWaker(watched.data(), watched.size(), kMinWakerLife, timeout);
    }
    if (child < 0) {
        if (!forkFailureLogged_) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s_,
                         "WG0067: cannot fork the supervision waker; daemons are supervised "
                         "from the monitor hook only (every 10s or so)");
            forkFailureLogged_ = true;
        }
        return;
    }
    forkFailureLogged_ = false;
    pid_ = child;
    reg_->proc = apr_proc_t{};
    reg_->proc.pid = child;
    apr_pool_clear(pool_);
    apr_proc_other_child_register(&reg_->proc, &SupervisionWaker::callback, reg_.get(), nullptr,
                                  pool_);
    reg_->registered = true;
}

void SupervisionWaker::disarm() noexcept {
    if (pid_ <= 0) {
        return;
    }
    // The registration may be gone already (its pool is cleared with the configuration);
    // the process is not until it is reaped.
    if (reg_->registered) {
        reg_->registered = false;
        apr_proc_other_child_unregister(reg_.get());
    }
    const pid_t child = pid_;
    pid_ = 0;
    (void)::kill(child, SIGKILL);
    // SIGKILL cannot be caught and the waker holds nothing that blocks its exit.
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
}

void SupervisionWaker::callback(int reason, void* data, int /*status*/) noexcept {
    guardedVoid("supervision waker", [&] {
        auto& reg = *static_cast<Registration*>(data);
        if (otherChildEnded(reason, &reg, reg.registered)) {
            reg.owner->pid_ = 0;
            if (reg.owner->onWake_) {
                reg.owner->onWake_();
            }
        }
    });
}

}  // namespace wsgid::apache
