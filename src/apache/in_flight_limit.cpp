// SPDX-License-Identifier: Apache-2.0
// max-in-flight= glue (see in_flight_limit.h): httpd calls around the pure InFlightTable.
#include "apache/in_flight_limit.h"

#include <cerrno>
#include <csignal>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/config.h"
#include "apache/daemon_options.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

namespace {

/// A refusal is logged at most this often per group and child: a flood to one group would
/// otherwise write a line per refused request.
constexpr apr_time_t kRefusalLogInterval = apr_time_from_sec(1);

apr_status_t unmapTable(void* data) noexcept {
    InFlightTable::unmap(static_cast<InFlightTable*>(data));
    return APR_SUCCESS;
}

bool processAlive(pid_t pid) {
    // Children run as one User, so EPERM only means someone else's process has that pid now.
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

/// What ap_mpm_query says for `what`, at least `floor`.
int mpmValue(int what, int floor) {
    int value = 0;
    if (ap_mpm_query(what, &value) != APR_SUCCESS || value < floor) {
        return floor;
    }
    return value;
}

}  // namespace

void mapInFlightTable(apr_pool_t* pconf, server_rec* s, GroupRegistry& registry) noexcept {
    // MaxRequestWorkers: processes times threads per process (1 for prefork).
    const int httpdWorkers = mpmValue(AP_MPMQ_MAX_DAEMONS, 1) * mpmValue(AP_MPMQ_MAX_THREADS, 1);
    const auto& groups = registry.groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        DaemonGroup& g = *groups[i];
        g.inFlightIndex = i;
        g.inFlightLimit = maxInFlightLimit(g, httpdWorkers);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "WG0071: daemon group '%s' may have %d request(s) in progress at once "
                     "(max-in-flight=%s; httpd has %d workers)",
                     g.name.c_str(), g.inFlightLimit, g.maxInFlight ? "as set" : "default",
                     httpdWorkers);
    }
    const int serverLimit = mpmValue(AP_MPMQ_HARD_LIMIT_DAEMONS, 1);
    registry.inFlight =
        InFlightTable::mapShared(static_cast<std::size_t>(serverLimit), groups.size());
    if (registry.inFlight == nullptr) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s,
                     "WG0070: cannot map the shared request counters; max-in-flight= is not "
                     "applied in this generation");
        return;
    }
    apr_pool_cleanup_register(pconf, registry.inFlight, unmapTable, apr_pool_cleanup_null);
}

ChildInFlight::ChildInFlight(const GroupRegistry& registry, server_rec* s)
    : table_(registry.inFlight) {
    if (table_ == nullptr) {
        return;
    }
    row_ = table_->claimRow(static_cast<pid_t>(::getpid()), processAlive);
    if (!row_) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "WG0132: no free row in the shared request counters (more httpd children "
                     "than ServerLimit?); this child's requests do not count for max-in-flight=");
        return;
    }
    lastLogged_ = std::make_unique<std::atomic<std::int64_t>[]>(table_->groups());
}

InFlightTicket ChildInFlight::enter(request_rec* r, const DaemonGroup& group) {
    if (table_ == nullptr || !row_ || group.inFlightIndex >= table_->groups()) {
        return {};
    }
    const int limit = group.inFlightLimit;
    InFlightTicket ticket(*table_, *row_, group.inFlightIndex, limit);
    if (ticket.admitted()) {
        return ticket;
    }
    std::atomic<std::int64_t>& last = lastLogged_[group.inFlightIndex];
    const apr_time_t now = apr_time_now();
    std::int64_t before = last.load();
    if (now - before >= kRefusalLogInterval && last.compare_exchange_strong(before, now)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "WG0131: daemon group '%s' already has %d request(s) in progress, its "
                      "max-in-flight=; answering 503 at once (this child logs this at most once a "
                      "second per group)",
                      group.name.c_str(), limit);
    }
    return ticket;
}

}  // namespace wsgid::apache
