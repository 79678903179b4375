// SPDX-License-Identifier: Apache-2.0
// Signal reset, meaning and the self-pipe. Handlers are async-signal-safe: getpid, write, _exit.
// No httpd headers here.
#include "daemon/signals.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace wsgid::daemon {

using common::ErrorCode;
using common::Result;
using common::Status;

namespace {

constexpr std::array<int, 6> kWatchedSignals = {SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGUSR2, SIGXCPU};

// Read by the handler; written only by install() and ~SignalWatcher() on the main thread while
// the handlers are not installed. Lock-free atomics are async-signal-safe.
std::atomic<int> gPipeWriteFd{-1};
std::atomic<pid_t> gDaemonPid{0};

static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<pid_t>::is_always_lock_free);

void onSignal(int signo) noexcept {
    if (::getpid() != gDaemonPid.load(std::memory_order_relaxed)) {
        // A process forked by application code: it has no main loop reading the pipe, and
        // sharing ours would make the daemon act on the child's signals.
        ::_exit(128 + signo);
    }
    const int savedErrno = errno;
    const auto byte = static_cast<unsigned char>(signo);
    // The pipe is non-blocking: if it is full, a wake-up is already pending and the main loop
    // will see this signal's kind among the bytes it still has to read.
    [[maybe_unused]] const ssize_t n =
        ::write(gPipeWriteFd.load(std::memory_order_relaxed), &byte, 1);
    errno = savedErrno;
}

Status sysError(const char* what) {
    return {ErrorCode::IoError, std::string(what) + ": " + common::errnoText(errno)};
}

}  // namespace

SignalAction actionFor(int signo) noexcept {
    switch (signo) {
        case SIGTERM:
        case SIGINT:
            return SignalAction::GracefulStop;
        case SIGUSR1:
            return SignalAction::Evict;
        case SIGXCPU:
            return SignalAction::CpuTimeLimit;
        case SIGHUP:
        case SIGUSR2:
            return SignalAction::Publish;
        default:
            return SignalAction::Ignore;
    }
}

std::string signalName(int signo) {
    switch (signo) {
        case SIGTERM:
            return "SIGTERM";
        case SIGINT:
            return "SIGINT";
        case SIGUSR1:
            return "SIGUSR1";
        case SIGHUP:
            return "SIGHUP";
        case SIGUSR2:
            return "SIGUSR2";
        case SIGXCPU:
            return "SIGXCPU";
        default:
            return "signal " + std::to_string(signo);
    }
}

Status resetInheritedSignalState() noexcept {
    sigset_t none;
    ::sigemptyset(&none);
    if (const int rc = ::pthread_sigmask(SIG_SETMASK, &none, nullptr); rc != 0) {
        return {ErrorCode::IoError, "pthread_sigmask: " + common::errnoText(rc)};
    }
    for (int signo = 1; signo < NSIG; ++signo) {
        if (signo == SIGKILL || signo == SIGSTOP) {
            continue;
        }
        struct sigaction sa {};
        sa.sa_handler = SIG_DFL;
        ::sigemptyset(&sa.sa_mask);
        // EINVAL for the numbers glibc reserves for its own threads; nothing to reset there.
        (void)::sigaction(signo, &sa, nullptr);
    }
    return Status::ok();
}

Result<std::unique_ptr<SignalWatcher>> SignalWatcher::install() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return sysError("pipe2");
    }
    std::unique_ptr<SignalWatcher> watcher(
        new SignalWatcher(common::UniqueFd(fds[0]), common::UniqueFd(fds[1])));
    gPipeWriteFd.store(fds[1]);
    gDaemonPid.store(::getpid());

    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigemptyset(&ignore.sa_mask);
    if (::sigaction(SIGPIPE, &ignore, nullptr) != 0) {
        return sysError("sigaction(SIGPIPE)");
    }
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    ::sigemptyset(&sa.sa_mask);
    // SA_RESTART: threads blocked in a syscall when a signal lands should not see EINTR.
    sa.sa_flags = SA_RESTART;
    for (const int signo : kWatchedSignals) {
        if (::sigaction(signo, &sa, nullptr) != 0) {
            return sysError("sigaction");
        }
    }
    return watcher;
}

SignalWatcher::~SignalWatcher() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (const int signo : kWatchedSignals) {
        (void)::sigaction(signo, &dfl, nullptr);
    }
    gPipeWriteFd.store(-1);
}

std::optional<int> SignalWatcher::next(common::Deadline deadline) noexcept {
    for (;;) {
        unsigned char byte = 0;
        const ssize_t n = ::read(readEnd_.get(), &byte, 1);
        if (n == 1) {
            return static_cast<int>(byte);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno != EAGAIN) {
            return std::nullopt;
        }
        if (!common::waitReadable(readEnd_.get(), deadline)) {
            return std::nullopt;
        }
    }
}

}  // namespace wsgid::daemon
