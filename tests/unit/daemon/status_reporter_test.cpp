// SPDX-License-Identifier: Apache-2.0
// Tests of the daemon's status reports (src/daemon/status_reporter.h) in forked children: what
// reaches the pipe for a ready daemon, a recycle request, an _exit() or exit() by application
// code, a crash and an exit of its own, and which exit statuses httpd gets to see.
#include "daemon/status_reporter.h"

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace wsgid::daemon {
namespace {

using protocol::StatusRecord;
using protocol::StatusType;
using protocol::StopReason;

/// What a forked child wrote to its status pipe, and how it ended.
struct ChildRun {
    std::vector<StatusRecord> records;
    int waitStatus = 0;
};

/// Runs `body` in a child whose status pipe is the one the test reads; the child's stderr goes
/// to /dev/null and it writes no core file.
template <typename Body>
ChildRun runChild(Body body) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    common::UniqueFd readEnd(fds[0]);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const rlimit noCore{0, 0};
        (void)::setrlimit(RLIMIT_CORE, &noCore);
        const int devNull = ::open("/dev/null", O_WRONLY);
        (void)::dup2(devNull, STDERR_FILENO);
        if (!StatusReporter::install(fds[1])) {
            ::_exit(99);
        }
        body();
        ::_exit(98);
    }
    ::close(fds[1]);
    ChildRun run;
    EXPECT_EQ(::waitpid(pid, &run.waitStatus, 0), pid);
    std::string bytes;
    char buf[256];
    for (;;) {
        const ssize_t n = ::read(readEnd.get(), buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        bytes.append(buf, static_cast<std::size_t>(n));
    }
    for (std::size_t i = 0; i + protocol::kStatusRecordBytes <= bytes.size();
         i += protocol::kStatusRecordBytes) {
        const auto r = protocol::decodeStatus(bytes.substr(i, protocol::kStatusRecordBytes));
        EXPECT_TRUE(r.has_value());
        if (r) {
            run.records.push_back(*r);
        }
    }
    return run;
}

StatusRecord record(StatusType type, StopReason reason, int value) {
    return {.type = type, .reason = reason, .flags = 0, .value = value};
}

TEST(StatusReporter, ReadyRecycleAndAppExitInOrder) {
    const ChildRun run = runChild([] {
        StatusReporter::ready();
        StatusReporter::recycle(StopReason::MaximumRequests);
        ::_exit(3);  // what os._exit(3) in application code calls
    });
    ASSERT_TRUE(WIFEXITED(run.waitStatus));
    EXPECT_EQ(WEXITSTATUS(run.waitStatus), 3);
    EXPECT_EQ(run.records, (std::vector<StatusRecord>{
                               record(StatusType::Ready, StopReason::None, 0),
                               record(StatusType::Recycle, StopReason::MaximumRequests, 0),
                               record(StatusType::AppExit, StopReason::None, 3)}));
}

TEST(StatusReporter, ExitStatusThatWouldStopHttpdNeverReachesIt) {
    const ChildRun run = runChild([] { ::_exit(15); });
    ASSERT_TRUE(WIFEXITED(run.waitStatus));
    EXPECT_EQ(WEXITSTATUS(run.waitStatus), 1);
    EXPECT_EQ(run.records,
              (std::vector<StatusRecord>{record(StatusType::AppExit, StopReason::None, 15)}));
}

TEST(StatusReporter, ExitFromCCodeIsReportedAndMadeSafe) {
    const ChildRun run = runChild([] { std::exit(7); });  // NOLINT(concurrency-mt-unsafe)
    ASSERT_TRUE(WIFEXITED(run.waitStatus));
    EXPECT_EQ(WEXITSTATUS(run.waitStatus), 1);
    EXPECT_EQ(run.records,
              (std::vector<StatusRecord>{record(StatusType::AppExit, StopReason::None, 7)}));
}

TEST(StatusReporter, OwnExitIsReportedOnce) {
    const ChildRun run = runChild([] {
        StatusReporter::exiting(StopReason::Signal, 0);
        ::_exit(0);
    });
    ASSERT_TRUE(WIFEXITED(run.waitStatus));
    EXPECT_EQ(run.records,
              (std::vector<StatusRecord>{record(StatusType::Exiting, StopReason::Signal, 0)}));
}

TEST(StatusReporter, CrashIsReportedAndTheProcessStillDiesOfTheSignal) {
    // SIGILL, not SIGSEGV: AddressSanitizer (the CI's sanitizer pass) takes SIGSEGV over and
    // exits with status 1 instead; it leaves SIGILL alone, and the handler treats both alike.
    const ChildRun run = runChild([] {
        StatusReporter::installCrashReport();
        (void)::raise(SIGILL);
    });
    ASSERT_TRUE(WIFSIGNALED(run.waitStatus)) << run.waitStatus;
    EXPECT_EQ(WTERMSIG(run.waitStatus), SIGILL);
    ASSERT_EQ(run.records.size(), 1U);
    EXPECT_EQ(run.records[0].type, StatusType::FatalSignal);
    EXPECT_EQ(run.records[0].value, SIGILL);
    EXPECT_EQ(run.records[0].flags, 0);  // RLIMIT_CORE is 0 in the child
}

TEST(StatusReporter, ProcessesForkedByTheDaemonReportNothing) {
    const ChildRun run = runChild([] {
        const pid_t grandchild = ::fork();
        if (grandchild == 0) {
            ::_exit(15);  // a multiprocessing worker, say: its status is its own
        }
        int status = 0;
        (void)::waitpid(grandchild, &status, 0);
        ::_exit(WIFEXITED(status) && WEXITSTATUS(status) == 15 ? 0 : 2);
    });
    ASSERT_TRUE(WIFEXITED(run.waitStatus));
    EXPECT_EQ(WEXITSTATUS(run.waitStatus), 0);
    EXPECT_EQ(run.records,
              (std::vector<StatusRecord>{record(StatusType::AppExit, StopReason::None, 0)}));
}

TEST(StatusReporter, InstallRefusesADescriptorThatIsNotAPipe) {
    const common::UniqueFd file(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    EXPECT_FALSE(StatusReporter::install(file.get()));
}

}  // namespace
}  // namespace wsgid::daemon
