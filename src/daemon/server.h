// SPDX-License-Identifier: Apache-2.0
// Server: the daemon's request engine. Idle worker threads wait on the module's connections
// themselves and run the request they read (leader/follower: no hand-off between threads); an I/O
// thread accepts on the inherited listening socket, and reads and queues requests only while
// every worker is busy; stop() drains gracefully within a deadline. No httpd headers, no Python.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/types.h>

#include "common/log_sink.h"
#include "common/socket_buffers.h"
#include "common/socket_io.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "daemon/application.h"
#include "daemon/connection.h"
#include "daemon/request_queue.h"
#include "daemon/server_activity.h"
#include "daemon/timeout_policy.h"
#include "protocol/load_table.h"

namespace wsgid::daemon {

/// Requests decoded but not yet taken by a worker. Each in-flight request of an httpd child holds
/// one connection, so the depth is bounded by httpd's MaxRequestWorkers (150 by default, a few
/// thousand on big hosts); 4096 bounds the memory of a stuck daemon while never refusing a real
/// load. Beyond it the request gets Error{ShuttingDown} (503) at once instead of waiting unseen.
inline constexpr std::size_t kMaxQueuedRequests = 4096;

/// How long accepting pauses after accept() fails for lack of resources (EMFILE, ENOBUFS):
/// long enough not to spin on a listening socket that stays readable, short enough that
/// connections waiting in the backlog are picked up soon after fds free up.
inline constexpr std::chrono::milliseconds kAcceptBackoff = std::chrono::milliseconds(100);

/// How often the I/O thread looks for queued requests past queue-timeout while any are queued:
/// a request that waited too long is answered (503) within this of its deadline, not only when a
/// worker frees up, at the cost of one short scan of the queue per interval.
inline constexpr std::chrono::milliseconds kQueueScanInterval{50};

/// How often, while every worker of a process without siblings is busy, the I/O thread reads the
/// requests waiting in their connections (to queue them, so queue-timeout and a module that hung
/// up are seen). Between two scans they wait unread, in arrival order, for the next worker to
/// finish, which reads its own: under saturation the I/O thread wakes once per interval instead of
/// once per request. The same as kQueueScanInterval: a scan's requests past queue-timeout are
/// answered in the same pass, so the bound on a late answer stays one interval.
inline constexpr std::chrono::milliseconds kUnreadScanInterval{50};

/// A queued request is checked for a module that hung up only after waiting this long: the module
/// gives up no sooner than its socket-timeout (at least a second), so a request that waited less
/// is still wanted, and the fast path skips the system call.
inline constexpr std::chrono::milliseconds kHangUpCheckAfter{1000};

/// Most connections waiting for their Hello at once. A real httpd child finishes the handshake
/// within microseconds, so only peers that connect and stay silent pile up here; past the bound
/// the oldest of them is dropped first, which bounds the descriptors an impostor can hold.
inline constexpr std::size_t kMaxPendingHandshakes = 256;

/// With a load table, how often the I/O thread looks at the siblings' load while requests wait
/// in its queue, and how long a request must have waited before it is handed back: a sibling's
/// free worker is used within a few milliseconds, and a request is not bounced for a worker
/// that frees here just as quickly (docs/architecture.md "Admission").
inline constexpr std::chrono::milliseconds kHandBackScanInterval{2};
inline constexpr std::chrono::milliseconds kHandBackAfter{2};

/// Server settings (from DaemonArgs in main.cpp; tests set them directly).
struct ServerConfig {
    int threads = 15;  ///< worker threads (--threads)
    /// Other processes share the group's socket (processes > 1). Then this process accepts a
    /// connection only while it has a worker free for it and answers Busy to a request it cannot
    /// start now, so work reaches an idle sibling instead of queueing here
    /// (docs/architecture.md "Admission").
    bool siblings = false;
    /// A request not started this long after httpd received it gets Error{QueueTimeout} and is
    /// never run; zero: no bound (queue-timeout=0).
    std::chrono::milliseconds queueTimeout{0};
    ConnectionConfig connection;
    std::size_t queueCapacity = kMaxQueuedRequests;
    /// SO_SNDBUF / SO_RCVBUF of every accepted connection (send-buffer-size=,
    /// receive-buffer-size=); zeros leave the kernel's defaults.
    common::SocketBufferSizes socketBuffers;
    /// The group's load table (protocol/load_table.h) and this process's entry in it; empty
    /// without one (one process, or none made): admission then goes by Busy answers alone.
    std::span<protocol::LoadSlot> loadTable{};
    std::size_t loadSlot = 0;
};

/// How stop() ended.
struct StopReport {
    bool clean = true;       ///< every worker finished and was joined before the deadline
    std::size_t cutOff = 0;  ///< requests running or queued when the deadline passed
};

/// Accepts module connections on a listening Unix socket and serves their requests.
/// Create, start() and stop() on one thread (the daemon's main thread); healthy() and
/// queuedRequests() may be called from any thread. The Application and LogSink must outlive the
/// Server. The listening socket is closed, never unlinked: its path belongs to the httpd parent.
class Server {
public:
    /// Takes ownership of `listenFd`, a listening SOCK_STREAM socket (set non-blocking here).
    Server(common::UniqueFd listenFd, ServerConfig config, Application& app, common::LogSink& log);
    /// Stops the server if it is running, then waits for every thread, including workers still
    /// inside the Application after an unclean stop(). A caller that cannot wait must _exit.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;

    /// Creates the epoll set and starts the I/O thread and the workers.
    common::Status start() noexcept;

    /// Graceful stop: stops accepting (our copy of the listening socket is closed), closes idle
    /// connections, lets workers finish the running and queued requests, and joins the threads.
    /// Returns when that is done or `deadline` passes; then requests still queued get
    /// Error{ShuttingDown} and the report counts them and the ones still running as cut off.
    /// Call once.
    StopReport stop(common::Deadline deadline) noexcept;

    /// False once a thread failed for good (a worker could not make its Worker, epoll failed):
    /// the daemon should exit so the parent starts a fresh process.
    [[nodiscard]] bool healthy() const noexcept { return healthy_.load(); }

    /// Requests waiting for a worker (a snapshot).
    [[nodiscard]] std::size_t queuedRequests() const { return queue_.size(); }

    /// Requests admitted and not finished: queued or running (a snapshot).
    [[nodiscard]] int admittedRequests() const noexcept { return admitted_.load(); }
    /// Requests served so far, in flight now, and when one last started or finished (a
    /// snapshot; any thread).
    [[nodiscard]] ServerActivity activity() const;

    /// The requests running on the workers now (a snapshot; any thread).
    [[nodiscard]] std::vector<RunningRequest> runningRequests() const;
    /// Ends `request` from outside at its request-timeout (Connection::timeOut) if it still runs
    /// and was not ended so before; true when it got its 504 (its response had not started).
    /// The worker thread goes on until the app returns. Any thread.
    bool timeOut(const RunningRequest& request, std::string_view message) noexcept;

private:
    using ConnectionPtr = std::unique_ptr<Connection>;

    void ioMain() noexcept;
    void workerMain(std::size_t index) noexcept;
    /// Worker: the next request to run, from the queue or read from a connection while idle;
    /// nullptr when the worker should exit (stop, or a failed wait).
    ConnectionPtr nextRequest();
    /// Worker: counts this worker as idle (waiting on the connections) or busy again. The I/O
    /// thread watches the connections only while no worker is idle (ServerConfig::siblings' Busy
    /// answers and queue-timeout need someone reading requests when every worker is taken).
    void enterIdle();
    void leaveIdle();
    /// Wakes one idle worker for a request just queued (none idle: nothing to do). Any thread.
    void nudgeIdleWorker() noexcept;
    /// Arms nudgeFd_ for one more report. Call with idleWorkersMutex_ held.
    void armNudge() noexcept;
    /// I/O thread: a nudge it took from the connection set (while it watched the set, between
    /// a worker going idle and the watch ending) is passed on to an idle worker, or parked until
    /// one goes idle.
    void passNudge() noexcept;
    /// Closes the queue and wakes every idle worker for good, so they finish what is queued and
    /// exit. Idempotent.
    void closeQueue() noexcept;
    /// I/O thread: reads and dispatches every connection ready now (only while it watches them).
    void takeReadyConnections();
    /// I/O thread: with ConnectionWatch::IoScan, reads the waiting requests once the scan is due.
    void scanUnreadRequests();
    /// The idle connection `conn` is, taken out of idle_; nullptr when it is not there (another
    /// thread took it, or it was retired).
    ConnectionPtr takeIdle(Connection* conn);
    void beginRunning(std::size_t index, Connection& conn) noexcept;
    void endRunning(std::size_t index) noexcept;
    void noteActivity() noexcept;
    void acceptConnections();
    /// Sets send-buffer-size= / receive-buffer-size= on an accepted connection; logs once
    /// (WG0298) when the kernel did not apply them (net.core.wmem_max / rmem_max).
    void applySocketBuffers(int fd);
    void pauseAccepting(int err);
    /// Watches the listening socket again, or stops watching it while no worker is free
    /// (ServerConfig::siblings), as the numbers now say. I/O thread only.
    void updateAcceptGate();
    /// A worker is free and not reserved for an accepted connection's first request (always
    /// true without siblings): the process may take a new connection or a pooled request.
    [[nodiscard]] bool hasRoomForConnection() const noexcept;
    /// Takes a place (places_) when hasRoomForConnection(), in one atomic step, so that the I/O
    /// thread accepting and a worker admitting never both take the last free worker.
    [[nodiscard]] bool tryTakePlace() noexcept;
    void releasePlace() noexcept;
    bool watchListener(bool on);
    /// Admission of the request `conn` just decoded (docs/architecture.md "Admission"): true when
    /// it is admitted (counted in admitted_; the caller runs or queues it); false when it was
    /// answered Busy instead, and `event` says what the connection does next. Any thread that
    /// owns the connection.
    bool admitRequest(Connection& conn, Connection::Event& event);
    /// Worker: answers a queued request that must not run (its module hung up, or it waited
    /// longer than queue-timeout); true when it was answered so.
    bool refuseStale(ConnectionPtr& conn);
    /// I/O thread: answers every queued request past queue-timeout with Error{QueueTimeout}.
    void expireQueued();
    /// True when `conn`'s request has waited longer than queue-timeout (never without one).
    [[nodiscard]] bool pastQueueTimeout(const Connection& conn) const;

    // The load table (server_load.cpp).
    /// Siblings and a load table: this process publishes its places and reads the siblings'.
    [[nodiscard]] bool usesLoadTable() const noexcept { return load_.active(); }
    /// Free workers the siblings show in the load table (0 without one).
    [[nodiscard]] int siblingsFreeWorkers() const noexcept;
    /// Takes a place beyond the workers for a connection from the backlog, when every sibling
    /// is full too (load table only): it then waits here rather than in the backlog, where no
    /// process would take it while all hold queues.
    [[nodiscard]] bool takePlaceWhileAllFull() noexcept;
    /// I/O thread: answers Busy to queued requests that may go elsewhere (kHeadMayReturn), as
    /// many as the siblings show free workers.
    void handBackQueued();
    /// Publishes places_ after a change (load table only).
    void placesChanged() noexcept;
    /// Worker: an admitted request is done (run or refused); frees its place.
    void finished() noexcept;
    void closeForStop();
    void onConnectionEvent(Connection* conn);
    void dispatch(ConnectionPtr conn, Connection::Event event);
    void retire(ConnectionPtr conn) noexcept;
    void trackHandshake(Connection& conn);
    void expireHandshakes(common::Clock::time_point now, std::size_t keep);
    /// The I/O thread's next epoll_wait timeout; arms the unread scan's timer when it is on.
    [[nodiscard]] int ioWaitTimeoutMs();
    void wakeIoThread() noexcept;

    common::UniqueFd listenFd_;
    const ServerConfig config_;
    Application& app_;
    common::LogSink& log_;
    /// The I/O thread's: wakeFd_, listenFd_, and connEpollFd_ while no worker is idle.
    common::UniqueFd epollFd_;
    common::UniqueFd wakeFd_;  // eventfd: stop() wakes the I/O thread through it
    /// What idle workers wait on: the module's idle connections and nudgeFd_, each
    /// EPOLLONESHOT. While no worker is idle it is nested in epollFd_ for the I/O thread.
    common::UniqueFd connEpollFd_;
    /// eventfd (semaphore): one count per request queued while a worker was idle, plus one per
    /// worker from closeQueue(), whose counts are never taken, so every idle worker wakes.
    common::UniqueFd nudgeFd_;
    RequestQueue<ConnectionPtr> queue_;
    std::thread ioThread_;
    std::vector<std::thread> workers_;
    /// Where the server is in its life; start() and stop() move it on, each once (owner thread).
    enum class Phase { Created, Started, Stopped };
    Phase phase_ = Phase::Created;
    /// The sizes the kernel applied to an accepted connection were read back and, when short of
    /// the asked ones, logged (I/O thread only: once per process, since the kernel's caps are
    /// system-wide settings).
    bool socketBuffersChecked_ = false;
    std::atomic<bool> healthy_{true};
    /// The listening socket is unwatched for lack of a free worker: a worker that finishes wakes
    /// the I/O thread to watch it again.
    std::atomic<bool> gateClosed_{false};
    std::atomic<int> busyWorkers_{0};
    /// Requests admitted (queued or running) and not finished.
    std::atomic<int> admitted_{0};
    /// Workers taken: admitted_ plus the connections accepted that have not sent their first
    /// request yet (each holds the worker it was accepted for), as one count that admission and
    /// accept change with one atomic step each (tryTakePlace).
    std::atomic<int> places_{0};
    /// This process's pid, to tell its own entry of the load table from its siblings'.
    std::uint32_t ownPid_ = 0;
    /// This process's entry in the load table (inactive without one).
    protocol::LoadSlotWriter load_;
    std::atomic<std::uint64_t> requestsDone_{0};
    /// Who reads the requests that arrive on idle connections.
    enum class ConnectionWatch {
        Workers,   ///< an idle worker waits on them (leader/follower)
        IoThread,  ///< none is idle: connEpollFd_ is in epollFd_, and the I/O thread reads each
                   ///< request as it arrives, to answer Busy at once (siblings; and at start)
        IoScan,    ///< none is idle, no siblings: they wait unread for the next worker to finish,
                   ///< and the I/O thread reads them every kUnreadScanInterval
    };
    /// Idle workers and who watches the connections. Invariant, under the lock: watch_ is Workers
    /// exactly when a worker is idle.
    std::mutex idleWorkersMutex_;
    int idleWorkers_ = 0;                                // guarded by idleWorkersMutex_
    ConnectionWatch watch_ = ConnectionWatch::IoThread;  // guarded by idleWorkersMutex_
    bool nudgeParked_ = false;  // nudgeFd_ is disarmed until a worker goes idle; same lock
    /// The I/O thread's wait ends at nextUnreadScan_ (it computed its timeout with IoScan on), so
    /// a worker that turns IoScan on need not wake it; same lock.
    bool unreadScanArmed_ = false;
    common::Clock::time_point nextUnreadScan_{};  // same lock
    /// The request each worker runs (index = worker), for request-timeout.
    struct Running {
        Connection* conn = nullptr;  ///< valid while set: the worker clears it under the lock
        RunningRequest info;
    };
    mutable std::mutex runningMutex_;
    std::vector<Running> running_;                     // guarded by runningMutex_; sized in start()
    std::uint64_t nextRunSerial_ = 1;                  // guarded by runningMutex_
    std::atomic<common::Clock::rep> lastActivity_{0};  ///< Clock ticks since its epoch

    // I/O thread only.
    /// Why the listening socket is or is not watched.
    enum class AcceptState {
        Accepting,  ///< watched
        Full,       ///< unwatched: every worker is taken (siblings only)
        Backoff,    ///< unwatched until acceptResumeAt_: accept() failed for lack of resources
        Closed,     ///< stopped for good
    };
    AcceptState acceptState_ = AcceptState::Accepting;
    common::Clock::time_point acceptResumeAt_{};
    /// A connection's deadline for its Hello, oldest first (kHandshakeTimeout from accept).
    struct PendingHandshake {
        common::Clock::time_point deadline;
        Connection* conn = nullptr;
        std::uint64_t serial = 0;
    };
    std::deque<PendingHandshake> handshakes_;
    std::uint64_t nextSerial_ = 1;
    RejectedPeers rejectedPeers_;
    ConnectionConfig connectionConfig_;  // config_.connection with rejectedPeers_ wired in

    // Idle connections (armed in epoll, owned here) and the stop flag. Workers hand connections
    // back under this lock, and epoll_ctl on them happens under it too, so a descriptor is never
    // re-armed after stop closed it.
    std::mutex idleMutex_;
    std::unordered_map<Connection*, ConnectionPtr> idle_;  // guarded by idleMutex_
    bool stopping_ = false;                                // guarded by idleMutex_

    // Worker threads still running, for stop()'s bounded wait.
    std::mutex exitMutex_;
    std::condition_variable exitCv_;
    int liveWorkers_ = 0;  // guarded by exitMutex_
};

}  // namespace wsgid::daemon
