// SPDX-License-Identifier: Apache-2.0
// Status pipe reports (see status_reporter.h). Everything that may run in a signal handler or
// at process exit uses only async-signal-safe calls: getpid, write, sigaction, raise, syscall.
// No httpd headers here.
#include "daemon/status_reporter.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/socket_io.h"

namespace wsgid::daemon {

using protocol::StatusRecord;
using protocol::StatusType;
using protocol::StopReason;

namespace {

constexpr std::array<int, 5> kFatalSignals = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

// Set once by install() on the main thread before other threads exist; read anywhere,
// including signal handlers (lock-free atomics are async-signal-safe).
std::atomic<int> gFd{-1};
std::atomic<pid_t> gDaemonPid{0};
// The daemon reported its own exit: the exit hooks stay quiet.
std::atomic<bool> gExitReported{false};
std::atomic<bool> gCoreDumpPossible{false};
// A fatal signal was reported (the handler may run twice when the chain comes back to it).
std::atomic<bool> gCrashReported{false};

// The handlers that were there before ours (Python's faulthandler), per fatal signal; written by
// installCrashReport() before ours go in, read by the handler.
std::array<struct sigaction, kFatalSignals.size()> gPrevious{};

static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

/// Only the daemon process itself reports: a process forked by application code shares the
/// descriptor but is not what the parent supervises.
bool isDaemonProcess() noexcept {
    const pid_t own = gDaemonPid.load(std::memory_order_relaxed);
    return own != 0 && ::getpid() == own;
}

void send(const StatusRecord& record) noexcept {
    const int fd = gFd.load(std::memory_order_relaxed);
    if (fd < 0 || !isDaemonProcess()) {
        return;
    }
    const auto bytes = protocol::encodeStatus(record);
    // One write of 8 bytes to a pipe is atomic. EAGAIN (a parent that stopped reading) and EPIPE
    // (no parent) lose the report; nothing else can be done about either.
    const int saved = errno;
    for (;;) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        break;
    }
    errno = saved;
}

/// Reports an exit by application code, unless the daemon already reported its own.
void reportAppExit(int status) noexcept {
    if (gExitReported.exchange(true)) {
        return;
    }
    send({.type = StatusType::AppExit, .reason = StopReason::None, .flags = 0, .value = status});
}

/// Writes `text` to stderr (the group's log pipe), as one write.
void writeStderr(std::string_view text) noexcept {
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

/// "11" for 11: a signal number in decimal, without allocating.
std::string_view decimal(int value, std::array<char, 12>& buf) noexcept {
    std::size_t pos = buf.size();
    unsigned v = value < 0 ? 0U : static_cast<unsigned>(value);
    do {
        buf[--pos] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0 && pos > 0);
    return {buf.data() + pos, buf.size() - pos};
}

void onFatalSignal(int signo) noexcept {
    // Sent even after the daemon reported its own exit: dying of a signal on the way out (in
    // Python's finalization, say) is what the parent should hear last.
    if (isDaemonProcess() && !gCrashReported.exchange(true)) {
        gExitReported.store(true);
        send({.type = StatusType::FatalSignal,
              .reason = StopReason::None,
              .flags = gCoreDumpPossible.load(std::memory_order_relaxed)
                           ? protocol::kStatusCoreDumpPossible
                           : std::uint8_t{0},
              .value = signo});
        // No time stamp (formatting one is not async-signal-safe): the id marks the line.
        std::array<char, 12> digits{};
        writeStderr("WG0270: the daemon process dies of signal ");
        writeStderr(decimal(signo, digits));
        writeStderr("; Python's stacks of its threads follow, if it got that far\n");
    }
    // Hand the signal to whoever had it before (faulthandler dumps the stacks, then hands it
    // on itself), or to the default action, which ends the process as the signal would have
    // (with a core dump where that is enabled).
    for (std::size_t i = 0; i < kFatalSignals.size(); ++i) {
        if (kFatalSignals[i] == signo) {
            (void)::sigaction(signo, &gPrevious[i], nullptr);
            break;
        }
    }
    (void)::raise(signo);
}

/// exit() (C code, including Python's own Py_Exit): glibc's exit calls its internal _exit, which
/// the _exit below does not see, so this hook reports and, if needed, makes the status safe.
void onExit(int status, void* /*unused*/) noexcept {
    if (!isDaemonProcess()) {
        return;
    }
    reportAppExit(status);
    if (protocol::httpdSafeExitStatus(status) != status) {
        ::syscall(SYS_exit_group, protocol::httpdSafeExitStatus(status));
    }
}

bool coreDumpPossible() noexcept {
    rlimit core{};
    return ::getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur != 0 &&
           ::prctl(PR_GET_DUMPABLE) == 1;
}

}  // namespace

bool StatusReporter::install(int fd) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        return false;
    }
    (void)common::setCloseOnExec(fd, true);
    (void)common::setNonBlocking(fd, true);
    gDaemonPid.store(::getpid());
    gCoreDumpPossible.store(coreDumpPossible());
    gFd.store(fd);
    (void)::on_exit(onExit, nullptr);
    return true;
}

void StatusReporter::installCrashReport() noexcept {
    struct sigaction sa {};
    sa.sa_handler = onFatalSignal;
    ::sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    for (std::size_t i = 0; i < kFatalSignals.size(); ++i) {
        if (::sigaction(kFatalSignals[i], &sa, &gPrevious[i]) != 0) {
            gPrevious[i] = {};
            gPrevious[i].sa_handler = SIG_DFL;
        }
    }
}

void StatusReporter::ready() noexcept {
    send({.type = StatusType::Ready, .reason = StopReason::None, .flags = 0, .value = 0});
}

void StatusReporter::recycle(StopReason reason) noexcept {
    send({.type = StatusType::Recycle, .reason = reason, .flags = 0, .value = 0});
}

void StatusReporter::exiting(StopReason reason, int status) noexcept {
    gExitReported.store(true);
    send({.type = StatusType::Exiting, .reason = reason, .flags = 0, .value = status});
}

}  // namespace wsgid::daemon

/// The process's _exit(), in place of the C library's: application code (os._exit() in Python,
/// _exit() in C extensions) reaches it through the dynamic linker, which prefers the executable's
/// definition. It reports the exit on the status pipe and never lets a daemon hand httpd an exit
/// status that shuts httpd down (protocol::httpdSafeExitStatus). Async-signal-safe, like the
/// original.
extern "C" __attribute__((visibility("default"), noreturn)) void _exit(int status) {
    if (wsgid::daemon::isDaemonProcess()) {
        wsgid::daemon::reportAppExit(status);
        status = wsgid::protocol::httpdSafeExitStatus(status);
    }
    ::syscall(SYS_exit_group, status);
    __builtin_unreachable();
}
