// SPDX-License-Identifier: Apache-2.0
// Starting one daemon process (see daemon_spawn.h). The code between fork() and execve() runs in
// a copy of a single-threaded parent: it allocates nothing and calls only async-signal-safe
// functions (plus close_range/opendir fallbacks that are safe there, see closeFrom). No httpd.
#include "apache/daemon_spawn.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/monotonic_sleep.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "protocol/daemon_status.h"

namespace wsgid::apache {

namespace {

/// Closes every descriptor from `first` up.
void closeFrom(int first) {
    if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) {
        return;
    }
    // Kernels before 5.9: walk /proc/self/fd (the parent is single-threaded, so allocating here
    // is safe), or every possible descriptor without /proc.
    if (DIR* d = ::opendir("/proc/self/fd"); d != nullptr) {
        const int self = ::dirfd(d);
        std::vector<int> fds;
        // readdir is only unsafe on a stream shared between threads; `d` is private to this call.
        while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
            const int fd = std::atoi(e->d_name);  // "." and ".." give 0, below `first`
            if (fd >= first && fd != self) {
                fds.push_back(fd);
            }
        }
        ::closedir(d);
        for (const int fd : fds) {
            (void)::close(fd);
        }
        return;
    }
    const long max = ::sysconf(_SC_OPEN_MAX);
    for (long fd = first; fd < (max > 0 ? max : 1024); ++fd) {
        (void)::close(static_cast<int>(fd));
    }
}

/// Everything the child needs, prepared before fork() so the child allocates nothing.
struct ExecPlan {
    const char* binary = nullptr;
    std::string title;  ///< argv[0], the only argument
    std::vector<char*> argv;
    std::vector<std::string> env;  ///< the allow-listed environment (daemon_environment.h)
    std::vector<char*> envp;
    int listenFd = -1;
    int argsFd = -1;       ///< read end of the settings pipe, already filled and closed for writing
    int logFd = -1;        ///< write end of the group's log pipe, or -1 for /dev/null
    int statusFd = -1;     ///< write end of the daemon's status pipe, or -1 for none
    int loadTableFd = -1;  ///< the group's load table, or -1 for none
    pid_t parent = 0;
    std::chrono::nanoseconds delay{};
};

/// A pipe holding the encoded `args`, its write end already closed: the read end (to close).
/// Written before fork(), so the record must fit the pipe's buffer (kMaxDaemonArgsBytes).
common::Result<int> fillArgsPipe(const protocol::DaemonArgs& args) {
    using common::ErrorCode;
    std::string bytes = protocol::encodeDaemonArgs(args);
    if (bytes.size() > protocol::kMaxDaemonArgsBytes) {
        return {ErrorCode::LimitExceeded, "the group's settings take " +
                                              std::to_string(bytes.size()) + " bytes, more than " +
                                              std::to_string(protocol::kMaxDaemonArgsBytes)};
    }
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return {ErrorCode::IoError, "pipe(): " + common::errnoText(errno)};
    }
    common::UniqueFd readEnd(fds[0]);
    const common::UniqueFd writeEnd(fds[1]);
    // Non-blocking: a pipe smaller than expected fails here instead of hanging the parent.
    const common::Status written =
        common::writeFully(writeEnd.get(), bytes, common::Deadline::after(std::chrono::seconds(0)));
    std::fill(bytes.begin(), bytes.end(), '\0');
    if (!written) {
        return {ErrorCode::IoError, "writing the settings pipe: " + written.message()};
    }
    // The daemon reads with a blocking descriptor of its own.
    if (const common::Status st = common::setNonBlocking(readEnd.get(), false); !st) {
        return st;
    }
    return readEnd.release();
}

[[noreturn]] void execDaemon(const ExecPlan& plan) noexcept {
    // Signals: httpd blocks and ignores some; exec keeps both, and the daemon expects defaults.
    sigset_t none;
    ::sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            (void)::sigaction(sig, &dfl, nullptr);  // fails harmlessly for libc-reserved signals
        }
    }
    // If httpd dies abruptly, a daemon that has not yet dropped privileges goes with it.
    (void)::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != plan.parent) {
        ::_exit(protocol::kExitStartupFailure);
    }
    // Descriptors: 0 = /dev/null, 1 and 2 = the group's log pipe (never an error-log descriptor,
    // which tenant code could truncate: log_relay.h), 3 = the listening socket, 4 = the settings
    // pipe, 5 = the status pipe, 6 = the group's load table, no others.
    if (plan.logFd > STDERR_FILENO) {
        (void)::dup2(plan.logFd, STDERR_FILENO);
    } else if (const int sink = ::open("/dev/null", O_WRONLY | O_CLOEXEC); sink >= 0) {
        (void)::dup2(sink, STDERR_FILENO);  // no relay: lose the output, never inherit httpd's
    }
    const int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devNull >= 0) {
        (void)::dup2(devNull, STDIN_FILENO);
    }
    (void)::dup2(STDERR_FILENO, STDOUT_FILENO);
    // Move all above their targets first, so no dup2 below can close another's source.
    constexpr int kAbove = protocol::kLoadTableFd + 1;
    const int listenCopy = ::fcntl(plan.listenFd, F_DUPFD_CLOEXEC, kAbove);
    const int argsCopy = ::fcntl(plan.argsFd, F_DUPFD_CLOEXEC, kAbove);
    const int statusCopy =
        plan.statusFd >= 0 ? ::fcntl(plan.statusFd, F_DUPFD_CLOEXEC, kAbove) : -1;
    const int loadCopy =
        plan.loadTableFd >= 0 ? ::fcntl(plan.loadTableFd, F_DUPFD_CLOEXEC, kAbove) : -1;
    if (listenCopy < 0 || argsCopy < 0 || (plan.statusFd >= 0 && statusCopy < 0) ||
        (plan.loadTableFd >= 0 && loadCopy < 0)) {
        ::_exit(protocol::kExitStartupFailure);
    }
    (void)::dup2(listenCopy, protocol::kListenFd);  // dup2 clears FD_CLOEXEC on the copy
    (void)::dup2(argsCopy, protocol::kArgsFd);
    // The optional ones: their place is closed when there is none (it may hold anything).
    for (const auto& [copy, target] : {std::pair(statusCopy, protocol::kStatusFd),
                                       std::pair(loadCopy, protocol::kLoadTableFd)}) {
        if (copy >= 0) {
            (void)::dup2(copy, target);
        } else {
            (void)::close(target);
        }
    }
    closeFrom(kAbove);
    if (plan.delay.count() > 0) {
        (void)::prctl(PR_SET_NAME, kBackoffProcessName);
        common::sleepFor(plan.delay);
    }
    ::execve(plan.binary, plan.argv.data(), plan.envp.data());
    const int err = errno;
    char errBuf[256];
    // GNU strerror_r: no allocation between fork and exit, and it may return a static string.
    const char* errMsg = ::strerror_r(err, errBuf, sizeof(errBuf));
    char msg[512];
    const int n = std::snprintf(msg, sizeof(msg),
                                "[wsgid:error] [pid %ld] WG0032: cannot execute the daemon "
                                "program %s: %s\n",
                                static_cast<long>(::getpid()), plan.binary, errMsg);
    if (n > 0) {
        const ssize_t written =
            ::write(STDERR_FILENO, msg, std::min<std::size_t>(n, sizeof(msg) - 1));
        (void)written;  // nothing else to tell if stderr is gone
    }
    ::_exit(protocol::kExitStartupFailure);
}

}  // namespace

SpawnResult startDaemon(const DaemonSpawn& spawn) {
    SpawnResult result;
    ExecPlan plan;
    plan.binary = spawn.binary.c_str();
    plan.title = protocol::processTitle(spawn.args);
    plan.argv = {plan.title.data(), nullptr};
    plan.env = spawn.env;
    for (auto& entry : plan.env) {
        plan.envp.push_back(entry.data());
    }
    plan.envp.push_back(nullptr);
    plan.listenFd = spawn.listenFd;
    auto argsPipe = fillArgsPipe(spawn.args);
    if (!argsPipe) {
        result.failure = SpawnFailure{
            .stage = SpawnStage::Settings, .err = 0, .message = argsPipe.status().message()};
        return result;
    }
    const common::UniqueFd argsFd(argsPipe.value());
    plan.argsFd = argsFd.get();
    plan.logFd = spawn.logFd;
    plan.statusFd = spawn.statusFd;
    plan.loadTableFd = spawn.loadTableFd;
    plan.parent = ::getpid();
    plan.delay = spawn.delay;

    const pid_t pid = ::fork();
    if (pid == 0) {
        execDaemon(plan);
    }
    if (pid < 0) {
        const int err = errno;
        result.failure =
            SpawnFailure{.stage = SpawnStage::Fork, .err = err, .message = common::errnoText(err)};
        return result;
    }
    result.pid = pid;
    return result;
}

}  // namespace wsgid::apache
