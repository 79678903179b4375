// SPDX-License-Identifier: Apache-2.0
// The log relay (see log_relay.h), its parent side: pipes, fork, other-child supervision. The
// relay process itself, forked from here, is log_relay_process.cpp.
#include "apache/log_relay.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "apache/c_boundary.h"
#include "apache/httpd_includes.h"
#include "apache/log_relay_process.h"
#include "common/duration_text.h"
#include "common/socket_io.h"
// httpd_includes.h first: other_child.h needs the APR other-child API.
#include "apache/other_child.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

/// The other-child registration; apr_proc_t must stay put while registered.
struct LogRelay::Registration {
    LogRelay* relay = nullptr;
    apr_proc_t proc{};
    bool registered = false;
};

LogRelay::LogRelay(server_rec* s, std::vector<RelayRoute> routes, PipesReplaced onReplaced,
                   ForgetSecrets forgetSecrets)
    : s_(s),
      routes_(std::move(routes)),
      onReplaced_(std::move(onReplaced)),
      forgetSecrets_(std::move(forgetSecrets)),
      reg_(std::make_unique<Registration>()) {
    reg_->relay = this;
}

LogRelay::~LogRelay() {
    if (reg_->registered) {
        reg_->registered = false;
        apr_proc_other_child_unregister(reg_.get());
    }
    closeReadEnds();
    closeWriteEnds();
}

bool LogRelay::openPipes() {
    closeReadEnds();
    closeWriteEnds();
    pipes_.assign(routes_.size(), Pipe{});
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        std::array<int, 2> fds{-1, -1};
        if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, errno, s_,
                         "WG0053: cannot make the log pipe of daemon group %s",
                         routes_[i].group.c_str());
            return false;
        }
        pipes_[i] = Pipe{fds[0], fds[1]};
        // Only the relay reads, and it must never wait on one pipe.
        if (const common::Status st = common::setNonBlocking(fds[0], true); !st) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s_,
                         "WG0053: cannot make the log pipe of daemon group %s: %s",
                         routes_[i].group.c_str(), st.message().c_str());
            return false;
        }
    }
    return true;
}

void LogRelay::closeReadEnds() {
    for (auto& p : pipes_) {
        if (p.readFd >= 0) {
            (void)::close(p.readFd);
            p.readFd = -1;
        }
    }
}

void LogRelay::closeWriteEnds() {
    for (auto& p : pipes_) {
        if (p.writeFd >= 0) {
            (void)::close(p.writeFd);
            p.writeFd = -1;
        }
    }
}

bool LogRelay::start(apr_pool_t* pool) {
    if (routes_.empty()) {
        return true;
    }
    if (apr_pool_create(&pool_, pool) != APR_SUCCESS || !openPipes()) {
        return false;
    }
    forkRelay(SupervisorClock::now());
    return true;
}

void LogRelay::forkRelay(SupervisorTime now) {
    std::vector<int> readFds(pipes_.size());
    std::transform(pipes_.begin(), pipes_.end(), readFds.begin(),
                   [](const Pipe& p) { return p.readFd; });
    const auto delay = std::chrono::duration_cast<std::chrono::nanoseconds>(nextDelay_);
    const pid_t pid = ::fork();
    if (pid == 0) {
        // A copy of the parent's memory running as User: it reads what tenants write, so it
        // keeps no secret a tenant could use against another group (docs/security.md).
        if (forgetSecrets_) {
            forgetSecrets_();
        }
        runRelay(s_, routes_, readFds, delay);
    }
    if (pid < 0) {
        const int err = errno;
        (void)state_.startFailed(now);
        ap_log_error(APLOG_MARK, APLOG_ERR, err, s_,
                     "WG0055: cannot fork the log relay; daemon output waits in its pipes");
        return;
    }
    state_.started(pid, now, delay);
    closeReadEnds();  // the relay's now: a dead relay must mean EPIPE, not a full pipe
    reg_->proc = apr_proc_t{};
    reg_->proc.pid = pid;
    apr_pool_clear(pool_);
    apr_proc_other_child_register(&reg_->proc, &LogRelay::callback, reg_.get(), nullptr, pool_);
    reg_->registered = true;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_,
                 "WG0050: log relay of %d daemon group(s) started as pid %ld",
                 static_cast<int>(routes_.size()), static_cast<long>(pid));
}

void LogRelay::tick(SupervisorTime now) {
    if (!retired_ && !routes_.empty() && state_.due(now)) {
        nextDelay_ = SupervisorDuration::zero();
        forkRelay(now);
    }
}

int LogRelay::writeFd(std::string_view group) const {
    for (std::size_t i = 0; i < routes_.size() && i < pipes_.size(); ++i) {
        if (routes_[i].group == group) {
            return pipes_[i].writeFd;
        }
    }
    return -1;
}

void LogRelay::closeInheritedEnds() noexcept {
    // In an httpd child: plain close(); the registration belongs to the parent.
    for (auto& p : pipes_) {
        for (int* fd : {&p.readFd, &p.writeFd}) {
            if (*fd >= 0) {
                (void)::close(*fd);
                *fd = -1;
            }
        }
    }
}

pid_t LogRelay::retire() {
    retired_ = true;
    state_.stopping();
    if (reg_->registered) {
        reg_->registered = false;
        apr_proc_other_child_unregister(reg_.get());
    }
    closeReadEnds();
    closeWriteEnds();
    return state_.pid();
}

void LogRelay::onDeath(int reason, int status) {
    const pid_t pid = state_.pid();
    const ProcessExit exit = reason == APR_OC_REASON_LOST
                                 ? ProcessExit{ProcessExit::Kind::Exited, 0}
                                 : ProcessExit::fromMpmStatus(status);
    int stopping = AP_MPMQ_STOPPING;
    const bool serverStopping =
        retired_ ||
        (ap_mpm_query(AP_MPMQ_MPM_STATE, &stopping) == APR_SUCCESS && stopping == AP_MPMQ_STOPPING);
    const auto now = SupervisorClock::now();
    // The relay says nothing about being ready: one that ran a while counts as healthy.
    const auto d = state_.ended(now,
                                {.startupFailure = exit.isStartupFailure(),
                                 .wasReady = state_.uptime(now) >= kHealthyUptime},
                                serverStopping);
    if (!d.restart) {
        return;
    }
    ap_log_error(
        APLOG_MARK, APLOG_ERR, 0, s_,
        "WG0051: the log relay (pid %ld) %s; starting a new one%s%s and restarting the "
        "daemons so they write to it",
        static_cast<long>(pid), exit.describe().c_str(), d.delay.count() > 0 ? " after " : "",
        d.delay.count() > 0
            ? common::durationText(std::chrono::duration_cast<std::chrono::milliseconds>(d.delay))
                  .c_str()
            : "");
    // The dead relay took the read ends: the old pipes are useless, daemons get EPIPE on them.
    if (!openPipes()) {
        return;
    }
    nextDelay_ = d.delay;
    forkRelay(SupervisorClock::now());
    if (onReplaced_) {
        onReplaced_();
    }
}

void LogRelay::callback(int reason, void* data, int status) noexcept {
    guardedVoid("log relay supervision", [&] {
        auto& reg = *static_cast<Registration*>(data);
        // On RESTART and RUNNING nothing: the relay exits by itself at EOF, after the daemons.
        if (otherChildEnded(reason, &reg, reg.registered)) {
            reg.relay->onDeath(reason, status);
        }
    });
}

}  // namespace wsgid::apache
