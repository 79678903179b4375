// SPDX-License-Identifier: Apache-2.0
// wsgid-daemon's entry point: the start-up sequence (signals, argv, user, environment, Python,
// preload), the main loop that waits for a stop signal, and the bounded shutdown. The only file
// of the daemon that knows python::Runtime; it adapts it to daemon::Application.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log_sink.h"
#include "common/shared_memory.h"
#include "common/socket_io.h"
#include "common/unique_fd.h"
#include "daemon/application.h"
#include "daemon/args_pipe.h"
#include "daemon/log_sink_stderr.h"
#include "daemon/malloc_arenas.h"
#include "daemon/privileges.h"
#include "daemon/process_tuning.h"
#include "daemon/resource_limits.h"
#include "daemon/server.h"
#include "daemon/signals.h"
#include "daemon/status_reporter.h"
#include "daemon/supervisor.h"
#include "daemon/watchdog.h"
#include "protocol/daemon_args.h"
#include "protocol/daemon_status.h"
#include "protocol/load_table.h"
#include "protocol/log_levels.h"
#include "python/runtime.h"

namespace wsgid::daemon {
namespace {

using common::LogLevel;

// Level of the lines logged before --log-level is known: httpd's default LogLevel.
constexpr LogRank kBootstrapLogRank = *protocol::parseHttpdLogLevel("warn");

/// The worker state of the Python runtime: its thread states.
class PythonWorker final : public Worker {
public:
    explicit PythonWorker(python::Runtime& runtime) : scope_(runtime) {}
    python::WorkerScope& scope() noexcept { return scope_; }

private:
    python::WorkerScope scope_;
};

/// python::Runtime as the Server's Application.
class PythonApplication final : public Application {
public:
    PythonApplication(python::Runtime& runtime, common::LogSink& log) noexcept
        : runtime_(runtime), log_(log) {}

    std::unique_ptr<Worker> makeWorker() noexcept override {
        try {
            return std::make_unique<PythonWorker>(runtime_);
        } catch (const std::exception& e) {
            log_.log(LogLevel::Critical, "WG0250",
                     std::string("cannot create a Python worker thread state: ") + e.what());
        } catch (...) {
            log_.log(LogLevel::Critical, "WG0250", "cannot create a Python worker thread state");
        }
        return nullptr;
    }

    python::CallOutcome handle(Worker& worker, const python::WsgiRequest& request,
                               python::RequestIo& io) noexcept override {
        return runtime_.handle(static_cast<PythonWorker&>(worker).scope(), request, io);
    }

private:
    python::Runtime& runtime_;
    common::LogSink& log_;
};

/// python::Runtime as the supervisor's RuntimeProbe.
class PythonProbe final : public RuntimeProbe {
public:
    explicit PythonProbe(python::Runtime& runtime) noexcept : runtime_(runtime) {}
    std::vector<std::string> stackOf(unsigned long threadIdent) noexcept override {
        return runtime_.stackOf(threadIdent);
    }
    void dumpAllStacks(int fd) noexcept override { runtime_.dumpAllStacks(fd); }
    bool interrupt(unsigned long threadIdent, const std::string& requestId,
                   std::chrono::seconds grace) noexcept override {
        return runtime_.interrupt(threadIdent, requestId, grace);
    }
    bool publishSignal(int signo, const std::string& name) noexcept override {
        return runtime_.publishSignal(signo, name);
    }
    [[nodiscard]] std::optional<common::Clock::time_point> lastGilBeat() const noexcept override {
        return runtime_.lastGilBeat();
    }
    [[nodiscard]] std::optional<common::Clock::time_point> oldestScriptLoad() const override {
        return python::Runtime::oldestScriptLoad();
    }

private:
    python::Runtime& runtime_;
};

/// Startup failure: the parent backs off instead of respawning at once.
int startupFailure(common::LogSink& log, std::string_view id, const std::string& message) {
    log.log(LogLevel::Critical, id, message);
    StatusReporter::exiting(protocol::StopReason::StartupFailure, protocol::kExitStartupFailure);
    return protocol::kExitStartupFailure;
}

/// True when any of the real, effective or saved uids is root (any one of them gets root back).
bool runsAsRoot() noexcept {
    uid_t r = 0;
    uid_t e = 0;
    uid_t saved = 0;
    return ::getresuid(&r, &e, &saved) != 0 || r == 0 || e == 0 || saved == 0;
}

/// The group's load table from kLoadTableFd, whose descriptor is closed either way (app code
/// never gets it). Without one (args.loadSlot -1), or when it cannot be mapped (WG0299: this
/// process then gets its requests by Busy answers alone, as before the table), an empty mapping.
common::SharedMapping mapLoadTable(const protocol::DaemonArgs& args, common::LogSink& log) {
    if (args.loadSlot < 0) {
        return {};
    }
    auto mapped = common::SharedMapping::map(
        protocol::kLoadTableFd, protocol::loadTableBytes(args.processes), /*writable=*/true);
    (void)::close(protocol::kLoadTableFd);
    if (!mapped) {
        log.log(LogLevel::Warning, "WG0299",
                "cannot map the group's load table (" + mapped.status().message() +
                    "); httpd learns that this process is full from its Busy answers only");
        return {};
    }
    return std::move(mapped.value());
}

/// Whether fd 3 is what the parent promised: a listening socket.
bool isListeningSocket(int fd) noexcept {
    int accepting = 0;
    socklen_t len = sizeof(accepting);
    return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting != 0;
}

/// A DaemonArgs::preload entry "script|application-group" as (script, application group).
std::pair<std::string, std::string> splitPreload(const std::string& item) {
    const auto bar = item.rfind('|');
    return {item.substr(0, bar), bar == std::string::npos ? std::string() : item.substr(bar + 1)};
}

/// Loads each "script|application-group" before requests are served, with `scope` (the main
/// thread's). A failing preload is logged and skipped, as mod_wsgi does for WSGIImportScript:
/// the app may still work.
void preloadScripts(python::Runtime& runtime, python::WorkerScope& scope,
                    const std::vector<std::string>& preload, common::LogSink& log) {
    for (const std::string& item : preload) {
        const auto [script, group] = splitPreload(item);
        if (const common::Status s = runtime.preload(scope, script, group); !s) {
            std::string message = "preloading '" + script + "' into application group '";
            message += group;
            message += "' failed: ";
            message += s.message();
            log.log(LogLevel::Error, "WG0251", message);
        } else {
            std::string message = "preloaded '" + script + "' into application group '";
            message += group;
            message += '\'';
            log.log(LogLevel::Info, "WG0252", message);
        }
    }
}

/// A service-script daemon reports ready (so its next exit restarts it at once) only once its
/// scripts have run this long: the parent's own rule for a process that cannot say it is ready
/// (kHealthyUptime in src/apache/restart_policy.h), so a script that returns at once backs off
/// instead of spinning.
constexpr std::chrono::seconds kServiceSettledAfter{10};

/// threads=0 (docs/operations.md, "Service scripts"): runs the group's WSGIImportScript scripts
/// one after another on the main thread, then exits so the parent starts the process again.
/// SIGTERM and SIGINT raise SystemExit in the script (application-group %{GLOBAL}); a script
/// that ends so stops the rest. shutdown-timeout bounds finalization; the parent's SIGKILL after
/// shutdown-timeout bounds a script that ignores SystemExit. Returns the exit status.
int runServiceScripts(python::Runtime& runtime, SignalWatcher& watcher,
                      const protocol::DaemonArgs& args, common::LogSink& log) {
    protocol::StopReason reason = protocol::StopReason::None;
    {
        python::WorkerScope mainScope(runtime);
        if (const common::Status s = runtime.stopRaisesSystemExit(mainScope, true); !s) {
            return startupFailure(log, "WG0268", "cannot run service scripts: " + s.message());
        }
        // A stop that came before Python took SIGTERM over is still in the self-pipe.
        if (watcher.next(common::Deadline::after(std::chrono::milliseconds(0)))) {
            reason = protocol::StopReason::Signal;
        }
        log.log(LogLevel::Notice, "WG0269",
                "daemon process " + std::to_string(args.processIndex) + " of group '" + args.group +
                    "' runs " + std::to_string(args.preload.size()) +
                    " service script(s) (threads=0)");
        Watchdog settled(kServiceSettledAfter, [] { StatusReporter::ready(); });
        for (const std::string& item : args.preload) {
            if (reason != protocol::StopReason::None) {
                break;
            }
            const auto [script, group] = splitPreload(item);
            const common::Status s = runtime.preload(mainScope, script, group);
            if (s.code() == common::ErrorCode::Closed) {
                reason = protocol::StopReason::Signal;  // SystemExit: told to stop
            } else if (!s) {
                std::string message = "service script '" + script;
                message += "' in application group '";
                message += group;
                message += "' failed: ";
                message += s.message();
                log.log(LogLevel::Error, "WG0251", message);
            }
        }
        settled.disarm();
        // From here a stop is the default action: nothing is left to clean up in Python that
        // finalization would not do, and SystemExit inside atexit handlers only adds noise.
        (void)runtime.stopRaisesSystemExit(mainScope, false);
    }
    log.log(LogLevel::Notice, "WG0265",
            reason == protocol::StopReason::None
                ? std::string("service scripts returned; the process exits and is started again")
                : std::string("service scripts stopped"));
    StatusReporter::exiting(reason, 0);
    runtime.shutdown(std::chrono::seconds(args.shutdownTimeoutSec));
    return 0;
}

int run(int argc, char** argv) {
    // First, while this is the only thread: the limit applies to every arena made from now on.
    (void)limitMallocArenas();
    StderrLogSink bootstrapLog(kBootstrapLogRank);

    // exec kept httpd's blocked mask and ignored signals; start clean, then catch ours at once
    // so a stop request during start-up is acted on once the server runs.
    if (const common::Status s = resetInheritedSignalState(); !s) {
        return startupFailure(bootstrapLog, "WG0253", "cannot reset signals: " + s.message());
    }
    auto watcher = SignalWatcher::install();
    if (!watcher) {
        return startupFailure(bootstrapLog, "WG0253",
                              "cannot install signal handlers: " + watcher.status().message());
    }
    // Before anything can fail: the parent learns why this process ends (docs/protocol.md,
    // "Status pipe"). Absent when started by hand; then nothing is reported.
    const bool reporting = StatusReporter::install(protocol::kStatusFd);

    // Everything comes through the settings pipe; the command line is only the process title
    // (ps shows argv to every user).
    if (argc > 1) {
        return startupFailure(bootstrapLog, "WG0254",
                              std::string("unexpected argument '") + argv[1] +
                                  "': wsgid-daemon takes its settings from descriptor " +
                                  std::to_string(protocol::kArgsFd) + ", written by mod_wsgid");
    }
    auto parsed = readDaemonArgs(protocol::kArgsFd);
    if (!parsed) {
        return startupFailure(bootstrapLog, "WG0254",
                              "bad settings from mod_wsgid: " + parsed.status().message());
    }
    const protocol::DaemonArgs& args = parsed.value();
    const auto rank = protocol::parseHttpdLogLevel(args.logLevel);
    if (!rank) {
        return startupFailure(
            bootstrapLog, "WG0254",
            "bad settings from mod_wsgid: unknown log level '" + args.logLevel + "'");
    }
    StderrLogSink log(*rank);

    if (!isListeningSocket(protocol::kListenFd)) {
        return startupFailure(log, "WG0255",
                              "fd " + std::to_string(protocol::kListenFd) +
                                  " is not a listening socket; wsgid-daemon is started by "
                                  "mod_wsgid, not by hand");
    }
    // App code that spawns programs must not hand them our listening socket.
    (void)common::setCloseOnExec(protocol::kListenFd, true);
    const common::SharedMapping loadTable = mapLoadTable(args, log);

    applyProcessTuning(args, log);  // while still root: a negative cpu-priority needs it
    auto switched = switchUser(args, log);
    if (!switched) {
        return startupFailure(log, "WG0256",
                              "cannot switch to the daemon user: " + switched.status().message());
    }
    if (args.uid && *args.uid != 0 && (::getuid() == 0 || ::geteuid() == 0)) {
        return startupFailure(log, "WG0256",
                              "still running as root although uid " + std::to_string(*args.uid) +
                                  " was requested; refusing to run application code as root");
    }
    if (runsAsRoot() && !args.allowRoot) {
        // However the daemon was started (httpd as root with user=root, by hand, a setuid
        // copy): Python never runs with root's powers unless the operator said so.
        return startupFailure(log, "WG0267",
                              "refusing to run Python as root (uid 0); give the group a user= "
                              "option, or allow-root=On if root is really meant");
    }
    // The kernel clears the parent-death signal the manager set before exec when the uid
    // changes; set it again so an httpd parent that dies without stopping us (SIGKILL, crash)
    // does not leave orphaned daemons. If it is already gone, we were orphaned before this line.
    (void)::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (args.managerPid != 0 && static_cast<std::uint32_t>(::getppid()) != args.managerPid) {
        return startupFailure(
            log, "WG0266",
            "the httpd parent (pid " + std::to_string(args.managerPid) + ") is gone; not starting");
    }
    if (const common::Status s = applyProcessSettings(args, switched.value(), log); !s) {
        return startupFailure(log, "WG0257", "cannot set up the process: " + s.message());
    }
    // Before Python allocates anything: memory-limit= and friends apply to all of it.
    applyResourceLimits(resourceLimitsFor(args), log);

    python::RuntimeConfig pyConfig;
    pyConfig.pythonHome = args.pythonHome;
    pyConfig.pythonPath = args.pythonPath;
    pyConfig.home = args.home;
    pyConfig.processGroup = args.group;
    pyConfig.threads = args.threads;
    pyConfig.processes = args.processes;
    pyConfig.multiprocess = args.multiprocess;
    pyConfig.python = args.python;
    pyConfig.interpreterOptions = args.interpreterOptions;
    pyConfig.log = &log;
    pyConfig.serverMetrics = args.serverMetrics;
    pyConfig.newrelicConfigFile = args.newrelicConfigFile;
    pyConfig.newrelicEnvironment = args.newrelicEnvironment;
    pyConfig.processIndex = args.processIndex;
    pyConfig.generation = args.generation;
    auto runtime = python::Runtime::start(pyConfig);
    if (!runtime) {
        return startupFailure(log, "WG0258", "cannot start Python: " + runtime.status().message());
    }
    // On top of faulthandler's, which Python just installed: a crash is reported, logged and
    // then dumped by faulthandler.
    StatusReporter::installCrashReport();
    if (args.threads == 0) {
        return runServiceScripts(*runtime.value(), *watcher.value(), args, log);
    }
    if (!args.preload.empty()) {
        // startup-timeout bounds the preloads too: a hung import must not leave a process that
        // never serves. It is a start-up failure (status 78), so the parent backs off.
        python::Runtime& rt = *runtime.value();
        Watchdog preloadWatch(
            std::chrono::seconds(args.lifecycle.startupTimeoutSec), [&rt, &log, &args] {
                log.log(LogLevel::Critical, "WG0295",
                        "preloading the WSGI scripts has taken more than startup-timeout=" +
                            std::to_string(args.lifecycle.startupTimeoutSec) +
                            "s; the Python stacks of every thread follow (faulthandler format), "
                            "then the process exits");
                rt.dumpAllStacks(STDERR_FILENO);
                StatusReporter::exiting(protocol::StopReason::StartupTimeout,
                                        protocol::kExitStartupFailure);
                ::_exit(protocol::kExitStartupFailure);
            });
        // The main thread's own scope, gone before the workers start.
        python::WorkerScope mainScope(*runtime.value());
        preloadScripts(*runtime.value(), mainScope, args.preload, log);
        preloadWatch.disarm();
    }
    const protocol::DaemonLifecycle& lifecycle = args.lifecycle;
    if ((lifecycle.deadlockTimeoutSec > 0 || lifecycle.requestTimeoutSec > 0) &&
        !runtime.value()->startGilWatch()) {
        log.log(LogLevel::Warning, "WG0296",
                "cannot start the GIL heartbeat; deadlock-timeout is not enforced and "
                "request-timeout logs no stacks");
    }

    PythonApplication app(*runtime.value(), log);
    ServerConfig serverConfig;
    serverConfig.threads = args.threads;
    serverConfig.siblings = args.processes > 1;
    serverConfig.queueTimeout = std::chrono::seconds(args.queueTimeoutSec);
    serverConfig.connection.socketTimeout = std::chrono::seconds(args.socketTimeoutSec);
    serverConfig.connection.managerPid = args.managerPid;
    serverConfig.connection.group = args.group;
    serverConfig.connection.secrets = args.secrets;
    serverConfig.connection.peerUid = args.peerUid;
    serverConfig.socketBuffers = args.socketBuffers;
    if (loadTable.valid()) {
        serverConfig.loadTable =
            std::span(reinterpret_cast<protocol::LoadSlot*>(loadTable.bytes().data()),
                      protocol::loadSlotCount(args.processes));
        serverConfig.loadSlot = static_cast<std::size_t>(args.loadSlot);
    }
    auto server =
        std::make_unique<Server>(common::UniqueFd(protocol::kListenFd), serverConfig, app, log);
    if (const common::Status s = server->start(); !s) {
        return startupFailure(log, "WG0259", "cannot start the server: " + s.message());
    }
    log.log(LogLevel::Notice, "WG0260",
            "daemon process " + std::to_string(args.processIndex) + " of group '" + args.group +
                "' serving with " + std::to_string(args.threads) + " thread(s)");
    StatusReporter::ready();

    PythonProbe probe(*runtime.value());
    Supervisor supervisor(*server, *watcher.value(), log, args, reporting, &probe);
    const SupervisionEnd end = supervisor.run();

    const common::Deadline drainDeadline = common::Deadline::after(end.drain);
    const StopReport report = server->stop(drainDeadline);
    if (!report.clean) {
        // Workers are still inside Python: finalizing under them would crash or hang. The
        // server logged how many requests were cut off.
        log.log(LogLevel::Notice, "WG0264", "exiting without finalizing Python");
        StatusReporter::exiting(end.reason, end.exitCode);
        ::_exit(end.exitCode);
    }
    server.reset();
    // Said before Python's atexit handlers and finalization, which may end the process on their
    // own (the finalize watchdog exits with 0); a crash there is still reported as one.
    StatusReporter::exiting(end.reason, end.exitCode);
    // A recycled process gets shutdown-timeout for atexit and finalization after its drain;
    // at httpd's restart or stop, shutdown-timeout bounds both together.
    const common::Deadline finalizeDeadline =
        end.finalizeAfterDrain
            ? common::Deadline::after(std::chrono::seconds(args.shutdownTimeoutSec))
            : drainDeadline;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(finalizeDeadline.at() -
                                                                            common::Clock::now());
    runtime.value()->shutdown(std::max(left, std::chrono::milliseconds(0)));
    log.log(LogLevel::Notice, "WG0265", "daemon process stopped");
    return end.exitCode;
}

}  // namespace
}  // namespace wsgid::daemon

int main(int argc, char** argv) {
    try {
        return wsgid::daemon::run(argc, argv);
    } catch (...) {
        // Everything above reports through Status; this is out of memory at start-up.
        static constexpr char kMessage[] =
            "wsgid-daemon: fatal: unexpected exception at start-up\n";
        [[maybe_unused]] const ssize_t n = ::write(2, kMessage, sizeof(kMessage) - 1);
        wsgid::daemon::StatusReporter::exiting(wsgid::protocol::StopReason::StartupFailure,
                                               wsgid::protocol::kExitStartupFailure);
        return wsgid::protocol::kExitStartupFailure;
    }
}
