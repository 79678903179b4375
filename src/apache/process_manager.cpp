// SPDX-License-Identifier: Apache-2.0
// Daemon process manager in the httpd parent (see process_manager.h). It decides with
// restart_policy.h and retired_daemons.h and acts through daemon_sockets.h and daemon_spawn.h;
// this file holds the generation's Manager: other-child supervision, signals and logging.
// Never runs Python, never starts threads.
#include "apache/process_manager.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apache/c_boundary.h"
#include "apache/config.h"
#include "apache/config_parse.h"
#include "apache/daemon_death.h"
#include "apache/daemon_environment.h"
#include "apache/daemon_sockets.h"
#include "apache/daemon_spawn.h"
#include "apache/death_records.h"
#include "apache/httpd_includes.h"
#include "apache/log_relay.h"
#include "apache/process_state.h"
#include "apache/restart_policy.h"
#include "apache/retained_state.h"
#include "apache/retired_daemons.h"
#include "apache/server_log_sink.h"
#include "apache/socket_directory.h"
#include "apache/status_channel.h"
#include "apache/supervision_waker.h"
#include "common/duration_text.h"
#include "common/random.h"
#include "common/socket_buffers.h"
#include "protocol/daemon_args.h"
#include "protocol/daemon_status.h"
#include "protocol/log_levels.h"
// httpd_includes.h first: apr_raii.h and other_child.h need the APR API.
#include "apache/apr_raii.h"
#include "apache/other_child.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// pconf userdata key of the generation's Manager (the monitor hook finds it there).
constexpr const char* kManagerKey = "wsgid::ProcessManager";

/// In an httpd child: the shared table of daemon deaths (set in child_init; a raw atomic pointer,
/// trivially destructible, read by request threads).
std::atomic<const DeathRecords*> gDeathRecords{nullptr};

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
/// Longest sleep of the supervision waker when nothing is due: it only has to catch what the
/// daemons do not say (a stopped daemon, WG0062), which the monitor hook's ticks (every 10 s or
/// so) catch too; a waker's fork every minute costs nothing.
constexpr std::chrono::seconds kWakerIdleInterval{60};
/// Poll interval of the bounded waits at stop: short enough to exit promptly once the daemons are
/// gone, long enough to cost nothing.
constexpr std::chrono::milliseconds kReapPollInterval{50};

bool mpmStopping() {
    int state = AP_MPMQ_STOPPING;
    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING;
}

/// A duration as every log line shows it ("1s", "2.5s", "250ms"; common/duration_text.h).
std::string durationText(SupervisorDuration d) {
    return common::durationText(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// protocol/log_levels.h names httpd's ranks by their APLOG_* values.
static_assert(protocol::parseHttpdLogLevel("emerg") == APLOG_EMERG);
static_assert(protocol::parseHttpdLogLevel("warn") == APLOG_WARNING);
static_assert(protocol::parseHttpdLogLevel("debug") == APLOG_DEBUG);
static_assert(protocol::kMaxHttpdLogRank == APLOG_TRACE8);

/// Whether this module was built with sanitizers (their runtimes' settings then reach daemons).
#ifdef WSGID_SANITIZER_BUILD
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif

/// Logs what one pass of the reap loop did (WG0040 reaped, WG0041 killed).
void logReapEvent(server_rec* s, const ReapEvent& e) {
    const RetiredDaemon& d = e.daemon;
    switch (e.kind) {
        case ReapEvent::Kind::Reaped:
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         "WG0040: daemon pid %ld of group %s (generation %u) %s after SIGTERM",
                         static_cast<long>(d.pid), d.group.c_str(), d.generation,
                         e.exit.describe().c_str());
            break;
        case ReapEvent::Kind::Killed:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "WG0041: daemon pid %ld of group %s (generation %u) is still running "
                         "past its shutdown-timeout; sending SIGKILL",
                         static_cast<long>(d.pid), d.group.c_str(), d.generation);
            break;
        case ReapEvent::Kind::Gone:
            break;
    }
}

// ---- the manager of one configuration generation ----------------------------------------------

class Manager {
public:
    struct Slot;

    /// One daemon process of a slot: the one that serves, or the replacement started for a
    /// recycle. Its address is stable (APR's registration points to it); a slot swaps its two
    /// Process objects when the replacement takes over.
    struct Process {
        Slot* slot = nullptr;
        apr_proc_t proc{};           ///< registered with APR's other-child list
        apr_pool_t* pool = nullptr;  ///< holds the registration; cleared at each spawn
        bool registered = false;
        bool termSent = false;  ///< SIGTERM already sent
        StatusChannel channel;  ///< its status pipe
        /// Seen stopped (SIGSTOP, a debugger) and that was logged.
        bool seenStopped = false;
    };

    /// One process index of one group.
    struct Slot {
        Manager* manager = nullptr;
        DaemonGroup* group = nullptr;
        int index = 0;
        int listenFd = -1;
        ProcessSlot state;
        std::unique_ptr<Process> current;      ///< pid: state.pid()
        std::unique_ptr<Process> replacement;  ///< pid: state.replacementPid()
    };

    /// A retired process (of an earlier generation, or recycled), registered so its death is
    /// reaped and logged here; a recycled one keeps its status pipe for its last words.
    struct RetiredWatch {
        Manager* manager = nullptr;
        apr_proc_t proc{};
        bool registered = false;
        StatusChannel channel;
    };

    Manager(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry, RetainedState& retained)
        : pconf_(pconf), s_(s), registry_(registry), retained_(retained) {}
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;
    Manager(Manager&&) = delete;
    Manager& operator=(Manager&&) = delete;
    ~Manager() = default;

    bool start();
    /// Reads the status pipes, starts replacements and hands over to the ready ones, restarts
    /// due slots, reaps and bounds retired processes, then arms the waker. Monitor hook, waker
    /// and other-child callbacks.
    void tick();
    void onConfigPoolCleanup();
    /// child_init: closes the log pipes and status pipes an httpd child inherited.
    void closeInheritedPipes() noexcept;

    static void processCallback(int reason, void* data, int status) noexcept;
    static void retiredCallback(int reason, void* data, int status) noexcept;
    /// Waits (bounded) for every retired daemon, SIGKILLs the overdue, closes and unlinks every
    /// socket and forgets the retained state. `s` may be nullptr.
    static void finalShutdown(RetainedState& retained, server_rec* s);

private:
    bool openListeners();
    bool makeSecrets();
    bool startLogRelay();
    void adoptRetired();
    /// Starts the slot's process (into slot.current).
    void spawn(Slot& slot, SupervisorDuration delay);
    /// Starts a replacement for the slot's process (into slot.replacement).
    void spawnReplacement(Slot& slot, SupervisorTime now);
    /// Fork+exec into `process`; the pid, or 0 (logged) when it could not start.
    pid_t startProcess(Slot& slot, Process& process, SupervisorDuration delay);
    void onProcessEnded(Process& process, int reason, int status);
    void onCurrentEnded(Slot& slot, Process& process, const DaemonDeath& death);
    void onReplacementEnded(Slot& slot, Process& process, const DaemonDeath& death);
    void superviseSlot(Slot& slot, SupervisorTime now);
    void handOver(Slot& slot, SupervisorTime now);
    void pumpStatus(Slot& slot, Process& process);
    void watchStopped(Slot& slot);
    void onRetiredEnded(RetiredWatch& watch, int reason, int status);
    void noteRetiredDeath(const RetiredDaemon& d, const ProcessExit& exit, RetiredWatch* watch,
                          bool lost);
    RetiredWatch* watchOf(pid_t pid);
    void unregisterWatch(pid_t pid);
    void watchRetired(pid_t pid, StatusChannel channel);
    void retireLogRelay(SupervisorTime now);
    void armWaker(SupervisorTime now);
    void publishDeath(pid_t pid, const DaemonDeath& death) const;
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
    std::unique_ptr<SupervisionWaker> waker_;
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
    if (retained_.deaths == nullptr) {
        // Before the MPM forks its first child, so every child inherits the mapping.
        retained_.deaths = DeathRecords::mapShared();
        if (retained_.deaths == nullptr) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s_,
                         "WG0066: cannot map the shared table of daemon deaths; a request whose "
                         "daemon dies gets 502 without the cause");
        }
    }
    waker_ = std::make_unique<SupervisionWaker>(s_, pconf_, [this] { tick(); });
    adoptRetired();
    if (!startLogRelay()) {
        return false;
    }

    int processes = 0;
    for (const auto& g : registry_.groups()) {
        const int listenFd = retained_.sockets.fdFor(g->name);
        if (listenFd < 0) {
            return false;  // openListeners() made one per group
        }
        for (int i = 0; i < g->processes; ++i) {
            auto slot = std::make_unique<Slot>();
            slot->manager = this;
            slot->group = g.get();
            slot->index = i;
            slot->listenFd = listenFd;
            slot->current = std::make_unique<Process>();
            slot->replacement = std::make_unique<Process>();
            for (Process* p : {slot->current.get(), slot->replacement.get()}) {
                p->slot = slot.get();
                if (apr_pool_create(&p->pool, pconf_) != APR_SUCCESS) {
                    return false;
                }
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
    armWaker(SupervisorClock::now());
    return true;
}

bool Manager::openListeners() {
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
    std::vector<WantedListener> wanted(registry_.groups().size());
    std::transform(
        registry_.groups().begin(), registry_.groups().end(), wanted.begin(), [&](const auto& g) {
            return WantedListener{.group = g->name,
                                  .path = socketPathFor(registry_.socketPrefix, pid, g->name),
                                  .backlog = g->listenBacklog,
                                  .ownerUid = g->socketUid,
                                  .ownerName = g->socketUser};
        });
    SocketOwner owner;
    if (::geteuid() == 0) {
        owner.uid = ap_unixd_config.user_id;
        owner.gid = ap_unixd_config.group_id;
        owner.userName = ap_unixd_config.user_name != nullptr ? ap_unixd_config.user_name : "";
    }
    ServerLogSink log(s_);
    if (const common::Status st = retained_.sockets.reconcile(wanted, owner, log); !st) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s_, "WG0021: %s",
                     st.message().c_str());
        return false;
    }
    for (const auto& g : registry_.groups()) {
        g->socketPath = socketPathFor(registry_.socketPrefix, pid, g->name);
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
                if (slot->state.pid() > 0 && !slot->current->termSent) {
                    (void)::kill(slot->state.pid(), SIGTERM);
                    slot->current->termSent = true;
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
    // Earlier generations' processes still draining: reap those that are done, and watch the
    // others so their deaths are logged (and reaped) by this generation.
    ChildProcessControl control;
    for (const ReapEvent& e : retained_.retired.reap(SupervisorClock::now(), control)) {
        logReapEvent(s_, e);
    }
    for (const RetiredDaemon& d : retained_.retired.list()) {
        watchRetired(d.pid, StatusChannel());
    }
}

void Manager::watchRetired(pid_t pid, StatusChannel channel) {
    auto watch = std::make_unique<RetiredWatch>();
    watch->manager = this;
    watch->proc.pid = pid;
    watch->channel = std::move(channel);
    apr_proc_other_child_register(&watch->proc, &Manager::retiredCallback, watch.get(), nullptr,
                                  retiredPool_);
    watch->registered = true;
    watches_.push_back(std::move(watch));
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
    // httpd children run as User when httpd starts as root (or as socket-user=, under mod_ruid2
    // or mpm-itk), else as whoever started it.
    a.peerUid = ::geteuid() == 0 ? g.socketUid.value_or(ap_unixd_config.user_id) : ::geteuid();
    a.allowRoot = g.allowRoot;
    if (::geteuid() == 0) {
        a.uid = g.uid;
        a.gid = g.gid;
        a.supplementaryGroups = g.supplementaryGids;
        a.userName = g.userName;
    }
    a.home = g.home;
    a.chroot = g.chroot;
    a.umask = g.umask;
    a.pythonHome = g.pythonHome;
    a.pythonPath = g.pythonPath;
    a.lang = g.lang;
    a.locale = g.locale;
    a.displayName = g.displayName;
    server_rec* logServer = g.server != nullptr ? g.server : s_;
    a.logLevel =
        protocol::httpdLogLevelName(ap_get_server_module_loglevel(logServer, APLOG_MODULE_INDEX));
    a.shutdownTimeoutSec = static_cast<int>(g.shutdownTimeout.count());
    // The module side's socket-timeout, so both ends give up on a silent peer together.
    a.socketTimeoutSec =
        std::max(1, static_cast<int>(g.socketTimeout ? g.socketTimeout->count()
                                                     : apr_time_sec(logServer->timeout)));
    a.queueTimeoutSec = static_cast<int>(g.queueTimeout.count());
    protocol::DaemonLifecycle& l = a.lifecycle;
    l.maximumRequests = g.maximumRequests;
    l.restartIntervalSec = static_cast<int>(g.restartInterval.count());
    l.inactivityTimeoutSec = static_cast<int>(g.inactivityTimeout.count());
    l.maximumMemoryBytes = g.maximumMemoryBytes;
    l.cpuTimeLimitSec = static_cast<int>(g.cpuTimeLimit.count());
    l.memoryLimitBytes = g.memoryLimitBytes;
    l.virtualMemoryLimitBytes = g.virtualMemoryLimitBytes;
    l.gracefulTimeoutSec = static_cast<int>(g.gracefulTimeout.count());
    l.evictionTimeoutSec = static_cast<int>(
        (g.evictionTimeout.count() > 0 ? g.evictionTimeout : g.gracefulTimeout).count());
    l.startupTimeoutSec = static_cast<int>(g.startupTimeout.count());
    l.requestTimeoutSec = static_cast<int>(g.requestTimeout.count());
    l.interruptTimeoutSec = static_cast<int>(g.interruptTimeout.count());
    l.deadlockTimeoutSec = static_cast<int>(g.deadlockTimeout.count());
    a.preload = g.preload;
    a.python = registry_.python;
    if (g.switchInterval) {
        a.python.switchInterval = g.switchInterval;
    }
    a.cpuPriority = g.cpuPriority;
    a.stackSize = g.stackSize;
    a.pythonEggs = g.pythonEggs;
    a.socketBuffers =
        common::withDefaultSizes({.send = static_cast<std::uint32_t>(g.sendBufferSize),
                                  .receive = static_cast<std::uint32_t>(g.receiveBufferSize)},
                                 common::kernelSocketBufferMax());
    a.serverMetrics = g.serverMetrics;
    a.newrelicConfigFile = g.newrelicConfigFile;
    a.newrelicEnvironment = g.newrelicEnvironment;
    a.interpreterOptions = interpreterOptionsFor(registry_.interpreterSections, g.name);
    if (g.switchInterval) {
        // The group's own switch-interval= is more specific than any section.
        for (common::InterpreterOptions& o : a.interpreterOptions) {
            o.switchInterval.reset();
        }
    }
    return a;
}

void Manager::spawn(Slot& slot, SupervisorDuration delay) {
    const pid_t pid = startProcess(slot, *slot.current, delay);
    const auto now = SupervisorClock::now();
    if (pid <= 0) {
        const auto retry = slot.state.startFailed(now);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0030: daemon process %d of group %s did not start; retrying in %s",
                     slot.index, slot.group->name.c_str(), durationText(retry).c_str());
        return;
    }
    slot.state.started(pid, now, delay);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s_,
                 "WG0031: started daemon process %d of group %s as pid %ld%s%s", slot.index,
                 slot.group->name.c_str(), static_cast<long>(pid),
                 delay.count() > 0 ? "; it execs after " : "",
                 delay.count() > 0 ? durationText(delay).c_str() : "");
}

void Manager::spawnReplacement(Slot& slot, SupervisorTime now) {
    const pid_t pid = startProcess(slot, *slot.replacement, SupervisorDuration::zero());
    if (pid <= 0) {
        const auto retry = slot.state.replacementStartFailed(now);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0068: the replacement of daemon process %d of group %s did not start; "
                     "the process keeps serving, next attempt in %s",
                     slot.index, slot.group->name.c_str(), durationText(retry).c_str());
        return;
    }
    slot.state.replacementStarted(pid, now);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0060: daemon process %d of group %s (pid %ld) asks to be recycled (%s); "
                 "started its replacement, pid %ld; it serves until the replacement is ready",
                 slot.index, slot.group->name.c_str(), static_cast<long>(slot.state.pid()),
                 std::string(protocol::toString(
                                 slot.state.recycleReason().value_or(protocol::StopReason::None)))
                     .c_str(),
                 static_cast<long>(pid));
}

pid_t Manager::startProcess(Slot& slot, Process& process, SupervisorDuration delay) {
    DaemonSpawn plan;
    plan.binary = registry_.daemonBinary;
    plan.args = argsFor(slot);
    plan.env = daemonEnvironment(environ, kSanitizerBuild);
    plan.listenFd = slot.listenFd;
    plan.logFd = relay_ ? relay_->writeFd(slot.group->name) : -1;
    plan.delay = std::chrono::duration_cast<std::chrono::nanoseconds>(delay);
    // The status pipe: the daemon writes (ready, recycle, last words), the parent reads without
    // blocking. Without one the daemon still runs, only its reports are lost.
    int statusFds[2] = {-1, -1};
    if (::pipe2(statusFds, O_CLOEXEC) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s_,
                     "WG0064: cannot make the status pipe of daemon process %d of group %s; it "
                     "runs without one",
                     slot.index, slot.group->name.c_str());
    }
    common::UniqueFd statusRead(statusFds[0]);
    const common::UniqueFd statusWrite(statusFds[1]);
    plan.statusFd = statusWrite.get();
    const SpawnResult started = startDaemon(plan);
    if (started.failure) {
        if (started.failure->stage == SpawnStage::Settings) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                         "WG0037: cannot pass the settings to daemon process %d of group %s: %s",
                         slot.index, slot.group->name.c_str(), started.failure->message.c_str());
        } else {
            ap_log_error(APLOG_MARK, APLOG_ERR, started.failure->err, s_,
                         "WG0037: cannot fork daemon process %d of group %s", slot.index,
                         slot.group->name.c_str());
        }
        return 0;
    }
    process.termSent = false;
    process.seenStopped = false;
    process.channel = StatusChannel(std::move(statusRead));
    process.proc = apr_proc_t{};
    process.proc.pid = started.pid;
    apr_pool_clear(process.pool);  // the previous registration is gone (unregistered on death)
    apr_proc_other_child_register(&process.proc, &Manager::processCallback, &process, nullptr,
                                  process.pool);
    process.registered = true;
    return started.pid;
}

void Manager::processCallback(int reason, void* data, int status) noexcept {
    guardedVoid("daemon supervision", [&] {
        auto& process = *static_cast<Process*>(data);
        Slot& slot = *process.slot;
        switch (reason) {
            case APR_OC_REASON_DEATH:
            case APR_OC_REASON_LOST:
                if (process.registered) {
                    process.registered = false;
                    apr_proc_other_child_unregister(&process);  // calls back with UNREGISTER
                }
                slot.manager->onProcessEnded(process, reason, status);
                slot.manager->armWaker(SupervisorClock::now());
                break;
            case APR_OC_REASON_RESTART:
                // The MPM reclaims its processes (stop or hard restart): ours drain meanwhile.
                // APR has just seen the process unreaped, so its pid cannot have been reused.
                slot.state.stopping();
                if (!process.termSent) {
                    (void)::kill(process.proc.pid, SIGTERM);
                    process.termSent = true;
                }
                break;
            case APR_OC_REASON_UNREGISTER:
                process.registered = false;
                break;
            case APR_OC_REASON_RUNNING:
                slot.manager->tick();
                break;
            default:
                break;
        }
    });
}

void Manager::onProcessEnded(Process& process, int reason, int status) {
    Slot& slot = *process.slot;
    const pid_t pid = process.proc.pid;
    // Its last words are in the pipe (written before it died): read them all.
    for (int i = 0; i < 4 && process.channel.open(); ++i) {
        pumpStatus(slot, process);
    }
    process.channel.close();
    // In the MPM's main loop the status is an exit code or signal number; while it stops,
    // apr_proc_other_child_refresh_all passes the raw wait status instead.
    DaemonDeath death;
    if (reason != APR_OC_REASON_LOST) {
        const ProcessExit exit =
            stopping() ? ProcessExit::fromWaitStatus(status) : ProcessExit::fromMpmStatus(status);
        death = DaemonDeath::conclude(exit, process.channel.lastWords(), false);
    }
    publishDeath(pid, death);
    if (&process == slot.replacement.get() && pid == slot.state.replacementPid()) {
        onReplacementEnded(slot, process, death);
    } else if (&process == slot.current.get() && pid == slot.state.pid()) {
        onCurrentEnded(slot, process, death);
    }
}

void Manager::onCurrentEnded(Slot& slot, Process& process, const DaemonDeath& death) {
    const auto now = SupervisorClock::now();
    const pid_t pid = slot.state.pid();
    const std::string how = death.describe();
    const auto d = slot.state.ended(
        now, {.startupFailure = death.startupFailure(), .wasReady = process.channel.ready()},
        stopping());
    const char* name = slot.group->name.c_str();
    if (d.promoted) {
        std::swap(slot.current, slot.replacement);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0033: daemon process %d of group %s (pid %ld) %s after running %s; its "
                     "replacement, pid %ld, takes over",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.uptime).c_str(), static_cast<long>(slot.state.pid()));
        return;
    }
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
                     durationText(d.delay).c_str(), d.failures);
    } else if (d.wasReady) {
        const bool clean =
            death.planned() || (death.cause == DaemonDeath::Cause::Exited && death.value == 0);
        ap_log_error(APLOG_MARK, clean ? APLOG_NOTICE : APLOG_ERR, 0, s_,
                     "WG0033: daemon process %d of group %s (pid %ld) %s after running %s; "
                     "restarting it now",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.uptime).c_str());
    } else {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                     "WG0036: daemon process %d of group %s (pid %ld) %s before it was ready "
                     "(after %s); restarting it in %s (%d failed start(s) in a row)",
                     slot.index, name, static_cast<long>(pid), how.c_str(),
                     durationText(d.uptime).c_str(), durationText(d.delay).c_str(), d.failures);
    }
    spawn(slot, d.delay);
}

void Manager::onReplacementEnded(Slot& slot, Process& /*process*/, const DaemonDeath& death) {
    const auto now = SupervisorClock::now();
    const pid_t pid = slot.state.replacementPid();
    const auto d = slot.state.replacementEnded(
        now, {.startupFailure = death.startupFailure(), .wasReady = false});
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_,
                 "WG0069: the replacement (pid %ld) of daemon process %d of group %s %s before "
                 "it was ready; pid %ld keeps serving%s%s",
                 static_cast<long>(pid), slot.index, slot.group->name.c_str(),
                 death.describe().c_str(), static_cast<long>(slot.state.pid()),
                 d.restart ? "; next attempt in " : "",
                 d.restart ? durationText(d.delay).c_str() : "");
}

void Manager::pumpStatus(Slot& slot, Process& process) {
    if (!process.channel.pump() || process.channel.broken().empty()) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_,
                 "WG0065: daemon process %d of group %s (pid %ld) wrote %s to its status pipe; "
                 "the pipe is ignored from now on (application code writing to descriptor %d?)",
                 slot.index, slot.group->name.c_str(), static_cast<long>(process.proc.pid),
                 process.channel.broken().c_str(), protocol::kStatusFd);
}

void Manager::watchStopped(Slot& slot) {
    Process& process = *slot.current;
    const pid_t pid = slot.state.pid();
    if (pid <= 0) {
        return;
    }
    const RunState state = processRunState(pid);
    const bool stopped = state == RunState::Stopped || state == RunState::Traced;
    if (stopped && !process.seenStopped) {
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, 0, s_,
            "WG0062: daemon process %d of group %s (pid %ld) is %s; requests sent to "
            "it wait until it continues (SIGCONT), or get 504 after socket-timeout",
            slot.index, slot.group->name.c_str(), static_cast<long>(pid),
            state == RunState::Traced ? "stopped by a debugger" : "stopped (SIGSTOP or SIGTSTP)");
    } else if (!stopped && process.seenStopped && state != RunState::Gone) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s_,
                     "WG0063: daemon process %d of group %s (pid %ld) runs again", slot.index,
                     slot.group->name.c_str(), static_cast<long>(pid));
    }
    process.seenStopped = stopped;
}

void Manager::superviseSlot(Slot& slot, SupervisorTime now) {
    if (slot.state.pid() > 0) {
        pumpStatus(slot, *slot.current);
        if (const auto reason = slot.current->channel.recycleRequest()) {
            slot.state.recycleRequested(*reason);
        }
    }
    if (slot.state.replacementPid() > 0) {
        pumpStatus(slot, *slot.replacement);
        if (slot.replacement->channel.ready()) {
            handOver(slot, now);
        }
    } else if (slot.state.replacementDue(now)) {
        spawnReplacement(slot, now);
    }
    watchStopped(slot);
    if (slot.state.due(now)) {
        spawn(slot, SupervisorDuration::zero());
    }
}

void Manager::handOver(Slot& slot, SupervisorTime now) {
    const auto reason = slot.state.recycleReason().value_or(protocol::StopReason::None);
    const pid_t old = slot.state.replacementReady(now);
    std::swap(slot.current, slot.replacement);
    Process& retiring = *slot.replacement;
    // The retiring process is watched as a retired one from now on: its drain is bounded by the
    // parent too (graceful-timeout or eviction-timeout, then shutdown-timeout, then SIGKILL).
    if (retiring.registered) {
        retiring.registered = false;
        apr_proc_other_child_unregister(&retiring);
    }
    const DaemonGroup& g = *slot.group;
    const auto drain = reason == protocol::StopReason::Evicted && g.evictionTimeout.count() > 0
                           ? g.evictionTimeout
                           : g.gracefulTimeout;
    if (old > 0) {
        (void)::kill(old, SIGTERM);
        retained_.retired.add({.pid = old,
                               .generation = registry_.generation,
                               .group = g.name,
                               .killAt = now + drain + g.shutdownTimeout + kKillMargin,
                               .killed = false});
        watchRetired(old, std::move(retiring.channel));
    }
    retiring.channel = StatusChannel();
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s_,
                 "WG0061: daemon process %d of group %s recycled (%s): pid %ld serves now; "
                 "pid %ld stops taking requests and finishes those it has (at most %s, then "
                 "%s for its exit)",
                 slot.index, g.name.c_str(), std::string(protocol::toString(reason)).c_str(),
                 static_cast<long>(slot.state.pid()), static_cast<long>(old),
                 durationText(drain).c_str(), durationText(g.shutdownTimeout).c_str());
}

void Manager::onRetiredEnded(RetiredWatch& watch, int reason, int status) {
    const std::optional<RetiredDaemon> d = retained_.retired.remove(watch.proc.pid);
    if (!d) {
        return;
    }
    ProcessExit exit =
        mpmStopping() ? ProcessExit::fromWaitStatus(status) : ProcessExit::fromMpmStatus(status);
    if (d->killed && exit.kind == ProcessExit::Kind::Ambiguous && exit.value == SIGKILL) {
        exit.kind = ProcessExit::Kind::Signaled;  // this module sent it
    }
    noteRetiredDeath(*d, exit, &watch, reason == APR_OC_REASON_LOST);
}

void Manager::noteRetiredDeath(const RetiredDaemon& d, const ProcessExit& exit, RetiredWatch* watch,
                               bool lost) {
    std::optional<protocol::StatusRecord> lastWords;
    if (watch != nullptr) {
        for (int i = 0; i < 4 && watch->channel.open(); ++i) {
            (void)watch->channel.pump();
        }
        watch->channel.close();
        lastWords = watch->channel.lastWords();
    }
    DaemonDeath death;
    if (!lost) {
        death = DaemonDeath::conclude(exit, lastWords, d.killed);
    }
    publishDeath(d.pid, death);
    ap_log_error(APLOG_MARK, d.killed ? APLOG_WARNING : APLOG_INFO, 0, s_,
                 "WG0040: daemon pid %ld of group %s (generation %u) %s after SIGTERM",
                 static_cast<long>(d.pid), d.group.c_str(), d.generation, death.describe().c_str());
}

void Manager::retiredCallback(int reason, void* data, int status) noexcept {
    guardedVoid("retired daemon supervision", [&] {
        auto& watch = *static_cast<RetiredWatch*>(data);
        // On RESTART and RUNNING nothing: it was already told to stop; the deadline in tick()
        // bounds it.
        if (otherChildEnded(reason, &watch, watch.registered)) {
            watch.manager->onRetiredEnded(watch, reason, status);
        }
    });
}

Manager::RetiredWatch* Manager::watchOf(pid_t pid) {
    const auto it = std::find_if(watches_.begin(), watches_.end(),
                                 [pid](const auto& w) { return w->proc.pid == pid; });
    return it == watches_.end() ? nullptr : it->get();
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
            superviseSlot(*slot, now);
        }
    }
    ChildProcessControl control;
    for (const ReapEvent& e : retained_.retired.reap(now, control)) {
        if (e.kind == ReapEvent::Kind::Killed) {
            logReapEvent(s_, e);
            continue;
        }
        if (e.kind == ReapEvent::Kind::Reaped) {
            noteRetiredDeath(e.daemon, e.exit, watchOf(e.daemon.pid), false);
        }
        unregisterWatch(e.daemon.pid);  // reaped here: APR will not call back for it
    }
    armWaker(now);
}

void Manager::armWaker(SupervisorTime now) {
    if (!waker_ || stopping()) {
        return;
    }
    std::vector<int> fds;
    // Nothing due: a waker still wakes the parent every so often, as a daemon might be stopped
    // (WG0062) without writing anything.
    SupervisorTime deadline = now + kWakerIdleInterval;
    for (const auto& slot : slots_) {
        for (const Process* p : {slot->current.get(), slot->replacement.get()}) {
            if (p->registered && p->channel.open()) {
                fds.push_back(p->channel.fd());
            }
        }
        if (const auto next = slot->state.nextReplacementAttempt()) {
            deadline = std::min(deadline, *next);
        }
    }
    for (const auto& w : watches_) {
        if (w->registered && w->channel.open()) {
            fds.push_back(w->channel.fd());
        }
    }
    for (const RetiredDaemon& d : retained_.retired.list()) {
        if (!d.killed) {
            deadline = std::min(deadline, d.killAt);
        }
    }
    waker_->arm(fds, deadline);
}

void Manager::publishDeath(pid_t pid, const DaemonDeath& death) const {
    if (retained_.deaths != nullptr && pid > 0) {
        retained_.deaths->publish(pid, DeathClock::now(), death);
    }
}

void Manager::closeInheritedPipes() noexcept {
    if (relay_) {
        relay_->closeInheritedEnds();
    }
    for (const auto& slot : slots_) {
        slot->current->channel.close();
        slot->replacement->channel.close();
    }
    for (const auto& w : watches_) {
        w->channel.close();
    }
}

void Manager::onConfigPoolCleanup() {
    stopping_ = true;
    if (waker_) {
        waker_->disarm();
    }
    // pconf is cleared for a restart (DESTROY_CONFIG) or destroyed at exit (EXITING, or any other
    // state when start-up fails).
    const bool exiting = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_DESTROY_CONFIG;
    const auto now = SupervisorClock::now();
    int signalled = 0;
    for (auto& slot : slots_) {
        // The registrations are gone already (pconf's subpools go before its cleanups): the
        // slot's own record says which processes run.
        const pid_t pids[] = {slot->state.pid(), slot->state.replacementPid()};
        slot->state.stopping();
        for (int i = 0; i < 2; ++i) {
            const pid_t pid = pids[i];
            Process* p = i == 0 ? slot->current.get() : slot->replacement.get();
            if (pid <= 0) {
                continue;
            }
            int status = 0;
            if (ChildProcessControl().probe(pid, &status) != ProcessControl::State::Running) {
                continue;
            }
            if (!p->termSent) {
                (void)::kill(pid, SIGTERM);
                p->termSent = true;
            }
            ++signalled;
            retained_.retired.add({.pid = pid,
                                   .generation = registry_.generation,
                                   .group = slot->group->name,
                                   .killAt = now + slot->group->shutdownTimeout + kKillMargin,
                                   .killed = false});
        }
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
    retained_.retired.add({.pid = pid,
                           .generation = registry_.generation,
                           .group = kLogRelayLabel,
                           .killAt = killAt + kKillMargin,
                           .killed = false});
}

void Manager::finalShutdown(RetainedState& retained, server_rec* s) {
    const WaitClock clock = WaitClock::real();
    const auto forceKillAt = clock.now() + kMaxStopWait;
    ChildProcessControl control;
    const DrainReport report = drainRetired(
        retained.retired, control, clock, forceKillAt, forceKillAt + kKillReapWait,
        kReapPollInterval, [s](const ReapEvent& e) {
            if (e.kind == ReapEvent::Kind::Reaped) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "WG0043: daemon pid %ld of group %s %s",
                             static_cast<long>(e.daemon.pid), e.daemon.group.c_str(),
                             e.exit.describe().c_str());
            } else {
                logReapEvent(s, e);
            }
        });
    if (!report.complete) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "WG0044: %d daemon process(es) did not exit even after SIGKILL "
                     "(first: pid %ld); leaving them behind",
                     static_cast<int>(report.leftover), static_cast<long>(report.firstLeftover));
    }
    retained.sockets.closeAll();
    RetainedState::drop();
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
        if (RetainedState* retained = RetainedState::get(false); retained != nullptr) {
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
        RetainedState* retained = RetainedState::get(true);
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
        if (const RetainedState* retained = RetainedState::get(false); retained != nullptr) {
            retained->sockets.closeCopies();
            if (retained->deaths != nullptr) {
                retained->deaths->protectReadOnly();  // only the parent writes it
                gDeathRecords.store(retained->deaths);
            }
        }
        void* data = nullptr;
        if (ap_server_conf != nullptr && ap_server_conf->process != nullptr) {
            apr_pool_userdata_get(&data, kManagerKey, ap_server_conf->process->pconf);
        }
        if (data != nullptr) {
            static_cast<Manager*>(data)->closeInheritedPipes();
        }
    });
}

std::optional<std::string> ProcessManager::daemonDeathCause(
    pid_t pid, DeathClock::time_point notBefore, std::chrono::milliseconds wait) noexcept {
    try {
        const DeathRecords* table = gDeathRecords.load();
        if (table == nullptr || pid <= 0) {
            return std::nullopt;
        }
        if (auto death = waitForDeath(*table, pid, notBefore, wait)) {
            return death->describe();
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; the 502 says less
        // Not a C boundary (c_boundary.h): a local recovery, the caller goes on without a cause.
    }
    return std::nullopt;
}

}  // namespace wsgid::apache
