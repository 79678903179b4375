// SPDX-License-Identifier: Apache-2.0
// The log relay: daemons never hold an error-log descriptor. Their stdout and stderr are the
// write end of one pipe per daemon group; a relay process forked (not exec'd) by the httpd parent
// reads every pipe of a generation and writes each line to the group's error log with one
// O_APPEND write, under a per-group rate limit (log_rate_limit.h). Parent side: pipes, fork,
// other-child supervision. docs/architecture.md ("The log relay") tells the long story.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "apache/restart_policy.h"

struct apr_pool_t;
struct server_rec;

namespace wsgid::apache {

/// Where one daemon group's output goes.
struct RelayRoute {
    std::string group;
    server_rec* server = nullptr;  ///< the group's vhost (or the main server); names the log
    int logFd = -1;                ///< its error log, borrowed from httpd; -1: use ap_log_error
    std::uint64_t rateBytes = 0;   ///< sustained bytes/s (log-rate=); 0: no limit
    std::uint64_t burstBytes = 0;  ///< burst (log-burst=), at least one line of kMaxRelayLineBytes
};

/// The relay of one configuration generation, owned by its Manager. Parent only (single thread).
/// The parent keeps each pipe's write end while it may spawn daemons of this generation
/// (retire() closes them) and each read end only until the relay is forked.
class LogRelay {
public:
    /// Called after a relay died and new pipes replaced the old ones: daemons started before
    /// must be restarted to log through the new relay.
    using PipesReplaced = std::function<void()>;
    /// Runs in the forked relay before anything else: wipes what the relay must not keep of the
    /// parent's memory (the daemon groups' secrets).
    using ForgetSecrets = std::function<void()>;

    LogRelay(server_rec* s, std::vector<RelayRoute> routes, PipesReplaced onReplaced,
             ForgetSecrets forgetSecrets);
    LogRelay(const LogRelay&) = delete;
    LogRelay& operator=(const LogRelay&) = delete;
    LogRelay(LogRelay&&) = delete;
    LogRelay& operator=(LogRelay&&) = delete;
    /// Closes whatever ends the parent still holds; the relay process is left to retire().
    ~LogRelay();

    /// Makes the pipes and forks the relay, supervised through an other-child registration in
    /// a subpool of `pool`. False (logged) if the pipes cannot be made; a failed fork is retried
    /// from tick() with backoff.
    bool start(apr_pool_t* pool);
    /// monitor hook: forks the relay once its restart backoff has passed.
    void tick(SupervisorTime now);
    /// The write end a daemon of `group` gets as stdout and stderr; -1 if there is none.
    [[nodiscard]] int writeFd(std::string_view group) const;
    /// Stop or restart: closes the write ends (the relay exits at EOF, once this generation's
    /// daemons are gone) and stops supervising. The relay's pid (0 if none) for the caller to
    /// reap and bound.
    pid_t retire();

    /// child_init: an httpd child must hold no end of the pipes (a write end would keep the
    /// relay from seeing EOF after the daemons exit).
    void closeInheritedEnds() noexcept;

    /// other-child callback. C-called.
    static void callback(int reason, void* data, int status) noexcept;

private:
    struct Pipe {
        int readFd = -1;
        int writeFd = -1;
    };

    bool openPipes();
    void closeReadEnds();
    void closeWriteEnds();
    void forkRelay(SupervisorTime now);
    void onDeath(int reason, int status);

    server_rec* s_;
    std::vector<RelayRoute> routes_;
    std::vector<Pipe> pipes_;  ///< parallel to routes_
    PipesReplaced onReplaced_;
    ForgetSecrets forgetSecrets_;
    apr_pool_t* pool_ = nullptr;  ///< holds the registration; cleared at each fork
    struct Registration;
    std::unique_ptr<Registration> reg_;
    ProcessSlot state_;
    SupervisorDuration nextDelay_{};  ///< restart backoff the next relay waits out first
    bool retired_ = false;
};

}  // namespace wsgid::apache
