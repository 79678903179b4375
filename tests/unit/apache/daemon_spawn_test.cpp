// SPDX-License-Identifier: Apache-2.0
// Tests of starting a daemon process (src/apache/daemon_spawn.h): a Python script stands in for
// wsgid-daemon and reports, on its stdout (the log pipe), what it was started with.
#include "apache/daemon_spawn.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "support/contains.h"
#include "support/temp_dir.h"

namespace wsgid::apache {
namespace {

using test::contains;
using testing::TempDir;

/// Bound on every wait for the stand-in program (Python start-up on a busy machine).
constexpr std::chrono::seconds kWait{20};

// Reports descriptors, their kinds, the settings pipe's bytes, the environment and the signal
// state, one "key=value" line each.
constexpr std::string_view kStandIn = R"(#!/usr/bin/python3 -I
import os, stat
def kind(fd):
    try:
        m = os.fstat(fd).st_mode
    except OSError:
        return None
    return ("sock" if stat.S_ISSOCK(m) else "fifo" if stat.S_ISFIFO(m)
            else "chr" if stat.S_ISCHR(m) else "file")
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
print("fds=" + ",".join(f"{fd}:{kind(fd)}" for fd in fds if kind(fd)))
print("stdin=" + os.readlink("/proc/self/fd/0"))
print("same-out-err=" + str(os.fstat(1).st_ino == os.fstat(2).st_ino))
data = b""
while True:
    chunk = os.read(4, 65536)
    if not chunk:
        break
    data += chunk
print("settings-bytes=" + str(len(data)))
print("marker=" + os.environ.get("WSGID_SPAWN_TEST", "-") + " home=" + os.environ.get("HOME", "-"))
status = dict(l.split(":\t", 1) for l in open("/proc/self/status") if ":\t" in l)
# Python itself ignores SIGPIPE and SIGXFSZ at start-up; the test's own signals are checked.
print("usr1-blocked=" + str(bool(int(status["SigBlk"], 16) & (1 << 9)))
      + " usr2-ignored=" + str(bool(int(status["SigIgn"], 16) & (1 << 11))))
)";

/// Reads `fd` to EOF, bounded by kWait.
std::string readAll(int fd) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, 100) <= 0) {
            continue;
        }
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

/// waitpid, bounded by kWait; -1 if it did not end.
int waitFor(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            return status;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    (void)::kill(pid, SIGKILL);
    (void)::waitpid(pid, nullptr, 0);
    return -1;
}

class DaemonSpawnTest : public ::testing::Test {
protected:
    void SetUp() override {
        script = dir.write("stand-in", kStandIn);
        ASSERT_EQ(::chmod(script.c_str(), 0700), 0);
        listener.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        (dir.path() + "/l.sock").copy(addr.sun_path, sizeof(addr.sun_path) - 1);
        ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)),
                  0);
        ASSERT_EQ(::listen(listener.get(), 4), 0);
        int fds[2];
        ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        logRead.reset(fds[0]);
        logWrite.reset(fds[1]);
        spawn.binary = script;
        spawn.args.group = "g";
        spawn.env = {"PATH=/usr/bin:/bin", "WSGID_SPAWN_TEST=yes"};
        spawn.listenFd = listener.get();
        spawn.logFd = logWrite.get();
    }

    /// Starts `spawn`, closes the test's write end and returns what the program printed, after
    /// it exited with status 0.
    std::string runToEnd() {
        const SpawnResult r = startDaemon(spawn);
        EXPECT_FALSE(r.failure.has_value());
        logWrite.reset();
        std::string out = readAll(logRead.get());
        const int status = waitFor(r.pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << out;
        return out;
    }

    TempDir dir;
    std::string script;
    common::UniqueFd listener;
    common::UniqueFd logRead;
    common::UniqueFd logWrite;
    DaemonSpawn spawn;
};

TEST_F(DaemonSpawnTest, ChildGetsExactlyTheDocumentedDescriptors) {
    // A descriptor without FD_CLOEXEC must not leak into the daemon.
    const common::UniqueFd leaky(::open("/dev/null", O_RDONLY));
    ASSERT_GT(leaky.get(), protocol::kArgsFd);
    const std::string out = runToEnd();
    EXPECT_TRUE(contains(out, "fds=0:chr,1:fifo,2:fifo,3:sock,4:fifo\n"));
    EXPECT_TRUE(contains(out, "stdin=/dev/null\n"));
    EXPECT_TRUE(contains(out, "same-out-err=True\n"));
}

TEST_F(DaemonSpawnTest, StatusPipeBecomesDescriptorFive) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const common::UniqueFd statusRead(fds[0]);
    common::UniqueFd statusWrite(fds[1]);
    spawn.statusFd = statusWrite.get();
    const std::string out = runToEnd();
    EXPECT_TRUE(contains(out, "fds=0:chr,1:fifo,2:fifo,3:sock,4:fifo,5:fifo\n"));
}

TEST_F(DaemonSpawnTest, SettingsPipeCarriesTheEncodedRecord) {
    const std::string out = runToEnd();
    const std::size_t expected = protocol::encodeDaemonArgs(spawn.args).size();
    EXPECT_TRUE(contains(out, "settings-bytes=" + std::to_string(expected) + "\n"));
}

TEST_F(DaemonSpawnTest, EnvironmentIsExactlyTheGivenOne) {
    const std::string out = runToEnd();
    EXPECT_TRUE(contains(out, "marker=yes home=-\n"));
}

TEST_F(DaemonSpawnTest, SignalsStartUnblockedAndNotIgnored) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigset_t old;
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old), 0);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previous {};
    ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &previous), 0);
    const std::string out = runToEnd();
    (void)::sigaction(SIGUSR2, &previous, nullptr);
    (void)::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    EXPECT_TRUE(contains(out, "usr1-blocked=False usr2-ignored=False\n"));
}

TEST_F(DaemonSpawnTest, ExecFailureIsReportedOnTheLogAndExitsAsStartupFailure) {
    spawn.binary = dir.path() + "/missing-daemon";
    const SpawnResult r = startDaemon(spawn);
    ASSERT_FALSE(r.failure.has_value());
    logWrite.reset();
    const std::string out = readAll(logRead.get());
    const int status = waitFor(r.pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), protocol::kExitStartupFailure);
    EXPECT_TRUE(contains(out, "WG0032: cannot execute the daemon program " + spawn.binary));
}

TEST_F(DaemonSpawnTest, OversizedSettingsFailBeforeAnythingIsForked) {
    spawn.args.pythonPath = {std::string(protocol::kMaxDaemonArgsBytes, 'p')};
    const SpawnResult r = startDaemon(spawn);
    ASSERT_TRUE(r.failure.has_value());
    EXPECT_EQ(r.failure->stage, SpawnStage::Settings);
    EXPECT_EQ(r.pid, 0);
    EXPECT_TRUE(contains(r.failure->message, "bytes, more than"));
}

TEST_F(DaemonSpawnTest, DelayedChildWaitsUnderTheBackoffName) {
    spawn.delay = std::chrono::seconds(60);
    const SpawnResult r = startDaemon(spawn);
    ASSERT_FALSE(r.failure.has_value());
    std::string comm;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in("/proc/" + std::to_string(r.pid) + "/comm");
        std::getline(in, comm);
        if (comm == kBackoffProcessName) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(comm, kBackoffProcessName);
    ASSERT_EQ(::kill(r.pid, SIGKILL), 0);
    EXPECT_NE(waitFor(r.pid), -1);
}

}  // namespace
}  // namespace wsgid::apache
