// SPDX-License-Identifier: Apache-2.0
// The log relay process (log_relay.h): runs in a forked copy of the httpd parent, reads the daemon
// groups' log pipes and writes httpd's error logs, and never returns to httpd. The parent side
// (pipes, fork, supervision) is log_relay.cpp.
#include "apache/log_relay_process.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string>
#include <string_view>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apache/c_boundary.h"
#include "apache/httpd_includes.h"
#include "apache/log_rate_limit.h"
#include "common/duration_text.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// Bytes read from one pipe per poll round: large enough that a flood costs few syscalls, small
/// enough that one busy group cannot starve the others (each ready pipe gets one read a round).
constexpr std::size_t kReadChunkBytes = std::size_t{64} * 1024;
/// Process name (comm) of the relay, for ps; the harness and the manager know it by pid.
constexpr const char* kRelayProcessName = "wsgid-logrelay";
/// Exit status of a relay that could not set itself up (drop privileges, allocate).
constexpr int kRelayExitSetupFailure = 70;

struct Input {
    const RelayRoute* route = nullptr;
    int readFd = -1;
    bool logIsFile = true;  ///< a regular file never makes write() wait; a pipe (piped logger) may
    LineAssembler lines;
    TokenBucket bucket;
    std::uint64_t droppedBytes = 0;
    std::uint64_t droppedLines = 0;
    RelayClock::time_point windowStart;
};

/// Writes one line with one write(). False if the log cannot take it now (a full piped logger):
/// the relay never waits on one group's log.
bool writeLine(const Input& in, const std::string& line) {
    if (in.route->logFd < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, in.route->server, "%.*s",
                     static_cast<int>(line.size() > 0 ? line.size() - 1 : 0), line.data());
        return true;
    }
    if (!in.logIsFile) {
        pollfd p{in.route->logFd, POLLOUT, 0};
        if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
            return false;
        }
    }
    while (true) {
        const ssize_t n = ::write(in.route->logFd, line.data(), line.size());
        if (n >= 0) {
            return true;  // a short write to a full disk: nothing better to do with the rest
        }
        if (errno != EINTR) {
            return false;
        }
    }
}

void relayLines(Input& in, std::vector<std::string>& lines) {
    const auto now = RelayClock::now();
    for (const auto& line : lines) {
        const bool allowed = in.route->rateBytes == 0 || in.bucket.take(line.size(), now);
        if (!allowed || !writeLine(in, line)) {
            in.droppedBytes += line.size();
            ++in.droppedLines;
        }
    }
    lines.clear();
}

/// The once-per-interval summary of what a group lost (WG0052). Not rate limited: one line per
/// kLogDropSummaryInterval per group.
void summarise(Input& in, RelayClock::time_point now, bool force) {
    if (in.droppedBytes == 0) {
        in.windowStart = now;
        return;
    }
    if (!force && now - in.windowStart < kLogDropSummaryInterval) {
        return;
    }
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - in.windowStart);
    // APR's formatter knows no %llu: its own 64-bit formats.
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, in.route->server,
                 "WG0052: daemon group %s wrote more than its error-log limit (%" APR_UINT64_T_FMT
                 " bytes/s, burst %" APR_UINT64_T_FMT "): dropped %" APR_UINT64_T_FMT
                 " bytes in %" APR_UINT64_T_FMT " line(s) over the last %s",
                 in.route->group.c_str(), static_cast<apr_uint64_t>(in.route->rateBytes),
                 static_cast<apr_uint64_t>(in.route->burstBytes),
                 static_cast<apr_uint64_t>(in.droppedBytes),
                 static_cast<apr_uint64_t>(in.droppedLines),
                 common::durationText(std::max(secs, std::chrono::seconds(1))).c_str());
    in.droppedBytes = 0;
    in.droppedLines = 0;
    in.windowStart = now;
}

/// Default dispositions and an empty mask (httpd's handlers must not run here), but a signal sent
/// to the whole process group must not kill the relay: graceful and hard restarts, and, under
/// mpm_prefork, stop (SIGTERM) or a foreground Ctrl-C (SIGINT), which reach the daemons at the same
/// moment. The relay ends by itself at EOF, once the daemons are gone, so their last lines (and
/// the manager's SIGKILL of a daemon that hangs) still bound its life.
void resetSignals() {
    sigset_t none;
    ::sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    struct sigaction act {};
    ::sigemptyset(&act.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) {
            continue;
        }
        const bool ignore = sig == SIGHUP || sig == SIGUSR1 || sig == SIGWINCH || sig == SIGPIPE ||
                            sig == SIGTERM || sig == SIGINT;
        act.sa_handler = ignore ? SIG_IGN : SIG_DFL;
        (void)::sigaction(sig, &act, nullptr);  // fails harmlessly for libc-reserved signals
    }
}

/// Closes every descriptor but `keep`; 0-2 become /dev/null unless kept.
void closeAllBut(const std::set<int>& keep) {
    std::vector<int> open;
    if (DIR* d = ::opendir("/proc/self/fd"); d != nullptr) {
        const int self = ::dirfd(d);
        // readdir is only unsafe on a stream shared between threads; `d` is private here.
        while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
            const int fd = std::atoi(e->d_name);
            if (e->d_name[0] != '.' && fd != self) {
                open.push_back(fd);
            }
        }
        ::closedir(d);
    } else {
        const long max = ::sysconf(_SC_OPEN_MAX);
        for (long fd = 0; fd < (max > 0 ? max : 1024); ++fd) {
            open.push_back(static_cast<int>(fd));
        }
    }
    for (const int fd : open) {
        if (fd > STDERR_FILENO && keep.count(fd) == 0) {
            (void)::close(fd);
        }
    }
    const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        if (keep.count(fd) == 0 && devNull >= 0) {
            (void)::dup2(devNull, fd);
        }
    }
    if (devNull > STDERR_FILENO) {
        (void)::close(devNull);
    }
}

/// The relay needs nothing of root: its descriptors are open. As User it is one more process of
/// the Apache user, no better placed to harm anyone than an httpd child (docs/architecture.md).
bool dropPrivileges() {
    if (::geteuid() != 0) {
        return true;
    }
    if (::setgroups(0, nullptr) != 0 || ::setgid(ap_unixd_config.group_id) != 0 ||
        ::setuid(ap_unixd_config.user_id) != 0) {
        return false;
    }
    (void)::prctl(PR_SET_DUMPABLE, 0);
    return ::setuid(0) != 0;  // must fail now
}

/// The relay's work, from its set-up to the end of its last input: its exit status (0, or 1 when
/// poll failed). May throw.
int serveRelay(server_rec* s, const std::vector<RelayRoute>& routes,
               const std::vector<int>& readFds, std::chrono::nanoseconds delay) {
    int status = 0;
    resetSignals();
    (void)::prctl(PR_SET_NAME, kRelayProcessName);
    std::set<int> keep(readFds.begin(), readFds.end());
    for (const auto& r : routes) {
        if (r.logFd >= 0) {
            keep.insert(r.logFd);
        }
    }
    apr_os_file_t mainLog = -1;
    if (s->error_log != nullptr && apr_os_file_get(&mainLog, s->error_log) == APR_SUCCESS) {
        keep.insert(mainLog);  // where ap_log_error writes the relay's own lines
    }
    closeAllBut(keep);
    if (!dropPrivileges()) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, s,
                     "WG0054: the log relay cannot drop its privileges to User %s",
                     ap_unixd_config.user_name);
        ::_exit(kRelayExitSetupFailure);
    }
    if (delay.count() > 0) {
        // Restart backoff: the pipes buffer what the daemons write meanwhile.
        timespec ts{static_cast<time_t>(delay.count() / 1'000'000'000),
                    static_cast<long>(delay.count() % 1'000'000'000)};
        while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    const auto now = RelayClock::now();
    std::vector<Input> inputs;
    inputs.reserve(routes.size());
    for (std::size_t i = 0; i < routes.size(); ++i) {
        struct stat st {};
        const bool isFile =
            routes[i].logFd < 0 || (::fstat(routes[i].logFd, &st) == 0 && S_ISREG(st.st_mode));
        inputs.push_back(
            Input{.route = &routes[i],
                  .readFd = readFds[i],
                  .logIsFile = isFile,
                  .lines = LineAssembler(),
                  .bucket = TokenBucket(routes[i].rateBytes, routes[i].burstBytes, now),
                  .windowStart = now});
    }
    std::vector<char> buf(kReadChunkBytes);
    std::vector<std::string> lines;
    std::vector<pollfd> pfds;
    std::vector<Input*> polled;
    while (true) {
        pfds.clear();
        polled.clear();
        for (auto& in : inputs) {
            if (in.readFd >= 0) {
                pfds.push_back({in.readFd, POLLIN, 0});
                polled.push_back(&in);
            }
        }
        if (pfds.empty()) {
            break;  // EOF on every pipe: this generation's daemons are gone
        }
        // Wakes at least once per summary interval, so drops are reported while idle too.
        const int timeoutMs = static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(kLogDropSummaryInterval).count());
        const int ready = ::poll(pfds.data(), pfds.size(), timeoutMs);
        if (ready < 0 && errno != EINTR) {
            status = 1;
            break;
        }
        for (std::size_t i = 0; ready > 0 && i < pfds.size(); ++i) {
            if (pfds[i].revents == 0) {
                continue;
            }
            Input& in = *polled[i];
            const ssize_t n = ::read(in.readFd, buf.data(), buf.size());
            if (n > 0) {
                in.lines.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), lines);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                in.lines.finish(lines);
                (void)::close(in.readFd);
                in.readFd = -1;
            }
            relayLines(in, lines);
        }
        const auto t = RelayClock::now();
        for (auto& in : inputs) {
            summarise(in, t, false);
        }
    }
    const auto end = RelayClock::now();
    for (auto& in : inputs) {
        summarise(in, end, true);
    }
    return status;
}

}  // namespace

[[noreturn]] void runRelay(server_rec* s, const std::vector<RelayRoute>& routes,
                           const std::vector<int>& readFds, std::chrono::nanoseconds delay) {
    // The process's entry point: nothing may escape it. Its exit status is the report, which the
    // manager logs (WG0051), so the exception itself is not logged here.
    ::_exit(guardedWith([](const char* /*what*/) {}, kRelayExitSetupFailure,
                        [&] { return serveRelay(s, routes, readFds, delay); }));
}

}  // namespace wsgid::apache
