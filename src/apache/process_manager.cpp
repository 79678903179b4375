// SPDX-License-Identifier: Apache-2.0
// Daemon process manager in the httpd parent (see process_manager.h). Decisions about when to
// start a process come from restart_policy.h; this file performs them: sockets, fork+exec,
// signals, reaping and logging. Never runs Python, never starts threads.
#include "apache/process_manager.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/daemon_environment.h"
#include "apache/hooks.h"
#include "apache/httpd_includes.h"
#include "apache/log_relay.h"
#include "apache/restart_policy.h"
#include "apache/socket_directory.h"
#include "common/random.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "protocol/daemon_args.h"
// httpd_includes.h first: apr_raii.h needs the APR pool API.
#include "apache/apr_raii.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// Key of the retained state. The version is part of the key because a graceful restart may load
/// a newer build of this module into a parent that still holds the old layout: bump it whenever
/// RetainedState changes.
constexpr const char* kRetainedKey = "mod_wsgid/process_manager/v2";
/// pconf userdata key of the generation's Manager (the monitor hook finds it there).
constexpr const char* kManagerKey = "wsgid::ProcessManager";

/// Grace after a daemon's shutdown-timeout before SIGKILL. The daemon bounds its own drain and
/// Python finalization by shutdown-timeout; this covers the exit itself around that bound.
constexpr std::chrono::seconds kKillMargin{2};
/// Longest wait for daemons at `apachectl stop` before they get SIGKILL whatever their
/// shutdown-timeout: below systemd's default stop timeout (90 s), so this module, not systemd,
/// kills the daemons and removes the sockets.
constexpr std::chrono::seconds kMaxStopWait{60};
/// How long to wait for SIGKILLed daemons to be reaped before giving up; SIGKILL cannot be
/// caught, so only a process stuck in uninterruptible sleep takes longer, and httpd's exit must
/// not hang on it.
constexpr std::chrono::seconds kKillReapWait{2};
/// Poll interval of the bounded waits at stop: short enough to exit promptly once the daemons are
/// gone, long enough to cost nothing.
constexpr std::chrono::milliseconds kReapPollInterval{50};
/// Process name (comm) of a forked daemon while it waits out its restart backoff before exec.
constexpr const char* kBackoffProcessName = "wsgid-backoff";
/// What the retired list calls a log relay in place of a group name.
constexpr const char* kLogRelayLabel = "(log relay)";

// ---- state retained across configuration generations ----------------------------------------

/// A group's listening socket, kept open across restarts so queued connections and children of
/// the previous generation still reach a daemon.
struct RetainedListener {
    std::string group;
    std::string path;
    int fd = -1;
};

/// A daemon of a previous generation: it got SIGTERM and drains; SIGKILL at killAt.
struct RetiredDaemon {
    pid_t pid = 0;
    std::uint32_t generation = 0;
    std::string group;
    SupervisorTime killAt{};
    bool killed = false;
};

/// A group's secrets of the latest generations, newest last (kRetainedSecretGenerations): new
/// daemons accept children of earlier generations that are still finishing requests.
struct RetainedSecrets {
    std::string group;
    std::vector<protocol::GroupSecret> history;
};

/// Lives in the httpd parent for its whole life (allocated once, reached through
/// ap_retained_data). No virtual functions, nothing that points into this module's code: the
/// module is unloaded and reloaded at every restart.
struct RetainedState {
    std::vector<RetainedListener> listeners;
    std::vector<RetiredDaemon> retired;
    std::vector<RetainedSecrets> secrets;
};

RetainedState* retainedState(bool create) {
    void* block = ap_retained_data_get(kRetainedKey);
    if (block == nullptr) {
        if (!create) {
            return nullptr;
        }
        // The block holds a pointer: the state itself is a C++ object on the heap.
        block =
            ap_retained_data_create(kRetainedKey,
                                    sizeof(RetainedState*));  // NOLINT(bugprone-sizeof-expression)
    }
    auto** state = static_cast<RetainedState**>(block);
    if (*state == nullptr && create) {
        *state = new RetainedState();
    }
    return *state;
}

void dropRetainedState() {
    if (void* block = ap_retained_data_get(kRetainedKey); block != nullptr) {
        auto** state = static_cast<RetainedState**>(block);
        delete *state;
        *state = nullptr;
    }
}

// ---- small process and socket helpers ---------------------------------------------------------

enum class ChildState { Running, Exited, Gone };

/// Whether `pid` is still a running child of this process. Reaps it if it has exited (the raw
/// wait status goes to *status). Gone: not (or no longer) our child.
ChildState probeChild(pid_t pid, int* status) {
    while (true) {
        int st = 0;
        const pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == 0) {
            return ChildState::Running;
        }
        if (r == pid) {
            *status = st;
            return ChildState::Exited;
        }
        if (r < 0 && errno == EINTR) {
            continue;
        }
        return ChildState::Gone;
    }
}

bool mpmStopping() {
    int state = AP_MPMQ_STOPPING;
    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING;
}

std::string formatSeconds(SupervisorDuration d) {
    char buf[32];
    (void)std::snprintf(buf, sizeof(buf), "%.1fs", std::chrono::duration<double>(d).count());
    return buf;
}

std::string errnoText(int err) {
    return common::errnoText(err);
}

bool isSocketFile(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

/// Whether `fd` is still the Unix socket bound to `path` (not a descriptor number that something
/// else closed and reused).
bool isListenerFor(int fd, const std::string& path) {
    sockaddr_un addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        addr.sun_family != AF_UNIX) {
        return false;
    }
    return ::strncmp(addr.sun_path, path.c_str(), sizeof(addr.sun_path)) == 0;
}

void unlinkSocket(const std::string& path) {
    if (isSocketFile(path)) {
        (void)::unlink(path.c_str());  // best effort: the path contains our pid
    }
}

/// Socket owned by Apache's User (children connect as that user); its mode 0600 comes from
/// kBindUmask. Neither step follows a symlink (socket_directory.h).
void setSocketOwnership(server_rec* s, const std::string& path) {
    if (::geteuid() != 0) {
        return;
    }
    if (auto st = chownSocket(path, ap_unixd_config.user_id, ap_unixd_config.group_id); !st) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "WG0024: cannot give the daemon socket %s to User %s: %s", path.c_str(),
                     ap_unixd_config.user_name, st.message().c_str());
    }
}

/// socket + bind (under kBindUmask) + listen. A stale socket file at the path is replaced.
common::Result<int> createListener(server_rec* s, const std::string& path, int backlog) {
    using common::ErrorCode;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
        return {ErrorCode::InvalidArgument, "the path is longer than a Unix socket path can be"};
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return {ErrorCode::InvalidArgument,
                    "the path exists and is not a socket; remove it or change WSGISocketPrefix"};
        }
        // Left by an earlier httpd that had the same pid and did not exit cleanly.
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "WG0023: removing stale daemon socket %s",
                     path.c_str());
        (void)::unlink(path.c_str());
    }
    common::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return {ErrorCode::IoError, "socket(): " + errnoText(errno)};
    }
    const mode_t previous = ::umask(kBindUmask);
    const int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int bindErr = errno;
    ::umask(previous);
    if (rc != 0) {
        return {ErrorCode::IoError,
                "bind(): " + errnoText(bindErr) +
                    (bindErr == ENOENT || bindErr == EACCES
                         ? "; create the directory or change WSGISocketPrefix/DefaultRuntimeDir"
                         : "")};
    }
    if (::listen(fd.get(), backlog) != 0) {
        const int err = errno;
        (void)::unlink(path.c_str());
        return {ErrorCode::IoError, "listen(): " + errnoText(err)};
    }
    setSocketOwnership(s, path);
    return fd.release();
}

const char* logLevelName(int level) {
    static constexpr std::array<const char*, 16> kNames = {
        "emerg",  "alert",  "crit",   "error",  "warn",   "notice", "info",   "debug",
        "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8"};
    // False positive: cppcheck 2.10 takes the std::array<const char*> element for an integer.
    // cppcheck-suppress CastIntegerToAddressAtReturn
    return kNames[static_cast<std::size_t>(std::clamp(level, 0, 15))];
}

// ---- the forked child, between fork() and execv() ---------------------------------------------

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

void sleepFor(std::chrono::nanoseconds delay) {
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    const auto total = std::chrono::nanoseconds(deadline.tv_nsec) + delay;
    deadline.tv_sec += std::chrono::duration_cast<std::chrono::seconds>(total).count();
    deadline.tv_nsec = (total % std::chrono::seconds(1)).count();
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
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
    int argsFd = -1;  ///< read end of the settings pipe, already filled and closed for writing
    int logFd = -1;   ///< write end of the group's log pipe, or -1 for /dev/null
    pid_t parent = 0;
    std::chrono::nanoseconds delay{};
};

/// Whether this module was built with sanitizers (their runtimes' settings then reach daemons).
#ifdef WSGID_SANITIZER_BUILD
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif

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
        return {ErrorCode::IoError, "pipe(): " + errnoText(errno)};
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
    // which tenant code could truncate: log_relay.h), 3 = the listening socket, no others.
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
    // Move both above their targets first, so neither dup2 below can close the other's source.
    const int listenCopy = ::fcntl(plan.listenFd, F_DUPFD_CLOEXEC, protocol::kArgsFd + 1);
    const int argsCopy = ::fcntl(plan.argsFd, F_DUPFD_CLOEXEC, protocol::kArgsFd + 1);
    if (listenCopy < 0 || argsCopy < 0) {
        ::_exit(protocol::kExitStartupFailure);
    }
    (void)::dup2(listenCopy, protocol::kListenFd);  // dup2 clears FD_CLOEXEC on the copy
    (void)::dup2(argsCopy, protocol::kArgsFd);
    closeFrom(protocol::kArgsFd + 1);
    if (plan.delay.count() > 0) {
        (void)::prctl(PR_SET_NAME, kBackoffProcessName);
        sleepFor(plan.delay);
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

// ---- the manager of one configuration generation ----------------------------------------------

class Manager {
public:
    /// One process of one group.
    struct Slot {
        Manager* manager = nullptr;
        DaemonGroup* group = nullptr;
        int index = 0;
        int listenFd = -1;
        ProcessSlot state;
        apr_proc_t proc{};           ///< registered with APR's other-child list
        apr_pool_t* pool = nullptr;  ///< holds the registration; cleared at each restart
        bool registered = false;
        bool termSent = false;  ///< SIGTERM already sent to the current process
    };

    /// A daemon of an earlier generation, registered so its death is reaped and logged here.
    struct RetiredWatch {
        Manager* manager = nullptr;
        apr_proc_t proc{};
        bool registered = false;
    };

    Manager(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry, RetainedState& retained)
        : pconf_(pconf), s_(s), registry_(registry), retained_(retained) {}
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    Manager(Manager&&) = delete;
    Manager& operator=(Manager&&) = delete;
    ~Manager() = default;

    bool start();
    void tick();
    void onConfigPoolCleanup();
    /// child_init: closes the log pipes an httpd child inherited.
    void closeInheritedRelayEnds() noexcept {
        if (relay_) {
            relay_->closeInheritedEnds();
        }
    }

    static void slotCallback(int reason, void* data, int status) noexcept;
    static void retiredCallback(int reason, void* data, int status) noexcept;
    /// Waits (bounded) for every retired daemon, SIGKILLs the overdue, closes and unlinks every
    /// socket and forgets the retained state. `s` may be nullptr.
    static void finalShutdown(RetainedState& retained, server_rec* s);

private:
    bool openListeners();
    bool makeSecrets();
    bool startLogRelay();
    void adoptRetired();
    void spawn(Slot& slot, SupervisorDuration delay);
    void onSlotEnded(Slot& slot, int reason, int status);
    void onRetiredEnded(RetiredWatch& watch, int reason, int status);
    void unregisterWatch(pid_t pid);
    void retireLogRelay(SupervisorTime now);
    [[nodiscard]] protocol::DaemonArgs argsFor(const Slot& slot) const;
    [[nodiscard]] bool stopping() const { return stopping_ || mpmStopping(); }

    apr_pool_t* pconf_;
    server_rec* s_;
    GroupRegistry& registry_;
    RetainedState& retained_;
    apr_pool_t* retiredPool_ = nullptr;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<std::unique_ptr<RetiredWatch>> watches_;
    std::unique_ptr<LogRelay> relay_;  ///< this generation's; its old relay drains on its own
    bool stopping_ = false;
};

bool Manager::start() {
    registry_.managerPid = static_cast<std::uint32_t>(::getpid());
    registry_.generation = static_cast<std::uint32_t>(ap_state_query(AP_SQ_CONFIG_GEN));
    if (apr_pool_create(&retiredPool_, pconf_) != APR_SUCCESS) {
        return false;
    }
    if (!openListeners() || !makeSecrets()) {
        return false;
    }
    adoptRetired();
    if (!startLogRelay()) {
        return false;
    }

    int processes = 0;
    for (const auto& g : registry_.groups()) {
        const auto it = std::find_if(retained_.listeners.begin(), retained_.listeners.end(),
                                     [&](const RetainedListener& l) { return l.group == g->name; });
        if (it == retained_.listeners.end()) {
            return false;  // openListeners() made one per group
        }
        for (int i = 0; i < g->processes; ++i) {
            auto slot = std::make_unique<Slot>();
            slot->manager = this;
            slot->group = g.get();
            slot->index = i;
            slot->listenFd = it->fd;
            if (apr_pool_create(&slot->pool, pconf_) != APR_SUCCESS) {
                return false;
            }
            slots_.push_back(std::move(slot));
            ++processes;
        }
    }
    const char* source = !registry_.daemonProgram.empty()              ? "WSGIDaemonProgram"
                         : registry_.daemonBinary != WSGID_DAEMON_PATH ? "build tree"
                                                                       : "installed";
    if (slots_.empty()) {
        return true;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0020: starting %d daemon process(es) in %d group(s), generation %u, with "
                 "%s (%s)",
                 processes, static_cast<int>(registry_.groups().size()), registry_.generation,
                 registry_.daemonBinary.c_str(), source);
    for (const auto& slot : slots_) {
        spawn(*slot, SupervisorDuration::zero());
    }
    return true;
}

bool Manager::openListeners() {
    std::vector<RetainedListener> old = std::move(retained_.listeners);
    retained_.listeners.clear();
    const long pid = static_cast<long>(::getpid());
    for (const auto& stale : removeStaleSockets(registry_.socketPrefix, pid)) {
        if (stale.error == 0) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                         "WG0026: removed the socket %s of httpd pid %ld, which is gone",
                         stale.path.c_str(), stale.pid);
        } else {
            ap_log_error(APLOG_MARK, APLOG_WARNING, stale.error, s_,
                         "WG0027: cannot remove the stale socket %s of httpd pid %ld",
                         stale.path.c_str(), stale.pid);
        }
    }
    for (const auto& gp : registry_.groups()) {
        DaemonGroup& g = *gp;
        const std::string path = socketPathFor(registry_.socketPrefix, pid, g.name);
        auto it = std::find_if(old.begin(), old.end(),
                               [&](const RetainedListener& l) { return l.group == g.name; });
        int fd = -1;
        if (it != old.end() && it->path == path && isListenerFor(it->fd, path) &&
            isSocketFile(path)) {
            // Same group, same socket: connections queued in its backlog survive the restart.
            fd = it->fd;
            (void)::listen(fd, g.listenBacklog);  // applies a changed listen-backlog
            setSocketOwnership(s_, path);
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s_, "WG0025: group %s keeps its socket %s",
                         g.name.c_str(), path.c_str());
        } else {
            if (it != old.end()) {
                (void)::close(it->fd);
                unlinkSocket(it->path);
            }
            auto created = createListener(s_, path, g.listenBacklog);
            if (!created) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s_,
                             "WG0021: cannot create the socket %s of daemon group %s: %s",
                             path.c_str(), g.name.c_str(), created.status().message().c_str());
                if (it != old.end()) {
                    old.erase(it);
                }
                // Whatever is left is closed and unlinked when httpd exits (exit guard).
                retained_.listeners.insert(retained_.listeners.end(), old.begin(), old.end());
                return false;
            }
            fd = created.value();
        }
        if (it != old.end()) {
            old.erase(it);
        }
        g.socketPath = path;
        retained_.listeners.push_back({g.name, path, fd});
    }
    for (const auto& vanished : old) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                     "WG0022: daemon group %s is no longer configured; closing its socket %s",
                     vanished.group.c_str(), vanished.path.c_str());
        (void)::close(vanished.fd);
        unlinkSocket(vanished.path);
    }
    return true;
}

bool Manager::makeSecrets() {
    std::vector<RetainedSecrets> kept;
    for (const auto& gp : registry_.groups()) {
        DaemonGroup& g = *gp;
        auto it = std::find_if(retained_.secrets.begin(), retained_.secrets.end(),
                               [&](const RetainedSecrets& r) { return r.group == g.name; });
        RetainedSecrets entry{.group = g.name, .history = {}};
        if (it != retained_.secrets.end()) {
            entry.history = std::move(it->history);
        }
        // Startup reads the configuration twice with one generation number: one secret for it.
        if (entry.history.empty() || entry.history.back().generation != registry_.generation) {
            protocol::GroupSecret fresh{.generation = registry_.generation, .secret = {}};
            if (const common::Status st = common::fillRandom(fresh.secret); !st) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s_,
                             "WG0028: cannot make the secret of daemon group %s: %s",
                             g.name.c_str(), st.message().c_str());
                return false;
            }
            entry.history.push_back(fresh);
        }
        if (entry.history.size() > protocol::kRetainedSecretGenerations) {
            entry.history.erase(entry.history.begin(),
                                entry.history.end() - static_cast<std::ptrdiff_t>(
                                                          protocol::kRetainedSecretGenerations));
        }
        g.secret = entry.history.back().secret;
        kept.push_back(std::move(entry));
    }
    // Groups no longer configured lose their secrets with their sockets.
    retained_.secrets = std::move(kept);
    return true;
}

bool Manager::startLogRelay() {
    std::vector<RelayRoute> routes;
    for (const auto& g : registry_.groups()) {
        server_rec* logServer = g->server != nullptr ? g->server : s_;
        apr_os_file_t logFd = -1;
        if (logServer->error_log == nullptr ||
            apr_os_file_get(&logFd, logServer->error_log) != APR_SUCCESS) {
            logFd = -1;
        }
        routes.push_back(
            {.group = g->name,
             .server = logServer,
             .logFd = logFd,
             .rateBytes = g->logRateBytes,
             .burstBytes = std::max<std::uint64_t>(g->logBurstBytes, kMaxRelayLineBytes)});
    }
    // A relay that died took the read ends along: daemons that still write to its pipes get
    // EPIPE, so they are restarted (gracefully, like a recycle) to pick up the new pipes.
    relay_ = std::make_unique<LogRelay>(
        s_, std::move(routes),
        [this] {
            for (const auto& slot : slots_) {
                if (slot->state.pid() > 0 && !slot->termSent) {
                    (void)::kill(slot->state.pid(), SIGTERM);
                    slot->termSent = true;
                }
            }
        },
        [this] {
            for (const auto& g : registry_.groups()) {
                g->secret.fill(0);
            }
            for (auto& entry : retained_.secrets) {
                for (auto& gs : entry.history) {
                    gs.secret.fill(0);
                }
            }
        });
    return relay_->start(pconf_);
}

const std::vector<protocol::GroupSecret>* secretsOf(const RetainedState& retained,
                                                    const std::string& group) {
    const auto it = std::find_if(retained.secrets.begin(), retained.secrets.end(),
                                 [&](const RetainedSecrets& r) { return r.group == group; });
    return it == retained.secrets.end() ? nullptr : &it->history;
}

void Manager::adoptRetired() {
    auto& retired = retained_.retired;
    for (auto it = retired.begin(); it != retired.end();) {
        int status = 0;
        const ChildState st = probeChild(it->pid, &status);
        if (st == ChildState::Running) {
            auto watch = std::make_unique<RetiredWatch>();
            watch->manager = this;
            watch->proc.pid = it->pid;
            apr_proc_other_child_register(&watch->proc, &Manager::retiredCallback, watch.get(),
                                          nullptr, retiredPool_);
            watch->registered = true;
            watches_.push_back(std::move(watch));
            ++it;
            continue;
        }
        if (st == ChildState::Exited) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                         "WG0040: daemon pid %ld of group %s (generation %u) %s after SIGTERM",
                         static_cast<long>(it->pid), it->group.c_str(), it->generation,
                         ProcessExit::fromWaitStatus(status).describe().c_str());
        }
        it = retired.erase(it);
    }
}

protocol::DaemonArgs Manager::argsFor(const Slot& slot) const {
    const DaemonGroup& g = *slot.group;
    protocol::DaemonArgs a;
    a.group = g.name;
    a.processIndex = slot.index;
    a.processes = g.processes;
    a.multiprocess = g.processesGiven;
    a.threads = g.threads;
    a.managerPid = registry_.managerPid;
    a.generation = registry_.generation;
    if (const auto* secrets = secretsOf(retained_, g.name)) {
        a.secrets = *secrets;
    }
    // httpd children run as User when httpd starts as root, else as whoever started it.
    a.peerUid = ::geteuid() == 0 ? ap_unixd_config.user_id : ::geteuid();
    a.allowRoot = g.allowRoot;
    if (::geteuid() == 0) {
        a.uid = g.uid;
        a.gid = g.gid;
        a.supplementaryGroups = g.supplementaryGids;
        a.userName = g.userName;
    }
    a.home = g.home;
    a.umask = g.umask;
    a.pythonHome = g.pythonHome;
    a.pythonPath = g.pythonPath;
    a.lang = g.lang;
    a.locale = g.locale;
    a.displayName = g.displayName;
    server_rec* logServer = g.server != nullptr ? g.server : s_;
    a.logLevel = logLevelName(ap_get_server_module_loglevel(logServer, APLOG_MODULE_INDEX));
    a.shutdownTimeoutSec = static_cast<int>(g.shutdownTimeout.count());
    // The module side's socket-timeout, so both ends give up on a silent peer together.
    a.socketTimeoutSec =
        std::max(1, static_cast<int>(g.socketTimeout ? g.socketTimeout->count()
                                                     : apr_time_sec(logServer->timeout)));
    a.queueTimeoutSec = static_cast<int>(g.queueTimeout.count());
    a.preload = g.preload;
    a.python = registry_.python;
    return a;
}

void Manager::spawn(Slot& slot, SupervisorDuration delay) {
    ExecPlan plan;
    plan.binary = registry_.daemonBinary.c_str();
    const protocol::DaemonArgs args = argsFor(slot);
    plan.title = protocol::processTitle(args);
    plan.argv = {plan.title.data(), nullptr};
    plan.env = daemonEnvironment(environ, kSanitizerBuild);
    for (auto& entry : plan.env) {
        plan.envp.push_back(entry.data());
    }
    plan.envp.push_back(nullptr);
    plan.listenFd = slot.listenFd;
    auto argsPipe = fillArgsPipe(args);
    if (!argsPipe) {
        const auto retry = slot.state.startFailed(SupervisorClock::now());
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0037: cannot pass the settings to daemon process %d of group %s (%s); "
                     "retrying in %s",
                     slot.index, slot.group->name.c_str(), argsPipe.status().message().c_str(),
                     formatSeconds(retry).c_str());
        return;
    }
    const common::UniqueFd argsFd(argsPipe.value());
    plan.argsFd = argsFd.get();
    plan.logFd = relay_ ? relay_->writeFd(slot.group->name) : -1;
    plan.parent = ::getpid();
    plan.delay = std::chrono::duration_cast<std::chrono::nanoseconds>(delay);

    const pid_t pid = ::fork();
    if (pid == 0) {
        execDaemon(plan);
    }
    const auto now = SupervisorClock::now();
    if (pid < 0) {
        const int err = errno;
        const auto retry = slot.state.startFailed(now);
        ap_log_error(APLOG_MARK, APLOG_ERR, err, s_,
                     "WG0030: cannot fork daemon process %d of group %s; retrying in %s",
                     slot.index, slot.group->name.c_str(), formatSeconds(retry).c_str());
        return;
    }
    slot.state.started(pid, now, delay);
    slot.termSent = false;
    slot.proc = apr_proc_t{};
    slot.proc.pid = pid;
    apr_pool_clear(slot.pool);  // the previous registration is gone (unregistered on death)
    apr_proc_other_child_register(&slot.proc, &Manager::slotCallback, &slot, nullptr, slot.pool);
    slot.registered = true;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s_,
                 "WG0031: started daemon process %d of group %s as pid %ld%s%s", slot.index,
                 slot.group->name.c_str(), static_cast<long>(pid),
                 delay.count() > 0 ? "; it execs after " : "",
                 delay.count() > 0 ? formatSeconds(delay).c_str() : "");
}

void Manager::onSlotEnded(Slot& slot, int reason, int status) {
    const auto now = SupervisorClock::now();
    const pid_t pid = slot.state.pid();
    const bool serverStopping = stopping();
    // In the MPM's main loop the status is an exit code or signal number; while it stops,
    // apr_proc_other_child_refresh_all passes the raw wait status instead.
    const ProcessExit exit = reason == APR_OC_REASON_LOST
                                 ? ProcessExit{ProcessExit::Kind::Exited, 0}
                             : serverStopping ? ProcessExit::fromWaitStatus(status)
                                              : ProcessExit::fromMpmStatus(status);
    const std::string how = reason == APR_OC_REASON_LOST ? std::string(
                                                               "was lost (no longer a child "
                                                               "of httpd)")
                                                         : exit.describe();
    const auto d = slot.state.ended(now, exit, serverStopping);
    const char* name = slot.group->name.c_str();
    if (!d.restart) {
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, s_,
            "WG0034: daemon process %d of group %s (pid %ld) %s while httpd stops or restarts",
            slot.index, name, static_cast<long>(pid), how.c_str());
        return;
    }
    if (d.startupFailure) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0035: daemon process %d of group %s (pid %ld) could not start: %s; next "
                     "attempt in %s (%d failure(s) in a row)",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     formatSeconds(d.delay).c_str(), d.failures);
    } else if (d.delay == SupervisorDuration::zero()) {
        const bool clean = exit.kind == ProcessExit::Kind::Exited && exit.value == 0;
        ap_log_error(APLOG_MARK, clean ? APLOG_NOTICE : APLOG_ERR, 0, s_,
                     "WG0033: daemon process %d of group %s (pid %ld) %s after running %s; "
                     "restarting it now",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     formatSeconds(d.uptime).c_str());
    } else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0036: daemon process %d of group %s (pid %ld) %s after running only "
                     "%s; restarting it in %s (%d quick death(s) in a row)",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     formatSeconds(d.uptime).c_str(), formatSeconds(d.delay).c_str(), d.failures);
    }
    spawn(slot, d.delay);
}

void Manager::slotCallback(int reason, void* data, int status) noexcept {
    guardedVoid("daemon supervision", [&] {
        auto& slot = *static_cast<Slot*>(data);
        switch (reason) {
            case APR_OC_REASON_DEATH:
            case APR_OC_REASON_LOST:
                if (slot.registered) {
                    slot.registered = false;
                    apr_proc_other_child_unregister(&slot);  // calls back with UNREGISTER
                }
                slot.manager->onSlotEnded(slot, reason, status);
                break;
            case APR_OC_REASON_RESTART: {
                // The MPM reclaims its processes (stop or hard restart): ours drain meanwhile.
                // APR has just seen the process unreaped, so its pid cannot have been reused.
                slot.state.stopping();
                if (slot.state.pid() > 0 && !slot.termSent) {
                    (void)::kill(slot.state.pid(), SIGTERM);
                    slot.termSent = true;
                }
                break;
            }
            case APR_OC_REASON_UNREGISTER:
                slot.registered = false;
                break;
            case APR_OC_REASON_RUNNING:
                slot.manager->tick();
                break;
            default:
                break;
        }
    });
}

void Manager::onRetiredEnded(RetiredWatch& watch, int reason, int status) {
    const pid_t pid = watch.proc.pid;
    auto& retired = retained_.retired;
    const auto it = std::find_if(retired.begin(), retired.end(),
                                 [&](const RetiredDaemon& r) { return r.pid == pid; });
    if (it == retired.end()) {
        return;
    }
    ProcessExit exit =
        mpmStopping() ? ProcessExit::fromWaitStatus(status) : ProcessExit::fromMpmStatus(status);
    if (it->killed && exit.kind == ProcessExit::Kind::Ambiguous && exit.value == SIGKILL) {
        exit.kind = ProcessExit::Kind::Signaled;  // this module sent it
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0040: daemon pid %ld of group %s (generation %u) %s after SIGTERM",
                 static_cast<long>(pid), it->group.c_str(), it->generation,
                 reason == APR_OC_REASON_LOST ? "was lost" : exit.describe().c_str());
    retired.erase(it);
}

void Manager::retiredCallback(int reason, void* data, int status) noexcept {
    guardedVoid("retired daemon supervision", [&] {
        auto& watch = *static_cast<RetiredWatch*>(data);
        switch (reason) {
            case APR_OC_REASON_DEATH:
            case APR_OC_REASON_LOST:
                if (watch.registered) {
                    watch.registered = false;
                    apr_proc_other_child_unregister(&watch);
                }
                watch.manager->onRetiredEnded(watch, reason, status);
                break;
            case APR_OC_REASON_UNREGISTER:
                watch.registered = false;
                break;
            default:
                break;  // already told to stop; the deadline in tick() bounds it
        }
    });
}

void Manager::unregisterWatch(pid_t pid) {
    for (auto& w : watches_) {
        if (w->proc.pid == pid && w->registered) {
            w->registered = false;
            apr_proc_other_child_unregister(w.get());
        }
    }
}

void Manager::tick() {
    const auto now = SupervisorClock::now();
    if (!stopping()) {
        if (relay_) {
            relay_->tick(now);
        }
        for (const auto& slot : slots_) {
            if (slot->state.due(now)) {
                spawn(*slot, SupervisorDuration::zero());
            }
        }
    }
    auto& retired = retained_.retired;
    for (auto it = retired.begin(); it != retired.end();) {
        int status = 0;
        if (now < it->killAt || it->killed) {
            ++it;
            continue;
        }
        const ChildState st = probeChild(it->pid, &status);
        if (st == ChildState::Running) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_,
                         "WG0041: daemon pid %ld of group %s (generation %u) is still running "
                         "past its shutdown-timeout; sending SIGKILL",
                         static_cast<long>(it->pid), it->group.c_str(), it->generation);
            (void)::kill(it->pid, SIGKILL);
            it->killed = true;
            ++it;
            continue;
        }
        unregisterWatch(it->pid);
        it = retired.erase(it);
    }
}

void Manager::onConfigPoolCleanup() {
    stopping_ = true;
    // pconf is cleared for a restart (DESTROY_CONFIG) or destroyed at exit (EXITING, or any other
    // state when start-up fails).
    const bool exiting = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_DESTROY_CONFIG;
    const auto now = SupervisorClock::now();
    int signalled = 0;
    for (auto& slot : slots_) {
        const pid_t pid = slot->state.pid();
        slot->state.stopping();
        if (pid <= 0) {
            continue;
        }
        int status = 0;
        if (probeChild(pid, &status) != ChildState::Running) {
            continue;
        }
        if (!slot->termSent) {
            (void)::kill(pid, SIGTERM);
            slot->termSent = true;
        }
        ++signalled;
        retained_.retired.push_back({pid, registry_.generation, slot->group->name,
                                     now + slot->group->shutdownTimeout + kKillMargin, false});
    }
    retireLogRelay(now);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0042: httpd %s: sent SIGTERM to %d daemon process(es) of generation %u",
                 exiting ? "stops" : "restarts", signalled, registry_.generation);
    if (exiting) {
        finalShutdown(retained_, s_);
    }
}

void Manager::retireLogRelay(SupervisorTime now) {
    if (!relay_) {
        return;
    }
    // The relay exits at EOF once this generation's daemons are gone; it is reaped (and, past
    // the last daemon's deadline, killed) like a retired daemon.
    const pid_t pid = relay_->retire();
    if (pid <= 0) {
        return;
    }
    SupervisorTime killAt = now;
    for (const auto& slot : slots_) {
        killAt = std::max(killAt, now + slot->group->shutdownTimeout + kKillMargin);
    }
    retained_.retired.push_back(
        {pid, registry_.generation, kLogRelayLabel, killAt + kKillMargin, false});
}

void Manager::finalShutdown(RetainedState& retained, server_rec* s) {
    const auto began = SupervisorClock::now();
    const auto forceKillAt = began + kMaxStopWait;
    const auto giveUpAt = forceKillAt + kKillReapWait;
    auto& retired = retained.retired;
    while (true) {
        const auto now = SupervisorClock::now();
        for (auto it = retired.begin(); it != retired.end();) {
            int status = 0;
            const ChildState st = probeChild(it->pid, &status);
            if (st == ChildState::Running) {
                if (!it->killed && now >= std::min(it->killAt, forceKillAt)) {
                    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                                 "WG0041: daemon pid %ld of group %s is still running past its "
                                 "shutdown-timeout; sending SIGKILL",
                                 static_cast<long>(it->pid), it->group.c_str());
                    (void)::kill(it->pid, SIGKILL);
                    it->killed = true;
                }
                ++it;
                continue;
            }
            if (st == ChildState::Exited) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "WG0043: daemon pid %ld of group %s %s",
                             static_cast<long>(it->pid), it->group.c_str(),
                             ProcessExit::fromWaitStatus(status).describe().c_str());
            }
            it = retired.erase(it);
        }
        if (retired.empty()) {
            break;
        }
        if (now >= giveUpAt) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "WG0044: %d daemon process(es) did not exit even after SIGKILL "
                         "(first: pid %ld); leaving them behind",
                         static_cast<int>(retired.size()), static_cast<long>(retired.front().pid));
            break;
        }
        ::usleep(static_cast<useconds_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(kReapPollInterval).count()));
    }
    for (const auto& l : retained.listeners) {
        (void)::close(l.fd);
        unlinkSocket(l.path);
    }
    retained.listeners.clear();
    dropRetainedState();
}

apr_status_t configPoolCleanup(void* data) noexcept {
    guardedVoid("daemon shutdown", [&] { static_cast<Manager*>(data)->onConfigPoolCleanup(); });
    return APR_SUCCESS;
}

apr_status_t exitGuardCleanup(void* /*data*/) noexcept {
    guardedVoid("daemon exit guard", [] {
        if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_DESTROY_CONFIG) {
            return;  // a restart: the daemons drain; the next generation takes over
        }
        if (RetainedState* retained = retainedState(false); retained != nullptr) {
            Manager::finalShutdown(*retained, nullptr);
        }
    });
    return APR_SUCCESS;
}

}  // namespace

void ProcessManager::registerExitGuard(apr_pool_t* pconf) noexcept {
    apr_pool_cleanup_register(pconf, nullptr, exitGuardCleanup, apr_pool_cleanup_null);
}

bool ProcessManager::start(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry) noexcept {
    return guarded("post_config (process manager)", false, [&] {
        RetainedState* retained = retainedState(true);
        auto* manager =
            attachToPool(pconf, std::make_unique<Manager>(pconf, s, registry, *retained));
        // Registered after attachToPool, so it runs before the Manager is deleted.
        apr_pool_cleanup_register(pconf, manager, configPoolCleanup, apr_pool_cleanup_null);
        apr_pool_userdata_setn(manager, kManagerKey, nullptr, pconf);
        return manager->start();
    });
}

void ProcessManager::tick(apr_pool_t* pconf) noexcept {
    guardedVoid("monitor (process manager)", [&] {
        void* data = nullptr;
        apr_pool_userdata_get(&data, kManagerKey, pconf);
        if (data != nullptr) {
            static_cast<Manager*>(data)->tick();
        }
    });
}

void ProcessManager::closeInheritedListeners() noexcept {
    guardedVoid("child_init (process manager)", [] {
        if (const RetainedState* retained = retainedState(false); retained != nullptr) {
            for (const auto& l : retained->listeners) {
                (void)::close(l.fd);
            }
        }
        void* data = nullptr;
        if (ap_server_conf != nullptr && ap_server_conf->process != nullptr) {
            apr_pool_userdata_get(&data, kManagerKey, ap_server_conf->process->pconf);
        }
        if (data != nullptr) {
            static_cast<Manager*>(data)->closeInheritedRelayEnds();
        }
    });
}

}  // namespace wsgid::apache
